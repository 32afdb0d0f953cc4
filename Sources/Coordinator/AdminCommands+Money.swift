import CoordinatorCore
import Earnings
import StreamrTLS
import StreamrWire

/// `earnings`, `payout ...` and `ledger verify`: what each friend earned and why, term by
/// term, and the payouts a person makes through PayPal or Venmo from the append-only ledger.
extension AdminService {
    // MARK: - Earnings

    static let earningsColumns = ["stream", "period_start", "period_end", "state", "node_id", "display_name", "uptime_seconds",
                                  "verified_seconds", "checks_passed", "checks_failed", "quality", "amount", "amount_minor", "currency"]
    static let earningsTypes: [ValueType] = [.text, .timestamp, .timestamp, .text, .text, .text, .integer, .integer, .integer, .integer,
                                             .number, .text, .integer, .text]

    /// `earnings [stream=S] [node=N] [period=24h | since=RFC3339]`: closed periods' results,
    /// then the open period so far ("open": what it would pay if it ended now).
    func earnings(_ args: Arguments) throws -> AdminResponse {
        guard let money = self.earningsEngine else { throw ErrorMessage(.unavailable, "the earnings engine is not running") }
        let streams = try args.optional("stream").map { [try store.stream(named: $0)] } ?? store.streams()
        let node = args.optional("node")
        let now = clockMs()
        let from: Int64
        if let since = args.optional("since") {
            guard let t = TimeText.parse(since) else { throw InvalidInput("`since` is a time like 2026-12-01T00:00:00Z") }
            from = t * 1000
        } else {
            from = now - (try args.optional("period").map(Period.parse) ?? 86_400) * 1000
        }
        let names = Dictionary(uniqueKeysWithValues: try store.nodes(includingPending: true).map { ($0.nodeID, $0.displayName) })
        var rows: [[String]] = []
        var totals: [String: Int64] = [:]
        for stream in streams {
            let currency = try EarningsService.currency(stream)
            let closed = Dictionary(uniqueKeysWithValues: try store.closedPeriods(stream: stream.name, fromMs: 0).map { ($0.startMs, $0) })
            for result in try store.periodResults(stream: stream.name, node: node, fromMs: 0) {
                guard let period = closed[result.startMs], period.endMs > from else { continue }
                rows.append([stream.name, TimeText.format(result.startMs / 1000), TimeText.format(period.endMs / 1000),
                             result.flagged ? "flagged" : "closed", result.node, names[result.node] ?? "?", "\(result.uptimeMs / 1000)",
                             "\(result.verifiedMs / 1000)", "\(result.checksPassed)", "\(result.checksFailed)", PPM.format(result.qualityPpm),
                             currency.format(result.amountMinor), "\(result.amountMinor)", currency.code])
                totals[currency.code, default: 0] += result.amountMinor
            }
            if let preview = try money.preview(stream: stream, nowMs: now) {
                for n in preview.nodes where node == nil || n.node == node {
                    rows.append([stream.name, TimeText.format(preview.period.span.startMs / 1000), "-", "open", n.node, names[n.node] ?? "?",
                                 "\(n.uptime.heartbeatMs / 1000)", "\(n.uptime.verifiedSeconds)", "\(n.quality.passed)", "\(n.quality.failed)",
                                 PPM.format(n.quality.qualityPpm), currency.format(n.amountMinor), "\(n.amountMinor)", currency.code])
                }
            }
        }
        let total = totals.sorted { $0.key < $1.key }.map { "\(MinorUnits.format($0.value, exponent: 2)) \($0.key)" }.joined(separator: ", ")
        return AdminResponse(columns: Self.earningsColumns, rows: rows,
                             message: rows.isEmpty ? "no earnings in this window yet" : "closed periods total \(total.isEmpty ? "0" : total); "
                                 + "`open` rows are the current period so far; `streamrctl earnings explain NODE` shows every term",
                             types: Self.earningsTypes)
    }

    /// A friend's own earnings, asked on their node's mTLS session: their rows only (never
    /// another friend's handle or name), the open period so far, and their balances.
    public func earnings(ofNode node: String) throws -> AdminResponse {
        var response = try earnings(Arguments(AdminRequest(command: ["earnings"], arguments: [AdminArgument("node", node),
                                                                                             AdminArgument("period", "30d")])))
        var balances: [String] = []
        for kind in ["held", "payable", "paid"] {
            for b in try store.ledgerBalances(prefix: "node:\(node):\(kind)") where b.account == "node:\(node):\(kind)" {
                balances.append("\(kind) \(MinorUnits.format(b.minor, exponent: 2)) \(b.currency)")
            }
        }
        response.message = balances.isEmpty ? "nothing held, payable or paid yet" : balances.joined(separator: ", ")
        return response
    }

    /// A node's balances: held (within the hold window), payable, paid.
    public func balances(ofNode node: String) throws -> AdminResponse {
        var rows: [[String]] = []
        for kind in ["held", "payable", "paid"] {
            for b in try store.ledgerBalances(prefix: "node:\(node):\(kind)") where b.account == "node:\(node):\(kind)" {
                rows.append([kind, MinorUnits.format(b.minor, exponent: 2), "\(b.minor)", b.currency])
            }
        }
        return AdminResponse(columns: ["kind", "amount", "amount_minor", "currency"], rows: rows, types: [.text, .text, .integer, .text])
    }

    /// `earnings explain node=N [stream=S] [period=START|current]`: every term of the amount.
    func explainEarnings(_ args: Arguments) throws -> AdminResponse {
        guard let money = self.earningsEngine else { throw ErrorMessage(.unavailable, "the earnings engine is not running") }
        let node = try args.required("node")
        let streams = try args.optional("stream").map { [try store.stream(named: $0)] } ?? store.streams()
        let which = args.optional("period") ?? "last"
        var text: [String] = []
        for stream in streams {
            if which == "current" || which == "open" {
                if let preview = try money.preview(stream: stream, nowMs: clockMs()), let lines = preview.explanation(of: node) {
                    text += ["(open period, so far)"] + lines
                }
                continue
            }
            var results = try store.periodResults(stream: stream.name, node: node)
            if which != "last" {
                guard let t = TimeText.parse(which) else { throw InvalidInput("`period` is `current`, `last` or its start time, e.g. 2026-12-01T10:00:00Z") }
                results = results.filter { $0.startMs == t * 1000 }
            }
            if let result = results.last { text.append(result.explanation) }
        }
        guard !text.isEmpty else { throw ErrorMessage(.notFound, "no earnings of `\(node)` for that period") }
        return AdminResponse(message: text.joined(separator: "\n"))
    }

    // MARK: - Payouts

    static let payoutColumns = ["node_id", "display_name", "method", "handle", "amount", "amount_minor", "currency"]
    static let payoutTypes: [ValueType] = [.text, .text, .text, .text, .text, .integer, .text]

    /// What every node can be paid now, in `currency` (default: the streams' only one).
    private func plan(_ args: Arguments, batchID: String) throws -> PayoutPlan {
        let currencies = Set(try store.streams().map { try EarningsService.currency($0) })
        let code = args.optional("currency")?.uppercased() ?? (currencies.count == 1 ? currencies.first!.code : "USD")
        guard let currency = currencies.first(where: { $0.code == code }) ?? (try? CurrencyUnit(code, exponent: 2)) else {
            throw InvalidInput("unknown currency `\(code)`")
        }
        let minimum = try args.optional("min").map { try Amount.parse($0, currency: try Currency.parse(code)).minor } ?? 1
        let nodes = Dictionary(uniqueKeysWithValues: try store.nodes(includingPending: true).map { ($0.nodeID, $0) })
        let payables = try store.ledgerBalances(prefix: "node:").compactMap { balance -> PayableBalance? in
            guard balance.account.hasSuffix(":payable"), balance.currency == code, balance.minor > 0 else { return nil }
            let id = String(balance.account.dropFirst(5).dropLast(8))
            return PayableBalance(node: id, displayName: nodes[id]?.displayName ?? id, handle: nodes[id]?.payoutHandle ?? "",
                                  currency: currency, amountMinor: balance.minor)
        }
        return try PayoutPlanner.plan(payables: payables, currency: currency, minimumMinor: max(1, minimum), batchID: batchID, atMs: clockMs())
    }

    private func rows(_ batch: PayoutBatch) -> [[String]] {
        batch.rows.map { [$0.node, $0.displayName, $0.recipient.wallet.rawValue.lowercased(), $0.handle,
                          batch.currency.format($0.amountMinor), "\($0.amountMinor)", batch.currency.code] }
    }

    private func skippedText(_ plan: PayoutPlan) -> String {
        plan.skipped.isEmpty ? "" : "; not in it: " + plan.skipped.map { "\($0.node) (\($0.reason))" }.joined(separator: ", ")
    }

    func payoutPlan(_ args: Arguments) throws -> AdminResponse {
        let plan = try plan(args, batchID: "preview")
        return AdminResponse(columns: Self.payoutColumns, rows: rows(plan.batch),
                             message: plan.batch.rows.isEmpty ? "nothing is payable yet" + skippedText(plan)
                                 : "would pay \(plan.batch.rows.count) friend(s) \(plan.batch.currency.format(plan.batch.totalMinor)) \(plan.batch.currency.code)" + skippedText(plan),
                             types: Self.payoutTypes)
    }

    /// Idempotent: a batch whose id was stored but whose entry was never written (a crash in
    /// between) is finished first, and nothing new is made while there is nothing payable.
    func payoutCreate(_ args: Arguments) throws -> AdminResponse {
        for batch in try store.payoutBatches() where try store.ledgerTransaction(id: "payout:\(batch.id)") == nil
            && (try store.payoutRows(batch: batch.id)).isEmpty {
            let plan = try plan(args, batchID: batch.id)
            try store.recordPayout(plan)
            logger.notice("payout batch \(batch.id) finished after an interruption", metadata: ["event": "payout_resumed", "batch": "\(batch.id)"])
            return AdminResponse(columns: ["batch"] + Self.payoutColumns, rows: rows(plan.batch).map { [batch.id] + $0 },
                                 message: "finished batch \(batch.id), which an interrupted `payout create` had started" + skippedText(plan),
                                 types: [.text] + Self.payoutTypes)
        }
        let now = clockMs()
        let id = PayoutBatchID.make(atMs: now, random: UInt32.random(in: 0 ... .max))
        let preview = try plan(args, batchID: id)
        guard !preview.batch.rows.isEmpty else {
            return AdminResponse(columns: ["batch"] + Self.payoutColumns, message: "nothing is payable: no batch made" + skippedText(preview),
                                 types: [.text] + Self.payoutTypes)
        }
        // The id is stored before any entry is written: a crash after this finishes this batch.
        try store.recordPayoutBatch(id: id, currency: preview.batch.currency.code, minimumMinor: 1, createdMs: now)
        let plan = try plan(args, batchID: id)
        try store.recordPayout(plan)
        logger.notice("payout batch \(id): \(plan.batch.rows.count) payment(s), \(plan.batch.currency.format(plan.batch.totalMinor)) \(plan.batch.currency.code)",
                      metadata: ["event": "payout_created", "batch": "\(id)"])
        return AdminResponse(columns: ["batch"] + Self.payoutColumns, rows: rows(plan.batch).map { [id] + $0 },
                             message: "batch \(id): \(plan.batch.rows.count) payment(s), \(plan.batch.currency.format(plan.batch.totalMinor)) "
                                 + "\(plan.batch.currency.code); `streamrctl payout export \(id) --format csv` for PayPal" + skippedText(plan),
                             types: [.text] + Self.payoutTypes)
    }

    /// The batch as it was made, from its stored rows.
    func loadBatch(_ id: String) throws -> PayoutBatch {
        guard let record = try store.payoutBatches().first(where: { $0.id == id }) else {
            throw ErrorMessage(.notFound, "no payout batch `\(id)` (see `streamrctl payout list`)")
        }
        let known = (try? store.streams().compactMap { try? EarningsService.currency($0) }) ?? []
        let currency = try known.first { $0.code == record.currency } ?? CurrencyUnit(record.currency, exponent: 2)
        let rows = try store.payoutRows(batch: id).map { row in
            PayoutRow(node: row.node, displayName: row.displayName, handle: row.handle,
                      recipient: try PayoutRecipient.parse(handle: row.handle), amountMinor: row.amountMinor)
        }
        return PayoutBatch(id: id, currency: currency, createdAtMs: record.createdMs, note: "Streamr relay earnings, batch \(id)", rows: rows)
    }

    func payoutExport(_ args: Arguments) throws -> AdminResponse {
        let batch = try loadBatch(try args.required("batch"))
        switch args.optional("format") ?? "csv" {
        case "csv": return AdminResponse(message: PayoutExport.payPalCSV(batch))
        case "checklist": return AdminResponse(message: PayoutExport.checklistCSV(batch))
        case "json":
            let head = try store.ledgerEntries().last.map { LedgerAnchor(sequence: $0.entry.sequence, hash: $0.hash) }
            return AdminResponse(message: PayoutExport.json(batch, ledgerHead: head))
        case let other: throw InvalidInput("`--format` is csv, json or checklist, not `\(other)`")
        }
    }

    func payoutMarkPaid(_ args: Arguments) throws -> AdminResponse {
        let batch = try loadBatch(try args.required("batch"))
        let nodes = args.optional("node").map { Set($0.split(separator: ",").map(String.init)) }
        var paid = try PayoutPlanner.markPaid(batch, nodes: nodes, atMs: clockMs())
        if let reference = args.optional("reference") {
            guard reference.count <= 200, !reference.contains("\n") else { throw InvalidInput("the reference is one line of at most 200 characters") }
            for i in paid.indices { paid[i].memo += "; reference \(reference)" }
        }
        let written = try store.appendLedger(paid)
        logger.notice("payout batch \(batch.id): \(written.count) payment(s) marked paid", metadata: ["event": "payout_paid", "batch": "\(batch.id)"])
        return AdminResponse(message: written.isEmpty ? "batch \(batch.id) was already marked paid" : "batch \(batch.id): \(written.count) payment(s) marked paid")
    }

    func payoutList() throws -> AdminResponse {
        let rows = try store.payoutBatches().map { record -> [String] in
            let batch = try loadBatch(record.id)
            let paid = try batch.rows.filter { try store.ledgerTransaction(id: "paid:\(record.id):\($0.node)") != nil }.count
            let state = batch.rows.isEmpty ? "empty" : paid == batch.rows.count ? "paid" : paid == 0 ? "unpaid" : "partly paid"
            return [record.id, TimeText.format(record.createdMs / 1000), "\(batch.rows.count)", batch.currency.format(batch.totalMinor),
                    "\(batch.totalMinor)", batch.currency.code, "\(paid)", state]
        }
        return AdminResponse(columns: ["batch", "created", "payments", "total", "total_minor", "currency", "paid", "state"], rows: rows,
                             types: [.text, .timestamp, .integer, .text, .integer, .text, .integer, .text])
    }

    func payoutShow(_ args: Arguments) throws -> AdminResponse {
        let batch = try loadBatch(try args.required("batch"))
        let rows = try batch.rows.map { row -> [String] in
            let paid = try store.ledgerTransaction(id: "paid:\(batch.id):\(row.node)")
            return [row.node, row.displayName, row.recipient.wallet.rawValue.lowercased(), row.handle, batch.currency.format(row.amountMinor),
                    "\(row.amountMinor)", batch.currency.code, paid == nil ? "unpaid" : "paid", paid?.memo ?? "-"]
        }
        return AdminResponse(columns: Self.payoutColumns + ["state", "note"], rows: rows,
                             message: "batch \(batch.id), made \(TimeText.format(batch.createdAtMs / 1000)): \(batch.currency.format(batch.totalMinor)) \(batch.currency.code)",
                             types: Self.payoutTypes + [.text, .text])
    }

    // MARK: - Ledger

    /// `ledger verify`: recomputes the hash chain and every balance from the rows as stored.
    func ledgerVerify() throws -> AdminResponse {
        let stored = try store.ledgerEntries()
        let report = LedgerVerifier.verify(stored, using: CoordinatorStore.hash)
        let rows = report.problems.map { ["\($0.sequence)", "\($0)"] }
        let head = LedgerChain.hex(report.head)
        if !report.isSound {
            logger.error("ledger verify: \(report.problems.count) problem(s); first hash mismatch at \(report.firstHashMismatch.map { "\($0)" } ?? "-")",
                         metadata: ["event": "ledger_unsound"])
            throw ErrorMessage(.failedPrecondition, "the ledger does not verify: " + report.problems.prefix(5).map { "\($0)" }.joined(separator: "; ")
                               + (report.firstHashMismatch.map { " (row \($0) was changed after it was written)" } ?? ""))
        }
        return AdminResponse(columns: ["sequence", "problem"], rows: rows,
                             message: "ledger ok: \(report.entries) entries, every hash and balance recomputed; head \(head.isEmpty ? "(empty)" : head)",
                             types: [.integer, .text])
    }
}
