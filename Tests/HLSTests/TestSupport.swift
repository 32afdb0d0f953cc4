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
