import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where a daemon's logs go.
public enum LogDestination: String, Sendable {
    case journal
    case stderr
}

/// Process-wide swift-log setup for the Streamr daemons.
public enum StreamrLogging {
    /// journald's native-protocol socket.
    public static let journalSocketPath = "/run/systemd/journal/socket"

    /// Installs the handler chosen by `destination()` for every Logger in the process.
    /// Call once, first thing in `main` (swift-log allows a single bootstrap).
    public static func bootstrap(identifier: String, level: Logger.Level = .info) {
        let destination = destination()
        LoggingSystem.bootstrap { label in
            var handler = makeHandler(label: label, identifier: identifier, destination: destination)
            handler.logLevel = level
            return handler
        }
    }

    /// A handler for `destination()`'s choice, evaluated now.
    public static func makeHandler(label: String, identifier: String) -> any LogHandler {
        makeHandler(label: label, identifier: identifier, destination: destination())
    }

    public static func makeHandler(label: String, identifier: String, destination: LogDestination) -> any LogHandler {
        switch destination {
        case .journal: JournaldLogHandler(label: label, identifier: identifier)
        case .stderr: StderrLogHandler(label: label)
        }
    }

    /// STREAMR_LOG=journal|stderr forces a destination; otherwise the journal when its socket
    /// accepts a connection (a stale socket file left by a dead journald does not), else stderr.
    public static func destination(
        override: String? = getenv("STREAMR_LOG").map { String(cString: $0) },
        socketPath: String = journalSocketPath
    ) -> LogDestination {
        if let override, let forced = LogDestination(rawValue: override.lowercased()) {
            return forced
        }
        return journalReachable(at: socketPath) ? .journal : .stderr
    }

    /// Connects a datagram socket to `path`, the way sd_journal_sendv will.
    public static func journalReachable(at path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !pathBytes.isEmpty, pathBytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }

    /// Handler metadata, then the provider's, then the record's: the most specific wins.
    static func mergedMetadata(
        handler: Logger.Metadata,
        provider: Logger.MetadataProvider?,
        event: Logger.Metadata?
    ) -> Logger.Metadata {
        var merged = handler
        if let provided = provider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, new in new }
        }
        if let event, !event.isEmpty {
            merged.merge(event) { _, new in new }
        }
        return merged
    }
}

extension Logger.MetadataValue {
    /// A plain string for journal fields and key=value text: strings unquoted, lists as
    /// `[a, b]`, dictionaries as `[k: v]` with sorted keys so equal metadata reads the same.
    var flattened: String {
        switch self {
        case .string(let text): text
        case .stringConvertible(let value): value.description
        case .array(let values): "[" + values.map(\.flattened).joined(separator: ", ") + "]"
        case .dictionary(let values):
            "[" + values.keys.sorted().map { "\($0): \(values[$0]!.flattened)" }.joined(separator: ", ") + "]"
        }
    }
}
