/// One result row. Values are copied out of SQLite, so a row is a plain value that can
/// outlive its statement and cross threads.
///
/// Accessors return nil for NULL, and also for a value that cannot be converted losslessly
/// (e.g. `int64` of a text value), so a nil never hides a silently truncated number.
/// Naming a column that is not in the result is a programming error and traps.
public struct Row: Sendable, Equatable {
    /// Result column names, in order (shared by all rows of one query).
    public let columnNames: [String]
    /// Values, in column order.
    public let values: [SQLValue]

    public init(columnNames: [String], values: [SQLValue]) {
        precondition(columnNames.count == values.count, "Row: names and values differ in count")
        self.columnNames = columnNames
        self.values = values
    }

    public var count: Int { values.count }

    public subscript(_ index: Int) -> SQLValue { values[index] }

    public subscript(_ name: String) -> SQLValue { values[index(of: name)] }

    /// Whether the result has a column called `name`.
    public func hasColumn(_ name: String) -> Bool { columnNames.contains(name) }

    private func index(of name: String) -> Int {
        // Exact match first, then case-insensitive, as SQLite's own name resolution is.
        if let i = columnNames.firstIndex(of: name) { return i }
        let lowered = name.lowercased()
        if let i = columnNames.firstIndex(where: { $0.lowercased() == lowered }) { return i }
        preconditionFailure("Row has no column named '\(name)' (columns: \(columnNames))")
    }

    public func int64(_ name: String) -> Int64? { Row.int64(self[name]) }
    public func int64(_ index: Int) -> Int64? { Row.int64(self[index]) }
    public func int(_ name: String) -> Int? { int64(name).flatMap { Int(exactly: $0) } }
    public func int(_ index: Int) -> Int? { int64(index).flatMap { Int(exactly: $0) } }
    public func double(_ name: String) -> Double? { Row.double(self[name]) }
    public func double(_ index: Int) -> Double? { Row.double(self[index]) }
    public func string(_ name: String) -> String? { Row.string(self[name]) }
    public func string(_ index: Int) -> String? { Row.string(self[index]) }
    public func blob(_ name: String) -> [UInt8]? { Row.blob(self[name]) }
    public func blob(_ index: Int) -> [UInt8]? { Row.blob(self[index]) }
    public func bool(_ name: String) -> Bool? { int64(name).map { $0 != 0 } }
    public func bool(_ index: Int) -> Bool? { int64(index).map { $0 != 0 } }

    private static func int64(_ value: SQLValue) -> Int64? {
        switch value {
        case let .integer(v): return v
        case let .real(v): return Int64(exactly: v)
        default: return nil
        }
    }

    private static func double(_ value: SQLValue) -> Double? {
        switch value {
        case let .real(v): return v
        case let .integer(v): return Double(v)
        default: return nil
        }
    }

    private static func string(_ value: SQLValue) -> String? {
        if case let .text(v) = value { return v }
        return nil
    }

    private static func blob(_ value: SQLValue) -> [UInt8]? {
        switch value {
        case let .blob(v): return v
        case let .text(v): return Array(v.utf8)
        default: return nil
        }
    }
}
