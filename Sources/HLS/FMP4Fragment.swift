/// One track's samples in a fragment: a traf with tfhd, tfdt and trun (ISO/IEC 14496-12
/// 8.8), its sample bytes going into the fragment's mdat as they are.
struct TrackRun {
    struct Sample {
        var duration: UInt32
        var compositionOffset: Int32
        var isSync: Bool
        var data: ArraySlice<UInt8>
    }

    var trackID: UInt32
    var baseMediaDecodeTime: UInt64
    var samples: [Sample]
    /// Video: per-sample flags and composition offsets; audio samples are all sync and
    /// have none.
    var isVideo: Bool

    /// sample_depends_on 2 (an I picture); sample_depends_on 1 + sample_is_non_sync_sample.
    static let syncFlags: UInt32 = 0x0200_0000
    static let nonSyncFlags: UInt32 = 0x0101_0000
}

/// moof + mdat for one fragment: every track's traf in one moof (MSE takes that), each
/// traf's data offset counted from the moof (default-base-is-moof, so no absolute offsets).
enum FMP4Fragment {
    static func bytes(sequenceNumber: UInt32, runs: [TrackRun]) -> [UInt8] {
        let dataSize = runs.reduce(0) { $0 + $1.samples.reduce(0) { $0 + $1.data.count } }
        var w = MP4Writer(capacity: dataSize + 64 + runs.reduce(0) { $0 + 48 + 16 * $1.samples.count })
        var offsetFields: [Int] = []
        w.box("moof") { w in
            w.fullBox("mfhd") { w in w.u32(sequenceNumber) }
            for run in runs {
                w.box("traf") { w in
                    w.fullBox("tfhd", flags: 0x02_0000) { w in w.u32(run.trackID) }  // default-base-is-moof
                    w.fullBox("tfdt", version: 1) { w in w.u64(run.baseMediaDecodeTime) }
                    // Version 1 makes composition offsets signed; only needed when one is negative.
                    let negative = run.samples.contains { $0.compositionOffset < 0 }
                    // data-offset, sample-duration, sample-size; video adds flags and offsets.
                    let flags: UInt32 = run.isVideo ? 0x000F01 : 0x000301
                    w.fullBox("trun", version: negative ? 1 : 0, flags: flags) { w in
                        w.u32(UInt32(run.samples.count))
                        offsetFields.append(w.count)
                        w.u32(0)  // data_offset, patched below
                        for s in run.samples {
                            w.u32(s.duration)
                            w.u32(UInt32(s.data.count))
                            if run.isVideo {
                                w.u32(s.isSync ? TrackRun.syncFlags : TrackRun.nonSyncFlags)
                                w.u32(UInt32(bitPattern: s.compositionOffset))
                            }
                        }
                    }
                }
            }
        }
        // Each track's data follows the previous track's, right after the mdat header.
        var offset = w.count + 8
        for (run, field) in zip(runs, offsetFields) {
            w.patch(u32: UInt32(offset), at: field)
            offset += run.samples.reduce(0) { $0 + $1.data.count }
        }
        w.u32(UInt32(8 + dataSize))
        w.fourCC("mdat")
        for run in runs {
            for s in run.samples { w.append(s.data) }
        }
        return w.bytes
    }
}

/// Samples in an Opus packet (RFC 6716 3.1), at 48 kHz: the TOC byte's configuration gives
/// the frame duration, its code the frame count.
enum OpusPacket {
    static func duration(_ packet: ArraySlice<UInt8>) throws(HLSError) -> UInt32 {
        guard let toc = packet.first else { throw .invalidOpusPacket(size: 0) }
        let config = Int(toc >> 3)
        let frame: UInt32 = switch config {
        case 0...11: [480, 960, 1920, 2880][config % 4]  // SILK: 10, 20, 40, 60 ms
        case 12...15: [480, 960][config % 2]             // Hybrid: 10, 20 ms
        default: [120, 240, 480, 960][config % 4]         // CELT: 2.5, 5, 10, 20 ms
        }
        let frames: UInt32
        switch toc & 0x03 {
        case 0: frames = 1
        case 1, 2: frames = 2
        default:
            guard packet.count >= 2 else { throw .invalidOpusPacket(size: packet.count) }
            frames = UInt32(packet[packet.startIndex + 1] & 0x3F)
        }
        // At most 120 ms in a packet (3.2.5); zero frames is not a packet.
        guard frames > 0, frame * frames <= 5760 else { throw .invalidOpusPacket(size: packet.count) }
        return frame * frames
    }
}
