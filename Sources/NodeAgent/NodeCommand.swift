import ArgumentParser
import FoundationEssentials
import Glibc
import LiveMedia
import Logging
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
        `listen_http` (default 0.0.0.0:8935: /live/<stream>.flv, /chunks/<stream>/<seq>) and RTMP \
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
                                    settings: ["control_socket", "listen_http", "listen_rtmp", "public_url", "upload_cap"],
                                    defaultStateDirectory: "/var/lib/streamr-node")
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
            let store = try NodeStore(path: daemon.stateDirectory + "/node.db")
            let tls = try TLSContext(.client(identity: joined.tls, trustRoots: [joined.ca]))
            let relays = Relays(ingestAddress: identity.ingestAddress, tls: tls, logger: logger)

            let httpAddress = try daemon.listenAddress("http", key: "listen_http", default: "0.0.0.0:8935")
            let rtmpAddress = try daemon.listenAddress("rtmp", key: "listen_rtmp", default: "0.0.0.0:1935")
            let http = try await daemon.bindHTTP(httpAddress)
            let viewers = ViewerService(relays: relays, port: http.localAddress?.port ?? 8935,
                                        publicURL: daemon.config.string("public_url", default: ""),
                                        uploadCapBps: try Self.uploadCap(daemon.config), bytesServed: (try? store.bytesServed()) ?? [:],
                                        logger: logger)
            let rtmp = try await RTMPServer.bind(rtmpAddress, delegate: NodeRTMP(relays: relays),
                                                 hmac: { HMACSHA256.mac(key: $0, data: $1) }, logger: logger)
            let session = CoordinatorSession(identity: identity, tls: tls, store: store, relays: relays, viewers: viewers, logger: logger)
            let base = BaseHandler(daemon: daemon, listening: [control, http, rtmp]) {
                Self.status(identity: identity, session: session, relays: relays, viewers: viewers, store: store)
            }
            relays.set(identity.streams)
            try await daemon.run(services: [RPCService(control, handler: base.adminHandler()),
                                            HTTPService(http, handler: viewers.handler),
                                            NodeRTMPService(server: rtmp),
                                            CoordinatorService(session: session)],
                                 listening: [control, http, rtmp])
            relays.stopAll()
            try? store.saveBytesServed(viewers.bytesServedTotals())
        }

        /// `upload_cap`: bits per second with an optional k/M/G suffix (e.g. 50M); 0 or absent: no cap.
        static func uploadCap(_ config: ConfigFile) throws -> UInt64 {
            let text = config.string("upload_cap", default: "0").trimmingWhitespace()
            let units: [Character: UInt64] = ["k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000, "g": 1_000_000_000, "G": 1_000_000_000]
            var number = text, factor: UInt64 = 1
            if let last = text.last, let unit = units[last] { number = String(text.dropLast()); factor = unit }
            guard let value = UInt64(number) else {
                throw ConfigError(source: config.source, line: config.line(of: "upload_cap") ?? 0,
                                  message: "`upload_cap` must be bits per second like 50M or 800k, got `\(text)`")
            }
            return value * factor
        }

        static func status(identity: NodeIdentity, session: CoordinatorSession, relays: Relays, viewers: ViewerService,
                           store: NodeStore) -> [StatusItem] {
            let now = NodeStore.nowMs()
            let relayed = relays.all.filter { $0.isReceiving(nowMs: now) }
            let served = viewers.bytesServedTotals().values.reduce(0, +)
            let midnight = TextFormat.localMidnight(unixSeconds: now / 1000) * 1000
            let uptime = ((try? store.connectedMs(since: midnight, nowMs: now)) ?? 0) / 1000
            return [
                StatusItem("node_id", identity.nodeID),
                StatusItem("display_name", identity.displayName),
                StatusItem("coordinator", session.status),
                StatusItem("streams_relayed", relayed.isEmpty ? "none" : relayed.map(\.name).sorted().joined(separator: ",")),
                StatusItem("viewers", "\(relays.all.reduce(0) { $0 + $1.live.viewerCount })"),
                StatusItem("bytes_served", "\(served)"),
                StatusItem("upload_bps", "\(viewers.uploadBps())"),
                StatusItem("uptime_today", "\(uptime / 3600)h \(TextFormat.padded((uptime % 3600) / 60, width: 2))m"),
                StatusItem("earnings_this_period", "not reported by the coordinator yet"),
            ]
        }
    }
}

/// RTMP at a node: play only (nobody publishes to a node).
struct NodeRTMP: RTMPServerDelegate {
    let relays: Relays
    func publish(app: String, key: String, peer: String) async -> Result<any RTMPPublishSink, RTMPRefusal> {
        .failure(RTMPRefusal("this is a relay node: publish to the host's ingest"))
    }
    func play(app: String, name: String) -> LiveStream? {
        guard app == "live", let relayed = relays.stream(named: name), !relayed.live.isEnded else { return nil }
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
