import FLV

/// One fMP4 media segment (moof + mdat) for one chunk, and the init segment it needs.
public struct FMP4Segment: Sendable, Hashable {
    /// moof + mdat.
    public var bytes: [UInt8]
    /// mfhd sequence_number: 1, 2, 3, ... for the muxer's fragments, never reused.
    public var sequenceNumber: UInt32
    /// The init segment to decode this fragment with.
    public var initSegment: FMP4InitSegment
    /// True when the previous fragment had another init segment (or there was none): serve
    /// `initSegment` under a new URI, and list this segment after EXT-X-DISCONTINUITY and a
    /// new EXT-X-MAP.
    public var startsNewInit: Bool
    /// Not a continuation of the previous fragment: a new init, a chunk seq gap, a
    /// timestamp jump, or `markDiscontinuity()`. The playlist wants EXT-X-DISCONTINUITY.
    public var discontinuity: Bool
    /// Playing time from the samples' durations (video's, or audio's without video).
    public var durationMs: Int

    public var initVersion: Int { initSegment.version }
}

/// Turns chunks into fMP4 (CMAF-style) HLS segments: an init segment per decoder
/// configuration and one fragment per chunk, aligned with the MPEG-TS segments.
///
/// Tracks: video (track 1, 90 kHz) in avc1/hvc1/av01, sample data exactly as the FLV tags
/// carry it (length-prefixed NAL units, AV1 OBUs); audio (track 2, its sampling rate) in
/// mp4a (raw AAC frames) or Opus (packets as they are). Decode times are the FLV timestamps
/// (video) or continue sample by sample from the previous fragment (audio, whose frame
/// lengths are exact), so baseMediaDecodeTime runs on across fragments; composition offsets
/// come from the FLV composition times. Keyframes are the sync samples.
///
/// Like TSMuxer, a failed call leaves the muxer as it was.
public struct FMP4Muxer: Sendable {
    public private(set) var initSegment: FMP4InitSegment?
    private var sequenceNumber: UInt32 = 0
    private var lastSeq: UInt64?
    private var pendingDiscontinuity = false
    private var clock: (last: UInt32, ms: Int64)?
    /// Where each track's last fragment ended, in its timescale.
    private var videoEnd: UInt64?
    private var audioEnd: UInt64?
    private var lastVideoDuration: UInt32 = 3000

    /// A step back or forward bigger than these between fragments is a discontinuity: the
    /// tolerances the Chunker and the playlist use.
    static let jitterToleranceMs: Int64 = 1000
    static let maxGapMs: Int64 = 10_000
    /// Audio decode time follows the sample counts while it stays this close to the FLV
    /// timestamps; beyond it (an encoder restart, a gap) it is taken from them again.
    static let audioToleranceMs: Int64 = 100

    public init() {}

    /// Makes the next fragment start a new timeline (after a resubscription, say).
    public mutating func markDiscontinuity() {
        pendingDiscontinuity = true
        clock = nil
        videoEnd = nil
        audioEnd = nil
        lastSeq = nil
    }

    /// The fragment for `chunk`, decoded with `chunk.headers`. A chunk that does not follow
    /// the previous one starts a new timeline, flagged as a discontinuity.
    public mutating func segment(for chunk: Chunk) throws(HLSError) -> FMP4Segment {
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

    /// The fragment for media `tags` with `headers`. A sequence header among the tags is
    /// taken when it is the first of its kind or repeats the current one; a different one
    /// throws `configurationChangedInsideFragment` (the Chunker never puts one there).
    public mutating func segment(tags: [FLVTag], headers: SequenceHeaders) throws(HLSError) -> FMP4Segment {
        var next = self
        let out = try next.mux(tags: tags, headers: headers)
        self = next
        return out
    }

    private mutating func mux(tags: [FLVTag], headers: SequenceHeaders) throws(HLSError) -> FMP4Segment {
        var video = try headers.video.map { tag throws(HLSError) in try MediaReader.videoConfiguration(tag) }
        var audio = try headers.audio.map { tag throws(HLSError) in try MediaReader.audioConfiguration(tag) }
        var videoSamples: [VideoSample] = []
        var audioSamples: [AudioSample] = []
        for event in try MediaReader.events(tags) {
            switch event {
            case .videoConfiguration(let c):
                if video == nil && videoSamples.isEmpty { video = c }
                guard video == c else { throw .configurationChangedInsideFragment(.video) }
            case .audioConfiguration(let c):
                if audio == nil && audioSamples.isEmpty { audio = c }
                guard audio == c else { throw .configurationChangedInsideFragment(.audio) }
            case .video(let s):
                guard video?.codec == s.codec else { throw .missingSequenceHeader(.video) }
                videoSamples.append(s)
            case .audio(let s):
                guard audio?.codec == s.codec else { throw .missingSequenceHeader(.audio) }
                audioSamples.append(s)
            }
        }
        if let audio, audio.timescale == 0, case .aac(let c, _) = audio { throw .unsupportedAudioConfiguration(c) }
        // An init segment needs a track; a chunk of media always has a header for one.
        guard video != nil || audio != nil else { throw .missingSequenceHeader(.video) }

        var discontinuity = pendingDiscontinuity
        var startsNewInit = false
        if initSegment == nil || initSegment!.video != video || initSegment!.audio != audio {
            initSegment = try FMP4InitSegment(version: (initSegment?.version ?? 0) + 1, video: video, audio: audio)
            startsNewInit = true
            discontinuity = true
        }

        // One millisecond line for both tracks, unwrapped across the 32-bit FLV wrap.
        let firstTimestamp = [videoSamples.first?.timestamp, audioSamples.first?.timestamp].compactMap { $0 }.min {
            Int32(bitPattern: $0 &- $1) < 0
        }
        if let first = firstTimestamp, let c = clock {
            let step = Int64(Int32(bitPattern: first &- c.last))
            let previousEnd = videoEnd.map { Int64($0 / 90) } ?? c.ms
            let start = c.ms + step
            if start < previousEnd - Self.jitterToleranceMs || start > previousEnd + Self.maxGapMs {
                discontinuity = true
                clock = nil
                videoEnd = nil
                audioEnd = nil
            }
        }

        var runs: [TrackRun] = []
        var durationMs = 0
        if !videoSamples.isEmpty {
            let run = videoRun(videoSamples)
            durationMs = Int(run.samples.reduce(UInt64(0)) { $0 + UInt64($1.duration) } / 90)
            runs.append(run)
        }
        if !audioSamples.isEmpty, let audio {
            let run = try audioRun(audioSamples, configuration: audio)
            if videoSamples.isEmpty {
                durationMs = Int(run.samples.reduce(UInt64(0)) { $0 + UInt64($1.duration) } * 1000 / UInt64(audio.timescale))
            }
            runs.append(run)
        }
        sequenceNumber &+= 1
        pendingDiscontinuity = false
        return FMP4Segment(bytes: FMP4Fragment.bytes(sequenceNumber: sequenceNumber, runs: runs), sequenceNumber: sequenceNumber,
                           initSegment: initSegment!, startsNewInit: startsNewInit, discontinuity: discontinuity,
                           durationMs: durationMs)
    }

    /// `ts` on the unwrapped millisecond line (signed 32-bit steps from the previous tag), never below 0.
    private mutating func extend(_ ts: UInt32) -> Int64 {
        let ms = max(0, clock.map { $0.ms + Int64(Int32(bitPattern: ts &- $0.last)) } ?? Int64(ts))
        clock = (ts, ms)
        return ms
    }

    /// DTS = FLV time at 90 kHz, kept increasing; each duration reaches the next sample, the
    /// last one gets the fragment's mean frame interval (the next chunk is not known yet).
    private mutating func videoRun(_ samples: [VideoSample]) -> TrackRun {
        var times: [UInt64] = []
        times.reserveCapacity(samples.count)
        for s in samples {
            var dts = UInt64(extend(s.timestamp)) * 90
            if let last = times.last, dts <= last { dts = last + 1 }
            times.append(dts)
        }
        if samples.count > 1 {
            lastVideoDuration = UInt32(clamping: (times.last! - times.first!) / UInt64(samples.count - 1))
        }
        var run = TrackRun(trackID: FMP4InitSegment.videoTrackID, baseMediaDecodeTime: times[0], samples: [], isVideo: true)
        run.samples.reserveCapacity(samples.count)
        for (i, s) in samples.enumerated() {
            let duration = i + 1 < times.count ? UInt32(clamping: times[i + 1] - times[i]) : lastVideoDuration
            run.samples.append(TrackRun.Sample(duration: duration, compositionOffset: s.compositionTimeMs &* 90,
                                               isSync: s.keyframe, data: s.data))
        }
        videoEnd = times.last! + UInt64(lastVideoDuration)
        return run
    }

    /// Durations from the codec (1024 per AAC frame, the Opus TOC); decode time continues
    /// from the previous fragment while it agrees with the FLV time, and a gap in the FLV
    /// times inside the fragment stretches the sample before it, so audio stays in sync.
    private mutating func audioRun(_ samples: [AudioSample], configuration: AudioConfiguration) throws(HLSError) -> TrackRun {
        let rate = Int64(configuration.timescale)
        let tolerance = Self.audioToleranceMs * rate / 1000
        var run = TrackRun(trackID: FMP4InitSegment.audioTrackID, baseMediaDecodeTime: 0, samples: [], isVideo: false)
        run.samples.reserveCapacity(samples.count)
        var t: Int64 = 0
        for (i, s) in samples.enumerated() {
            let flvTime = extend(s.timestamp) * rate / 1000
            let duration: UInt32 = switch configuration {
            case .aac: 1024
            case .opus: try OpusPacket.duration(s.data)
            }
            if i == 0 {
                if let end = audioEnd.map(Int64.init), abs(flvTime - end) <= tolerance { t = end } else { t = flvTime }
                run.baseMediaDecodeTime = UInt64(t)
            } else if flvTime - t > tolerance {
                run.samples[i - 1].duration = UInt32(clamping: Int64(run.samples[i - 1].duration) + flvTime - t)
                t = flvTime
            }
            run.samples.append(TrackRun.Sample(duration: duration, compositionOffset: 0, isSync: true, data: s.data))
            t += Int64(duration)
        }
        audioEnd = UInt64(t)
        return run
    }
}
