import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One line per record on stderr: `<level> [label] message key=value ...`.
///
/// Used when no journal is reachable (development, tests) and as the per-record fallback of
/// `JournaldLogHandler`. When stderr is itself connected to the journal (JOURNAL_STREAM matches),
/// each line is prefixed with a syslog `<N>` priority so journald keeps the level.
public struct StderrLogHandler: LogHandler {
    /// Receives each finished line, newline included. Must be safe to call from any thread.
    public typealias Output = @Sendable (String) -> Void

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public let label: String
    private let output: Output
    private let syslogPrefix: Bool

    /// - Parameters:
    ///   - output: where lines go; nil writes to file descriptor 2.
    ///   - syslogPrefix: nil detects it from JOURNAL_STREAM.
    public init(
        label: String,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider,
        syslogPrefix: Bool? = nil,
        output: Output? = nil
    ) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.output = output ?? StderrLogHandler.writeToStderr
        self.syslogPrefix = syslogPrefix ?? (output == nil && StderrLogHandler.stderrIsJournalStream())
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = StreamrLogging.mergedMetadata(
            handler: metadata, provider: metadataProvider, event: event.metadata)
        output(Self.format(event: event, label: label, metadata: merged, syslogPrefix: syslogPrefix))
    }

    static func format(event: LogEvent, label: String, metadata: Logger.Metadata, syslogPrefix: Bool) -> String {
        var line = syslogPrefix ? "<\(event.level.syslogPriority)>" : ""
        line += "\(event.level.rawValue) [\(label)] "
        // Newlines would split the record into several lines (and journal entries).
        line += escapeControl("\(event.message)")
        for key in metadata.keys.sorted() {
            line += " \(key)=\(quoteIfNeeded(metadata[key]!.flattened))"
        }
        if let error = event.error {
            line += " error=\(quoteIfNeeded("\(error)"))"
        }
        line += "\n"
        return line
    }

    private static func escapeControl(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func quoteIfNeeded(_ value: String) -> String {
        let plain = !value.isEmpty && !value.unicodeScalars.contains {
            $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.value < 0x20
        }
        if plain { return value }
        let escaped = escapeControl(value.replacingBackslashesAndQuotes())
        return "\"\(escaped)\""
    }

    /// One write(2) per line, so concurrent records do not interleave mid-line.
    private static let writeToStderr: Output = { line in
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                write(2, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return  // nowhere left to report it
            }
        }
        bytes.removeAll()
    }

    /// JOURNAL_STREAM is "device:inode" of the stream systemd connected stdout/stderr to.
    static func stderrIsJournalStream() -> Bool {
        guard let raw = getenv("JOURNAL_STREAM") else { return false }
        let parts = String(cString: raw).split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(2, &info) == 0 else { return false }
        return UInt64(info.st_dev) == dev && UInt64(info.st_ino) == ino
    }
}

extension String {
    fileprivate func replacingBackslashesAndQuotes() -> String {
        var out = ""
        for character in self {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            default: out.append(character)
            }
        }
        return out
    }
}

extension Logger.Level {
    /// syslog(3) priority: trace and debug share LOG_DEBUG, which has nothing below it.
    public var syslogPriority: Int {
        switch self {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
