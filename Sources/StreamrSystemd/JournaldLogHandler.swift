import CSystemd
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes each record to journald as structured fields with sd_journal_sendv:
/// MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CODE_FILE/LINE/FUNC, STREAMR_LOGGER (the logger label),
/// and every metadata key as `STREAMR_<KEY>`, so `journalctl STREAMR_EVENT=publish_started` works.
///
/// A record the journal refuses (journald gone, socket full) is written to stderr instead, so
/// nothing is lost silently.
public struct JournaldLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public let label: String
    public let identifier: String
    private let fallback: StderrLogHandler
    /// sd_journal_sendv by default; replaceable so tests can exercise the stderr fallback.
    var sender: @Sendable ([String]) -> Int32 = JournaldLogHandler.send

    public init(
        label: String,
        identifier: String,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider,
        fallback: StderrLogHandler? = nil
    ) {
        self.label = label
        self.identifier = identifier
        self.metadataProvider = metadataProvider
        self.fallback = fallback ?? StderrLogHandler(label: label, metadataProvider: nil)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = StreamrLogging.mergedMetadata(
            handler: metadata, provider: metadataProvider, event: event.metadata)
        let fields = Self.fields(event: event, label: label, identifier: identifier, metadata: merged)
        if sender(fields) < 0 {
            var fallbackEvent = event
            fallbackEvent.metadata = merged
            fallback.log(event: fallbackEvent)
        }
    }

    /// The journal entry's fields, as `NAME=value` strings (values may hold newlines or any bytes:
    /// sendv uses the native protocol's length-prefixed form for those).
    static func fields(event: LogEvent, label: String, identifier: String, metadata: Logger.Metadata) -> [String] {
        var fields = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(event.level.syslogPriority)",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "CODE_FILE=\(event.file)",
            "CODE_LINE=\(event.line)",
            "CODE_FUNC=\(event.function)",
            "STREAMR_LOGGER=\(label)",
        ]
        if let error = event.error {
            fields.append("STREAMR_ERROR=\(error)")
        }
        // Sorted so entries are reproducible; equal sanitized names become repeated fields,
        // which the journal allows.
        for key in metadata.keys.sorted() {
            fields.append("\(fieldName(forMetadataKey: key))=\(metadata[key]!.flattened)")
        }
        return fields
    }

    /// `STREAMR_` + the key upper-cased, anything outside [A-Z0-9_] as `_`, leading underscores
    /// dropped (journald reserves `_`-prefixed names for trusted fields). Journal field names are
    /// limited to 64 bytes.
    public static func fieldName(forMetadataKey key: String) -> String {
        var name = ""
        for scalar in key.unicodeScalars {
            switch scalar.value {
            case 0x61...0x7A: name.unicodeScalars.append(Unicode.Scalar(scalar.value - 0x20)!)
            case 0x41...0x5A, 0x30...0x39, 0x5F: name.unicodeScalars.append(scalar)
            default: name.append("_")
            }
        }
        let trimmed = name.drop { $0 == "_" }
        let field = "STREAMR_" + (trimmed.isEmpty ? "METADATA" : trimmed)
        return String(field.prefix(64))
    }

    /// Packs all fields into one buffer and points an iovec at each: no per-field allocation to
    /// free, and nothing outlives the call.
    static func send(_ fields: [String]) -> Int32 {
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(fields.count)
        for field in fields {
            let start = bytes.count
            bytes.append(contentsOf: field.utf8)
            ranges.append(start..<bytes.count)
        }
        return bytes.withUnsafeMutableBytes { buffer -> Int32 in
            let base = buffer.baseAddress!
            var vectors = ranges.map { iovec(iov_base: base + $0.lowerBound, iov_len: $0.count) }
            return vectors.withUnsafeMutableBufferPointer { iov in
                sd_journal_sendv(iov.baseAddress, Int32(iov.count))
            }
        }
    }
}
