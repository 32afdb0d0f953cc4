import FLV

/// Turns chunks into self-contained MPEG-TS segments for HLS: each starts with a PAT and a
/// PMT (H.264 as stream type 0x1B on `videoPID`, AAC in ADTS as 0x0F on `audioPID`), then one
/// PES per video access unit and one per AAC frame, in tag order.
///
/// The muxer keeps state between segments of one stream - continuity counters, the PMT
/// version, the unwrapped clock - so segments played back to back are one continuous
/// transport stream. A chunk whose seq does not follow the previous one, or a call to
/// `markDiscontinuity()`, starts afresh: counters restart at 0 and the first packet of each
/// PID carries discontinuity_indicator (the playlist then carries EXT-X-DISCONTINUITY).
///
/// Timestamps: FLV milliseconds times 90, plus `timestampOffset`; video PTS = DTS + the
/// composition time offset of the tag. The PCR rides on the first packet of every video PES
/// (every frame, so well under the 100 ms the standard asks), or of every audio PES when the
/// segment has no video, `pcrLead` ticks before that PES's DTS.
///
/// H.264, H.265 and AAC are muxed from legacy or Enhanced RTMP tags. AV1 and Opus have no
/// place here (only fMP4 carries them): they throw `HLSError.videoCodecNotInMPEGTS` /
/// `.audioCodecNotInMPEGTS`; other codecs `.unsupportedVideoCodec` / `.unsupportedAudioCodec`.
public struct TSMuxer: Sendable {
    public static let patPID: UInt16 = 0x0000
    public static let pmtPID: UInt16 = 0x1000
    public static let videoPID: UInt16 = 0x0100
    public static let audioPID: UInt16 = 0x0101
    public static let videoStreamType: UInt8 = 0x1B  // H.264
    public static let hevcStreamType: UInt8 = 0x24   // H.265
    public static let audioStreamType: UInt8 = 0x0F  // AAC in ADTS
    /// 1.4 s, the shift ffmpeg applies too: keeps PCR (`pcrLead` earlier) and the PTS of
    /// frames decoded before their timestamp 0 from going below zero.
    public static let timestampOffset: Int64 = 126_000
    public static let pcrLead: Int64 = 63_000

    private(set) var packetizer = TSPacketizer()
    private var pmt: PMTState?
    private var lastSeq: UInt64?
    /// The last FLV timestamp seen and its value on the unwrapped millisecond line, so the
    /// 32-bit FLV wrap (49.7 days) does not jump the 33-bit 90 kHz clock.
    private var clock: (last: UInt32, ms: Int64)?

    private struct PMTState: Sendable, Hashable {
        var pcrPID: UInt16
        var streams: [PSI.Stream]
        var version: UInt8
    }

    public init() {}

    /// Makes the next segment start afresh, marked as a discontinuity.
    public mutating func markDiscontinuity() {
        packetizer.markDiscontinuity(pids: [Self.patPID, Self.pmtPID, Self.videoPID, Self.audioPID])
        clock = nil
        lastSeq = nil
    }

    /// The segment for `chunk`: its tags decoded with `chunk.headers`. A chunk that does not
    /// directly follow the previous one is muxed as a discontinuity.
    public mutating func segment(for chunk: Chunk) throws(HLSError) -> [UInt8] {
        var parser = FLVParser()
        let tags: [FLVTag]
        do {
            tags = try parser.feed(chunk.bytes)
            try parser.finish()
        } catch {
            throw .flv(error)
        }
        var next = self
        if let last = next.lastSeq, last &+ 1 != chunk.seq { next.markDiscontinuity() }
        let out = try next.mux(tags: tags, headers: chunk.headers)
        next.lastSeq = chunk.seq
        self = next
        return out
    }

    /// The segment for media `tags` decoded with `headers`; a sequence header among the tags
    /// replaces the one in `headers` from there on. On a throw the muxer is unchanged.
    public mutating func segment(tags: [FLVTag], headers: SequenceHeaders) throws(HLSError) -> [UInt8] {
        var next = self
        let out = try next.mux(tags: tags, headers: headers)
        self = next
        return out
    }

    /// One PES to write, before packetizing (the PCR PID is known only once all are read).
    private struct Unit {
        var pid: UInt16
        var pes: [UInt8]
        var dts: Int64
        var keyframe: Bool
    }

    private mutating func mux(tags: [FLVTag], headers: SequenceHeaders) throws(HLSError) -> [UInt8] {
        var video = try headers.video.map { tag throws(HLSError) in try Self.checked(MediaReader.videoConfiguration(tag)) }
        var audio = try headers.audio.map { tag throws(HLSError) in try Self.adts(MediaReader.audioConfiguration(tag)) }
        var videoStreamType = video.map(\.streamType)
        var units: [Unit] = []
        for event in try MediaReader.events(tags) {
            switch event {
            case .videoConfiguration(let c):
                video = try Self.checked(c)
                videoStreamType = video?.streamType
            case .audioConfiguration(let c): audio = try Self.adts(c)
            case .video(let sample):
                guard let video, video.codec == sample.codec else { throw .missingSequenceHeader(.video) }
                guard let unit = try videoUnit(sample, configuration: video) else { continue }
                units.append(unit)
            case .audio(let sample):
                guard let audio else { throw .missingSequenceHeader(.audio) }
                guard sample.codec == .aac else { throw sample.codec == .opus ? .audioCodecNotInMPEGTS(.opus) : .missingSequenceHeader(.audio) }
                units.append(try audioUnit(sample, header: audio))
            }
        }

        let hasVideo = units.contains { $0.pid == Self.videoPID }
        let hasAudio = units.contains { $0.pid == Self.audioPID }
        var streams: [PSI.Stream] = []
        if let videoStreamType { streams.append(PSI.Stream(type: videoStreamType, pid: Self.videoPID)) }
        if audio != nil || hasAudio { streams.append(PSI.Stream(type: Self.audioStreamType, pid: Self.audioPID)) }
        // PCR on the video PID, unless this segment has no video to carry it (0x1FFF: none).
        let pcrPID = hasVideo ? Self.videoPID : hasAudio ? Self.audioPID : streams.first?.pid ?? 0x1FFF
        updatePMT(pcrPID: pcrPID, streams: streams)

        var out = [UInt8]()
        out.reserveCapacity(units.reduce(2 * TSPacketizer.packetSize) { $0 + ($1.pes.count / 184 + 1) * TSPacketizer.packetSize })
        packetizer.writeSection(pid: Self.patPID, section: PSI.pat(pmtPID: Self.pmtPID), into: &out)
        packetizer.writeSection(pid: Self.pmtPID, section: PSI.pmt(pcrPID: pcrPID, streams: streams, version: pmt!.version),
                                into: &out)
        for unit in units {
            let pcr = unit.pid == pcrPID ? Self.wrap(unit.dts - Self.pcrLead) : nil
            // Every AAC frame can start decoding; flag it where it carries the clock.
            let randomAccess = unit.keyframe || (unit.pid == Self.audioPID && pcrPID == Self.audioPID)
            packetizer.writePES(pid: unit.pid, pes: unit.pes, pcr: pcr, randomAccess: randomAccess, into: &out)
        }
        return out
    }

    /// A new PMT version whenever the programme changes, so a player re-reads it.
    private mutating func updatePMT(pcrPID: UInt16, streams: [PSI.Stream]) {
        if let old = pmt {
            if old.pcrPID != pcrPID || old.streams != streams {
                pmt = PMTState(pcrPID: pcrPID, streams: streams, version: (old.version + 1) & 0x1F)
            }
        } else {
            pmt = PMTState(pcrPID: pcrPID, streams: streams, version: 0)
        }
    }

    /// H.264 and H.265 only: AV1 has no MPEG-TS mapping the players we serve read.
    private static func checked(_ c: VideoConfiguration) throws(HLSError) -> VideoConfiguration {
        if case .av1 = c { throw .videoCodecNotInMPEGTS(.av1) }
        return c
    }

    private static func adts(_ c: AudioConfiguration) throws(HLSError) -> ADTSHeader {
        switch c {
        case .aac(let config, _): try ADTSHeader(config)
        case .opus: throw .audioCodecNotInMPEGTS(.opus)
        }
    }

    /// A video access unit: AVCC/HVCC to Annex-B, DTS from the tag, PTS = DTS + composition time.
    private mutating func videoUnit(_ sample: VideoSample, configuration: VideoConfiguration) throws(HLSError) -> Unit? {
        let es: [UInt8]
        switch configuration {
        case .avc(let record, _):
            let units = try AnnexB.nalUnits(avcc: sample.data, lengthSize: record.nalLengthSize)
            _ = extend(sample.timestamp)
            guard !units.isEmpty else { return nil }
            es = AnnexB.accessUnit(units, configuration: record)
        case .hevc(let record, _):
            let units = try AnnexB.nalUnits(avcc: sample.data, lengthSize: record.nalLengthSize)
            _ = extend(sample.timestamp)
            guard !units.isEmpty else { return nil }
            es = AnnexB.accessUnit(units, hevc: record)
        case .av1:
            throw .videoCodecNotInMPEGTS(.av1)
        }
        let ms = clock!.ms
        let dts = ms * 90 + Self.timestampOffset
        let pts = dts + Int64(sample.compositionTimeMs) * 90
        let pes = PES.header(streamID: PES.videoStreamID, pts: Self.wrap(pts), dts: Self.wrap(dts),
                             payloadSize: es.count, unbounded: true) + es
        return Unit(pid: Self.videoPID, pes: pes, dts: dts, keyframe: sample.keyframe)
    }

    /// An AAC frame behind its ADTS header.
    private mutating func audioUnit(_ sample: AudioSample, header: ADTSHeader) throws(HLSError) -> Unit {
        let ms = extend(sample.timestamp)
        let adts = try header.bytes(payloadSize: sample.data.count)
        let pts = ms * 90 + Self.timestampOffset
        var pes = PES.header(streamID: PES.audioStreamID, pts: Self.wrap(pts), dts: nil,
                             payloadSize: adts.count + sample.data.count, unbounded: false)
        pes += adts
        pes += sample.data
        return Unit(pid: Self.audioPID, pes: pes, dts: pts, keyframe: false)
    }

    /// `ts` on the unwrapped millisecond line: the signed 32-bit step from the previous tag,
    /// so small steps back (audio/video interleaving) and the 2^32 wrap both come out right.
    private mutating func extend(_ ts: UInt32) -> Int64 {
        let ms = clock.map { $0.ms + Int64(Int32(bitPattern: ts &- $0.last)) } ?? Int64(ts)
        clock = (ts, ms)
        return ms
    }

    /// Two's complement modulo 2^33, the width of PTS, DTS and the PCR base.
    static func wrap(_ ticks: Int64) -> UInt64 { UInt64(bitPattern: ticks) & 0x1_FFFF_FFFF }
}

extension VideoConfiguration {
    /// The PMT stream_type: 0x24 for H.265, 0x1B for H.264.
    var streamType: UInt8 {
        if case .hevc = self { return TSMuxer.hevcStreamType }
        return TSMuxer.videoStreamType
    }
}
