/// Writes ISO BMFF boxes (ISO/IEC 14496-12 4.2): a 32-bit size that counts the whole box,
/// the four-character type, then the body; a FullBox adds version and 24-bit flags. Sizes
/// are patched in once a box's body is written, so nested boxes need no size arithmetic.
struct MP4Writer {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    var count: Int { bytes.count }

    mutating func box(_ type: StaticString, _ body: (inout MP4Writer) -> Void) {
        let start = bytes.count
        u32(0)
        fourCC(type)
        body(&self)
        patch(u32: UInt32(bytes.count - start), at: start)
    }

    mutating func fullBox(_ type: StaticString, version: UInt8 = 0, flags: UInt32 = 0, _ body: (inout MP4Writer) -> Void) {
        box(type) { w in
            w.u8(version)
            w.u24(flags)
            body(&w)
        }
    }

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    mutating func u24(_ v: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        u16(UInt16(truncatingIfNeeded: v))
    }

    mutating func u32(_ v: UInt32) {
        u16(UInt16(truncatingIfNeeded: v >> 16))
        u16(UInt16(truncatingIfNeeded: v))
    }

    mutating func u64(_ v: UInt64) {
        u32(UInt32(truncatingIfNeeded: v >> 32))
        u32(UInt32(truncatingIfNeeded: v))
    }

    mutating func zeros(_ n: Int) { bytes.append(contentsOf: repeatElement(0, count: n)) }

    mutating func append<Bytes: Sequence>(_ data: Bytes) where Bytes.Element == UInt8 { bytes.append(contentsOf: data) }

    mutating func fourCC(_ type: StaticString) {
        precondition(type.utf8CodeUnitCount == 4)
        type.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Overwrites four bytes written earlier (a size, a data offset).
    mutating func patch(u32 v: UInt32, at i: Int) {
        bytes[i] = UInt8(truncatingIfNeeded: v >> 24)
        bytes[i + 1] = UInt8(truncatingIfNeeded: v >> 16)
        bytes[i + 2] = UInt8(truncatingIfNeeded: v >> 8)
        bytes[i + 3] = UInt8(truncatingIfNeeded: v)
    }

    /// An MPEG-4 descriptor (ISO/IEC 14496-1 8.3.3): tag, then the body's size in 7-bit
    /// groups (the expandable size field), then the body.
    mutating func descriptor(tag: UInt8, _ body: (inout MP4Writer) -> Void) {
        var inner = MP4Writer()
        body(&inner)
        u8(tag)
        var size = inner.count
        var groups: [UInt8] = [UInt8(size & 0x7F)]
        size >>= 7
        while size > 0 {
            groups.append(UInt8(size & 0x7F) | 0x80)
            size >>= 7
        }
        append(groups.reversed())
        append(inner.bytes)
    }
}
