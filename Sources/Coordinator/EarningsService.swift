import CoordinatorCore
import Earnings
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

/// The earnings engine at work: periods close by themselves (every stream's, hourly by default,
/// as its `per` says), each closed once, immutably, with its ledger transactions; earnings move
/// from held to payable after the hold window; a fraud flag that arrives for a closed period
/// whose earning is still held reverses it with new entries. It runs on its own thread (SQLite
/// blocks), a few times a minute, and after a crash simply picks up where the records are.
public final class EarningsService: Service, Sendable {
    public struct Settings: Sendable {
        /// Earnings become payable this long after they were earned.
        public var holdMs: Int64 = 24 * 3_600_000
        /// A period closes this long after its end (late heartbeats and checks arrive first).
        public var closeDelayMs: Int64 = 60_000
        public var decay = Ratio.half
        public init() {}
    }

    let store: CoordinatorStore
    let settings: Settings
    let clockMs: @Sendable () -> Int64
    let logger: Logger
    private let reported = NIOLockedValueBox(Set<String>())
    /// SQLite blocks: the engine's work runs here, never on the cooperative pool.
    private let worker = NIOThreadPool(numberOfThreads: 1)

    public init(store: CoordinatorStore, settings: Settings = Settings(), clockMs: @escaping @Sendable () -> Int64 = CoordinatorStore.nowMs,
                logger: Logger) {
        self.store = store; self.settings = settings; self.clockMs = clockMs; self.logger = logger
        worker.start()
    }

    deinit { worker.shutdownGracefully { _ in } }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                _ = try? await self.onWriter { self.tick() }
                try? await Task.sleep(for: .seconds(5))
            }
        }
    }

    /// Runs `body` on the engine's own thread and waits for it.
    public func onWriter<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await worker.runIfActive { try body() }
    }

    /// One round: close what is due, release what waited out its hold, reverse late fraud.
    public func tick() {
        let now = clockMs()
        do {
            for stream in try store.streams() { try closeDue(stream, nowMs: now) }
            try releaseHeld(nowMs: now)
            try reverseLateFraud(nowMs: now)
        } catch {
            logger.error("earnings: \(error)", metadata: ["event": "earnings_failed"])
        }
    }

    static func currency(_ stream: StreamRecord) throws -> CurrencyUnit {
        try CurrencyUnit(stream.pool.currency.code, exponent: stream.pool.currency.decimals)
    }

    func schedule(_ stream: StreamRecord) throws -> PeriodSchedule {
        try PeriodSchedule(lengthSeconds: stream.periodSeconds, streamCreatedMs: stream.createdAt * 1000, closeDelayMs: settings.closeDelayMs)
    }

    func closeDue(_ stream: StreamRecord, nowMs: Int64) throws {
        let schedule = try schedule(stream)
        for period in schedule.due(nowMs: nowMs, closedThroughMs: try store.closedThrough(stream: stream.name), limit: 48) {
            let facts = try store.periodFacts(stream: stream, period: period, currency: try Self.currency(stream))
            let result = try PeriodClose.close(facts, rules: EarningsRules(decay: settings.decay), closedAtMs: nowMs)
            guard try store.recordClose(result, closedMs: nowMs) else { continue }
            logger.notice("stream \(stream.name): period \(period) closed; \(result.split.paidMinor) of \(result.poolMinor) minor units earned by \(result.nodes.filter { $0.amountMinor > 0 }.count) node(s)",
                          metadata: ["event": "period_closed", "stream": "\(stream.name)", "period_start_ms": "\(period.span.startMs)",
                                     "pool_minor": "\(result.poolMinor)", "unspent_minor": "\(result.unspentMinor)"])
        }
    }

    func releaseHeld(nowMs: Int64) throws {
        let earnings = try store.unsettledEarnings(earnedBy: nowMs - settings.holdMs)
        let due = try LedgerTransactions.releases(due: earnings, settled: [], nowMs: nowMs, holdMs: settings.holdMs)
        guard !due.isEmpty else { return }
        try store.appendLedger(due)
        logger.info("earnings: \(due.count) earning(s) released to payable after the hold window", metadata: ["event": "earnings_released"])
    }

    /// A fraud flag stamped in a closed period: its earning is reversed while still held; past
    /// the hold (payable, perhaps paid) it is for a person to settle, and said so once.
    func reverseLateFraud(nowMs: Int64) throws {
        for flag in try store.openFraudFlags() {
            let streams = flag.stream.isEmpty ? try store.streams().map(\.name) : [flag.stream]
            for stream in streams {
                guard let record = try? store.stream(named: stream), let period = try schedule(record).period(containing: flag.atMs),
                      let closed = try store.closedThrough(stream: stream), period.span.endMs <= closed else { continue }
                let earnID = LedgerTransactions.earningID(stream: stream, periodStartMs: period.span.startMs, node: flag.node)
                guard let earning = try store.ledgerTransaction(id: earnID),
                      try store.ledgerTransaction(id: "reverse:\(earnID)") == nil else { continue }
                if try store.ledgerTransaction(id: "release:\(earnID)") != nil {
                    let key = "late:\(earnID)"
                    if reported.withLockedValue({ $0.insert(key).inserted }) {
                        logger.warning("fraud flag on \(flag.node) for \(stream) \(period) arrived after its earning became payable: not reversed automatically; settle it by hand",
                                       metadata: ["event": "earnings_late_fact", "node": "\(flag.node)", "stream": "\(stream)"])
                    }
                    continue
                }
                let reversal = try LedgerTransactions.fraudReversal(earning: earning, release: nil, atMs: nowMs, reason: "fraud flag: \(flag.reason)")
                try store.appendLedger(reversal)
                logger.notice("fraud flag on \(flag.node): its earning for \(stream) \(period) reversed (it was still held)",
                              metadata: ["event": "earning_reversed", "node": "\(flag.node)", "stream": "\(stream)", "reason": "\(flag.reason)"])
            }
        }
    }

    /// What the open period of `stream` would pay if it ended now: the same rules over the facts
    /// so far, the pool in proportion to the time elapsed.
    public func preview(stream: StreamRecord, nowMs: Int64) throws -> PeriodEarnings? {
        let schedule = try schedule(stream)
        guard let period = schedule.period(containing: nowMs), nowMs > period.span.startMs else { return nil }
        var soFar = period
        soFar.span = TimeSpan(period.span.startMs, nowMs)
        let facts = try store.periodFacts(stream: stream, period: soFar, currency: try Self.currency(stream))
        return try PeriodClose.close(facts, rules: EarningsRules(decay: settings.decay), closedAtMs: nowMs)
    }
}
