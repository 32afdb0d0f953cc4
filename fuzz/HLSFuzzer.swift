// libFuzzer harness for the HLS muxers (TSMuxer and FMP4Muxer), two ways on every input:
// - the input as FLV (a file or a bare tag stream): FLVParser, then the tags muxed directly
//   and, cut by the Chunker, chunk by chunk through `segment(for:)` (which parses again);
//   the raw input is also handed to `segment(for:)` as a chunk body as it is;
// - the input as a program for a generator of plausible streams: AVC and AAC sequence
//   headers (valid or subtly broken records), H.264 frames of AVCC NAL units in the current
//   length size, AAC frames, timestamp jumps and wraps, metadata, HEVC/AV1/Opus (legacy and
//   Enhanced RTMP tags), dropped chunks (seq gaps) and explicit discontinuities - so the
//   fuzzer reaches the AnnexB, ADTS, PES, packetizer and box-writing code instead of
//   stopping at the first refusal.
// Every TS segment is read back with a small independent reader (sync bytes, PIDs, continuity
// counters, adaptation fields, PES start codes), every fMP4 fragment and init segment walked
// box by box (sizes nest and add up); a throw must leave the muxer as it was (the
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

    // The same chunks as fMP4: boxes that nest and add up, fragments numbered 1, 2, 3...
    var fmp4 = FMP4Muxer()
    var fmp4Shadow: FMP4Muxer?
    var lastSequence: UInt32 = 0
    if let out = try? fmp4.segment(tags: tags, headers: SequenceHeaders()) {
        checkFMP4(out)
        lastSequence = out.sequenceNumber
    }
    for (i, chunk) in chunks.enumerated() {
        switch events[i] {
        case .drop?: continue
        case .discontinuity?: fmp4.markDiscontinuity(); fmp4Shadow?.markDiscontinuity()
        case nil: break
        }
        let before = fmp4
        let result = Result { () throws(HLSError) in try fmp4.segment(for: chunk) }
        if var copy = fmp4Shadow {
            let again = Result { () throws(HLSError) in try copy.segment(for: chunk) }
            precondition(again == result, "a failed fMP4 segment changed the muxer")
            fmp4Shadow = nil
        }
        switch result {
        case .success(let out):
            checkFMP4(out)
            precondition(out.sequenceNumber == lastSequence + 1, "fragment \(out.sequenceNumber) after \(lastSequence)")
            lastSequence = out.sequenceNumber
        case .failure(let error):
            _ = error.description
            fmp4Shadow = before
        }
    }
}

private func checkFMP4(_ segment: FMP4Segment) {
    let fragment = boxes(segment.bytes[...])
    precondition(fragment.map(\.type) == ["moof", "mdat"], "fragment boxes \(fragment.map(\.type))")
    let initBoxes = boxes(segment.initSegment.bytes[...])
    precondition(initBoxes.map(\.type) == ["ftyp", "moov"], "init boxes \(initBoxes.map(\.type))")
    precondition(segment.durationMs >= 0)
}

/// The boxes in `bytes`, which must be exactly a run of whole boxes; containers are walked too.
@discardableResult
private func boxes(_ bytes: ArraySlice<UInt8>) -> [(type: String, body: ArraySlice<UInt8>)] {
    let containers: Set<String> = ["moov", "trak", "mdia", "minf", "stbl", "moof", "traf", "mvex", "dinf", "edts"]
    var out: [(type: String, body: ArraySlice<UInt8>)] = []
    var at = bytes.startIndex
    while at < bytes.endIndex {
        precondition(bytes.endIndex - at >= 8, "a box header cut short")
        var size = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
        let type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
        var header = 8
        if size == 1 {
            precondition(bytes.endIndex - at >= 16, "a largesize box header cut short")
            size = bytes[(at + 8)..<(at + 16)].reduce(0) { $0 << 8 | Int($1) }
            header = 16
        }
        precondition(size >= header && size <= bytes.endIndex - at, "box \(type) of \(size) bytes, \(bytes.endIndex - at) left")
        let body = bytes[(at + header)..<(at + size)]
        if containers.contains(type) { boxes(body) }
        out.append((type, body))
        at += size
    }
    return out
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

    /// HEVC, AV1 and Opus (legacy CodecID 12 and Enhanced RTMP FourCC tags), plausible
    /// enough to pass their configuration parsers, and tags of codecs nobody muxes.
    mutating func oddTag() -> FLVTag {
        let key = chance(8)
        let (type, data): (FLVTagType, [UInt8])
        switch byte() % 12 {
        case 0: (type, data) = (.video, [0x1C, 0x00, 0, 0, 0] + hevcRecord())                 // legacy HEVC header
        case 1: (type, data) = (.video, [0x90] + Array("hvc1".utf8) + hevcRecord())           // E-RTMP SequenceStart
        case 2: (type, data) = (.video, [key ? 0x91 : 0xA1] + Array("hvc1".utf8) + [0, 0, byte()] + nalUnits(hevc: true))
        case 3: (type, data) = (.video, [key ? 0x93 : 0xA3] + Array("hvc1".utf8) + nalUnits(hevc: true))  // CodedFramesX
        case 4: (type, data) = (.video, [key ? 0x1C : 0x2C, 0x01, 0, 0, byte()] + nalUnits(hevc: true))
        case 5:                                                                                // AV1 SequenceStart
            (type, data) = (.video, [0x90] + Array("av01".utf8) + [0x81, byte() & 0x7F, byte(), 0] + [0x0A, 4] + bytes(4))
        case 6: (type, data) = (.video, [key ? 0x91 : 0xA1] + Array("av01".utf8) + [0x32, 3] + bytes(3))
        case 7:                                                                                // Opus SequenceStart
            let channels = 1 + byte() % 2
            (type, data) = (.audio, [0x90] + Array("Opus".utf8) + Array("OpusHead".utf8) + [1, channels, 0x38, 1, 0x80, 0xBB, 0, 0, 0, 0, 0])
        case 8: (type, data) = (.audio, [0x91] + Array("Opus".utf8) + [byte() & 0xFC] + bytes(Int(byte() % 40)))
        case 9: (type, data) = (.audio, [0x2F] + bytes(10))                                    // MP3
        case 10: (type, data) = (byte() & 1 == 0 ? .audio : .video, bytes(Int(byte() % 4)))   // short or empty
        default: (type, data) = (.video, [0x12] + bytes(5))                                    // Sorenson
        }
        if chance(1) { ts &+= UInt32(byte() % 40) }
        return FLVTag(type: type, timestamp: ts, data: data)
    }

    /// An HEVCDecoderConfigurationRecord with VPS, SPS and PPS arrays of made-up units.
    mutating func hevcRecord() -> [UInt8] {
        let lsm = byte() % 4
        var r: [UInt8] = [1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 0x5D, 0xF0, 0, 0xFC, 0xFD, 0xF8, 0xF8, 0, 0, 0x0C | lsm]
        let arrays = Int(byte() % 4)
        r.append(UInt8(arrays))
        for (i, nalType) in [UInt8(32), 33, 34].prefix(arrays).enumerated() {
            let n = Int(byte() % 20) + i
            r += [0x80 | nalType, 0, 1, 0, UInt8(n + 2), nalType << 1, 1] + bytes(n)
        }
        if chance(2) { r.removeLast(Int(byte()) % r.count) }
        if lsm != 2 { lengthSize = Int(lsm) + 1 }
        return r
    }

    /// NAL units in the current length size, HEVC (2-byte headers, IRAP types) or AVC.
    mutating func nalUnits(hevc: Bool) -> [UInt8] {
        var data: [UInt8] = []
        for _ in 0..<(1 + Int(byte() % 3)) {
            let type: UInt8 = hevc ? [19, 1, 32, 33, 34, 35, 39, 21][Int(byte() % 8)] : [5, 1, 7, 8, 9, 6][Int(byte() % 6)]
            let body = (hevc ? [type << 1, 1] : [0x60 | type]) + bytes(Int(byte() % 40))
            for i in (0..<lengthSize).reversed() { data.append(UInt8(truncatingIfNeeded: body.count >> (8 * i))) }
            data += body
        }
        return data
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
