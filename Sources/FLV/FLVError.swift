/// Why an FLV byte stream was refused. Once thrown, the stream cannot be resynchronised:
/// the parser keeps throwing the same error.
public enum FLVError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Starts with "FLV" but the next bytes are not a header this parser reads.
    case unsupportedVersion(UInt8)
    /// DataOffset below 9 or above the parser's header limit.
    case badHeaderOffset(UInt32)
    /// A tag type byte other than 8, 9 or 18 (including set reserved or filter bits).
    case unsupportedTagType(UInt8)
    /// DataSize over the configured limit.
    case tagTooLarge(size: Int, limit: Int)
    /// The PreviousTagSize after a tag (or PreviousTagSize0 after the header) is wrong.
    case previousTagSizeMismatch(expected: UInt32, found: UInt32)
    /// The stream ended in the middle of a header or tag.
    case truncated(bufferedBytes: Int)

    public var description: String {
        switch self {
        case .unsupportedVersion(let v): "FLV version \(v) not supported"
        case .badHeaderOffset(let o): "FLV header DataOffset \(o) out of range"
        case .unsupportedTagType(let t): "FLV tag type byte \(t) not supported"
        case .tagTooLarge(let size, let limit): "FLV tag of \(size) bytes over the \(limit)-byte limit"
        case .previousTagSizeMismatch(let e, let f): "FLV PreviousTagSize \(f), expected \(e)"
        case .truncated(let n): "FLV stream ended inside a tag (\(n) bytes left over)"
        }
    }
}
