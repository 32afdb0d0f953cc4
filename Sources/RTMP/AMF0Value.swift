/// An AMF0 value (Adobe AMF0 spec, 2.1-2.12). `.string` covers both string markers: it is
/// written as a long string only when its UTF-8 exceeds 65535 bytes.
public indirect enum AMF0Value: Equatable, Sendable {
    case number(Double)
    case boolean(Bool)
    case string(String)
    case object(AMF0Object)
    case null
    case undefined
    /// ECMA (associative) array; the count on the wire is only a hint and is not kept.
    case ecmaArray(AMF0Object)
    case strictArray([AMF0Value])
    /// Milliseconds since the epoch, and the time zone field (reserved, should be 0).
    case date(Double, timeZone: Int16)

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var numberValue: Double? { if case .number(let n) = self { n } else { nil } }
    public var boolValue: Bool? { if case .boolean(let b) = self { b } else { nil } }
    /// The properties of an object or ECMA array.
    public var objectValue: AMF0Object? {
        switch self {
        case .object(let o), .ecmaArray(let o): o
        default: nil
        }
    }
}

/// Ordered key/value pairs: AMF0 objects keep their order on the wire, and replies such as
/// connect's _result are compared byte for byte in tests.
public struct AMF0Object: Equatable, Sendable, ExpressibleByDictionaryLiteral {
    public struct Property: Equatable, Sendable {
        public var key: String
        public var value: AMF0Value
        public init(_ key: String, _ value: AMF0Value) { self.key = key; self.value = value }
    }

    public var properties: [Property]

    public init(_ properties: [Property] = []) { self.properties = properties }
    public init(dictionaryLiteral elements: (String, AMF0Value)...) {
        properties = elements.map { Property($0.0, $0.1) }
    }

    /// The first value under `key`.
    public subscript(key: String) -> AMF0Value? {
        properties.first { $0.key == key }?.value
    }
}

public enum AMF0Error: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated
    case unsupportedType(UInt8)
    /// Reference (0x07): pointing back into earlier values would let a short message expand.
    case referenceNotSupported
    case tooDeep(limit: Int)
    case tooManyElements(limit: Int)
    case invalidUTF8
    /// An object end marker where a value belongs, or a key without its value.
    case unexpectedObjectEnd

    public var description: String {
        switch self {
        case .truncated: "AMF0: value ends before its declared length"
        case .unsupportedType(let m): "AMF0: unsupported type marker 0x\(String(m, radix: 16))"
        case .referenceNotSupported: "AMF0: references (0x07) are not supported"
        case .tooDeep(let limit): "AMF0: values nested deeper than \(limit) levels"
        case .tooManyElements(let limit): "AMF0: more than \(limit) elements in one message"
        case .invalidUTF8: "AMF0: string is not valid UTF-8"
        case .unexpectedObjectEnd: "AMF0: object end marker out of place"
        }
    }
}

/// Bounds on what one decode may build: nesting is checked before recursing, elements are
/// counted over the whole message (each costs at least a byte, so this bounds work too).
public struct AMF0Limits: Equatable, Sendable {
    public var maxDepth = 32
    public var maxElements = 65_536
    public init(maxDepth: Int = 32, maxElements: Int = 65_536) {
        self.maxDepth = maxDepth; self.maxElements = maxElements
    }
}

enum AMF0Marker {
    static let number: UInt8 = 0x00, boolean: UInt8 = 0x01, string: UInt8 = 0x02, object: UInt8 = 0x03
    static let null: UInt8 = 0x05, undefined: UInt8 = 0x06, reference: UInt8 = 0x07
    static let ecmaArray: UInt8 = 0x08, objectEnd: UInt8 = 0x09, strictArray: UInt8 = 0x0A
    static let date: UInt8 = 0x0B, longString: UInt8 = 0x0C
}
