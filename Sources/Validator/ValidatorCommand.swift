import ArgumentParser
import FoundationEssentials
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import StreamrConfig
import StreamrDaemon
import StreamrRPC
import StreamrTLS
import StreamrWire
import Validation

/// `streamr-validator`: spot-checks nodes byte-exactly against the ingest's digests.
public struct ValidatorCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "streamr-validator",
        abstract: "Streamr validator: spot-checks node agents against the ingest's chunk digests.",
        discussion: """
        Takes the ingest's chunk seals on `work_socket` (default /run/streamr/validator.sock; root \
        or group streamr), checks each against the host's signing key (`pki_directory`) and keeps \
        the recent ones in `database` (default STATE/validator.db). Asks the coordinator over \
        `coordinator_socket` (default /run/streamr/control.sock) which nodes to check, then checks \
        them at random times (`checks_per_node_per_hour`, default 120, at most \
        `max_checks_per_second`, default 50, in all) as a viewer would: a byte range or a whole \
        chunk from /chunks, a few seconds of HTTP-FLV, an HLS playlist and segment, straight to \
        the address the coordinator saw on the node's session or through the coordinator's \
        /watch (`coordinator_http`, default 127.0.0.1:8000). Reference bytes come from the \
        ingest's origin (`ingest_origin`, default 127.0.0.1:8936), never from a node. Results go \
        to the coordinator, which answers once each is stored; until then they wait in the \
        database, across restarts. Failures are logged with STREAMR_EVENT=spot_check_failed, \
        STREAMR_NODE, STREAMR_STREAM and STREAMR_REASON. Under systemd the work socket comes \
        from streamr-validator.socket (name: work).
        """,
        version: StreamrVersion.current)

    @OptionGroup public var options: DaemonOptions
    public init() {}

    static let settings: Set<String> = [
        "work_socket", "database", "coordinator_socket", "coordinator_http", "ingest_origin", "checks_per_node_per_hour",
        "max_checks_per_second", "probe_weights", "via_watch_share", "node_keep_chunks", "max_concurrent_probes", "targets_interval",
    ]

    public func run() async throws {
        var daemon = try Daemon(name: "streamr-validator", role: .validator, options: options, settings: Self.settings)
        let config = daemon.config
        let logger = daemon.logger
        let engineConfig = try Self.engineConfiguration(config)
        let origin = try Self.hostPort(config, "ingest_origin", default: "127.0.0.1:8936")
        let work = try await daemon.bind(try daemon.listenAddress("work", key: "work_socket", default: "/run/streamr/validator.sock"),
                                         pipeline: RPCPipeline())
        let pki = HostPKI(directory: daemon.pkiDirectory)
        let keyError = NIOLockedValueBox<String?>(nil)
        let book = SealBook(loadKey: {
            do {
                let key = try pki.signingPublicKey()
                keyError.withLockedValue { $0 = nil }
                return key
            } catch {
                keyError.withLockedValue { $0 = "\(error)" }
                return nil
            }
        })
        if let why = keyError.withLockedValue({ $0 }) {
            logger.error("cannot read the host's signing key: \(why); seals are refused until it can be read", metadata: [
                "event": "signing_key_missing"])
        }
        let path = config.string("database", default: daemon.stateDirectory + "/validator.db")
        let store: ValidatorStore
        do {
            try FileManager.default.createDirectory(atPath: TextFormat.directory(of: path), withIntermediateDirectories: true)
            store = try ValidatorStore(path: path)
        } catch {
            logger.critical("cannot open the database \(path): \(error)", metadata: ["event": "database_failed"])
            throw error
        }
        let fetcher = ReferenceFetcher(book: book, origin: origin, logger: logger)
        // A restart knows the recent seals at once (their bytes are fetched again while the ingest keeps them).
        let now = ValidatorStore.nowMs()
        for (seal, received) in try store.recentSeals(sinceMs: now - 600_000, perStream: 64) {
            if book.accept(seal, receivedMs: received) == .new {
                fetcher.fetch(.init(stream: seal.stream, chainID: seal.chainID, seq: seal.seq))
            }
        }
        _ = try? store.pruneSeals(beforeMs: now - 86_400_000)

        let engine = CheckEngine(book: book, fetcher: fetcher, store: store, configuration: engineConfig, logger: logger)
        let interval = try config.milliseconds("targets_interval", default: 2000, range: 200...60_000)
        let client = CoordinatorClient(socket: config.string("coordinator_socket", default: "/run/streamr/control.sock"), store: store,
                                       targetsInterval: .milliseconds(interval), logger: logger,
                                       status: { engine.currentStatus() }, onTargets: { engine.setTargets($0) })
        engine.attach(client)

        let seals = SealIntake(book: book, fetcher: fetcher, store: store, logger: logger)
        let base = BaseHandler(daemon: daemon, listening: [work]) {
            Self.status(book: book, fetcher: fetcher, engine: engine, client: client, store: store)
        }
        try await daemon.run(services: [RPCService(work, handler: base.adminHandler(next: seals.handler)),
                                        Background(name: "references") { await fetcher.run() },
                                        Background(name: "checks") { await engine.run() },
                                        Background(name: "coordinator") { await client.run() },
                                        Background(name: "prune") {
                                            // Seals older than a day are no reference for anything (nodes keep a few chunks).
                                            while !Task.isCancelled {
                                                try? await Task.sleep(for: .seconds(600))
                                                _ = try? store.pruneSeals(beforeMs: ValidatorStore.nowMs() - 86_400_000)
                                            }
                                        }],
                             listening: [work])
    }

    static func status(book: SealBook, fetcher: ReferenceFetcher, engine: CheckEngine, client: CoordinatorClient,
                       store: ValidatorStore) -> [StatusItem] {
        let seals = book.counts, fetched = fetcher.counts, stats = engine.statistics, sent = client.counts
        let now = ProbeHTTP.wallMs()
        let status = engine.currentStatus()
        let streams = book.liveStreams(nowMs: now, withinMs: engine.configuration.liveWithinMs).map { name -> String in
            let c = book.current(stream: name)
            return "\(name) (chain \(String(c?.chainID ?? 0, radix: 16)), chunk \(c?.newestSeq ?? 0))"
        }
        return [
            StatusItem("signing_key", boolean: book.hasSigningKey),
            StatusItem("coordinator_link", boolean: client.isConnected),
            StatusItem("checking", boolean: client.isConnected && status.checking),
            StatusItem("live_streams", streams.isEmpty ? "none" : streams.joined(separator: ", ")),
            StatusItem("targets", integer: stats.targets),
            StatusItem("seals_accepted", integer: seals.accepted),
            StatusItem("seals_duplicate", integer: seals.duplicates),
            StatusItem("seals_rejected", integer: seals.rejected),
            StatusItem("reference_chunks_fetched", integer: fetched.fetched),
            StatusItem("reference_fetches_failed", integer: fetched.failed),
            StatusItem("probes", integer: stats.probes),
            StatusItem("checks_passed", integer: stats.verdicts[.passed] ?? 0),
            StatusItem("checks_failed", integer: stats.verdicts[.failed] ?? 0),
            StatusItem("checks_altered", integer: stats.verdicts[.altered] ?? 0),
            StatusItem("checks_stale", integer: stats.verdicts[.stale] ?? 0),
            StatusItem("routing_probes", integer: stats.routed),
            StatusItem("probes_unjudged", integer: stats.unjudged),
            StatusItem("probes_skipped", integer: stats.skipped),
            StatusItem("probes_running", integer: stats.running),
            StatusItem("reports_sent", integer: sent.sent),
            StatusItem("reports_refused", integer: sent.refused),
            StatusItem("reports_pending", integer: (try? store.pendingCount()) ?? 0),
            StatusItem("database", store.path),
        ]
    }

    static func hostPort(_ config: ConfigFile, _ key: String, default fallback: String) throws -> (host: String, port: Int) {
        let text = config.string(key, default: fallback)
        guard let hp = HostPort.parse(text), hp.port > 0 else { throw config.error(key, "`\(key)` must be host:port, got `\(text)`") }
        return (hp.host, hp.port)
    }

    static func engineConfiguration(_ config: ConfigFile) throws -> CheckEngine.Configuration {
        var c = CheckEngine.Configuration()
        c.schedule.checksPerNodePerHour = try double(config, "checks_per_node_per_hour", default: 120, range: 0...36_000)
        c.schedule.maxChecksPerSecond = try double(config, "max_checks_per_second", default: 50, range: 0.01...10_000)
        c.planning.viaWatchShare = try double(config, "via_watch_share", default: 0.5, range: 0...1)
        c.planning.nodeKeepsChunks = try config.int("node_keep_chunks", default: 15, range: 3...300)
        c.maxConcurrentProbes = try config.int("max_concurrent_probes", default: 64, range: 1...4096)
        c.coordinatorHTTP = try hostPort(config, "coordinator_http", default: "127.0.0.1:8000")
        let weights = config.string("probe_weights", default: "range=82,chunk=6,live_flv=6,hls=6")
        var seen: [String: Double] = [:]
        for pair in weights.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).trimmingWhitespace() }
            guard parts.count == 2, ProbeKind(rawValue: parts[0]) != nil, let w = Double(parts[1]), w >= 0, w.isFinite else {
                throw config.error("probe_weights", "`probe_weights` is kind=weight,... with kinds range, chunk, live_flv, hls, got `\(weights)`")
            }
            seen[parts[0]] = w
        }
        guard seen.values.contains(where: { $0 > 0 }) else { throw config.error("probe_weights", "`probe_weights` needs a weight above 0") }
        c.planning.rangeWeight = seen["range"] ?? 0
        c.planning.chunkWeight = seen["chunk"] ?? 0
        c.planning.liveFLVWeight = seen["live_flv"] ?? 0
        c.planning.hlsWeight = seen["hls"] ?? 0
        return c
    }

    static func double(_ config: ConfigFile, _ key: String, default fallback: Double, range: ClosedRange<Double>) throws -> Double {
        let text = config.string(key, default: "\(fallback)")
        guard let value = Double(text), range.contains(value) else {
            throw config.error(key, "`\(key)` must be a number from \(range.lowerBound) to \(range.upperBound), got `\(text)`")
        }
        return value
    }
}

/// ChunkSealed pushes from the ingest on the work socket: verified, kept, stored, their bytes fetched.
struct SealIntake: Sendable {
    let book: SealBook
    let fetcher: ReferenceFetcher
    let store: ValidatorStore
    let logger: Logger
    /// The last refusal logged and when: the same reason again is logged once a minute.
    private let lastRefusal = NIOLockedValueBox((reason: "", atMs: Int64.min))

    init(book: SealBook, fetcher: ReferenceFetcher, store: ValidatorStore, logger: Logger) {
        self.book = book; self.fetcher = fetcher; self.store = store; self.logger = logger
    }

    var handler: RPCConnection.Handler {
        { envelope, _ in
            guard case .chunkSealed(let seal) = envelope.body else {
                throw ErrorMessage(.unsupported, "\(envelope.body.name) is not served on the validator's work socket")
            }
            let now = ValidatorStore.nowMs()
            switch book.accept(seal, receivedMs: now) {
            case .new:
                do { try store.save(seal, receivedMs: now) } catch {
                    logger.warning("cannot store seal \(seal.seq) of \(seal.stream): \(error)", metadata: ["event": "state_write_failed"])
                }
                fetcher.fetch(.init(stream: seal.stream, chainID: seal.chainID, seq: seal.seq))
            case .duplicate:
                break
            case .rejected(let why):
                let log = lastRefusal.withLockedValue { last -> Bool in
                    guard last.reason != why || now - last.atMs >= 60_000 else { return false }
                    last = (why, now)
                    return true
                }
                guard log else { break }
                logger.warning("seal \(seal.seq) of \(seal.stream) refused: \(why)", metadata: [
                    "event": "seal_rejected", "stream": "\(seal.stream)", "reason": "\(why)"])
            }
            return nil
        }
    }
}

/// A task of the daemon's, cancelled when graceful shutdown begins.
struct Background: Service {
    let name: String
    let body: @Sendable () async -> Void
    func run() async throws {
        await cancelWhenGracefulShutdown { await body() }
    }
}
