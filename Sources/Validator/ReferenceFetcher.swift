import FLV
import Logging
import NIOConcurrencyHelpers
import Validation

/// Fetches what probes are compared with from the ingest's origin (on the host, never from a
/// node): each sealed chunk's bytes (`/chunks/<stream>/<chain hex>-<seq>`, kept only when they
/// match the seal) and the sequence-header tags a viewer gets before media (the head of
/// `/live/<stream>.flv`). One queue per stream, in seal order, so chunks are added in order.
public final class ReferenceFetcher: Sendable {
    public struct Job: Sendable {
        public var stream: String
        public var chainID: UInt64
        public var seq: UInt64
        public init(stream: String, chainID: UInt64, seq: UInt64) { self.stream = stream; self.chainID = chainID; self.seq = seq }
    }

    let book: SealBook
    let origin: (host: String, port: Int)
    let logger: Logger
    private let queues = NIOLockedValueBox(State())
    private let newStreams: AsyncStream<(String, AsyncStream<Job>)>
    private let newStreamsContinuation: AsyncStream<(String, AsyncStream<Job>)>.Continuation

    struct State {
        var continuations: [String: AsyncStream<Job>.Continuation] = [:]
        var fetched: UInt64 = 0
        var failed: UInt64 = 0
        var lastFailureLogMs: Int64 = 0
    }

    public init(book: SealBook, origin: (host: String, port: Int), logger: Logger) {
        self.book = book; self.origin = origin; self.logger = logger
        (newStreams, newStreamsContinuation) = AsyncStream.makeStream()
    }

    public var counts: (fetched: UInt64, failed: UInt64) { queues.withLockedValue { ($0.fetched, $0.failed) } }

    /// Queues the bytes of a newly accepted seal.
    public func fetch(_ job: Job) {
        let (continuation, fresh) = queues.withLockedValue { s -> (AsyncStream<Job>.Continuation, (String, AsyncStream<Job>)?) in
            if let c = s.continuations[job.stream] { return (c, nil) }
            let (stream, c) = AsyncStream<Job>.makeStream(bufferingPolicy: .bufferingNewest(256))
            s.continuations[job.stream] = c
            return (c, (job.stream, stream))
        }
        if let fresh { newStreamsContinuation.yield(fresh) }
        continuation.yield(job)
    }

    /// Runs the queues until cancelled (one child task per stream).
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await (name, jobs) in newStreams {
                group.addTask { await self.drain(name, jobs) }
            }
        }
    }

    private func drain(_ stream: String, _ jobs: AsyncStream<Job>) async {
        for await job in jobs {
            if Task.isCancelled { return }
            await fetchChunk(job)
            let now = ProbeHTTP.wallMs()
            if book.headersDue(stream: stream, nowMs: now, maxAgeMs: 20_000) { await refreshHeaders(stream) }
        }
    }

    func fetchChunk(_ job: Job) async {
        guard let seal = book.seal(stream: job.stream, chainID: job.chainID, seq: job.seq) else { return }
        let name = String(job.chainID, radix: 16) + "-\(job.seq)"
        for attempt in 0..<3 {
            let size = Int(clamping: seal.size)
            let o = await ProbeHTTP.fetch(ProbeRequest(host: origin.host, port: origin.port, path: "/chunks/\(job.stream)/\(name)",
                                                       headers: [HTTPHeader("Host", "\(origin.host):\(origin.port)"),
                                                                 HTTPHeader("User-Agent", "streamr-validator"),
                                                                 HTTPHeader("Connection", "close")],
                                                       connectMs: 2000, firstByteMs: 3000, totalMs: 10_000,
                                                       readLimit: { _ in size + 1 }))
            if o.status == 200, book.addBytes(o.body, stream: job.stream, chainID: job.chainID, seq: job.seq) {
                queues.withLockedValue { $0.fetched += 1 }
                return
            }
            if o.status == 404 { break }  // the origin no longer keeps it
            if attempt < 2 { try? await Task.sleep(for: .milliseconds(200 * (attempt + 1))) }
        }
        let now = ProbeHTTP.wallMs()
        let log = queues.withLockedValue { s -> Bool in
            s.failed += 1
            guard now - s.lastFailureLogMs > 30_000 else { return false }
            s.lastFailureLogMs = now
            return true
        }
        if log {
            logger.warning("cannot fetch chunk \(name) of \(job.stream) from the ingest's origin \(origin.host):\(origin.port): probes of it are skipped",
                           metadata: ["event": "reference_fetch_failed", "stream": "\(job.stream)"])
        }
    }

    /// The head of the origin's HTTP-FLV: the file header, then the metadata and sequence
    /// headers, as every viewer gets them first.
    public func refreshHeaders(_ stream: String) async {
        let o = await ProbeHTTP.fetch(ProbeRequest(host: origin.host, port: origin.port, path: "/live/\(stream).flv",
                                                   headers: [HTTPHeader("Host", "\(origin.host):\(origin.port)"),
                                                             HTTPHeader("User-Agent", "streamr-validator"),
                                                             HTTPHeader("Connection", "close")],
                                                   connectMs: 2000, firstByteMs: 3000, totalMs: 5000, watchMs: 300,
                                                   readLimit: { _ in 512 * 1024 }))
        guard o.status == 200 else { return }
        let tags = Self.headerTags(o.body)
        if !tags.isEmpty { book.addHeaderTags(tags, stream: stream, atMs: ProbeHTTP.wallMs()) }
    }

    /// Serialized metadata and sequence-header tags found before the first media tag.
    static func headerTags(_ body: [UInt8]) -> [[UInt8]] {
        guard body.count >= 13, body[0] == 0x46, body[1] == 0x4C, body[2] == 0x56 else { return [] }
        let offset = Int(body[5]) << 24 | Int(body[6]) << 16 | Int(body[7]) << 8 | Int(body[8])
        var i = offset + 4
        var out: [[UInt8]] = []
        while i + 11 <= body.count {
            let size = Int(body[i + 1]) << 16 | Int(body[i + 2]) << 8 | Int(body[i + 3])
            let end = i + 11 + size + 4
            guard end <= body.count, let type = FLVTagType(rawValue: body[i] & 0x1F) else { break }
            let ts = UInt32(body[i + 7]) << 24 | UInt32(body[i + 4]) << 16 | UInt32(body[i + 5]) << 8 | UInt32(body[i + 6])
            let tag = FLVTag(type: type, timestamp: ts, data: Array(body[(i + 11)..<(i + 11 + size)]))
            switch tag.kind {
            case .metadata, .videoSequenceHeader, .audioSequenceHeader: out.append(Array(body[i..<end]))
            default: return out
            }
            i = end
        }
        return out
    }
}
