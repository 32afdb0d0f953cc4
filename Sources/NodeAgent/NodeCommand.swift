import ArgumentParser
import FoundationEssentials
import Glibc
import LiveMedia
import Logging
import Relay
import ServiceLifecycle
import StreamrConfig
import StreamrDaemon
import StreamrHTTP
import StreamrRPC
import StreamrTLS
import StreamrWire

/// `streamr-node`: what a friend runs to carry the stream to viewers.
public struct NodeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "streamr-node",
        abstract: "Streamr node agent: relays a streamer's live stream to viewers.",
        discussion: """
        First `streamr-node join 'streamr://...' --payout venmo:@you` (as root), then \
        `systemctl enable --now streamr-node`. The service keeps a mutual-TLS session with the \
        host's coordinator, subscribes to its streams at the ingest, and serves viewers on \
        `listen_http` (default 0.0.0.0:8935: /live/<stream>.flv, HLS /live/<stream>/index.m3u8 in \
        MPEG-TS and /live/<stream>/fmp4.m3u8 in fMP4, /chunks/<stream>/<seq>) and RTMP \
        play on `listen_rtmp` (default 0.0.0.0:1935). `streamrctl status` talks to \
        `control_socket` (default /run/streamr-node/control.sock).
        """,
        version: StreamrVersion.current,
        subcommands: [Run.self, JoinCommand.self, LeaveCommand.self],
        defaultSubcommand: Run.self)

    public init() {}

    public struct Run: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(abstract: "Run the node agent (the default).")
        @OptionGroup public var options: DaemonOptions
        public init() {}

        public func run() async throws {
            var daemon = try Daemon(name: "streamr-node", role: .node, options: options,
                                    settings: Set(["control_socket", "listen_http", "listen_rtmp", "public_url", "upload_cap",
                                                   "keep_chunks", "machine_id_file", "test_fault"]).union(ViewerSettings.keys)
                                                   .union(ListenerSettings.keys),
                                    defaultStateDirectory: "/var/lib/streamr-node")
            let config = daemon.config
            let fault = try TestFault.from(config, environment: ProcessInfo.processInfo.environment)
            let control = try await daemon.bind(
                try daemon.listenAddress("control", key: "control_socket", default: "/run/streamr-node/control.sock"),
                pipeline: RPCPipeline())
            let files = NodeFiles(directory: daemon.stateDirectory)
            guard let joined = try files.load() else {
                // Not joined yet: answer status (so `streamrctl status` says what to do) and wait.
                daemon.logger.notice("not joined to a host yet: run `streamr-node join 'streamr://...'`", metadata: ["event": "not_joined"])
                let base = BaseHandler(daemon: daemon, listening: [control]) {
                    [StatusItem("joined", "no: run streamr-node join 'streamr://...' (the line from the host's streamrctl invite create)")]
                }
                try await daemon.run(services: [RPCService(control, handler: base.adminHandler())], listening: [control])
                return
            }
            let identity = joined.identity
            var logger = daemon.logger
            logger[metadataKey: "node"] = "\(identity.nodeID)"
            if let fault {
                logger.warning("TEST FAULT \(fault.rawValue): this node cheats on purpose (\(TestFault.environmentKey)=1)", metadata: [
                    "event": "test_fault_active", "reason": "\(fault.rawValue)"])
            }
            let store: NodeStore
            do { store = try NodeStore(path: daemon.stateDirectory + "/node.db") } catch {
                logger.critical("\(error)", metadata: ["event": "database_failed"])
                throw error
            }
            let tls = try TLSContext(.client(identity: joined.tls, trustRoots: [joined.ca], expectedPeer: .host))
            var limits = LiveStream.Limits()
            limits.sealedChunks = try config.int("keep_chunks", default: 15, range: 3...300)
            let relays = Relays(ingestAddress: identity.ingestAddress, signingKey: joined.signingKey, tls: tls, limits: limits,
                                meter: TrafficMeter(), servedBefore: (try? store.bytesServed()) ?? [:], logger: logger)
            let nodeControl = NodeControl(store: store, relays: relays, logger: logger)
            nodeControl.refresh()

            let viewerLimits = try ViewerSettings.limits(config)
            let httpAddress = try daemon.listenAddress("http", key: "listen_http", default: "0.0.0.0:8935")
            let rtmpAddress = try daemon.listenAddress("rtmp", key: "listen_rtmp", default: "0.0.0.0:1935")
            let http = try await daemon.bindHTTP(httpAddress, limits: try ListenerSettings.http(config, viewerQueueBytes: viewerLimits.queueBytes))
            let viewers = ViewerService(relays: relays, port: http.localAddress?.port ?? 8935,
                                        publicURL: config.string("public_url", default: ""),
                                        uploadCapBps: try Self.uploadCap(config), viewerLimits: viewerLimits,
                                        paused: { nodeControl.pausedUntil() != nil }, fault: fault, logger: logger)
            var rtmpLimits = RTMPLimits()
            rtmpLimits.viewers = viewerLimits
            let rtmp = try await RTMPServer.bind(rtmpAddress, delegate: NodeRTMP(relays: relays, paused: { nodeControl.pausedUntil() != nil },
                                                                                 servesNothing: fault == .fakeUptime),
                                                 limits: rtmpLimits, hmac: { HMACSHA256.mac(key: $0, data: $1) }, logger: logger)
            let session = CoordinatorSession(identity: identity, files: files, tls: tls, store: store, relays: relays, viewers: viewers,
                                             control: nodeControl, machineIDFile: config.string("machine_id_file", default: "/etc/machine-id"),
                                             logger: logger)
            nodeControl.coordinator.withLockedValue { $0 = { try await session.request($0) } }
            let base = BaseHandler(daemon: daemon, listening: [control, http, rtmp]) {
                Self.status(identity: identity, session: session, relays: relays, viewers: viewers, store: store, control: nodeControl)
            }
            if joined.signingKey == nil {
                logger.notice("waiting for the host's chunk-signing key from the coordinator before relaying", metadata: ["event": "signing_key_missing"])
            }
            relays.set(identity.streams)
            try await daemon.run(services: [RPCService(control, handler: base.adminHandler(next: nodeControl.handler)),
                                            HTTPService(http, handler: viewers.handler),
                                            NodeRTMPService(server: rtmp),
                                            CoordinatorService(session: session)],
                                 listening: [control, http, rtmp])
            relays.stopAll()
            try? store.saveBytesServed(relays.bytesServed())
        }

        /// `upload_cap`: bits per second with an optional k/M/G suffix (e.g. 50M); 0 or absent: no cap.
        static func uploadCap(_ config: ConfigFile) throws -> UInt64 {
            let text = config.string("upload_cap", default: "0").trimmingWhitespace()
            let units: [Character: UInt64] = ["k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000, "g": 1_000_000_000, "G": 1_000_000_000]
            var number = text, factor: UInt64 = 1
            if let last = text.last, let unit = units[last] { number = String(text.dropLast()); factor = unit }
            guard let value = UInt64(number) else {
                throw config.error("upload_cap", "`upload_cap` must be bits per second like 50M or 800k, got `\(text)`")
            }
            return value * factor
        }

        static func status(identity: NodeIdentity, session: CoordinatorSession, relays: Relays, viewers: ViewerService,
                           store: NodeStore, control: NodeControl) -> [StatusItem] {
            let now = NodeStore.nowMs()
            let relayed = relays.all.filter { $0.isReceiving(nowMs: now) }
            let served = relays.bytesServed().values.reduce(0, +)
            let midnight = TextFormat.localMidnight(unixSeconds: now / 1000) * 1000
            let uptime = ((try? store.connectedMs(since: midnight, nowMs: now)) ?? 0) / 1000
            let paused = control.pausedUntil()
            return [
                StatusItem("node_id", identity.nodeID),
                StatusItem("display_name", identity.displayName),
                StatusItem("coordinator", session.status),
                StatusItem("paused", boolean: paused != nil),
                paused.map { $0 > 0 ? StatusItem("paused_until", TextFormat.timestamp(unixSeconds: $0 / 1000), type: .timestamp)
                                    : StatusItem("paused_until", "until resumed") } ?? StatusItem("paused_until", "-", type: .null),
                StatusItem("streams_relayed", relayed.isEmpty ? "none" : relayed.map(\.name).sorted().joined(separator: ",")),
                StatusItem("viewers", integer: relays.all.reduce(0) { $0 + relays.viewers($1, nowMs: now) }),
                StatusItem("bytes_served", integer: served),
                StatusItem("upload_bps", integer: viewers.uploadBps()),
                StatusItem("uptime_today", "\(uptime / 3600)h \(TextFormat.padded((uptime % 3600) / 60, width: 2))m"),
                StatusItem("uptime_today_seconds", integer: uptime),
                StatusItem("earnings_this_period", session.money?.thisPeriod ?? "not reported by the host yet"),
            ] + (session.money?.balances.map { StatusItem("earnings_\($0.kind)", $0.text) } ?? [])
        }
    }
}

/// RTMP at a node: play only (nobody publishes to a node).
struct NodeRTMP: RTMPServerDelegate {
    let relays: Relays
    let paused: @Sendable () -> Bool
    var servesNothing = false
    func publish(app: String, key: String, publisher: RTMPPublisher) async -> Result<any RTMPPublishSink, RTMPRefusal> {
        .failure(RTMPRefusal("this is a relay node: publish to the host's ingest"))
    }
    func play(app: String, name: String) -> LiveStream? {
        guard app == "live", !paused(), !servesNothing, let relayed = relays.stream(named: name), !relayed.live.isEnded else { return nil }
        return relayed.live
    }
}

struct NodeRTMPService: Service {
    let server: RTMPServer
    func run() async throws {
        do { try await cancelWhenGracefulShutdown { try await server.run() } } catch is CancellationError {}
    }
}

struct CoordinatorService: Service {
    let session: CoordinatorSession
    func run() async throws {
        await cancelWhenGracefulShutdown { await session.run() }
    }
}
