import FLV

/// An fMP4 initialization segment (ftyp + moov, ISO/IEC 14496-12): one trak per track and an
/// mvex, no samples. HLS points at it with EXT-X-MAP; MSE wants it appended before the
/// first fragment and again after each change.
public struct FMP4InitSegment: Sendable, Hashable {
    /// 1 for a muxer's first init segment, then one more for each new configuration: a
    /// fragment whose `initVersion` differs from the last one needs this new init (and the
    /// playlist an EXT-X-DISCONTINUITY with a new EXT-X-MAP).
    public let version: Int
    public let bytes: [UInt8]
    /// RFC 6381 codecs of the tracks ("avc1.64001f,mp4a.40.2"), for EXT-X-STREAM-INF's
    /// CODECS and for MSE's addSourceBuffer('video/mp4; codecs="..."').
    public let codecs: String
    public let video: VideoConfiguration?
    public let audio: AudioConfiguration?
    public let pictureSize: PictureSize?

    static let videoTrackID: UInt32 = 1
    static let audioTrackID: UInt32 = 2
    static let videoTimescale: UInt32 = 90_000

    init(version: Int, video: VideoConfiguration?, audio: AudioConfiguration?) throws(HLSError) {
        self.version = version
        self.video = video
        self.audio = audio
        let size = try video.map { c throws(HLSError) in try PictureSize(c) }
        pictureSize = size
        codecs = ([video.map(CodecString.video), audio.map(CodecString.audio)] as [String?]).compactMap { $0 }.joined(separator: ",")
        var w = MP4Writer(capacity: 1024)
        Self.ftyp(&w, av1: video?.codec == .av1)
        w.box("moov") { w in
            Self.mvhd(&w)
            if let video, let size {
                Self.trak(&w, id: Self.videoTrackID, timescale: Self.videoTimescale, size: size) { w in
                    Self.videoSampleEntry(&w, video, size: size)
                }
            }
            if let audio {
                Self.trak(&w, id: Self.audioTrackID, timescale: audio.timescale, size: nil) { w in
                    Self.audioSampleEntry(&w, audio)
                }
            }
            w.box("mvex") { w in
                if video != nil { Self.trex(&w, id: Self.videoTrackID) }
                if audio != nil { Self.trex(&w, id: Self.audioTrackID) }
            }
        }
        bytes = w.bytes
    }

    /// iso6 (fragments with tfdt, default-base-is-moof) and mp41, what MSE and the HLS
    /// spec's fMP4 profile accept; av01 where the AV1 binding asks for it.
    private static func ftyp(_ w: inout MP4Writer, av1: Bool) {
        w.box("ftyp") { w in
            w.fourCC("iso6")
            w.u32(0)
            w.fourCC("iso6")
            w.fourCC("mp41")
            if av1 { w.fourCC("av01") }
        }
    }

    private static let matrix: [UInt32] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000]

    private static func mvhd(_ w: inout MP4Writer) {
        w.fullBox("mvhd") { w in
            w.u32(0); w.u32(0)        // creation, modification time
            w.u32(1000)               // timescale
            w.u32(0)                  // duration: unknown, live
            w.u32(0x0001_0000)        // rate 1.0
            w.u16(0x0100)             // volume 1.0
            w.zeros(10)
            for m in matrix { w.u32(m) }
            w.zeros(24)               // pre_defined
            w.u32(3)                  // next_track_ID
        }
    }

    private static func trak(_ w: inout MP4Writer, id: UInt32, timescale: UInt32, size: PictureSize?,
                             sampleEntry: (inout MP4Writer) -> Void) {
        w.box("trak") { w in
            w.fullBox("tkhd", flags: 0x000003) { w in  // enabled, in movie
                w.u32(0); w.u32(0)
                w.u32(id)
                w.u32(0)               // reserved
                w.u32(0)               // duration
                w.zeros(8)
                w.u16(0)               // layer
                w.u16(0)               // alternate_group
                w.u16(size == nil ? 0x0100 : 0)  // volume: audio only
                w.u16(0)
                for m in matrix { w.u32(m) }
                w.u32(UInt32(truncatingIfNeeded: (size?.width ?? 0) << 16))
                w.u32(UInt32(truncatingIfNeeded: (size?.height ?? 0) << 16))
            }
            w.box("mdia") { w in
                w.fullBox("mdhd") { w in
                    w.u32(0); w.u32(0)
                    w.u32(timescale)
                    w.u32(0)
                    w.u16(0x55C4)      // language "und"
                    w.u16(0)
                }
                w.fullBox("hdlr") { w in
                    w.u32(0)
                    if size != nil { w.fourCC("vide") } else { w.fourCC("soun") }
                    w.zeros(12)
                    w.append(Array((size != nil ? "VideoHandler" : "SoundHandler").utf8) + [0])
                }
                w.box("minf") { w in
                    if size != nil {
                        w.fullBox("vmhd", flags: 1) { w in w.zeros(8) }
                    } else {
                        w.fullBox("smhd") { w in w.zeros(4) }
                    }
                    w.box("dinf") { w in
                        w.fullBox("dref") { w in
                            w.u32(1)
                            w.fullBox("url ", flags: 1) { _ in }  // media in this file
                        }
                    }
                    w.box("stbl") { w in
                        w.fullBox("stsd") { w in
                            w.u32(1)
                            sampleEntry(&w)
                        }
                        // Empty tables: every sample is in a fragment.
                        w.fullBox("stts") { w in w.u32(0) }
                        w.fullBox("stsc") { w in w.u32(0) }
                        w.fullBox("stsz") { w in w.u32(0); w.u32(0) }
                        w.fullBox("stco") { w in w.u32(0) }
                    }
                }
            }
        }
    }

    /// VisualSampleEntry (14496-12 12.1.3) with the codec's configuration box.
    private static func videoSampleEntry(_ w: inout MP4Writer, _ c: VideoConfiguration, size: PictureSize) {
        let body = { (w: inout MP4Writer) in
            w.zeros(6)
            w.u16(1)                   // data_reference_index
            w.zeros(16)                // pre_defined, reserved
            w.u16(UInt16(clamping: size.width))
            w.u16(UInt16(clamping: size.height))
            w.u32(0x0048_0000)         // 72 dpi
            w.u32(0x0048_0000)
            w.u32(0)
            w.u16(1)                   // frame_count
            w.zeros(32)                // compressorname
            w.u16(0x0018)              // depth
            w.u16(0xFFFF)              // pre_defined -1
            switch c {
            case .avc(_, let record): w.box("avcC") { $0.append(record) }
            case .hevc(_, let record): w.box("hvcC") { $0.append(record) }
            case .av1(_, let record): w.box("av1C") { $0.append(record) }
            }
        }
        switch c {
        case .avc: w.box("avc1", body)
        // hvc1: parameter sets only in hvcC, which is what FLV gives (MSE accepts hvc1 and hev1).
        case .hevc: w.box("hvc1", body)
        case .av1: w.box("av01", body)
        }
    }

    /// AudioSampleEntry (14496-12 12.2.3) with esds (14496-14) or dOps (Opus in ISOBMFF 4.3).
    private static func audioSampleEntry(_ w: inout MP4Writer, _ c: AudioConfiguration) {
        let body = { (w: inout MP4Writer) in
            w.zeros(6)
            w.u16(1)
            w.zeros(8)
            w.u16(UInt16(c.channelCount))
            w.u16(16)                  // samplesize
            w.zeros(4)
            // 16.16; rates over 65535 Hz do not fit, the timescale in mdhd is what counts.
            w.u32(c.timescale <= 0xFFFF ? c.timescale << 16 : 0)
            switch c {
            case .aac(_, let config): esds(&w, config: config)
            case .opus(let head, _): dOps(&w, head)
            }
        }
        switch c {
        case .aac: w.box("mp4a", body)
        case .opus: w.box("Opus", body)
        }
    }

    private static func esds(_ w: inout MP4Writer, config: [UInt8]) {
        w.fullBox("esds") { w in
            w.descriptor(tag: 0x03) { w in       // ES_Descriptor
                w.u16(0)                          // ES_ID
                w.u8(0)                           // no dependency, URL or OCR stream
                w.descriptor(tag: 0x04) { w in   // DecoderConfigDescriptor
                    w.u8(0x40)                    // Audio ISO/IEC 14496-3
                    w.u8(0x15)                    // streamType 5 (audio) << 2 | upStream 0 | 1
                    w.u24(0)                      // bufferSizeDB
                    w.u32(0); w.u32(0)            // max, avg bitrate: unknown
                    w.descriptor(tag: 0x05) { $0.append(config) }  // DecoderSpecificInfo
                }
                w.descriptor(tag: 0x06) { $0.u8(0x02) }  // SLConfigDescriptor: predefined MP4
            }
        }
    }

    /// OpusSpecificBox: the OpusHead fields, big-endian, version 0.
    private static func dOps(_ w: inout MP4Writer, _ head: OpusHeader) {
        w.box("dOps") { w in
            w.u8(0)
            w.u8(head.channelCount)
            w.u16(head.preSkip)
            w.u32(head.inputSampleRate)
            w.u16(UInt16(bitPattern: head.outputGain))
            w.u8(head.mappingFamily)
            if let streams = head.streamCount, let coupled = head.coupledCount {
                w.u8(streams)
                w.u8(coupled)
                w.append(head.channelMapping)
            }
        }
    }

    /// Defaults every traf overrides (each trun gives durations and sizes).
    private static func trex(_ w: inout MP4Writer, id: UInt32) {
        w.fullBox("trex") { w in
            w.u32(id)
            w.u32(1)                   // default_sample_description_index
            w.u32(0); w.u32(0); w.u32(0)
        }
    }
}

extension AudioConfiguration {
    /// The track's timescale: the AAC (core) sampling rate, or 48 kHz, Opus's only clock.
    var timescale: UInt32 {
        switch self {
        case .aac(let c, _): c.sampleRate
        case .opus: 48_000
        }
    }

    var channelCount: Int {
        switch self {
        // 7 is 7.1 (eight channels); 0 (a PCE in the config) is left to the decoder: say stereo.
        case .aac(let c, _): c.channelConfiguration == 7 ? 8 : c.channelConfiguration == 0 ? 2 : Int(c.channelConfiguration)
        case .opus(let h, _): Int(h.channelCount)
        }
    }
}
