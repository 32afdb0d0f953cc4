import FLV
import NIOConcurrencyHelpers
import NIOCore
import StreamrWire

/// Who receives a live stream, by how they are fed.
public enum ViewerKind: Sendable, Hashable, CaseIterable {
    /// HTTP-FLV: FLV tag bytes from the latest keyframe.
    case flv
    /// RTMP play: RTMP chunks from the latest keyframe.
    case rtmp
    /// A relay subscription (a node, a child node, the validator): whole chunks and seals.
    case subscriber
}

/// Someone receiving a live stream. Every call is made in stream order, none may block (hand
/// bytes to the connection and apply the viewer's own lag policy). `start` is called under
/// the stream's lock. `receive` and `ended` are too for a viewer without an event loop; for
/// one with a loop they run on that loop, in order: one hop per loop and batch for all of its
/// viewers (not one per viewer), so a viewer writes there without another hop.
public protocol LiveViewer: AnyObject, Sendable {
    var kind: ViewerKind { get }
    /// The loop the viewer's connection writes on (nil: none; fed under the stream's lock).
    var eventLoop: (any EventLoop)? { get }
    /// What the viewer needs before the live batches, once, as it is added: for players the
    /// sequence headers and the frames since the latest keyframe; for subscribers the chunks
    /// they resume after (`.resumedChunk`), then the headers and the open chunk's frames.
    func start(_ items: [LiveItem], join: LiveStream.Join)
    /// One flush of the source.
    func receive(_ batch: LiveBatch)
    /// The stream ended (after its last batch).
    func ended()
}

extension LiveViewer {
    public var eventLoop: (any EventLoop)? { nil }
}

/// The live state of one stream, shared by the source (the ingest's publisher, or a node's
/// subscription) and every viewer: sequence headers, the frames since the latest keyframe (a
/// new player starts at once, on a keyframe), the open chunk's frames and recent sealed chunks
/// (a subscriber gets whole chunks it can check), the viewers, and the one meter of what they
/// are sent. Frames and seals are handed out per flush, as one `LiveBatch` for everybody.
public final class LiveStream: Sendable {
    public let name: String
    public let meter: TrafficMeter
    let limits: Limits
    private let state: NIOLockedValueBox<State>

    public struct Limits: Sendable {
        /// The GOP cache stops growing here (a stream without keyframes must not pin memory).
        public var maxGOPBytes = 16 << 20
        /// Sealed chunks kept (resuming subscribers, `/chunks`, probes), by count and by bytes.
        public var sealedChunks = 15
        public var sealedBytes = 64 << 20
        public init() {}
    }

    struct State {
        var headerFrames: [LiveFrame] = []
        var gop: [LiveFrame] = []
        var gopBytes = 0
        var openSeq: UInt64 = 0
        var openFrames: [LiveFrame] = []
        var sealed: [SealedChunk] = []
        var sealedBytes = 0
        var chainID: UInt64 = 0
        var pending: [LiveItem] = []
        var viewers: [ObjectIdentifier: any LiveViewer] = [:]
        var counts: [ViewerKind: Int] = [:]
        var ended = false
    }

    public init(name: String, limits: Limits = Limits(), meter: TrafficMeter = TrafficMeter()) {
        self.name = name; self.limits = limits; self.meter = meter
        state = NIOLockedValueBox(State())
    }

    public var viewerCount: Int { state.withLockedValue { $0.viewers.count } }
    public func viewerCount(_ kind: ViewerKind) -> Int { state.withLockedValue { $0.counts[kind] ?? 0 } }
    /// Players (HTTP-FLV and RTMP), without relay subscriptions.
    public var playerCount: Int { state.withLockedValue { ($0.counts[.flv] ?? 0) + ($0.counts[.rtmp] ?? 0) } }
    public var isEnded: Bool { state.withLockedValue { $0.ended } }

    /// The chain the stream's chunks belong to now (0: not known yet).
    public var chainID: UInt64 {
        get { state.withLockedValue { $0.chainID } }
    }
    public func setChainID(_ id: UInt64) { state.withLockedValue { $0.chainID = id } }

    /// The latest sealed chunk's sequence number (0: none yet).
    public var lastSealedSeq: UInt64 { state.withLockedValue { $0.sealed.last?.seal.seq ?? 0 } }

    /// A sealed chunk still kept, by sequence number (in the current chain, or `chainID`).
    public func sealedChunk(seq: UInt64, chainID: UInt64? = nil) -> SealedChunk? {
        state.withLockedValue { s in
            s.sealed.last { $0.seal.seq == seq && (chainID == nil || $0.seal.chainID == chainID) }
        }
    }

    /// Sealed chunks kept, oldest first.
    public var sealedChunks: [SealedChunk] { state.withLockedValue { $0.sealed } }

    /// The sequence headers as they are now.
    public var headerFrames: [LiveFrame] { state.withLockedValue { $0.headerFrames } }

    /// Takes `frame` into the stream (it goes out at the next `flush`) and keeps what late
    /// joiners need.
    public func publish(_ frame: LiveFrame) {
        state.withLockedValue { s in
            guard !s.ended else { return }
            var frame = frame
            if (s.counts[.rtmp] ?? 0) > 0 && frame.rtmp == nil { frame.rtmp = RTMPFraming.encode(flvTag: frame.flv) }
            if frame.isHeader {
                s.headerFrames.removeAll { Self.slot($0.kind) == Self.slot(frame.kind) }
                s.headerFrames.append(frame)
                s.headerFrames.sort { Self.slot($0.kind) < Self.slot($1.kind) }
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
            s.pending.append(.frame(frame))
        }
    }

    /// Records a sealed chunk; subscribers get its seal with the next flush.
    public func seal(_ chunk: SealedChunk) {
        state.withLockedValue { s in
            guard !s.ended else { return }
            s.sealed.append(chunk)
            s.sealedBytes += chunk.bytes.readableBytes
            while s.sealed.count > limits.sealedChunks || (s.sealedBytes > limits.sealedBytes && s.sealed.count > 1) {
                s.sealedBytes -= s.sealed.removeFirst().bytes.readableBytes
            }
            if s.openSeq == chunk.seal.seq { s.openFrames.removeAll(keepingCapacity: true) }
            s.pending.append(.sealed(chunk))
        }
    }

    /// Ends a batch (one read of the source): every viewer gets what was published since.
    public func flush() {
        state.withLockedValue { s in Self.deliver(&s, name: name) }
    }

    private static func deliver(_ s: inout State, name: String) {
        guard !s.pending.isEmpty else { return }
        let batch = LiveBatch(stream: name, items: s.pending, headers: s.headerFrames)
        s.pending.removeAll(keepingCapacity: true)
        onLoops(s.viewers.values) { $0.receive(batch) }
    }

    /// Calls `body` for each viewer: on its event loop, one hop per loop for all of the loop's
    /// viewers (FIFO with whatever was handed to that loop before), or at once for a viewer
    /// without one.
    private static func onLoops(_ viewers: Dictionary<ObjectIdentifier, any LiveViewer>.Values,
                                _ body: @escaping @Sendable (any LiveViewer) -> Void) {
        var groups: [ObjectIdentifier: (loop: any EventLoop, viewers: [any LiveViewer])] = [:]
        for viewer in viewers {
            guard let loop = viewer.eventLoop else { body(viewer); continue }
            groups[ObjectIdentifier(loop), default: (loop, [])].viewers.append(viewer)
        }
        for (_, group) in groups {
            let members = group.viewers
            group.loop.execute { for viewer in members { body(viewer) } }
        }
    }

    /// How a viewer starts: for a subscriber resuming after chunk `k`, whether chunks k+1...
    /// were still kept and are replayed first, or it starts live from the open chunk.
    public struct Join: Sendable, Equatable {
        public var firstChunk: UInt64
        public var resumed: Bool
        public var chainID: UInt64
        public init(firstChunk: UInt64, resumed: Bool, chainID: UInt64) {
            self.firstChunk = firstChunk; self.resumed = resumed; self.chainID = chainID
        }
    }

    /// Adds `viewer`, handing it what it needs first (under the lock, so nothing published
    /// meanwhile is missed or duplicated). A subscriber resumes after `resumeAfter` when that
    /// chunk is of this chain (`chainID` 0: any) and the next one is still kept. Returns nil
    /// when the stream has ended.
    @discardableResult
    public func add(_ viewer: any LiveViewer, resumeAfter: UInt64 = 0, chainID: UInt64 = 0) -> Join? {
        state.withLockedValue { s -> Join? in
            guard !s.ended else { return nil }
            // What was published but not flushed goes to the others first: the joiner's start
            // below already contains it.
            Self.deliver(&s, name: name)
            var join = Join(firstChunk: s.openSeq, resumed: false, chainID: s.chainID)
            var items: [LiveItem] = []
            switch viewer.kind {
            case .subscriber:
                if resumeAfter > 0, chainID == 0 || chainID == s.chainID,
                   let index = s.sealed.firstIndex(where: { $0.seal.seq == resumeAfter + 1 }) {
                    items += s.sealed[index...].map { .resumedChunk($0) }
                    join = Join(firstChunk: resumeAfter + 1, resumed: true, chainID: s.chainID)
                }
                items += s.headerFrames.map { .frame($0) }
                items += s.openFrames.map { .frame($0) }
            case .flv, .rtmp:
                if viewer.kind == .rtmp && (s.counts[.rtmp] ?? 0) == 0 {
                    // The first RTMP player: from now on frames carry their RTMP form.
                    for i in s.gop.indices where s.gop[i].rtmp == nil { s.gop[i].rtmp = RTMPFraming.encode(flvTag: s.gop[i].flv) }
                    for i in s.headerFrames.indices where s.headerFrames[i].rtmp == nil {
                        s.headerFrames[i].rtmp = RTMPFraming.encode(flvTag: s.headerFrames[i].flv)
                    }
                }
                items += s.headerFrames.map { .frame($0) }
                items += s.gop.map { .frame($0) }
            }
            s.viewers[ObjectIdentifier(viewer)] = viewer
            s.counts[viewer.kind, default: 0] += 1
            viewer.start(items, join: join)
            return join
        }
    }

    public func remove(_ viewer: any LiveViewer) {
        state.withLockedValue { s in
            if s.viewers.removeValue(forKey: ObjectIdentifier(viewer)) != nil { s.counts[viewer.kind, default: 1] -= 1 }
        }
    }

    /// The source is gone for good: every viewer gets the last batch and then the end, and
    /// no one can join any more.
    public func end() {
        state.withLockedValue { s in
            guard !s.ended else { return }
            Self.deliver(&s, name: name)
            s.ended = true
            // After the last batch on each loop (FIFO), so no viewer misses it.
            Self.onLoops(s.viewers.values) { $0.ended() }
            s.viewers.removeAll()
            s.counts.removeAll()
        }
    }

    /// Order and identity of header slots: metadata, video, audio (the order an FLV file has).
    private static func slot(_ kind: TagKind) -> Int {
        switch kind {
        case .metadata: 0
        case .videoSequenceHeader: 1
        case .audioSequenceHeader: 2
        default: 3
        }
    }
}
