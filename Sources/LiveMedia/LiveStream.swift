import FLV
import NIOConcurrencyHelpers
import NIOCore
import RTMP
import StreamrWire

/// One tag of a live stream with its wire forms, made once and shared by every viewer:
/// the serialized FLV tag (HTTP-FLV, subscriptions, chunks) and the RTMP chunks (players).
public struct LiveFrame: Sendable {
    public let kind: TagKind
    public let timestamp: UInt32
    /// The chunk this tag belongs to (0 for sequence headers and metadata).
    public let chunkSeq: UInt64
    /// Header + data + PreviousTagSize: the exact bytes a chunk is made of.
    public let flv: ByteBuffer
    /// RTMP chunks on message stream 1 at `LiveFrame.rtmpChunkSize` (every player gets the same).
    public let rtmp: ByteBuffer

    public static let rtmpChunkSize = 4096

    public init(tag: FLVTag, kind: TagKind, chunkSeq: UInt64) {
        self.kind = kind; self.timestamp = tag.timestamp; self.chunkSeq = chunkSeq
        var flvBytes = [UInt8]()
        flvBytes.reserveCapacity(tag.serializedSize)
        tag.write(into: &flvBytes)
        flv = ByteBuffer(bytes: flvBytes)
        let chunkStream: UInt32 = switch tag.type {
        case .audio: RTMPChunkStream.audio
        case .video: RTMPChunkStream.video
        case .script: RTMPChunkStream.data
        }
        var rtmpBytes = [UInt8]()
        RTMPChunkEncoder.encode(RTMPMessage(typeID: tag.type.rawValue, streamID: 1, timestamp: tag.timestamp,
                                            chunkStreamID: chunkStream, payload: tag.data),
                                chunkStreamID: chunkStream, chunkSize: Self.rtmpChunkSize, into: &rtmpBytes)
        rtmp = ByteBuffer(bytes: rtmpBytes)
    }

    public var isKeyframe: Bool { kind.isKeyframe }
    public var isHeader: Bool { kind.isSequenceHeader || kind == .metadata }
    public var isVideo: Bool { kind.isVideo }
}

/// A sealed chunk as kept for subscribers that resume: its seal (digests, signature) and bytes.
public struct SealedChunk: Sendable {
    public let seal: ChunkSealed
    public let bytes: ByteBuffer
    public init(seal: ChunkSealed, bytes: ByteBuffer) { self.seal = seal; self.bytes = bytes }
}

/// What a viewer is handed, in order.
public enum LiveEvent: Sendable {
    case frame(LiveFrame)
    /// A chunk closed (subscribers forward its digests; players ignore it).
    case sealed(SealedChunk)
    /// A whole earlier chunk, for a subscriber resuming after it.
    case chunk(SealedChunk)
    /// The publisher went away.
    case ended
}

/// Someone receiving a live stream: an RTMP player, an HTTP-FLV viewer, a node's subscription.
/// `deliver` is called in stream order under the stream's lock: it must not block (queue, or
/// hand the bytes to the viewer's event loop, and apply the viewer's own lag policy).
public protocol LiveViewer: AnyObject, Sendable {
    /// Subscribers receive chunk events and start at the open chunk; players start at the
    /// latest keyframe (the GOP cache) and only get frames.
    var wantsChunks: Bool { get }
    /// Queues `event`; it need not reach the viewer before `flush()`.
    func deliver(_ event: LiveEvent)
    /// Sends what was delivered since the last flush: the source calls it once per batch it
    /// read (one socket read of the publisher, one MediaData), so a viewer gets one write per
    /// batch instead of one per tag.
    func flush()
}

/// The live state of one stream, shared by the source (the ingest's publisher, or a node's
/// subscription) and every viewer: sequence headers, the frames since the latest keyframe
/// (so a new player starts at once, on a keyframe), the open chunk's frames and recent
/// sealed chunks (so a subscriber gets whole chunks it can check), and the viewers.
public final class LiveStream: Sendable {
    public let name: String
    private let state: NIOLockedValueBox<State>

    public struct Limits: Sendable {
        /// The GOP cache stops growing here (a stream without keyframes must not pin memory).
        public var maxGOPBytes = 16 << 20
        /// Sealed chunks kept for resuming subscribers.
        public var sealedChunks = 30
        public init() {}
    }

    struct State {
        var headerFrames: [LiveFrame] = []
        var gop: [LiveFrame] = []
        var gopBytes = 0
        var openSeq: UInt64 = 0
        var openFrames: [LiveFrame] = []
        var sealed: [SealedChunk] = []
        var viewers: [ObjectIdentifier: any LiveViewer] = [:]
        var ended = false
    }

    let limits: Limits

    public init(name: String, limits: Limits = Limits()) {
        self.name = name; self.limits = limits
        state = NIOLockedValueBox(State())
    }

    public var viewerCount: Int { state.withLockedValue { $0.viewers.count } }
    public var isEnded: Bool { state.withLockedValue { $0.ended } }

    /// The latest sealed chunk's sequence number (0: none yet).
    public var lastSealedSeq: UInt64 { state.withLockedValue { $0.sealed.last?.seal.seq ?? 0 } }

    /// A sealed chunk still kept, by sequence number.
    public func sealedChunk(seq: UInt64) -> SealedChunk? {
        state.withLockedValue { s in s.sealed.first { $0.seal.seq == seq } }
    }

    /// Sealed chunks kept, oldest first.
    public var sealedChunks: [SealedChunk] { state.withLockedValue { $0.sealed } }

    /// Hands `frame` to every viewer and keeps what late joiners need.
    public func publish(_ frame: LiveFrame) {
        state.withLockedValue { s in
            guard !s.ended else { return }
            if frame.isHeader {
                s.headerFrames.removeAll { Self.sameSlot($0.kind, frame.kind) }
                s.headerFrames.append(frame)
                s.headerFrames.sort { Self.order($0.kind) < Self.order($1.kind) }
            } else {
                if frame.isKeyframe { s.gop.removeAll(keepingCapacity: true); s.gopBytes = 0 }
                if !s.gop.isEmpty || frame.isKeyframe {
                    if s.gopBytes + frame.flv.readableBytes <= limits.maxGOPBytes {
                        s.gop.append(frame); s.gopBytes += frame.flv.readableBytes
                    } else {
                        s.gop.removeAll(); s.gopBytes = 0
                    }
                }
                if frame.chunkSeq != s.openSeq { s.openSeq = frame.chunkSeq; s.openFrames.removeAll(keepingCapacity: true) }
                s.openFrames.append(frame)
            }
            for viewer in s.viewers.values { viewer.deliver(.frame(frame)) }
        }
    }

    /// Ends a batch: every viewer sends what it was handed.
    public func flush() {
        state.withLockedValue { s in for viewer in s.viewers.values { viewer.flush() } }
    }

    /// Records a sealed chunk and tells subscribers.
    public func seal(_ chunk: SealedChunk) {
        state.withLockedValue { s in
            guard !s.ended else { return }
            s.sealed.append(chunk)
            if s.sealed.count > limits.sealedChunks { s.sealed.removeFirst(s.sealed.count - limits.sealedChunks) }
            if s.openSeq == chunk.seal.seq { s.openFrames.removeAll(keepingCapacity: true) }
            for viewer in s.viewers.values where viewer.wantsChunks { viewer.deliver(.sealed(chunk)) }
        }
    }

    /// How a subscriber resuming after chunk `k` starts.
    public enum Join: Sendable, Equatable {
        /// From the open chunk (and its headers), live.
        case live(firstChunk: UInt64)
        /// Chunks k+1... were still kept and are replayed first.
        case resumed(firstChunk: UInt64)
    }

    /// Adds `viewer`, handing it what it needs first (under the lock, so nothing published
    /// meanwhile is missed or duplicated). Returns nil when the stream has ended.
    @discardableResult
    public func add(_ viewer: any LiveViewer, resumeAfter: UInt64 = 0) -> Join? {
        state.withLockedValue { s -> Join? in
            guard !s.ended else { return nil }
            var join = Join.live(firstChunk: s.openSeq)
            if viewer.wantsChunks {
                if resumeAfter > 0, let index = s.sealed.firstIndex(where: { $0.seal.seq == resumeAfter + 1 }) {
                    for chunk in s.sealed[index...] { viewer.deliver(.chunk(chunk)) }
                    join = .resumed(firstChunk: resumeAfter + 1)
                }
                for frame in s.headerFrames { viewer.deliver(.frame(frame)) }
                for frame in s.openFrames { viewer.deliver(.frame(frame)) }
            } else {
                for frame in s.headerFrames { viewer.deliver(.frame(frame)) }
                for frame in s.gop { viewer.deliver(.frame(frame)) }
            }
            s.viewers[ObjectIdentifier(viewer)] = viewer
            viewer.flush()
            return join
        }
    }

    public func remove(_ viewer: any LiveViewer) {
        state.withLockedValue { _ = $0.viewers.removeValue(forKey: ObjectIdentifier(viewer)) }
    }

    /// The publisher went away: every viewer is told, and no one can join any more.
    public func end() {
        let viewers = state.withLockedValue { s -> [any LiveViewer] in
            guard !s.ended else { return [] }
            s.ended = true
            defer { s.viewers.removeAll() }
            return Array(s.viewers.values)
        }
        for viewer in viewers { viewer.deliver(.ended); viewer.flush() }
    }

    private static func sameSlot(_ a: TagKind, _ b: TagKind) -> Bool { order(a) == order(b) }
    private static func order(_ kind: TagKind) -> Int {
        switch kind {
        case .metadata: 0
        case .videoSequenceHeader: 1
        case .audioSequenceHeader: 2
        default: 3
        }
    }
}
