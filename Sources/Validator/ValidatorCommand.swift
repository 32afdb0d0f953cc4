import ArgumentParser
import StreamrDaemon
import StreamrRPC
import StreamrWire

/// `streamr-validator`: spot-checks nodes byte-exactly against the ingest's digests.
public struct ValidatorCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "streamr-validator",
        abstract: "Streamr validator: spot-checks node agents against the ingest's chunk digests.",
        discussion: """
        Listens on `work_socket` (default /run/streamr/validator.sock; root or group streamr). \
        Under systemd the socket comes from streamr-validator.socket (name: work).
        """,
        version: StreamrVersion.current)

    @OptionGroup public var options: DaemonOptions
    public init() {}

    public func run() async throws {
        var daemon = try Daemon(name: "streamr-validator", role: .validator, options: options, settings: ["work_socket"])
        let work = try await daemon.bind(try daemon.listenAddress("work", key: "work_socket", default: "/run/streamr/validator.sock"),
                                         pipeline: RPCPipeline())
        let base = BaseHandler(daemon: daemon, listening: [work])
        try await daemon.run(services: [RPCService(work, handler: base.adminHandler())], listening: [work])
    }
}
