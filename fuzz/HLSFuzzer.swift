// libFuzzer harness for the HLS muxer (TSMuxer), two ways on every input:
// - the input as FLV (a file or a bare tag stream): FLVParser, then the tags muxed directly
//   and, cut by the Chunker, chunk by chunk through `segment(for:)` (which parses again);
//   the raw input is also handed to `segment(for:)` as a chunk body as it is;
// - the input as a program for a generator of plausible streams: AVC and AAC sequence
//   headers (valid or subtly broken records), H.264 frames of AVCC NAL units in the current
//   length size, AAC frames, timestamp jumps and wraps, metadata, HEVC and Enhanced RTMP
//   tags, dropped chunks (seq gaps) and explicit discontinuities - so the fuzzer reaches the
//   AnnexB, ADTS, PES and packetizer code instead of stopping at the first refusal.
// Every segment is read back with a small independent TS reader (sync bytes, PIDs, continuity
// counters, adaptation fields, PES start codes); a throw must leave the muxer as it was (the
// next chunk muxes the same on the muxer and on a copy taken before). Errors are HLSError by
// the type system. Built by fuzz/run.sh with `-sanitize=fuzzer,address`; any trap is a bug.
import FLV
import HLS

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHLS(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    // The input as FLV.
    var parser = FLVParser(maxTagDataSize: 1 << 16)
    let parsed = (try? parser.feed(bytes)) ?? []
    run(parsed, targetMs: 100, events: [:])
    var raw = TSMuxer()
    let chunk = Chunk(seq: 1, firstTimestamp: 0, lastTimestamp: 0, bytes: bytes, digest: [], chain: [],
                      tagCount: 0, keyframes: [], headers: SequenceHeaders())
    if let out = try? raw.segment(for: chunk) { checkTS(out) }

    // The input as a program.
    var generator = Generator(bytes)
    let (tags, events, targetMs) = generator.stream()
    run(tags, targetMs: targetMs, events: events)
    return 0
}

/// Muxes `tags` whole, then chunk by chunk with the events applied, checking every segment.
private func run(_ tags: [FLVTag], targetMs: Int, events: [Int: Event]) {
    var direct = TSMuxer()
    if let out = try? direct.segment(tags: tags, headers: SequenceHeaders()) { checkTS(out) }

    var chunker = Chunker(configuration: .init(targetDurationMs: targetMs)) { [UInt8(truncatingIfNeeded: $0.count)] }
    var chunks: [Chunk] = []
    for tag in tags { if let sealed = chunker.push(tag).sealed { chunks.append(sealed) } }
    if let last = chunker.finish() { chunks.append(last) }

    var muxer = TSMuxer()
    var shadow: TSMuxer?  // a copy from before a throw
    var playlist = HLSPlaylist(windowSize: 3)
    for (i, chunk) in chunks.enumerated() {
        switch events[i] {
        case .drop?: continue
        case .discontinuity?: muxer.markDiscontinuity(); shadow?.markDiscontinuity()
        case nil: break
        }
        let before = muxer
        let result = Result { () throws(HLSError) in try muxer.segment(for: chunk) }
        if var copy = shadow {
            let again = Result { () throws(HLSError) in try copy.segment(for: chunk) }
            precondition(again == result, "a failed segment changed the muxer: \(again) after it, \(result) without")
            shadow = nil
        }
        switch result {
        case .success(let out):
            checkTS(out)
            playlist.append(chunk: chunk, nextFirstTimestamp: chunks.indices.contains(i + 1) ? chunks[i + 1].firstTimestamp : nil)
        case .failure(let error):
            _ = error.description
            shadow = before
        }
    }
    let text = playlist.render()
    precondition(text.hasPrefix("#EXTM3U\n") && text.split(separator: "\n").filter { $0.hasPrefix("#EXTINF:") }.count
                 == playlist.segments.count)
}

/// An independent reading of a segment: what a demuxer relies on.
private func checkTS(_ ts: [UInt8]) {
    precondition(ts.count % 188 == 0 && ts.count >= 2 * 188, "segment of \(ts.count) bytes")
    var counters: [UInt16: UInt8] = [:]
    var index = 0
    for start in stride(from: 0, to: ts.count, by: 188) {
        let p = ts[start..<(start + 188)]
        precondition(p[start] == 0x47, "no sync byte at \(start)")
        let pid = UInt16(p[start + 1] & 0x1F) << 8 | UInt16(p[start + 2])
        precondition([0x0000, 0x1000, 0x0100, 0x0101].contains(pid), "unexpected PID \(pid)")
        if index == 0 { precondition(pid == 0, "the first packet is not the PAT") }
        if index == 1 { precondition(pid == 0x1000, "the second packet is not the PMT") }
        let afc = p[start + 3] >> 4 & 0x3
        precondition(afc == 1 || afc == 3, "adaptation_field_control \(afc): every packet here carries payload")
        let cc = p[start + 3] & 0x0F
        if let previous = counters[pid] { precondition(cc == (previous + 1) & 0x0F, "continuity jump on PID \(pid)") }
        counters[pid] = cc
        var payload = start + 4
        if afc == 3 {
            let length = Int(p[start + 4])
            precondition(length <= 182, "adaptation field of \(length) bytes leaves no payload")
            payload += 1 + length
        }
        precondition(payload < start + 188)
        let unitStart = p[start + 1] & 0x40 != 0
        if unitStart && (pid == 0x100 || pid == 0x101) {
            precondition(payload + 4 <= start + 188, "PES start packet without room for a start code")
            precondition(p[payload] == 0 && p[payload + 1] == 0 && p[payload + 2] == 1, "PES without a start code")
            precondition(p[payload + 3] == (pid == 0x100 ? 0xE0 : 0xC0), "PES stream id on the wrong PID")
        }
        if unitStart && pid < 0x100 { precondition(p[payload] == 0, "PSI with a pointer_field") }
        index += 1
    }
}

private enum Event { case drop, discontinuity }

/// Reads the input as choices; past its end every choice is 0, so generation stops.
private struct Generator {
    let bytes: [UInt8]
    var at = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { at >= bytes.count }
    mutating func byte() -> UInt8 {
        defer { at += 1 }
        return at < bytes.count ? bytes[at] : 0
    }
    mutating func u16() -> Int { Int(byte()) << 8 | Int(byte()) }
    mutating func chance(_ inSixteen: UInt8) -> Bool { byte() & 0x0F < inSixteen }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in byte() } }

    var ts: UInt32 = 0
    var lengthSize = 4

    mutating func stream() -> (tags: [FLVTag], events: [Int: Event], targetMs: Int) {
        let targetMs = 1 + Int(byte()) * 8
        ts = UInt32(u16()) << UInt32(byte() % 24)
        var tags: [FLVTag] = []
        var events: [Int: Event] = [:]
        var chunk = 0
        while !atEnd && tags.count < 400 {
            switch byte() % 13 {
            case 0: tags.append(avcHeader())
            case 1: tags.append(aacHeader())
            case 2, 3, 4: tags.append(videoFrame())
            case 5, 6: tags.append(audioFrame())
            case 7:
                // Jumps: small steps back (interleaving), big steps (restart), the 2^32 wrap.
                switch byte() % 4 {
                case 0: ts &-= UInt32(byte())
                case 1: ts &+= UInt32(u16()) << 8
                case 2: ts = UInt32.max &- UInt32(byte())
                default: ts &+= 0x8000_0000
                }
            case 8:
                tags.append(FLVTag(type: .script, timestamp: ts, data: [0x02, 0x00, 0x0A] + Array("onMetaData".utf8) + [0x08, 0, 0, 0, 0, 0, 0, 9]))
            case 9: tags.append(oddTag())
            case 10:
                chunk += 1 + Int(byte() % 3)
                events[chunk] = byte() & 1 == 0 ? .drop : .discontinuity
            case 11:
                tags.append(FLVTag(type: [.audio, .video, .script][Int(byte() % 3)], timestamp: ts, data: bytes(Int(byte() % 32))))
            default:
                // A keyframe after a header, the shape encoders send.
                tags.append(avcHeader())
                tags.append(videoFrame(key: true))
            }
        }
        return (tags, events, targetMs)
    }

    mutating func avcHeader() -> FLVTag {
        let lsm = byte() % 4  // 2 is invalid (length size 3)
        var record: [UInt8] = [byte() % 8 == 0 ? byte() : 1, 0x64, 0x00, 0x0D, 0xFC | lsm]
        let sps = Int(byte() % 3), pps = Int(byte() % 3)
        record.append(0xE0 | UInt8(sps))
        for _ in 0..<sps { let n = Int(byte() % 24); record += [0, UInt8(n + 1), 0x67] + bytes(n) }
        record.append(UInt8(pps))
        for _ in 0..<pps { let n = Int(byte() % 8); record += [0, UInt8(n + 1), 0x68] + bytes(n) }
        if chance(2) { record.removeLast(Int(byte()) % record.count) }  // truncated
        if lsm != 2 { lengthSize = Int(lsm) + 1 }
        return FLVTag(type: .video, timestamp: ts, data: [0x17, 0x00, 0, 0, 0] + record)
    }

    mutating func aacHeader() -> FLVTag {
        var config: [UInt8]
        if chance(12) {
            let objectType: UInt32 = [2, 2, 5, 29, 1, 4, 31, 0][Int(byte() % 8)]
            let rate = UInt32(byte() % 16), channels = UInt32(byte() % 8)
            var bits = objectType << 11 | rate << 7 | channels << 3
            if objectType == 31 { bits = 31 << 11 | UInt32(byte() % 64) << 5 }
            config = [UInt8(bits >> 8), UInt8(bits & 0xFF)]
            if rate == 15 { config += bytes(3) }
        } else {
            config = bytes(Int(byte() % 5))
        }
        return FLVTag(type: .audio, timestamp: ts, data: [0xAF, 0x00] + config)
    }

    mutating func videoFrame(key: Bool? = nil) -> FLVTag {
        let key = key ?? chance(4)
        let packetType: UInt8 = chance(14) ? 1 : byte() % 3
        // Composition time: small and positive mostly, else any signed 24-bit value.
        let cts = chance(12) ? Int32(byte() % 4) * 33 : Int32(bitPattern: UInt32(u16() << 8 | Int(byte())) << 8) >> 8
        var data: [UInt8] = [key ? 0x17 : 0x27, packetType, UInt8(truncatingIfNeeded: cts >> 16),
                             UInt8(truncatingIfNeeded: cts >> 8), UInt8(truncatingIfNeeded: cts)]
        for _ in 0..<(1 + Int(byte() % 3)) {
            let type: UInt8 = [key ? 0x65 : 0x41, 0x41, 0x65, 0x09, 0x06, 0x67, 0x68, 0x00][Int(byte() % 8)]
            let body = [type] + bytes(Int(byte() % 48))
            var length = body.count
            if chance(1) { length += Int(byte()) - 128 }  // a lie
            for i in (0..<lengthSize).reversed() { data.append(UInt8(truncatingIfNeeded: max(0, length) >> (8 * i))) }
            data += body
        }
        defer { ts &+= UInt32(byte() % 50) }
        return FLVTag(type: .video, timestamp: ts, data: data)
    }

    mutating func audioFrame() -> FLVTag {
        let size = chance(1) ? 8000 + u16() % 400 : Int(byte() % 200)  // over 8184 is too big for ADTS
        defer { ts &+= UInt32(byte() % 30) }
        return FLVTag(type: .audio, timestamp: ts, data: [0xAF, chance(15) ? 1 : byte()] + [UInt8](repeating: byte(), count: size))
    }

    mutating func oddTag() -> FLVTag {
        let (type, data): (FLVTagType, [UInt8])
        switch byte() % 10 {
        case 0: (type, data) = (.video, [0x1C, 0x00, 0, 0, 0] + bytes(8))                // HEVC sequence header (CodecID 12)
        case 1: (type, data) = (.video, [0x1C, 0x01, 0, 0, 0] + bytes(8))                // HEVC frame
        case 2: (type, data) = (.video, [0x90] + Array("hvc1".utf8) + bytes(6))          // Enhanced RTMP sequence start
        case 3: (type, data) = (.video, [0x91] + Array("avc1".utf8) + bytes(6))          // Enhanced RTMP coded frames
        case 4: (type, data) = (.audio, [0x90] + Array("mp4a".utf8) + [0x12, 0x10])      // Enhanced RTMP audio
        case 5: (type, data) = (.audio, [0x2F] + bytes(10))                              // MP3
        case 6: (type, data) = (byte() & 1 == 0 ? .audio : .video, [])                   // empty
        case 7: (type, data) = (.video, [0x17, 0x01] + bytes(Int(byte() % 3)))           // AVC shorter than its header
        case 8: (type, data) = (.video, [0x12] + bytes(5))                               // Sorenson
        default: (type, data) = (.audio, [0xAF])                                         // AAC without a packet type
        }
        return FLVTag(type: type, timestamp: ts, data: data)
    }
}

// SwiftPM links executables with `main` renamed to `<module>_main`; hand control
// to libFuzzer's driver from there.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("streamr_fuzz_hls_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzHLS)
}
