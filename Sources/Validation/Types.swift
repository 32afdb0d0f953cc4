/// A node's identity as the coordinator enrolled it (the id in its certificate).
public struct NodeID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public var description: String { rawValue }
    public static func < (a: NodeID, b: NodeID) -> Bool { a.rawValue < b.rawValue }
}

/// What a probe fetches from a node, as a viewer or a child node would.
public enum ProbeKind: String, Sendable, Hashable, CaseIterable {
    /// `GET /chunks/<stream>/<seq>` with a Range: a 32–64 KiB slice compared byte for byte.
    case range
    /// `GET /chunks/<stream>/<seq>` whole: its SHA-256 compared with the ingest's digest.
    case chunk
    /// `GET /live/<stream>.flv` for a few seconds: every tag compared with the ingest's.
    case liveFLV = "live_flv"
    /// `GET /live/<stream>/index.m3u8`, then one segment: freshness and delivery (segments are
    /// muxed by the node, so their bytes have no reference to compare with).
    case hls

    /// Kinds whose bytes are compared with a reference: only these can show alteration.
    public var comparesBytes: Bool { self != .hls }
    /// Kinds that see the live edge: only these can show a node serving old data.
    public var seesLiveEdge: Bool { self == .liveFLV || self == .hls }
}

/// One request or response header, in wire order (players are recognizable by order too).
public struct HTTPHeader: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) { self.name = name; self.value = value }
    public var description: String { "\(name): \(value)" }
}

extension [HTTPHeader] {
    /// The first value of a header, by case-insensitive name.
    public func value(of name: String) -> String? {
        let lower = name.lowercased()
        return first { $0.name.lowercased() == lower }?.value
    }
}

/// Half-open byte range within a chunk: `offset ..< offset + length`.
public struct ByteRange: Sendable, Hashable, CustomStringConvertible {
    public var offset: Int
    public var length: Int
    public init(offset: Int, length: Int) { self.offset = offset; self.length = length }
    public var end: Int { offset + length }
    public var description: String { "\(offset)+\(length)" }
}
