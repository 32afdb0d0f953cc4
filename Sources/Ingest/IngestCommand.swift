import ArgumentParser
import FLV
import LiveMedia
import Logging
import Relay
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
        rtmp://HOST/live/<stream key>, play rtmp://HOST/live/<stream>), HTTP-FLV and HLS on `listen_http` \
        (default 0.0.0.0:8936, GET /live/<stream>.flv, /live/<stream>/index.m3u8 in MPEG-TS, \
        /live/<stream>/fmp4.m3u8 in fMP4), and live subscriptions from node agents on \
        `listen_subscribe` (mutual TLS with node certificates, default 0.0.0.0:7444). Stream keys are \
        checked with the coordinator over `coordinator_socket`; chunk seals go to the validator on \
        `validator_socket`. A publisher that goes away or silent (`publisher_timeout`, default 5s) \
        may come back within `publish_grace` (default 10s) and its viewers stay. Under systemd the \
        sockets come from streamr-ingest.socket (rtmp), streamr-ingest-http.socket (http) and \
        streamr-ingest-subscribe.socket (subscribe).
        """,
        version: StreamrVersion.current)

    @OptionGroup public var options: DaemonOptions
    public init() {}

    public func run() async throws {
        var daemon = try Daemon(name: "streamr-ingest", role: .ingest, options: options,
                                settings: Set(["listen_rtmp", "listen_subscribe", "listen_http", "coordinator_socket", "validator_socket",
                                           "chunk_duration", "publish_grace", "publisher_timeout", "keep_chunks",
                                           "coordinator_keepalive", "authorization_recheck"]).union(ViewerSettings.keys).union(ListenerSettings.keys))
        let config = daemon.config
        let pki = HostPKI(directory: daemon.pkiDirectory)
        let identity = try pki.loadServerIdentity()
        let tls = try TLSContext(.server(identity: identity, trustRoots: [try pki.loadCA()], clientCertificates: .required))
        let chunkMs = try config.milliseconds("chunk_duration", default: 2000, range: 200...60_000)
        var policy = PublishPolicy()
        policy.graceMs = try config.milliseconds("publish_grace", default: 10_000, range: 0...600_000)
        var rtmpLimits = RTMPLimits()
        rtmpLimits.publisherIdleMs = try config.milliseconds("publisher_timeout", default: 5_000, range: 1_000...300_000)
        policy.takeoverAfterMs = min(1_000, rtmpLimits.publisherIdleMs)
        let recheckMs = try config.milliseconds("authorization_recheck", default: 30_000, range: 1_000...3_600_000)
        policy.keyRecheckMs = recheckMs
        rtmpLimits.viewers = try ViewerSettings.limits(config)
        var limits = LiveStream.Limits()
        limits.sealedChunks = try config.int("keep_chunks", default: 8, range: 1...300)
        limits.sealedBytes = 32 << 20

        let coordinatorSocket = config.string("coordinator_socket", default: "/run/streamr/control.sock")
        let keepaliveMs = try config.milliseconds("coordinator_keepalive", default: 1_000, range: 200...60_000)
        let authorizer = KeyCheck(socket: coordinatorSocket)
        let streams = IngestStreams(signer: try pki.loadSigningKey(), chunking: Chunker.Configuration(targetDurationMs: Int(chunkMs)),
                                    policy: policy, limits: limits, logger: daemon.logger, authorize: { try await authorizer.check($0) })
        let coordinator = CoordinatorLink(socket: coordinatorSocket, keepalive: .milliseconds(keepaliveMs), logger: daemon.logger,
                                          snapshot: { streams.snapshot() })
        let validator = ValidatorLink(socket: config.string("validator_socket", default: "/run/streamr/validator.sock"),
                                      logger: daemon.logger, kept: { streams.keptSeals() })
        streams.connect(coordinator: coordinator, validator: validator)

        let rtmpAddress = try daemon.listenAddress("rtmp", key: "listen_rtmp", default: "0.0.0.0:1935")
        let httpAddress = try daemon.listenAddress("http", key: "listen_http", default: "0.0.0.0:8936")
        let subscribeAddress = try daemon.listenAddress("subscribe", key: "listen_subscribe", default: "0.0.0.0:7444")
        let rtmp: RTMPServer
        do {
            rtmp = try await RTMPServer.bind(rtmpAddress, delegate: streams, limits: rtmpLimits,
                                             hmac: { HMACSHA256.mac(key: $0, data: $1) }, logger: daemon.logger)
        } catch {
            daemon.logger.critical("cannot listen on \(rtmpAddress): \(error)", metadata: ["event": "listen_failed"])
            throw error
        }
        let http = try await daemon.bindHTTP(httpAddress, limits: try ListenerSettings.http(config, viewerQueueBytes: rtmpLimits.viewers.queueBytes))
        let subscribe = try await daemon.bind(subscribeAddress, pipeline: try ListenerSettings.rpc(config, tls: tls))
        let base = BaseHandler(daemon: daemon, listening: [rtmp, http, subscribe]) {
            let v = validator.counts
            return [StatusItem("live_streams", integer: streams.liveCount), StatusItem("viewers", integer: streams.viewerCount),
                    StatusItem("coordinator_link", boolean: coordinator.link.isConnected),
                    StatusItem("validator_link", boolean: validator.link.isConnected),
                    StatusItem("seals_sent", integer: v.sent), StatusItem("seals_dropped", integer: v.dropped)]
        }
        let nodeCheck = NodeCheck(socket: coordinatorSocket, logger: daemon.logger)
        let subscriptions = SubscriptionServer(streams: { streams.stream(named: $0) },
                                               authorize: { try await nodeCheck.check(node: $0, certificate: $1, stream: $2) },
                                               recheck: .milliseconds(recheckMs), logger: daemon.logger)
        try await daemon.run(services: [RTMPService(server: rtmp),
                                        HTTPService(http, handler: OriginHTTP(streams: streams, viewers: rtmpLimits.viewers, logger: daemon.logger).handler),
                                        RPCService(subscribe, handler: subscriptions.handler(next: base.handler())),
                                        LinkService(link: coordinator.link), LinkService(link: validator.link)],
                             listening: [rtmp, http, subscribe])
        streams.endAll(reason: "the ingest stopped")
    }
}

/// Nodes' subscriptions, each checked on its own connection to the coordinator. A refusal
/// (PERMISSION_DENIED) is final; a coordinator that cannot be asked lets the node in (its
/// certificate is the host CA's) and the next check, once it answers, decides.
struct NodeCheck: Sendable {
    let socket: String
    let logger: Logger
    func check(node: String, certificate: String, stream: String) async throws {
        do {
            _ = try await RPCClient.withConnection(to: .unix(path: socket), pipeline: RPCPipeline(), connectTimeout: .seconds(5)) {
                try await $0.request(CoordinatorLink.request(["subscribe", "authorize"],
                                                             ["node": node, "certificate": certificate, "stream": stream]),
                                     timeout: .seconds(10))
            }
        } catch let error as ErrorMessage where error.code == .permissionDenied {
            throw error
        } catch {
            logger.notice("cannot ask the coordinator about node \(node): \(NetworkErrorText.describe(error)); letting it in",
                          metadata: ["event": "subscribe_unchecked", "node": "\(node)"])
        }
    }
}

/// Stream keys, each checked on its own connection to the coordinator.
struct KeyCheck: Sendable {
    let socket: String
    func check(_ key: String) async throws -> String {
        let answer = try await RPCClient.withConnection(to: .unix(path: socket), pipeline: RPCPipeline(), connectTimeout: .seconds(5)) {
            try await $0.request(CoordinatorLink.request(["publish", "authorize"], ["key": key]), timeout: .seconds(10))
        }
        guard case .adminResponse(let response) = answer, let stream = response.rows.first?.first, !stream.isEmpty else {
            throw ErrorMessage(.internalError, "the coordinator answered no stream for the key")
        }
        return stream
    }
}
