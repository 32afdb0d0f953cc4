/// Ran past the end, or read a code no conforming stream has. Callers turn it into an
/// HLSError naming the codec.
struct BitstreamError: Error, Hashable {}

/// MSB-first bit reads over a NAL unit's RBSP or an AV1 OBU payload, with the Exp-Golomb
/// codes of H.264/H.265 (9.1) and AV1's uvlc/leb128. Every read is bounds-checked.
struct BitReader {
    private let bytes: [UInt8]
    private(set) var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// A NAL unit's payload with its emulation prevention bytes removed (00 00 03 -> 00 00),
    /// after a `headerSize`-byte NAL header (1 for H.264, 2 for H.265).
    static func rbsp<Bytes: Collection>(nal: Bytes, headerSize: Int) -> BitReader where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(nal.count)
        var zeros = 0
        for b in nal.dropFirst(headerSize) {
            if zeros >= 2 && b == 3 {
                zeros = 0
                continue
            }
            zeros = b == 0 ? zeros + 1 : 0
            out.append(b)
        }
        return BitReader(out)
    }

    var bitsLeft: Int { bytes.count * 8 - position }

    mutating func bits(_ n: Int) throws(BitstreamError) -> UInt32 {
        precondition(n >= 0 && n <= 32)
        guard n <= bitsLeft else { throw BitstreamError() }
        var value: UInt32 = 0
        for _ in 0..<n {
            value = value << 1 | UInt32(bytes[position >> 3] >> (7 - UInt8(position & 7)) & 1)
            position += 1
        }
        return value
    }

    mutating func flag() throws(BitstreamError) -> Bool { try bits(1) == 1 }

    mutating func skip(_ n: Int) throws(BitstreamError) {
        guard n >= 0 && n <= bitsLeft else { throw BitstreamError() }
        position += n
    }

    /// ue(v): leading zeros, a one, then as many bits. Over 31 leading zeros does not fit
    /// 32 bits (no syntax element here is that large): refused.
    mutating func ue() throws(BitstreamError) -> UInt32 {
        var zeros = 0
        while try bits(1) == 0 {
            zeros += 1
            guard zeros <= 31 else { throw BitstreamError() }
        }
        let rest = try bits(zeros)
        return UInt32((UInt64(1) << zeros) - 1 + UInt64(rest))
    }

    /// se(v): 1, -1, 2, -2, ... from ue(v) 1, 2, 3, 4, ...
    mutating func se() throws(BitstreamError) -> Int32 {
        let k = Int64(try ue())
        return Int32(k & 1 == 1 ? (k + 1) / 2 : -(k / 2))
    }

    /// AV1 uvlc() (4.10.3): 32 or more leading zeros mean 2^32 - 1.
    mutating func uvlc() throws(BitstreamError) -> UInt32 {
        var zeros = 0
        while try bits(1) == 0 {
            zeros += 1
            if zeros >= 32 { return UInt32.max }
        }
        return UInt32((UInt64(1) << zeros) - 1 + UInt64(try bits(zeros)))
    }

    /// AV1 leb128() (4.10.5), byte aligned: at most 8 bytes, value below 2^32.
    mutating func leb128() throws(BitstreamError) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<8 {
            let byte = try bits(8)
            value |= UInt64(byte & 0x7F) << (7 * i)
            if byte & 0x80 == 0 {
                guard value <= UInt64(UInt32.max) else { throw BitstreamError() }
                return value
            }
        }
        throw BitstreamError()
    }
}
