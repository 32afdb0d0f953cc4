/// AMF0 encoding: appends to a byte array.
public enum AMF0Encoder {
    public static func encode(_ values: [AMF0Value]) -> [UInt8] {
        var out: [UInt8] = []
        for v in values { encode(v, into: &out) }
        return out
    }

    public static func encode(_ value: AMF0Value, into out: inout [UInt8]) {
        switch value {
        case .number(let n):
            out.append(AMF0Marker.number)
            appendDouble(n, into: &out)
        case .boolean(let b):
            out.append(AMF0Marker.boolean); out.append(b ? 1 : 0)
        case .string(let s):
            let utf8 = Array(s.utf8)
            if utf8.count <= 0xFFFF {
                out.append(AMF0Marker.string); out.appendBE16(UInt16(utf8.count))
            } else {
                out.append(AMF0Marker.longString); out.appendBE32(UInt32(utf8.count))
            }
            out += utf8
        case .object(let o):
            out.append(AMF0Marker.object)
            appendProperties(o, into: &out)
        case .null:
            out.append(AMF0Marker.null)
        case .undefined:
            out.append(AMF0Marker.undefined)
        case .ecmaArray(let o):
            out.append(AMF0Marker.ecmaArray)
            out.appendBE32(UInt32(truncatingIfNeeded: o.properties.count))
            appendProperties(o, into: &out)
        case .strictArray(let items):
            out.append(AMF0Marker.strictArray)
            out.appendBE32(UInt32(truncatingIfNeeded: items.count))
            for item in items { encode(item, into: &out) }
        case .date(let ms, let zone):
            out.append(AMF0Marker.date)
            appendDouble(ms, into: &out)
            out.appendBE16(UInt16(bitPattern: zone))
        }
    }

    private static func appendDouble(_ d: Double, into out: inout [UInt8]) {
        let bits = d.bitPattern
        out.appendBE32(UInt32(bits >> 32)); out.appendBE32(UInt32(truncatingIfNeeded: bits))
    }

    private static func appendProperties(_ o: AMF0Object, into out: inout [UInt8]) {
        for p in o.properties {
            // Object keys are "UTF-8-empty" strings: 16-bit length, no marker. Longer keys
            // cannot be written; they are cut (never produced by this module).
            let key = Array(p.key.utf8.prefix(0xFFFF))
            out.appendBE16(UInt16(key.count)); out += key
            encode(p.value, into: &out)
        }
        out += [0, 0, AMF0Marker.objectEnd]
    }
}

/// AMF0 decoding from a byte array, bounded by `AMF0Limits`.
public struct AMF0Decoder {
    private let bytes: [UInt8]
    public private(set) var position: Int
    private let limits: AMF0Limits
    private var elements = 0

    public init(_ bytes: [UInt8], from position: Int = 0, limits: AMF0Limits = AMF0Limits()) {
        self.bytes = bytes; self.position = position; self.limits = limits
    }

    public var isAtEnd: Bool { position >= bytes.count }

    /// Every value up to the end of the bytes.
    public static func decodeAll(_ bytes: [UInt8], limits: AMF0Limits = AMF0Limits()) throws -> [AMF0Value] {
        var d = AMF0Decoder(bytes, limits: limits)
        var values: [AMF0Value] = []
        while !d.isAtEnd { values.append(try d.decode()) }
        return values
    }

    public mutating func decode() throws -> AMF0Value {
        try value(depth: 0)
    }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, bytes.count - position >= n else { throw AMF0Error.truncated }
        defer { position += n }
        return bytes[position ..< position + n]
    }

    private mutating func u16() throws -> UInt16 { let s = try take(2); return s.readBE16(at: s.startIndex) }
    private mutating func u32() throws -> UInt32 { let s = try take(4); return s.readBE32(at: s.startIndex) }

    private mutating func count() throws {
        elements += 1
        if elements > limits.maxElements { throw AMF0Error.tooManyElements(limit: limits.maxElements) }
    }

    private mutating func value(depth: Int) throws -> AMF0Value {
        try count()
        let marker = try take(1).first!
        switch marker {
        case AMF0Marker.number: return .number(try double())
        case AMF0Marker.boolean: return .boolean(try take(1).first! != 0)
        case AMF0Marker.string: return .string(try string(length: Int(try u16())))
        case AMF0Marker.longString: return .string(try string(length: Int(try u32())))
        case AMF0Marker.null: return .null
        case AMF0Marker.undefined: return .undefined
        case AMF0Marker.reference: throw AMF0Error.referenceNotSupported
        case AMF0Marker.object:
            return .object(try properties(depth: depth + 1))
        case AMF0Marker.ecmaArray:
            _ = try u32()  // count hint, often wrong in the wild; the end marker decides
            return .ecmaArray(try properties(depth: depth + 1))
        case AMF0Marker.strictArray:
            let n = Int(try u32())
            guard depth + 1 <= limits.maxDepth else { throw AMF0Error.tooDeep(limit: limits.maxDepth) }
            // Each element takes at least one byte: a larger count is a lie, checked before reserving.
            guard n <= bytes.count - position else { throw AMF0Error.truncated }
            guard n <= limits.maxElements else { throw AMF0Error.tooManyElements(limit: limits.maxElements) }
            var items: [AMF0Value] = []
            items.reserveCapacity(n)
            for _ in 0 ..< n { items.append(try value(depth: depth + 1)) }
            return .strictArray(items)
        case AMF0Marker.date:
            let ms = try double()
            return .date(ms, timeZone: Int16(bitPattern: try u16()))
        case AMF0Marker.objectEnd:
            throw AMF0Error.unexpectedObjectEnd
        default:
            throw AMF0Error.unsupportedType(marker)
        }
    }

    private mutating func double() throws -> Double {
        let s = try take(8)
        let bits = UInt64(s.readBE32(at: s.startIndex)) << 32 | UInt64(s.readBE32(at: s.startIndex + 4))
        return Double(bitPattern: bits)
    }

    private mutating func string(length: Int) throws -> String {
        let raw = try take(length)
        let s = String(decoding: raw, as: UTF8.self)
        // Lossy decoding would let two different byte strings (stream keys) compare equal.
        guard s.utf8.elementsEqual(raw) else { throw AMF0Error.invalidUTF8 }
        return s
    }

    private mutating func properties(depth: Int) throws -> AMF0Object {
        guard depth <= limits.maxDepth else { throw AMF0Error.tooDeep(limit: limits.maxDepth) }
        var props: [AMF0Object.Property] = []
        while true {
            let keyLength = Int(try u16())
            if keyLength == 0 {
                // An empty key followed by the end marker closes the object.
                guard bytes.count - position >= 1 else { throw AMF0Error.truncated }
                if bytes[position] == AMF0Marker.objectEnd { position += 1; return AMF0Object(props) }
            }
            let key = try string(length: keyLength)
            props.append(.init(key, try value(depth: depth)))
        }
    }
}
