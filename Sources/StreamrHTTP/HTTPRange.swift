/// The answer to a `Range` request header (RFC 9110 §14) over a representation of known
/// length: pure parsing, no NIO, so the rules are testable and fuzzable on their own.
///
/// What we do, and why:
/// - Only the `bytes` unit (compared case-insensitively) is understood; another unit, no
///   header, or more than one `Range` field is ignored: `.full` (§14.2: a server MUST ignore
///   a unit it does not understand).
/// - `bytes=a-b`, `bytes=a-`, `bytes=-n`, with optional whitespace around list elements and
///   around the `-` (as nginx tolerates), empty list elements skipped (§5.6.1).
/// - A last-pos at or past the end means "to the end", and a suffix longer than the
///   representation means all of it (§14.1.1). Numbers too large for an `Int` are read as
///   "very large", which gives exactly those meanings: `bytes=0-99999999999999999999` is the
///   whole representation as a 206; `bytes=99999999999999999999-` cannot be satisfied (416).
/// - A syntactically invalid header (garbage, `b < a`, a missing number, non-ASCII digits) is
///   ignored: `.full`. §14.2 allows ignoring or rejecting; a 200 with the whole body is always
///   a correct answer, so we ignore (nginx rejects with 416 instead).
/// - Several ranges: we send no multipart/byteranges. Like nginx with `max_ranges 1` (and
///   whenever it answers a single range only), exactly one satisfiable range gets a 206 for it;
///   more than one satisfiable range gets the whole representation (200); unsatisfiable
///   members of the list are skipped, and a list with none satisfiable gets 416.
/// - A zero-length representation: `bytes=0-…` and a suffix give `.full` (the empty 200 nginx
///   sends); any other range is unsatisfiable.
/// - `If-Range` (§13.1.5): the range is honoured only when the field is a strong entity-tag
///   equal to `entityTag`; a date or a weak or different tag means the representation may
///   have changed, so the whole of it is sent.
public enum HTTPRange: Sendable, Hashable {
    /// Answer 200 with the whole representation (no header, or one we ignore).
    case full
    /// Answer 206 with these bytes and `Content-Range: bytes a-b/len`.
    case partial(range: ClosedRange<Int>)
    /// Answer 416 with `Content-Range: bytes */len`.
    case unsatisfiable

    /// Evaluates the `Range` field `value` (nil when absent) against `length` bytes.
    public static func parse(_ value: String?, length: Int, ifRange: String? = nil, entityTag: String? = nil) -> HTTPRange {
        guard let value, length >= 0 else { return .full }
        if let ifRange {
            guard let entityTag, isStrongTag(ifRange), isStrongTag(entityTag), trimmed(ArraySlice(ifRange.utf8)).elementsEqual(entityTag.utf8) else {
                return .full
            }
        }
        var bytes = trimmed(ArraySlice(value.utf8))
        guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")),
              asciiLowercased(trimmed(bytes[..<equals])) == Array("bytes".utf8) else { return .full }
        bytes = bytes[(equals + 1)...]

        var found: ClosedRange<Int>?
        var satisfiable = 0
        var sawSpec = false
        for element in bytes.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let spec = trimmed(element)
            if spec.isEmpty { continue }
            sawSpec = true
            switch evaluate(spec, length: length) {
            case .invalid: return .full
            case .declined: return .full
            case .unsatisfiable: continue
            case .range(let r):
                satisfiable += 1
                if found == nil { found = r }
            }
        }
        guard sawSpec else { return .full }  // `bytes=` or `bytes=,,`: no range-spec at all
        switch satisfiable {
        case 0: return .unsatisfiable
        case 1: return .partial(range: found!)
        default: return .full
        }
    }

    /// 200, 206 or 416.
    public var statusCode: Int {
        switch self {
        case .full: 200
        case .partial: 206
        case .unsatisfiable: 416
        }
    }

    /// The part of the representation to send: all of it, the range, or nothing (416).
    public func bodyRange(length: Int) -> Range<Int> {
        switch self {
        case .full: 0..<max(0, length)
        case .partial(let r): min(r.lowerBound, length)..<max(min(r.lowerBound, length), min(r.upperBound, length - 1) + 1)
        case .unsatisfiable: 0..<0
        }
    }

    /// The header fields to add to the response over `length` bytes: `Accept-Ranges: bytes`
    /// always (it tells clients they may ask), and `Content-Range` on a 206 or 416.
    /// Content-Length is the length of the body actually sent, which the server sets itself.
    public func responseHeaders(length: Int) -> [(name: String, value: String)] {
        var fields = [(name: "Accept-Ranges", value: "bytes")]
        switch self {
        case .full: break
        case .partial(let r): fields.append((name: "Content-Range", value: "bytes \(r.lowerBound)-\(r.upperBound)/\(length)"))
        case .unsatisfiable: fields.append((name: "Content-Range", value: "bytes */\(length)"))
        }
        return fields
    }

    // MARK: - Parsing

    private enum Spec {
        case invalid
        /// nginx's "declined": a range from 0 over an empty representation; send it whole.
        case declined
        case unsatisfiable
        case range(ClosedRange<Int>)
    }

    /// One range-spec: `first-pos "-" [last-pos]` or `"-" suffix-length`.
    private static func evaluate(_ spec: ArraySlice<UInt8>, length: Int) -> Spec {
        guard let dash = spec.firstIndex(of: UInt8(ascii: "-")) else { return .invalid }
        let firstText = trimmed(spec[..<dash])
        let lastText = trimmed(spec[(dash + 1)...])
        if firstText.isEmpty {
            // Suffix: the last n bytes.
            guard let n = number(lastText) else { return .invalid }
            if length == 0 { return .declined }
            if n == 0 { return .unsatisfiable }
            return .range(max(0, length - n)...(length - 1))
        }
        guard let first = number(firstText) else { return .invalid }
        var last = Int.max
        if !lastText.isEmpty {
            guard let value = number(lastText) else { return .invalid }
            last = value
        }
        guard last >= first else { return .invalid }  // §14.1.1: last-pos < first-pos is invalid
        if length == 0 { return first == 0 ? .declined : .unsatisfiable }
        guard first < length else { return .unsatisfiable }
        return .range(first...min(last, length - 1))
    }

    /// 1*DIGIT, saturating at Int.max; nil for anything else.
    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty else { return nil }
        var value = 0
        for c in digits {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(c - UInt8(ascii: "0")))
            value = o1 || o2 ? Int.max : sum
        }
        return value
    }

    /// Without leading and trailing OWS (SP, HTAB).
    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let isOWS = { (c: UInt8) in c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }
        var s = bytes
        while let f = s.first, isOWS(f) { s = s.dropFirst() }
        while let l = s.last, isOWS(l) { s = s.dropLast() }
        return s
    }

    private static func asciiLowercased(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        bytes.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }
    }

    /// `"..."`: a strong entity-tag (a weak one, `W/"..."`, never matches in If-Range).
    private static func isStrongTag(_ text: String) -> Bool {
        let t = trimmed(ArraySlice(text.utf8))
        return t.count >= 2 && t.first == UInt8(ascii: "\"") && t.last == UInt8(ascii: "\"")
    }
}
