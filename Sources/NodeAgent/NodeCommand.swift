import ArgumentParser
import StreamrDaemon
import StreamrRPC
import StreamrWire

/// `streamr-node`: what a friend runs to carry the stream to viewers.
public struct NodeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "streamr-node",
        abstract: "Streamr node agent: relays a streamer's live stream to viewers.",
        discussion: """
        Listens on `control_socket` (default /run/streamr-node/control.sock) for `streamrctl status`.
        """,
        version: StreamrVersion.current,
        subcommands: [Run.self],
        defaultSubcommand: Run.self)

    public init() {}

    public struct Run: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(abstract: "Run the node agent (the default).")
        @OptionGroup public var options: DaemonOptions
        public init() {}

        public func run() async throws {
            var daemon = try Daemon(name: "streamr-node", role: .node, options: options,
                                    settings: ["control_socket", "listen_http"], defaultStateDirectory: "/var/lib/streamr-node")
            let control = try await daemon.bind(
                try daemon.listenAddress("control", key: "control_socket", default: "/run/streamr-node/control.sock"),
                pipeline: RPCPipeline())
            let base = BaseHandler(daemon: daemon, listening: [control])
            try await daemon.run(services: [RPCService(control, handler: base.adminHandler())], listening: [control])
        }
    }
}
