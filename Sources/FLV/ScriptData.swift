/// Just enough AMF0 to name a script tag: its first value, a string. Full AMF0 lives in the
/// RTMP module; this module must not depend on it.
public enum ScriptData {
    static let onMetaData = Array("onMetaData".utf8)
    static let setDataFrame = Array("@setDataFrame".utf8)
    private static let amf0String: UInt8 = 0x02

    /// The first AMF0 value if it is a short string, and where the next value starts.
    static func leadingString(_ d: Bytes, at i: Int = 0) -> (name: ArraySlice<UInt8>, next: Int)? {
        guard i + 3 <= d.count, d[i] == amf0String else { return nil }
        let end = i + 3 + Int(d.u16(at: i + 1))
        guard end <= d.count else { return nil }
        let base = d.slice.startIndex
        return (d.slice[(base + i + 3)..<(base + end)], end)
    }

    /// True for `onMetaData` data, also in the `@setDataFrame("onMetaData", ...)` form an RTMP
    /// publisher sends.
    public static func isMetadata(_ data: ArraySlice<UInt8>) -> Bool {
        let d = Bytes(data)
        guard let (name, next) = leadingString(d) else { return false }
        if name.elementsEqual(onMetaData) { return true }
        guard name.elementsEqual(setDataFrame), let (inner, _) = leadingString(d, at: next) else { return false }
        return inner.elementsEqual(onMetaData)
    }

    /// The data without a leading "@setDataFrame" string: an RTMP publisher's
    /// `@setDataFrame("onMetaData", {...})` becomes the `onMetaData` script tag a file has.
    /// Anything else is returned unchanged.
    public static func strippingSetDataFrame(_ data: [UInt8]) -> [UInt8] {
        guard let (name, next) = leadingString(Bytes(data[...])), name.elementsEqual(setDataFrame) else { return data }
        return Array(data[next...])
    }
}
