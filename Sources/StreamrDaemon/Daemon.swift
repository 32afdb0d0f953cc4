import CMalloc
import FoundationEssentials
import Glibc
import Logging
import NIOCore
import ServiceLifecycle
import StreamrConfig
import StreamrHTTP
import StreamrRPC
import StreamrSystemd
import StreamrWire

/// The shared life of a Streamr daemon: logging to the journal, configuration,
/// listeners inherited from systemd or bound from configuration, READY/STOPPING
/// and the watchdog, and a clean stop on SIGTERM.
public struct Daemon: Sendable {
    public let name: String
    public let role: Role
    public let config: ConfigFile
    public let logger: Logger
    public let startedAt: ContinuousClock.Instant
    private var inherited: InheritedSockets

    /// Settings every daemon understands, beside its own.
    public static let commonSettings: Set<String> = ["state_directory", "pki_directory", "log_level"]

    /// `defaultStateDirectory`: where state lives unless `state_directory` says otherwise.
    public init(name: String, role: Role, options: DaemonOptions, settings: Set<String>,
                defaultStateDirectory: String = "/var/lib/streamr") throws {
        self.name = name
        self.role = role
        self.startedAt = .now
        Self.tuneMalloc()
        self.defaultStateDirectory = defaultStateDirectory
        self.inherited = InheritedSockets.fromEnvironment()
        // The configuration is read before logging starts so that its log_level applies;
        // its errors are reported once logging is up.
        let loaded = Result {
            try options.loadConfig(defaultPath: "/etc/streamr/\(name.hasPrefix("streamr-") ? String(name.dropFirst(8)) : name).conf",
                                   known: settings.union(Self.commonSettings))
        }
        let configured = (try? loaded.get())?.string("log_level", default: "info") ?? "info"
        let level = options.logLevel.flatMap(Logger.Level.init(rawValue:)) ?? Logger.Level(rawValue: configured) ?? .info
        StreamrLogging.bootstrap(identifier: name, level: level)
        var logger = Logger(label: name)
        logger.logLevel = level
        self.logger = logger
        do {
            config = try loaded.get()
            if Logger.Level(rawValue: configured) == nil {
                throw config.error("log_level", "`log_level` must be one of trace, debug, info, notice, warning, error, critical, got `\(configured)`")
            }
            try Self.checkListeners(config)
        } catch {
            // On stderr, ArgumentParser prints the error itself; the journal needs its own entry.
            if StreamrLogging.destination() == .journal {
                logger.critical("configuration error: \(error)", metadata: ["event": "config_error"])
            }
            throw error
        }
    }

    /// glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), after
    /// which media buffers (chunks, segments, a viewer's queue) come from the heap and their
    /// memory stays with the process once freed: with viewers coming and going the RSS only
    /// grew. A fixed threshold keeps large buffers in their own mappings, returned when freed
    /// (test-memory measures it).
    private static func tuneMalloc() {
        _ = mallopt(M_MMAP_THRESHOLD, 128 << 10)
        _ = mallopt(M_TRIM_THRESHOLD, 1 << 20)
    }

    /// Listen addresses and listener limits are checked before anything is loaded, so a typo
    /// is reported as itself and not as whatever would have failed first (a missing CA).
    private static func checkListeners(_ config: ConfigFile) throws {
        for key in config.keys where key.hasPrefix("listen_") {
            let text = config.string(key, default: "")
            guard text.hasPrefix("/") || HostPort.parse(text) != nil else {
                throw config.error(key, "`\(key)` must be host:port (port 0-65535) or an absolute socket path, got `\(text)`")
            }
        }
        _ = try ListenerSettings.http(config)
        _ = try ListenerSettings.rpc(config, tls: nil)
    }

    private let defaultStateDirectory: String
    public var stateDirectory: String { config.string("state_directory", default: defaultStateDirectory) }
    public var pkiDirectory: String { config.string("pki_directory", default: stateDirectory + "/pki") }

    /// The socket systemd passed under `name`, else the address configured under `key`.
    public mutating func listenAddress(_ name: String, key: String, default fallback: String) throws -> ListenAddress {
        if let socket = inherited.take(named: name) { return .inherited(fd: socket.fd, name: name) }
        let text = config.string(key, default: fallback)
        if text.hasPrefix("/") { return .unix(path: text) }
        guard let hostPort = HostPort.parse(text) else {
            throw config.error(key, "`\(key)` must be host:port (port 0-65535) or an absolute socket path, got `\(text)`")
        }
        return .tcp(host: hostPort.host, port: hostPort.port)
    }

    /// Binds an RPC listener; a configured Unix socket gets its directory and mode 0660, group `streamr`.
    public func bind(_ address: ListenAddress, pipeline: RPCPipeline) async throws -> RPCServer {
        if case .unix(let path) = address {
            try TextFile.makeDirectories(TextFormat.directory(of: path))
        }
        let server: RPCServer
        do {
            server = try await RPCServer.bind(address, pipeline: pipeline, logger: logger)
        } catch {
            logger.critical("cannot listen on \(address): \(error)", metadata: ["event": "listen_failed"])
            throw error
        }
        if case .unix(let path) = address {
            chmod(path, 0o660)
            if let group = getgrnam("streamr") { chown(path, UInt32.max, group.pointee.gr_gid) }
        }
        return server
    }

    /// Binds an HTTP listener (viewer routing, health, metrics, media).
    public func bindHTTP(_ address: ListenAddress, limits: HTTPLimits = HTTPLimits()) async throws -> HTTPServer {
        do {
            return try await HTTPServer.bind(address, limits: limits, logger: logger)
        } catch {
            logger.critical("cannot listen on \(address): \(error)", metadata: ["event": "listen_failed"])
            throw error
        }
    }

    /// Runs `services` until SIGTERM/SIGINT, telling systemd when ready and when stopping.
    public mutating func run(services: [any Service], listening: [any ListeningServer]) async throws {
        for socket in inherited.closeLeftovers() {
            logger.warning("closed unexpected inherited socket \(socket.name) (fd \(socket.fd))")
        }
        let where_ = listening.map(\.displayAddress).joined(separator: ", ")
        var all = services
        // It announces "started" and READY=1 from inside the group: by then the group has
        // registered its SIGTERM/SIGINT handlers, so a stop sent as soon as the daemon says it
        // is up shuts it down gracefully (before, it could still kill the process: exit 143).
        all.append(SystemdService(name: name, listeners: where_, logger: logger))
        let group = ServiceGroup(configuration: .init(
            services: all.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        logger.info("\(name) stopped", metadata: ["event": "daemon_stopped"])
    }

    public var uptimeSeconds: UInt64 {
        UInt64(max(0, (ContinuousClock.now - startedAt).components.seconds))
    }
}

/// Serves one RPC listener until graceful shutdown.
public struct RPCService: Service {
    let server: RPCServer
    let handler: RPCConnection.Handler
    public init(_ server: RPCServer, handler: @escaping RPCConnection.Handler) { self.server = server; self.handler = handler }
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await server.run(handler: handler) }
        } catch is CancellationError {
            // Graceful shutdown: the listener and its connections were closed on purpose.
        }
    }
}

/// Serves one HTTP listener until graceful shutdown.
public struct HTTPService: Service {
    let server: HTTPServer
    let handler: HTTPHandler
    public init(_ server: HTTPServer, handler: @escaping HTTPHandler) { self.server = server; self.handler = handler }
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await server.run(handler: handler) }
        } catch is CancellationError {
        }
    }
}

/// Keeps a daemon-to-daemon link up until graceful shutdown.
public struct LinkService: Service {
    let link: PersistentLink
    public init(link: PersistentLink) { self.link = link }
    public func run() async throws {
        await cancelWhenGracefulShutdown { await link.run() }
    }
}

/// Says the daemon started and READY=1 once the group has its signal handlers, answers the
/// systemd watchdog (WATCHDOG=1 every half WATCHDOG_USEC, when set)
/// and reports STOPPING=1 as soon as graceful shutdown begins.
struct SystemdService: Service {
    let name: String
    let listeners: String
    let logger: Logger

    func run() async throws {
        logger.info("\(name) \(StreamrVersion.current) started, listening on \(listeners)", metadata: [
            "event": "daemon_started", "version": "\(StreamrVersion.current)", "listeners": "\(listeners)",
        ])
        _ = SystemdNotifier.ready(status: "Serving on \(listeners)")
        await cancelWhenGracefulShutdown { await SystemdNotifier.watchdogLoop() }
        try? await gracefulShutdown()
        SystemdNotifier.stopping(status: "Stopping")
        logger.info("\(name) stopping", metadata: ["event": "daemon_stopping"])
    }
}
