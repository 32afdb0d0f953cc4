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
/// Only H.264 and AAC in the legacy FLV tag layout are muxed; HEVC (and AV1, VP9, Enhanced
/// RTMP tags) throws `HLSError.unsupportedVideoCodec` / `.enhancedRTMPTag`.
public struct TSMuxer: Sendable {
    public static let patPID: UInt16 = 0x0000
    public static let pmtPID: UInt16 = 0x1000
    public static let videoPID: UInt16 = 0x0100
    public static let audioPID: UInt16 = 0x0101
    public static let videoStreamType: UInt8 = 0x1B  // H.264
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
        var video = try headers.video.map { tag throws(HLSError) in try Self.videoConfiguration(tag) }
        var audio = try headers.audio.map { tag throws(HLSError) in try Self.audioConfiguration(tag) }
        var units: [Unit] = []
        for tag in tags {
            switch tag.kind {
            case .videoSequenceHeader: video = try Self.videoConfiguration(tag)
            case .audioSequenceHeader: audio = try Self.audioConfiguration(tag)
            case .videoKeyframe(let codec), .video(let codec):
                guard let unit = try videoUnit(tag, codec: codec, configuration: video) else { continue }
                units.append(unit)
            case .audio(let codec):
                guard let unit = try audioUnit(tag, codec: codec, header: audio) else { continue }
                units.append(unit)
            case .metadata, .script:
                continue
            }
        }

        let hasVideo = units.contains { $0.pid == Self.videoPID }
        let hasAudio = units.contains { $0.pid == Self.audioPID }
        var streams: [PSI.Stream] = []
        if video != nil || hasVideo { streams.append(PSI.Stream(type: Self.videoStreamType, pid: Self.videoPID)) }
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

    private static func videoConfiguration(_ tag: FLVTag) throws(HLSError) -> AVCDecoderConfigurationRecord {
        guard case .videoSequenceHeader(let codec) = tag.kind, codec == .avc else {
            if case .videoSequenceHeader(let codec) = tag.kind { throw .unsupportedVideoCodec(codec) }
            throw .missingSequenceHeader(.video)
        }
        guard tag.data[0] & 0x80 == 0 else { throw .enhancedRTMPTag(.video) }
        do {
            return try AVCDecoderConfigurationRecord(tag.codecConfiguration ?? [])
        } catch {
            throw .codecConfiguration(error)
        }
    }

    private static func audioConfiguration(_ tag: FLVTag) throws(HLSError) -> ADTSHeader {
        guard case .audioSequenceHeader(let codec) = tag.kind, codec == .aac else {
            if case .audioSequenceHeader(let codec) = tag.kind { throw .unsupportedAudioCodec(codec) }
            throw .missingSequenceHeader(.audio)
        }
        guard tag.data[0] >> 4 != 9 else { throw .enhancedRTMPTag(.audio) }
        let config: AudioSpecificConfig
        do {
            config = try AudioSpecificConfig(tag.codecConfiguration ?? [])
        } catch {
            throw .codecConfiguration(error)
        }
        return try ADTSHeader(config)
    }

    /// Legacy AVC video tag: [frame type|codec] [AVCPacketType] [composition time, s24] NALUs.
    private mutating func videoUnit(_ tag: FLVTag, codec: VideoCodec, configuration: AVCDecoderConfigurationRecord?) throws(HLSError) -> Unit? {
        let d = tag.data
        if codec == .unknown && d.isEmpty { return nil }  // nothing to show
        guard d.isEmpty || d[0] & 0x80 == 0 else { throw .enhancedRTMPTag(.video) }
        guard codec == .avc else { throw .unsupportedVideoCodec(codec) }
        guard d.count >= 5 else { throw .truncatedTag(type: .video, size: d.count) }
        guard d[1] == 1 else { return nil }  // 2: end of sequence, nothing to decode
        guard let configuration else { throw .missingSequenceHeader(.video) }
        let units = try AnnexB.nalUnits(avcc: d[5...], lengthSize: configuration.nalLengthSize)
        let ms = extend(tag.timestamp)
        guard !units.isEmpty else { return nil }
        let es = AnnexB.accessUnit(units, configuration: configuration)
        // Sign-extend the 24-bit composition time offset.
        let cts = Int64(Int32(bitPattern: UInt32(d[2]) << 24 | UInt32(d[3]) << 16 | UInt32(d[4]) << 8) >> 8)
        let dts = ms * 90 + Self.timestampOffset
        let pts = dts + cts * 90
        let pes = PES.header(streamID: PES.videoStreamID, pts: Self.wrap(pts), dts: Self.wrap(dts),
                             payloadSize: es.count, unbounded: true) + es
        return Unit(pid: Self.videoPID, pes: pes, dts: dts, keyframe: tag.kind.isKeyframe)
    }

    /// Legacy AAC audio tag: [format|rate|size|type] [AACPacketType] raw frame.
    private mutating func audioUnit(_ tag: FLVTag, codec: AudioCodec, header: ADTSHeader?) throws(HLSError) -> Unit? {
        let d = tag.data
        if codec == .unknown && d.isEmpty { return nil }
        guard d.isEmpty || d[0] >> 4 != 9 else { throw .enhancedRTMPTag(.audio) }
        guard codec == .aac else { throw .unsupportedAudioCodec(codec) }
        guard d.count >= 2 else { throw .truncatedTag(type: .audio, size: d.count) }
        guard let header else { throw .missingSequenceHeader(.audio) }
        let ms = extend(tag.timestamp)
        guard d.count > 2 else { return nil }  // an empty frame: nothing to decode
        let raw = d[2...]
        let adts = try header.bytes(payloadSize: raw.count)
        let pts = ms * 90 + Self.timestampOffset
        var pes = PES.header(streamID: PES.audioStreamID, pts: Self.wrap(pts), dts: nil,
                             payloadSize: adts.count + raw.count, unbounded: false)
        pes += adts
        pes += raw
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
