import ArgumentParser
import StreamrDaemon
import StreamrRPC
import StreamrTLS
import StreamrWire

/// `streamr-ingest`: takes the streamer's RTMP and hands it live to node agents.
public struct IngestCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "streamr-ingest",
        abstract: "Streamr ingest relay: RTMP from OBS, live subscriptions for node agents over mutual TLS.",
        discussion: """
        Listens on `listen_subscribe` (mutual TLS with node certificates, default 0.0.0.0:7444). \
        Under systemd the sockets come from streamr-ingest.socket (rtmp) and \
        streamr-ingest-subscribe.socket (subscribe).
        """,
        version: StreamrVersion.current)

    @OptionGroup public var options: DaemonOptions
    public init() {}

    public func run() async throws {
        var daemon = try Daemon(name: "streamr-ingest", role: .ingest, options: options,
                                settings: ["listen_rtmp", "listen_subscribe"])
        let pki = HostPKI(directory: daemon.pkiDirectory)
        let tls = try TLSContext(.server(identity: try pki.loadServerIdentity(), trustRoots: [try pki.loadCA()],
                                         clientCertificates: .required))
        let subscribe = try await daemon.bind(try daemon.listenAddress("subscribe", key: "listen_subscribe", default: "0.0.0.0:7444"),
                                              pipeline: RPCPipeline(tls: tls))
        let base = BaseHandler(daemon: daemon, listening: [subscribe])
        try await daemon.run(services: [RPCService(subscribe, handler: base.handler())], listening: [subscribe])
    }
}
