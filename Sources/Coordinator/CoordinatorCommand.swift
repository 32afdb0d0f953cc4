import ArgumentParser
import FoundationEssentials
import Glibc
import StreamrConfig
import StreamrDaemon
import StreamrHTTP
import StreamrRPC
import StreamrTLS
import StreamrWire

/// `streamr-coordinator`: the host's hub (enrolment, heartbeats, routing, admin RPC).
public struct CoordinatorCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "streamr-coordinator",
        abstract: "Streamr coordinator: node enrolment, sessions and heartbeats, viewer routing, admin RPC.",
        discussion: """
        Listens on `listen_rpc` (mutual TLS, default 0.0.0.0:7443), `listen_http` (/watch/<stream>: \
        a redirect to a node for players, the watch page for browsers; /overlay/<stream> for OBS's \
        Browser Source; /api/route and /api/stream for those pages; /healthz, /metrics; default \
        0.0.0.0:8000) and `control_socket` (default \
        /run/streamr/control.sock, for streamrctl). Under systemd the sockets come \
        from streamr-coordinator.socket (rpc), streamr-coordinator-http.socket (http) and \
        streamr-coordinator-control.socket (control).
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
                                    settings: Set(["listen_rpc", "listen_http", "control_socket", "database",
                                               "public_host", "public_rtmp_port", "public_rpc_port", "public_subscribe_port",
                                               "public_origin_http_port", "public_http_port",
                                               "heartbeat_interval", "heartbeat_retention", "enrollment_confirm_timeout", "earnings_hold", "period_close_delay",
                                               "sybil_policy", "claims_viewer_margin", "claims_viewer_margin_share"]).union(ListenerSettings.keys))
            let pki = HostPKI(directory: daemon.pkiDirectory)
            let tls = try TLSContext(.server(identity: try pki.loadServerIdentity(), trustRoots: [try pki.loadCA()],
                                             clientCertificates: .optional))
            let store = try openStore(daemon)
            let endpoints = try endpoints(daemon)
            let heartbeatSeconds = try daemon.config.int("heartbeat_interval", default: 5, range: 1...3600)
            let retention = try daemon.config.duration("heartbeat_retention", default: .seconds(7 * 86_400)).components.seconds
            let confirmTimeout = try daemon.config.milliseconds("enrollment_confirm_timeout", default: 600_000, range: 10_000...86_400_000)
            let sessions = try NodeSessions(store: store, recorder: HeartbeatRecorder(
                store: store, heartbeatIntervalMs: Int64(heartbeatSeconds) * 1000, retentionMs: retention * 1000))
            // An ingest unheard of for two heartbeat intervals is taken for dead (it keeps itself
            // alive every second; never less than 5 s, so a keepalive or two may be late).
            let liveness = StreamLiveness(silenceLimitMs: max(2 * Int64(heartbeatSeconds) * 1000, 5000), logger: daemon.logger)
            var money = EarningsService.Settings()
            money.holdMs = try daemon.config.milliseconds("earnings_hold", default: 24 * 3_600_000, range: 0...(90 * 86_400_000))
            money.closeDelayMs = try daemon.config.milliseconds("period_close_delay", default: 60_000, range: 0...3_600_000)
            let earnings = EarningsService(store: store, settings: money, logger: daemon.logger)
            let validator = try ValidatorDesk(store: store, sessions: sessions, configuration: try validatorConfiguration(daemon),
                                              heartbeatIntervalMs: Int64(heartbeatSeconds) * 1000, logger: daemon.logger)
            let admin = AdminService(store: store, endpoints: endpoints, caPin: { try pki.caPin() },
                                     heartbeatIntervalMs: Int64(heartbeatSeconds) * 1000, sessions: sessions, liveness: liveness,
                                     earnings: earnings, validator: validator, logger: daemon.logger)
            let gateway = try NodeGateway(store: store, authority: try pki.loadAuthority(), endpoints: endpoints,
                                          heartbeatIntervalMs: UInt32(heartbeatSeconds * 1000),
                                          signingKeyDER: try pki.signingPublicKey().der, sessions: sessions, admin: admin, logger: daemon.logger)
            let web = PublicHTTP(store: store, sessions: sessions, liveness: liveness, endpoints: endpoints,
                                 heartbeatIntervalMs: Int64(heartbeatSeconds) * 1000, validator: validator)
            let rpcAddress = try daemon.listenAddress("rpc", key: "listen_rpc", default: "0.0.0.0:7443")
            let controlAddress = try daemon.listenAddress("control", key: "control_socket", default: "/run/streamr/control.sock")
            let httpAddress = try daemon.listenAddress("http", key: "listen_http", default: "0.0.0.0:8000")
            let rpc = try await daemon.bind(rpcAddress, pipeline: try ListenerSettings.rpc(daemon.config, tls: tls))
            let control = try await daemon.bind(controlAddress, pipeline: RPCPipeline())
            let http = try await daemon.bindHTTP(httpAddress, limits: try ListenerSettings.http(daemon.config))
            if let warning = PublicHost.warning(for: endpoints.host) {
                daemon.logger.warning("public host: \(warning)", metadata: ["event": "public_host_unreachable"])
            }
            let databasePath = store.path
            let base = BaseHandler(daemon: daemon, listening: [rpc, http, control]) {
                var items: [StatusItem] = [StatusItem("database", databasePath), StatusItem("public_host", endpoints.host)]
                if let online = try? admin.nodesOnline() { items.append(StatusItem("nodes_online", integer: online)) }
                items.append(StatusItem("live_streams", integer: liveness.liveStreams().count))
                items.append(StatusItem("sessions", integer: sessions.openCount))
                items.append(StatusItem("heartbeats_per_second", TextFormat.fixed(sessions.heartbeatsPerSecond(), places: 1), type: .number))
                let v = validator.validatorState
                items.append(StatusItem("validator", v.checking ? "checking" : v.connected ? "connected, not checking" : "not connected"))
                items.append(StatusItem("spot_checks_stored", integer: validator.counts.stored))
                return items
            }
            let maintenance = Maintenance(store: store, liveness: liveness, confirmTimeoutMs: confirmTimeout, logger: daemon.logger)
            try await daemon.run(services: [RPCService(rpc, handler: gateway.handler(next: base.handler())),
                                            RPCService(control, handler: base.adminHandler(next: admin.handler)),
                                            HTTPService(http, handler: web.handler),
                                            maintenance, earnings,
                                            ValidatorDesk.Ticker(desk: validator, interval: .seconds(max(1, min(5, heartbeatSeconds))))],
                                 listening: [rpc, http, control])
            // Sessions cut short by the shutdown end now; commit them with anything still queued.
            try await sessions.recorder.flush()
            _ = try? store.endOpenSessions()
        }

        /// `database` (default `<state_directory>/coordinator.db`), creating its directory.
        private func openStore(_ daemon: Daemon) throws -> CoordinatorStore {
            let path = daemon.config.string("database", default: daemon.stateDirectory + "/coordinator.db")
            do {
                try TextFile.makeDirectories(TextFormat.directory(of: path))
                let store = try CoordinatorStore(path: path)
                // Sessions a crashed run left open end at their last heartbeat.
                try store.endOpenSessions()
                return store
            } catch {
                daemon.logger.critical("cannot open the database \(path): \(error)", metadata: ["event": "database_failed"])
                throw error
            }
        }

        /// The fraud rules' settings: `sybil_policy` (machine,address), `claims_viewer_margin` (2) and
        /// `claims_viewer_margin_share` (0.1): viewers believed beyond those /watch sent.
        private func validatorConfiguration(_ daemon: Daemon) throws -> ValidatorDesk.Configuration {
            var c = ValidatorDesk.Configuration()
            do { c.fraud.sybil = try SybilPolicyText.parse(daemon.config.string("sybil_policy", default: "machine,address")) } catch {
                throw daemon.config.error("sybil_policy", "\(error)")
            }
            c.fraud.viewerMargin = try daemon.config.int("claims_viewer_margin", default: 2, range: 0...1000)
            let share = daemon.config.string("claims_viewer_margin_share", default: "0.1")
            guard let value = Double(share), (0...10).contains(value) else {
                throw daemon.config.error("claims_viewer_margin_share", "`claims_viewer_margin_share` is a number from 0 to 10, got `\(share)`")
            }
            c.fraud.viewerMarginShare = value
            return c
        }

        /// What RTMP URLs, join lines and node settings name: `public_host` (default: this machine's
        /// name) and the public ports (default 1935, the port of `listen_rpc`, and 7444).
        private func endpoints(_ daemon: Daemon) throws -> PublicEndpoints {
            let listenRPC = HostPort.parse(daemon.config.string("listen_rpc", default: "0.0.0.0:7443"))
            return PublicEndpoints(
                host: daemon.config.string("public_host", default: PublicHost.automatic(hostName: TextFormat.hostName)),
                rtmpPort: try daemon.config.int("public_rtmp_port", default: 1935, range: 1...65535),
                rpcPort: try daemon.config.int("public_rpc_port", default: listenRPC.map { $0.port > 0 ? $0.port : 7443 } ?? 7443,
                                               range: 1...65535),
                subscribePort: try daemon.config.int("public_subscribe_port", default: 7444, range: 1...65535),
                originHTTPPort: try daemon.config.int("public_origin_http_port", default: 8936, range: 1...65535),
                httpPort: try daemon.config.int("public_http_port",
                                                default: HostPort.parse(daemon.config.string("listen_http", default: "0.0.0.0:8000")).map { $0.port > 0 ? $0.port : 8000 } ?? 8000,
                                                range: 1...65535))
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
                names = [TextFormat.hostName, "localhost"]
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
