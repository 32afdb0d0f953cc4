import ArgumentParser
import FLV
import LiveMedia
import StreamrConfig
import StreamrDaemon
import StreamrHTTP
import StreamrRPC
import StreamrTLS
import StreamrWire

/// `streamr-ingest`: takes the streamer's RTMP and hands it live to node agents.
public struct IngestCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "streamr-ingest",
        abstract: "Streamr ingest relay: RTMP from OBS, live subscriptions for node agents over mutual TLS.",
        discussion: """
        Takes RTMP publishing and playing on `listen_rtmp` (default 0.0.0.0:1935; publish to \
        rtmp://HOST/live/<stream key>, play rtmp://HOST/live/<stream>), HTTP-FLV on `listen_http` \
        (default 0.0.0.0:8936, GET /live/<stream>.flv), and live subscriptions from node agents on \
        `listen_subscribe` (mutual TLS with node certificates, default 0.0.0.0:7444). Stream keys are \
        checked with the coordinator over `coordinator_socket`. Under systemd the sockets come from \
        streamr-ingest.socket (rtmp), streamr-ingest-http.socket (http) and \
        streamr-ingest-subscribe.socket (subscribe).
        """,
        version: StreamrVersion.current)

    @OptionGroup public var options: DaemonOptions
    public init() {}

    public func run() async throws {
        var daemon = try Daemon(name: "streamr-ingest", role: .ingest, options: options,
                                settings: ["listen_rtmp", "listen_subscribe", "listen_http", "coordinator_socket", "chunk_duration"])
        let pki = HostPKI(directory: daemon.pkiDirectory)
        let identity = try pki.loadServerIdentity()
        let tls = try TLSContext(.server(identity: identity, trustRoots: [try pki.loadCA()], clientCertificates: .required))
        let chunkDuration = try daemon.config.duration("chunk_duration", default: .seconds(2))
        let chunkMs = Int(chunkDuration.components.seconds * 1000 + chunkDuration.components.attoseconds / 1_000_000_000_000_000)
        guard (200...60_000).contains(chunkMs) else {
            throw ConfigError(source: daemon.config.source, line: daemon.config.line(of: "chunk_duration") ?? 0,
                              message: "`chunk_duration` must be between 200ms and 60s")
        }
        let coordinator = CoordinatorLink(socket: daemon.config.string("coordinator_socket", default: "/run/streamr/control.sock"),
                                          logger: daemon.logger)
        let streams = IngestStreams(coordinator: coordinator, signer: identity.key,
                                    chunking: Chunker.Configuration(targetDurationMs: chunkMs), logger: daemon.logger)

        let rtmpAddress = try daemon.listenAddress("rtmp", key: "listen_rtmp", default: "0.0.0.0:1935")
        let httpAddress = try daemon.listenAddress("http", key: "listen_http", default: "0.0.0.0:8936")
        let subscribeAddress = try daemon.listenAddress("subscribe", key: "listen_subscribe", default: "0.0.0.0:7444")
        let rtmp: RTMPServer
        do {
            rtmp = try await RTMPServer.bind(rtmpAddress, delegate: streams, hmac: { HMACSHA256.mac(key: $0, data: $1) },
                                             logger: daemon.logger)
        } catch {
            daemon.logger.critical("cannot listen on \(rtmpAddress): \(error)", metadata: ["event": "listen_failed"])
            throw error
        }
        let http = try await daemon.bindHTTP(httpAddress)
        let subscribe = try await daemon.bind(subscribeAddress, pipeline: RPCPipeline(tls: tls))
        let base = BaseHandler(daemon: daemon, listening: [rtmp, http, subscribe]) {
            [StatusItem("live_streams", "\(streams.liveCount)"), StatusItem("viewers", "\(streams.viewerCount)")]
        }
        // Streams the coordinator still thinks live (a crash, a restart) are not: nothing is published yet.
        let logger = daemon.logger
        Task {
            do { try await coordinator.reset() } catch {
                logger.warning("could not reach the coordinator at startup: \(error)", metadata: ["event": "coordinator_unavailable"])
            }
        }
        let subscriptions = SubscriptionService(streams: streams, logger: daemon.logger)
        try await daemon.run(services: [RTMPService(server: rtmp),
                                        HTTPService(http, handler: OriginHTTP(streams: streams).handler),
                                        RPCService(subscribe, handler: subscriptions.handler(next: base.handler()))],
                             listening: [rtmp, http, subscribe])
    }
}
