import FLV
import StreamrTLS
import XCTest

/// SHA-256 from OpenSSL, as the ingest injects it into the chunker.
let sha256: HashFunction = { SHA256Digest.hash($0) }

func hex(_ text: String) -> [UInt8] {
    SHA256Digest.parseHex(text.filter { !$0.isWhitespace })!
}

/// Real bytes from an ffmpeg-made FLV and TS (the same vectors as FLVTests, plus ffmpeg's
/// own PAT and PMT for a program with H.264 on 0x100 and AAC on 0x101).
enum Real {
    /// libx264 High@1.3: AVCDecoderConfigurationRecord with 4-byte NAL lengths, one SPS, one PPS.
    static let avcRecord = hex("0164000dffe100196764000dacd94141fb0110000003001000000303c0f142996001000668ebe3cb22c0fdf8f800")
    static let sps = hex("6764000dacd94141fb0110000003001000000303c0f1429960")
    static let pps = hex("68ebe3cb22c0")
    /// AAC-LC 44.1 kHz mono with an SBR sync extension.
    static let audioSpecificConfig = hex("120856e500")
    /// Sections as ffmpeg 5.1 writes them (`-f mpegts`), CRC included.
    static let ffmpegPAT = hex("00b00d0001c100000001f0002ab104b2")
    static let ffmpegPMT = hex("02b0170001c10000e100f0001be100f0000fe101f0002f44b99b")

    /// libx265 (ffmpeg 9, 320x240 Main@L2) hvcC with its VPS, SPS and PPS arrays (x265's
    /// version SEI array left out).
    static let hevcRecord = hex("""
        0101600000009000000000003cf000fcfdf8f800000f03200001001840010c01ffff0160000003009000000300\
        0003003c959009210001002a42010101600000030090000003000003003ca00a080f16595912930bc05a020000\
        030002000003003c1022000100064401c073c189
        """)
    static let hevcVPS = hex("40010c01ffff01600000030090000003000003003c959009")
    static let hevcSPS = hex("42010101600000030090000003000003003ca00a080f16595912930bc05a020000030002000003003c10")
    static let hevcPPS = hex("4401c073c189")
    /// libsvtav1 (ffmpeg 9, 320x240, Main, level 2.0) av1C with its sequence header OBU.
    static let av1Record = hex("81000c000a0b0200000521e7fde017c002")
    /// libopus (ffmpeg 9) OpusHead: mono, pre-skip 312, 48 kHz, gain 0, family 0.
    static let opusHead = hex("4f707573486561640101380180bb0000000000")
}

/// FLV tags for hand-made streams.
enum Make {
    static func videoHeader(_ ts: UInt32 = 0, record: [UInt8] = Real.avcRecord) -> FLVTag {
        FLVTag(type: .video, timestamp: ts, data: [0x17, 0x00, 0, 0, 0] + record)
    }

    /// An AVC frame with the given NAL units (4-byte lengths) and composition time offset.
    static func frame(_ ts: UInt32, key: Bool = false, cts: Int32 = 0, nals: [[UInt8]]? = nil) -> FLVTag {
        let units = nals ?? [[key ? 0x65 : 0x41, 0x88, UInt8(truncatingIfNeeded: ts), 0x10]]
        var data: [UInt8] = [key ? 0x17 : 0x27, 0x01, UInt8(truncatingIfNeeded: cts >> 16),
                             UInt8(truncatingIfNeeded: cts >> 8), UInt8(truncatingIfNeeded: cts)]
        for u in units { data += [0, 0, UInt8(u.count >> 8), UInt8(u.count & 0xFF)] + u }
        return FLVTag(type: .video, timestamp: ts, data: data)
    }

    static func audioHeader(_ ts: UInt32 = 0, config: [UInt8] = [0x12, 0x10]) -> FLVTag {
        FLVTag(type: .audio, timestamp: ts, data: [0xaf, 0x00] + config)
    }

    static func audio(_ ts: UInt32, size: Int = 10) -> FLVTag {
        FLVTag(type: .audio, timestamp: ts, data: [0xaf, 0x01] + [UInt8](repeating: UInt8(truncatingIfNeeded: ts), count: size))
    }

    /// Enhanced RTMP tags: [IsExHeader | frame type | packet type] FourCC body.
    static func ex(_ type: FLVTagType, _ ts: UInt32, _ first: UInt8, _ fourCC: String, _ body: [UInt8]) -> FLVTag {
        FLVTag(type: type, timestamp: ts, data: [first] + Array(fourCC.utf8) + body)
    }

    static func hevcHeader(_ ts: UInt32 = 0, record: [UInt8] = Real.hevcRecord) -> FLVTag { ex(.video, ts, 0x90, "hvc1", record) }

    /// An E-RTMP HEVC frame: CodedFrames with a composition time, or CodedFramesX without.
    static func hevcFrame(_ ts: UInt32, key: Bool = false, cts: Int32 = 0, nals: [[UInt8]]? = nil) -> FLVTag {
        let units = nals ?? [key ? [0x26, 0x01, 0xAF, UInt8(truncatingIfNeeded: ts)] : [0x02, 0x01, 0xD0, UInt8(truncatingIfNeeded: ts)]]
        var body: [UInt8] = cts == 0 ? [] : [UInt8(truncatingIfNeeded: cts >> 16), UInt8(truncatingIfNeeded: cts >> 8), UInt8(truncatingIfNeeded: cts)]
        for u in units { body += [0, 0, UInt8(u.count >> 8), UInt8(u.count & 0xFF)] + u }
        return ex(.video, ts, (key ? 0x90 : 0xA0) | (cts == 0 ? 3 : 1), "hvc1", body)
    }

    static func av1Header(_ ts: UInt32 = 0) -> FLVTag { ex(.video, ts, 0x90, "av01", Real.av1Record) }

    /// A temporal delimiter then a made-up frame OBU (type 6, with a size field).
    static func av1Frame(_ ts: UInt32, key: Bool = false) -> FLVTag {
        ex(.video, ts, key ? 0x91 : 0xA1, "av01", [0x12, 0x00, 0x32, 0x03, key ? 0x10 : 0x30, 0x01, UInt8(truncatingIfNeeded: ts)])
    }

    static func opusHeader(_ ts: UInt32 = 0) -> FLVTag { ex(.audio, ts, 0x90, "Opus", Real.opusHead) }

    /// A 20 ms CELT packet (TOC 0xF8: config 31, one frame) of `size` bytes.
    static func opus(_ ts: UInt32, size: Int = 20) -> FLVTag {
        ex(.audio, ts, 0x91, "Opus", [0xF8] + [UInt8](repeating: UInt8(truncatingIfNeeded: ts), count: size - 1))
    }

    static func av1Headers() -> SequenceHeaders {
        var h = SequenceHeaders()
        h.update(with: av1Header())
        h.update(with: opusHeader())
        return h
    }

    static func opusHeaders() -> SequenceHeaders {
        var h = SequenceHeaders()
        h.update(with: videoHeader())
        h.update(with: opusHeader())
        return h
    }

    static func hevcHeaders(audio: Bool = true) -> SequenceHeaders {
        var h = SequenceHeaders()
        h.update(with: hevcHeader())
        if audio { h.update(with: audioHeader()) }
        return h
    }

    static func headers(video: Bool = true, audio: Bool = true) -> SequenceHeaders {
        var h = SequenceHeaders()
        if video { h.update(with: videoHeader()) }
        if audio { h.update(with: audioHeader()) }
        return h
    }
}

/// A transport stream read back per ISO/IEC 13818-1, independently of the muxer's code.
struct TSPacket {
    var bytes: ArraySlice<UInt8>
    var pid: UInt16 { UInt16(bytes[bytes.startIndex + 1] & 0x1F) << 8 | UInt16(bytes[bytes.startIndex + 2]) }
    var payloadUnitStart: Bool { bytes[bytes.startIndex + 1] & 0x40 != 0 }
    var continuityCounter: UInt8 { bytes[bytes.startIndex + 3] & 0x0F }
    var hasAdaptation: Bool { bytes[bytes.startIndex + 3] & 0x20 != 0 }
    var hasPayload: Bool { bytes[bytes.startIndex + 3] & 0x10 != 0 }
    /// The adaptation field after its length byte (empty for a zero-length field).
    var adaptation: ArraySlice<UInt8>? {
        guard hasAdaptation else { return nil }
        let length = Int(bytes[bytes.startIndex + 4])
        return bytes[(bytes.startIndex + 5)..<(bytes.startIndex + 5 + length)]
    }
    var payload: ArraySlice<UInt8> {
        let start = bytes.startIndex + 4 + (hasAdaptation ? 1 + Int(bytes[bytes.startIndex + 4]) : 0)
        return bytes[start...]
    }
    var randomAccess: Bool { adaptation.map { !$0.isEmpty && $0.first! & 0x40 != 0 } ?? false }
    var discontinuity: Bool { adaptation.map { !$0.isEmpty && $0.first! & 0x80 != 0 } ?? false }
    /// PCR base (90 kHz), when the adaptation field has one.
    var pcr: UInt64? {
        guard let a = adaptation, let flags = a.first, flags & 0x10 != 0 else { return nil }
        let p = Array(a.dropFirst().prefix(6))
        return UInt64(p[0]) << 25 | UInt64(p[1]) << 17 | UInt64(p[2]) << 9 | UInt64(p[3]) << 1 | UInt64(p[4] >> 7)
    }

    static func split(_ ts: [UInt8]) -> [TSPacket] {
        precondition(ts.count % 188 == 0)
        return stride(from: 0, to: ts.count, by: 188).map { TSPacket(bytes: ts[$0..<($0 + 188)]) }
    }
}

/// A PES packet read back: stream id, PTS/DTS and the elementary stream bytes.
struct PESPacket {
    var streamID: UInt8
    var length: Int
    var pts: UInt64?
    var dts: UInt64?
    var payload: [UInt8]
    /// The first TS packet that carried it.
    var first: TSPacket

    static func timestamp(_ b: ArraySlice<UInt8>) -> UInt64 {
        let b = Array(b)
        return UInt64(b[0] >> 1 & 0x07) << 30 | UInt64(b[1]) << 22 | UInt64(b[2] >> 1) << 15 | UInt64(b[3]) << 7 | UInt64(b[4] >> 1)
    }

    init(_ bytes: [UInt8], first: TSPacket) {
        precondition(bytes.starts(with: [0, 0, 1]), "PES start code")
        streamID = bytes[3]
        length = Int(bytes[4]) << 8 | Int(bytes[5])
        let flags = bytes[7]
        let headerLength = Int(bytes[8])
        pts = flags & 0x80 != 0 ? Self.timestamp(bytes[9..<14]) : nil
        dts = flags & 0x40 != 0 ? Self.timestamp(bytes[14..<19]) : pts
        payload = Array(bytes[(9 + headerLength)...])
        self.first = first
    }

    /// Reassembles the PES packets of `pid` (each starts at a payload_unit_start packet).
    static func read(_ ts: [UInt8], pid: UInt16) -> [PESPacket] {
        var out: [PESPacket] = []
        var current: [UInt8] = []
        var first: TSPacket?
        for p in TSPacket.split(ts) where p.pid == pid {
            if p.payloadUnitStart, let f = first {
                out.append(PESPacket(current, first: f))
                current = []
            }
            if p.payloadUnitStart { first = p }
            current += p.payload
        }
        if let f = first { out.append(PESPacket(current, first: f)) }
        return out
    }
}

/// ISO BMFF read back box by box, independently of the writer: type, the whole box, and
/// its body (after a FullBox header when asked for).
struct Box {
    var type: String
    var bytes: ArraySlice<UInt8>
    var body: ArraySlice<UInt8> { bytes.dropFirst(8) }

    static func u32(_ b: ArraySlice<UInt8>, _ i: Int) -> UInt32 {
        let s = b.startIndex + i
        return UInt32(b[s]) << 24 | UInt32(b[s + 1]) << 16 | UInt32(b[s + 2]) << 8 | UInt32(b[s + 3])
    }

    static func u64(_ b: ArraySlice<UInt8>, _ i: Int) -> UInt64 { UInt64(u32(b, i)) << 32 | UInt64(u32(b, i + 4)) }

    /// The boxes laid end to end in `bytes`; fails the test on a size that does not fit.
    static func list(_ bytes: ArraySlice<UInt8>) -> [Box] {
        var out: [Box] = []
        var at = bytes.startIndex
        while at + 8 <= bytes.endIndex {
            let size = Int(u32(bytes, at - bytes.startIndex))
            guard size >= 8, at + size <= bytes.endIndex else {
                XCTFail("box size \(size) at \(at - bytes.startIndex) does not fit")
                return out
            }
            let type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
            out.append(Box(type: type, bytes: bytes[at..<(at + size)]))
            at += size
        }
        if at != bytes.endIndex { XCTFail("\(bytes.endIndex - at) bytes after the last box") }
        return out
    }

    /// Children of a container box (after `skip` bytes of its own fields).
    func children(skip: Int = 0) -> [Box] { Box.list(body.dropFirst(skip)) }

    /// The first box on `path` ("moov/trak/mdia"), descending through containers; sample
    /// entries and stsd need their own field sizes skipped.
    func find(_ path: String) -> Box? {
        var current: Box? = self
        for name in path.split(separator: "/") {
            let skip = switch current!.type {
            case "stsd": 8
            case "avc1", "hvc1", "av01": 78
            case "mp4a", "Opus": 28
            case "dref": 8
            default: 0
            }
            current = current!.children(skip: skip).first { $0.type == name }
            if current == nil { return nil }
        }
        return current
    }
}

extension [Box] {
    func first(_ type: String) -> Box? { first { $0.type == type } }
}
