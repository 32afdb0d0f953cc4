import ArgumentParser
import Foundation
import StreamrDaemon
import StreamrRPC
import StreamrTLS
import StreamrWire

/// `streamr-coordinator`: the host's hub (enrolment, heartbeats, routing, admin RPC).
public struct CoordinatorCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "streamr-coordinator",
        abstract: "Streamr coordinator: node enrolment, sessions and heartbeats, viewer routing, admin RPC.",
        discussion: """
        Listens on `listen_rpc` (mutual TLS, default 0.0.0.0:7443) and `control_socket` \
        (default /run/streamr/control.sock, for streamrctl). Under systemd the sockets come \
        from streamr-coordinator.socket (names: rpc, http, control).
        """,
        version: StreamrVersion.current,
        subcommands: [Run.self, InitPKI.self],
        defaultSubcommand: Run.self)

    public init() {}

    public struct Run: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(abstract: "Run the coordinator (the default).")
        @OptionGroup public var options: DaemonOptions
        public init() {}

        public func run() async throws {
            var daemon = try Daemon(name: "streamr-coordinator", role: .coordinator, options: options,
                                    settings: ["listen_rpc", "listen_http", "control_socket"])
            let pki = HostPKI(directory: daemon.pkiDirectory)
            let tls = try TLSContext(.server(identity: try pki.loadServerIdentity(), trustRoots: [try pki.loadCA()],
                                             clientCertificates: .optional))
            let rpcAddress = try daemon.listenAddress("rpc", key: "listen_rpc", default: "0.0.0.0:7443")
            let controlAddress = try daemon.listenAddress("control", key: "control_socket", default: "/run/streamr/control.sock")
            let rpc = try await daemon.bind(rpcAddress, pipeline: RPCPipeline(tls: tls))
            let control = try await daemon.bind(controlAddress, pipeline: RPCPipeline())
            let base = BaseHandler(daemon: daemon, listening: [rpc, control])
            try await daemon.run(services: [RPCService(rpc, handler: base.handler()),
                                            RPCService(control, handler: base.adminHandler())],
                                 listening: [rpc, control])
        }
    }

    /// Creates the host CA and server certificate unless they exist (run by the package's postinst).
    public struct InitPKI: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "init-pki",
            abstract: "Create the host CA and server certificate if they do not exist yet.")
        @Option(help: "Directory for ca.pem, ca.key, server.pem, server.key.")
        var directory = "/var/lib/streamr/pki"
        @Option(name: .customLong("hostname"), help: "DNS name for the server certificate (repeatable).")
        var hostnames: [String] = []
        @Option(name: .customLong("ip"), help: "IP address for the server certificate (repeatable).")
        var ipAddresses: [String] = []
        public init() {}

        public func run() throws {
            var names = hostnames
            if names.isEmpty {
                names = [ProcessInfo.processInfo.hostName, "localhost"]
            }
            let ips = ipAddresses.isEmpty ? ["127.0.0.1", "::1"] : ipAddresses
            let pki = HostPKI(directory: directory)
            if try pki.initialize(hostnames: names, ipAddresses: ips) {
                print("created host CA and server certificate in \(directory)")
            } else {
                print("host CA already exists in \(directory); left unchanged")
            }
            print("CA pin: \(try pki.caPin())")
        }
    }
}
