import StreamrWire

/// Plain-text tables for terminals, and the JSON shape scripts rely on.
public enum Table {
    /// Columns padded to their widest cell, a header, two spaces between columns.
    public static func render(columns: [String], rows: [[String]]) -> String {
        var widths = columns.map { $0.count }
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i])
            }.joined(separator: "  ")
        }
        return ([line(columns.map { $0.uppercased() })] + rows.map(line)).joined(separator: "\n")
    }

    /// Key/value pairs, keys padded.
    public static func renderPairs(_ pairs: [(String, String)]) -> String {
        let width = pairs.map { $0.0.count }.max() ?? 0
        return pairs.map { "\(($0.0 + ":").padding(toLength: width + 1))  \($0.1)" }.joined(separator: "\n")
    }
}

/// Minimal, dependency-free JSON writing with stable key order.
public enum JSON {
    public indirect enum Value: Equatable {
        case string(String), int(Int64), uint(UInt64), bool(Bool), null
        /// A decimal number, kept as its text (no binary rounding of e.g. 99.5).
        case number(String)
        case array([Value]), object([(String, Value)])

        public static func == (lhs: Value, rhs: Value) -> Bool { lhs.render() == rhs.render() }
    }

    public static func escape(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension JSON {
    /// A cell as the JSON type its column declares; text that does not read as that type
    /// (e.g. "-" for none) becomes null, never a wrong number.
    public static func typed(_ text: String, _ type: ValueType) -> Value {
        // "-" is how tables say "none", whatever the column.
        if text == "-" { return .null }
        switch type {
        case .text: return .string(text)
        case .null: return .null
        case .integer:
            if let i = Int64(text) { return .int(i) }
            if let u = UInt64(text) { return .uint(u) }
            return .null
        case .boolean:
            switch text.lowercased() {
            case "true", "yes": return .bool(true)
            case "false", "no": return .bool(false)
            default: return .null
            }
        case .timestamp: return text.isEmpty || text == "-" ? .null : .string(text)
        case .number: return Double(text) != nil && text.allSatisfy({ "0123456789.-+eE".contains($0) }) ? .number(text) : .null
        }
    }
}

extension JSON.Value {
    public func render() -> String {
        switch self {
        case .string(let s): JSON.escape(s)
        case .int(let i): String(i)
        case .uint(let u): String(u)
        case .bool(let b): b ? "true" : "false"
        case .number(let text): text
        case .null: "null"
        case .array(let items): "[" + items.map { $0.render() }.joined(separator: ",") + "]"
        case .object(let pairs): "{" + pairs.map { JSON.escape($0.0) + ":" + $0.1.render() }.joined(separator: ",") + "}"
        }
    }
}

extension String {
    func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
