import FLV
import StreamrTLS
import XCTest

/// SHA-256 from OpenSSL, as the ingest injects it.
let sha256: HashFunction = { SHA256Digest.hash($0) }

final class ChunkerTests: XCTestCase {
    /// Pushes every tag; returns the outputs and the sealed chunks (including finish()'s).
    private func run(_ tags: [FLVTag], _ chunker: inout Chunker, finish: Bool = true) -> (outputs: [Chunker.Output], chunks: [Chunk]) {
        var outputs: [Chunker.Output] = []
        var chunks: [Chunk] = []
        for tag in tags {
            let out = chunker.push(tag)
            if let sealed = out.sealed { chunks.append(sealed) }
            outputs.append(out)
        }
        if finish, let last = chunker.finish() { chunks.append(last) }
        return (outputs, chunks)
    }

    /// Video at 30 fps with a keyframe every `gop` frames, AAC every ~23 ms, from `start`.
    private func stream(from start: UInt32 = 0, ms: Int, gop: Int = 30, audio: Bool = true) -> [FLVTag] {
        var tags: [(Int, FLVTag)] = []
        for frame in 0..<(ms * 30 / 1000) {
            let t = frame * 1000 / 30
            tags.append((t, Make.frame(start &+ UInt32(t), key: frame % gop == 0)))
        }
        if audio {
            for n in 0..<(ms * 44 / 1000) {
                let t = n * 1024 * 1000 / 44100
                tags.append((t, Make.audio(start &+ UInt32(t))))
            }
        }
        // Stable sort by time keeps video before audio at equal times, as muxers interleave.
        return tags.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element.1)
    }

    private func headers(_ ts: UInt32 = 0) -> [FLVTag] { [Make.metadata(ts), Make.videoHeader(ts), Make.audioHeader(ts)] }

    /// The chunk bodies and chain computed here, independently of the chunker.
    private func assertChunks(_ chunks: [Chunk], bodies: [[FLVTag]], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(chunks.count, bodies.count, "chunk count", file: file, line: line)
        var chain = [UInt8](repeating: 0, count: 32)
        for (i, (chunk, body)) in zip(chunks, bodies).enumerated() {
            let bytes = body.flatMap { $0.serialized() }
            let digest = SHA256Digest.hash(bytes)
            chain = SHA256Digest.hash(chain + digest)
            XCTAssertEqual(chunk.seq, UInt64(i + 1), file: file, line: line)
            XCTAssertEqual(chunk.bytes, bytes, "chunk \(i + 1) bytes", file: file, line: line)
            XCTAssertEqual(chunk.size, bytes.count, file: file, line: line)
            XCTAssertEqual(chunk.tagCount, body.count, file: file, line: line)
            XCTAssertEqual(chunk.digest, digest, file: file, line: line)
            XCTAssertEqual(chunk.chain, chain, "chain \(i + 1)", file: file, line: line)
            XCTAssertEqual(chunk.firstTimestamp, body.first?.timestamp, file: file, line: line)
            XCTAssertEqual(chunk.lastTimestamp, body.last?.timestamp, file: file, line: line)
        }
    }

    /// Splits media tags (headers dropped) before each tag for which `cut` is true.
    private func split(_ tags: [FLVTag], cutBefore cut: (FLVTag) -> Bool) -> [[FLVTag]] {
        var bodies: [[FLVTag]] = []
        for tag in tags where !tag.kind.isSequenceHeader && tag.kind != .metadata {
            if bodies.isEmpty || cut(tag) { bodies.append([tag]) } else { bodies[bodies.count - 1].append(tag) }
        }
        return bodies
    }

    func testCutsAtTheFirstKeyframeAtLeastTwoSecondsIn() {
        // Keyframes every 1.5 s: 0, 1.5, 3, 4.5, 6, 7.5 s -> chunks start at 0, 3, 6 s.
        let tags = headers() + stream(ms: 8000, gop: 45)
        var chunker = Chunker(hash: sha256)
        let (outputs, chunks) = run(tags, &chunker)
        let starts: Set<UInt32> = [0, 3000, 6000]
        assertChunks(chunks, bodies: split(tags) { $0.kind.isKeyframe && starts.contains($0.timestamp) })
        XCTAssertEqual(chunks.map(\.keyframes), [
            [Keyframe(offset: 0, timestamp: 0), Keyframe(offset: chunks[0].keyframes[1].offset, timestamp: 1500)],
            [Keyframe(offset: 0, timestamp: 3000), Keyframe(offset: chunks[1].keyframes[1].offset, timestamp: 4500)],
            [Keyframe(offset: 0, timestamp: 6000), Keyframe(offset: chunks[2].keyframes[1].offset, timestamp: 7500)],
        ])
        XCTAssertTrue(chunks.allSatisfy(\.startsWithKeyframe))
        XCTAssertEqual(chunks.map(\.durationMs), chunks.map { Int($0.lastTimestamp - $0.firstTimestamp) })
        XCTAssertGreaterThan(chunks[0].durationMs, 2900)
        // Every tag is reported in the chunk that ends up holding it, before that chunk closes.
        var perSeq: [UInt64: [UInt8]] = [:]
        for out in outputs where !out.isHeader { perSeq[out.chunkSeq, default: []] += out.bytes }
        for chunk in chunks { XCTAssertEqual(perSeq[chunk.seq], chunk.bytes) }
        // Headers: kept, reported for chunk 1, in no body; the seal comes with the tag after.
        XCTAssertEqual(outputs.prefix(3).map(\.isHeader), [true, true, true])
        XCTAssertEqual(outputs.prefix(3).map(\.chunkSeq), [1, 1, 1])
        XCTAssertEqual(outputs.prefix(3).map(\.headerChanged), [true, true, true])
        XCTAssertEqual(chunker.headers.tags, headers())
        XCTAssertEqual(chunks[0].headers.tags, headers())
        let sealing = outputs.filter { $0.sealed != nil }
        XCTAssertEqual(sealing.map(\.kind), [.videoKeyframe(.avc), .videoKeyframe(.avc)])
        XCTAssertEqual(sealing.map(\.chunkSeq), [2, 3])
    }

    func testTargetDurationIsConfigurable() {
        let tags = headers() + stream(ms: 5000, gop: 15)  // keyframes every 0.5 s
        var chunker = Chunker(configuration: .init(targetDurationMs: 1000), hash: sha256)
        let chunks = run(tags, &chunker).chunks
        XCTAssertEqual(chunks.map(\.firstTimestamp), [0, 1000, 2000, 3000, 4000])
        assertChunks(chunks, bodies: split(tags) { $0.kind.isKeyframe && $0.timestamp % 1000 == 0 })
    }

    func testFinishSealsThePartialChunkOnce() {
        var chunker = Chunker(hash: sha256)
        XCTAssertNil(chunker.finish())
        let tags = stream(ms: 500)
        let (_, chunks) = run(tags, &chunker)
        assertChunks(chunks, bodies: [tags])
        XCTAssertNil(chunker.finish())
        XCTAssertNil(chunker.openChunk)
        XCTAssertEqual(chunker.nextSeq, 2)
        XCTAssertEqual(chunker.chain, chunks[0].chain)
    }

    func testAChangedSequenceHeaderSealsAtOnceAndARepeatedOneDoesNot() {
        var chunker = Chunker(hash: sha256)
        var tags = headers() + stream(ms: 1000, gop: 30)
        // The publisher repeats its headers (no cut), updates metadata (no cut)...
        tags += [Make.videoHeader(1000), Make.audioHeader(1000), Make.metadata(1000, width: 2)]
        tags += stream(from: 1000, ms: 500, gop: 30)
        // ...then changes video configuration (cut at once, 1.5 s in), a keyframe follows.
        var record = Real.avcRecord
        record[3] = 31  // level 3.1
        let newHeader = Make.videoHeader(1500, record: record)
        tags += [newHeader] + stream(from: 1500, ms: 1000, gop: 30)
        let (outputs, chunks) = run(tags, &chunker)
        assertChunks(chunks, bodies: split(tags) { $0.timestamp == 1500 && $0.kind.isKeyframe })
        let headerOutputs = outputs.filter(\.isHeader)
        XCTAssertEqual(headerOutputs.map(\.headerChanged), [true, true, true, false, false, true, true])
        XCTAssertEqual(headerOutputs.map { $0.sealed?.seq }, [nil, nil, nil, nil, nil, nil, 1])
        // The header that sealed chunk 1 applies to chunk 2.
        XCTAssertEqual(headerOutputs.last?.chunkSeq, 2)
        XCTAssertEqual(chunks[0].headers.video, Make.videoHeader(0))
        XCTAssertEqual(chunks[1].headers.video, newHeader)
        XCTAssertEqual(chunks[1].headers.metadata, Make.metadata(1000, width: 2))
        XCTAssertTrue(chunks[1].startsWithKeyframe)
    }

    func testAChangedAudioHeaderAlsoSeals() {
        var chunker = Chunker(hash: sha256)
        let tags = headers() + stream(ms: 500) + [Make.audioHeader(500, config: [0x11, 0x90])] + stream(from: 500, ms: 500)
        let chunks = run(tags, &chunker).chunks
        XCTAssertEqual(chunks.map(\.firstTimestamp), [0, 500])
        XCTAssertEqual(chunks[1].headers.audio?.data, [0xaf, 0x00, 0x11, 0x90])
    }

    func testAudioOnlyCutsOnDurationAtAnyAudioTag() {
        let tags = [Make.metadata(0), Make.audioHeader(0)] + stream(ms: 7000, audio: true).filter { $0.type == .audio }
        var chunker = Chunker(hash: sha256)
        let chunks = run(tags, &chunker).chunks
        // The first audio tag at or after 2000 ms past each chunk's start.
        var starts: [UInt32] = []
        for tag in tags where tag.type == .audio && !tag.kind.isSequenceHeader {
            if starts.isEmpty || Int(tag.timestamp) - Int(starts.last!) >= 2000 { starts.append(tag.timestamp) }
        }
        XCTAssertEqual(starts.count, 4)
        assertChunks(chunks, bodies: split(tags) { starts.contains($0.timestamp) })
        XCTAssertTrue(chunks.allSatisfy { $0.keyframes.isEmpty })
    }

    func testVideoThatStopsFallsBackToAudioCuts() {
        // Video for 2.5 s (cut at the keyframe at 2 s), then audio alone until 12 s: after 5 s
        // without video, audio tags cut on duration again.
        let av = stream(ms: 2500, gop: 60)
        let audioOnly = stream(from: 2500, ms: 9500).filter { $0.type == .audio }
        var chunker = Chunker(hash: sha256)
        let chunks = run(headers() + av + audioOnly, &chunker).chunks
        XCTAssertEqual(chunks.first?.firstTimestamp, 0)
        XCTAssertEqual(chunks[1].firstTimestamp, 2000)
        // The video tag at 2466 ms is the last; the first audio tag more than 5 s later (and
        // 2 s into the chunk) cuts.
        let firstAudioCut = audioOnly.first { Int($0.timestamp) - 2466 > 5000 }!.timestamp
        XCTAssertEqual(chunks[2].firstTimestamp, firstAudioCut)
        XCTAssertGreaterThan(chunks.count, 3)
    }

    func testWrapAt2To32IsNotADiscontinuity() {
        // Starts 3 s before the 32-bit wrap; keyframes every second.
        let start = UInt32.max - 2999
        let tags = stream(from: start, ms: 7000, gop: 30)
        var chunker = Chunker(hash: sha256)
        let chunks = run(tags, &chunker).chunks
        XCTAssertEqual(chunks.map(\.firstTimestamp), [start, start &+ 2000, start &+ 4000, start &+ 6000])
        XCTAssertEqual(chunks[1].firstTimestamp, UInt32.max - 999)
        XCTAssertEqual(chunks[2].firstTimestamp, 1000)  // across the wrap
        XCTAssertLessThan(chunks[1].lastTimestamp, chunks[1].firstTimestamp)
        XCTAssertEqual(chunks[1].durationMs, Int(chunks[1].lastTimestamp &- chunks[1].firstTimestamp))
        XCTAssertGreaterThan(chunks[1].durationMs, 1900)
    }

    func testStreamStartedNearThe2To24Boundary() throws {
        let start: UInt32 = (1 << 24) - 1500
        let tags = stream(from: start, ms: 5000, gop: 30)
        var chunker = Chunker(hash: sha256)
        let chunks = run(tags, &chunker).chunks
        XCTAssertEqual(chunks.map(\.firstTimestamp), [start, start + 2000, start + 4000])
        // Chunk bytes carry the high byte in TimestampExtended and parse back exactly.
        XCTAssertEqual(chunks[1].bytes[7], 1)
        var parser = FLVParser()
        XCTAssertEqual(try chunks.flatMap { try parser.feed($0.bytes) }, tags)
    }

    func testPublisherRestartCutsAtTheNextKeyframe() {
        // 1 s of stream, then the publisher reconnects and timestamps restart at 0, audio first.
        let before = stream(from: 60_000, ms: 1000)
        let after = stream(from: 0, ms: 3000).filter { !($0.type == .video && $0.timestamp < 10) }
        let restartKeyframe = after.first { $0.kind.isKeyframe }!
        XCTAssertEqual(restartKeyframe.timestamp, 1000)
        var chunker = Chunker(hash: sha256)
        let chunks = run(before + after, &chunker).chunks
        XCTAssertEqual(chunks.map(\.firstTimestamp), [60_000, 1000])
        XCTAssertEqual(chunks[0].durationMs, 0)  // ends on an earlier timestamp
        assertChunks(chunks, bodies: split(before + after) { $0.kind.isKeyframe && $0.timestamp == 1000 })
    }

    func testEncoderWrappingAt2To24IsADiscontinuity() {
        // Some encoders wrap at 2^24 ms: 16777000 -> 0.
        let before = stream(from: (1 << 24) - 1000, ms: 1000, gop: 30)
        let after = stream(from: 0, ms: 3000, gop: 30)
        var chunker = Chunker(hash: sha256)
        let chunks = run(before + after, &chunker).chunks
        XCTAssertEqual(chunks.map(\.firstTimestamp), [(1 << 24) - 1000, 0, 2000])
    }

    func testForwardJumpCutsAndSmallJitterDoesNot() {
        var chunker = Chunker(hash: sha256)
        var tags = stream(ms: 1000, gop: 15)
        // Audio 200 ms behind the video around it: jitter, no cut.
        tags.append(Make.audio(800))
        tags += stream(from: 1000, ms: 500, gop: 15)
        // A 60 s jump forward: cut at the keyframe there, though the chunk is 1.5 s old...
        tags += stream(from: 61_500, ms: 1000, gop: 15)
        let chunks = run(tags, &chunker).chunks
        XCTAssertEqual(chunks.map(\.firstTimestamp), [0, 61_500])
    }

    func testMaxChunkBytesCutsWithoutAKeyframe() {
        var config = Chunker.Configuration()
        config.maxChunkBytes = 1000
        var chunker = Chunker(configuration: config, hash: sha256)
        let tags = [Make.frame(0, key: true, size: 100)] + (1...20).map { Make.frame(UInt32($0 * 33), size: 100) }
        let chunks = run(tags, &chunker).chunks
        // 120 bytes per tag: 8 fit in 1000.
        XCTAssertEqual(tags[0].serializedSize, 120)
        XCTAssertEqual(chunks.map(\.tagCount), [8, 8, 5])
        XCTAssertTrue(chunks.allSatisfy { $0.size <= 1000 })
        XCTAssertEqual(chunks.map(\.startsWithKeyframe), [true, false, false])
        assertChunks(chunks, bodies: [Array(tags[0..<8]), Array(tags[8..<16]), Array(tags[16..<21])])
    }

    func testOtherScriptDataIsMediaAndDoesNotCut() {
        let cue = FLVTag(type: .script, timestamp: 100, data: Make.amf0String("onCuePoint"))
        var chunker = Chunker(hash: sha256)
        let out = chunker.push(cue)
        XCTAssertFalse(out.isHeader)
        XCTAssertEqual(out.kind, .script)
        XCTAssertEqual(chunker.finish()?.bytes, cue.serialized())
    }

    func testSkipTargets() {
        var chunker = Chunker(hash: sha256)
        XCTAssertEqual(chunker.skipTarget, .waitFor(seq: 1))
        _ = run(headers() + stream(ms: 1500, gop: 30), &chunker, finish: false)
        // The open chunk has keyframes at 0 and 1 s: replay from the latest.
        let open = chunker.openChunk!
        XCTAssertEqual(open.keyframes.map(\.timestamp), [0, 1000])
        XCTAssertEqual(chunker.skipTarget, .replay(seq: 1, offset: open.keyframes[1].offset))
        var parser = FLVParser()
        XCTAssertEqual(try parser.feed(open.bytes[open.keyframes[1].offset...]).first?.kind, .videoKeyframe(.avc))
        _ = chunker.finish()
        XCTAssertEqual(chunker.skipTarget, .waitFor(seq: 2))
        // Audio only: from the start of the open chunk.
        _ = chunker.push(Make.audio(5000))
        XCTAssertEqual(chunker.skipTarget, .replay(seq: 2, offset: 0))
        // Video without a keyframe yet: wait for the next chunk.
        _ = chunker.finish()
        _ = chunker.push(Make.frame(6000))
        XCTAssertEqual(chunker.skipTarget, .waitFor(seq: 4))
    }
}
