/// Incremental FLV reader: feed it byte slices of any size (one byte at a time works) and get
/// back every tag completed so far. The input is either an FLV file (header, PreviousTagSize0,
/// then tag + PreviousTagSize pairs) or a bare tag stream (MediaData.tags, chunk bodies): a
/// file starts with "F" (0x46), which is never a valid tag type, so the two are told apart
/// by the first byte.
public struct FLVParser: Sendable {
    /// Refuse a tag before buffering it when its DataSize is over this.
    public var maxTagDataSize: Int {
        get { reader.maxTagDataSize }
        set { reader.maxTagDataSize = newValue }
    }
    /// Check each PreviousTagSize (and PreviousTagSize0) against the tag before it.
    public var verifiesPreviousTagSize: Bool {
        get { reader.verifiesPreviousTagSize }
        set { reader.verifiesPreviousTagSize = newValue }
    }
    /// The file header, once read; nil for a bare tag stream.
    public var fileHeader: FLVFileHeader? { reader.fileHeader }
    /// Bytes fed but not yet part of a returned tag.
    public var bufferedByteCount: Int { buffer.count - start }
    /// Bytes consumed by returned tags and headers since the start.
    public var consumedByteCount: Int { reader.consumed }

    // Kept apart from the buffer so parsing can read the buffer while updating the reader.
    private var reader: Reader
    private var buffer: [UInt8] = []
    private var start = 0

    /// - Parameters:
    ///   - maxTagDataSize: the largest DataSize accepted (the format's own limit is 16 MiB - 1).
    ///   - maxHeaderSize: the largest file header DataOffset accepted (extra bytes are skipped).
    public init(maxTagDataSize: Int = 16 << 20, maxHeaderSize: Int = 1024, verifiesPreviousTagSize: Bool = true) {
        reader = Reader(maxTagDataSize: maxTagDataSize, maxHeaderSize: maxHeaderSize,
                        verifiesPreviousTagSize: verifiesPreviousTagSize)
    }

    /// Adds `bytes` and returns the tags completed by them, in order. After a throw the
    /// parser stays failed: FLV has no sync marker to recover at.
    public mutating func feed<Bytes: Collection>(_ bytes: Bytes) throws(FLVError) -> [FLVTag] where Bytes.Element == UInt8 {
        if case .failed(let error) = reader.state { throw error }
        var tags: [FLVTag] = []
        var buffered = true
        if start == buffer.count {
            // Nothing pending: read straight from the caller's bytes, buffer only the remainder.
            buffer.removeAll(keepingCapacity: true)
            start = 0
            let direct: Void? = bytes.withContiguousStorageIfAvailable { input in
                let step = reader.parse(input, into: &tags)
                if step.wanted > 0 { buffer.reserveCapacity(step.wanted) }
                buffer.append(contentsOf: input[step.used...])
            }
            buffered = direct == nil
            if buffered { buffer.append(contentsOf: bytes) }
        } else {
            buffer.append(contentsOf: bytes)
        }
        if buffered && reader.isLive && start < buffer.count {
            let step = buffer.withUnsafeBufferPointer { reader.parse(UnsafeBufferPointer(rebasing: $0[start...]), into: &tags) }
            start += step.used
            compact(reserving: step.wanted)
        }
        if case .failed(let error) = reader.state { throw error }
        return tags
    }

    /// End of input: throws if a header or tag was left incomplete.
    public mutating func finish() throws(FLVError) {
        if case .failed(let error) = reader.state { throw error }
        if bufferedByteCount > 0 {
            let error = FLVError.truncated(bufferedBytes: bufferedByteCount)
            reader.state = .failed(error)
            throw error
        }
    }

    /// Drops consumed bytes once they are at least half the buffer (amortised O(1) per byte),
    /// and makes room for a whole pending tag at once.
    private mutating func compact(reserving wanted: Int) {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 0 && (start >= buffer.count / 2 || wanted > buffer.capacity - start) {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        if wanted > buffer.capacity { buffer.reserveCapacity(wanted) }
    }
}

/// The parsing state machine, over whatever contiguous bytes it is handed.
private struct Reader: Sendable {
    enum State: Sendable {
        case start, tags
        case failed(FLVError)
    }
    struct Step {
        var used: Int
        /// Bytes the incomplete item at the end needs in all, when known (0 otherwise).
        var wanted: Int
    }

    var maxTagDataSize: Int
    var maxHeaderSize: Int
    var verifiesPreviousTagSize: Bool
    var state = State.start
    var fileHeader: FLVFileHeader?
    var consumed = 0

    var isLive: Bool {
        if case .failed = state { return false }
        return true
    }

    init(maxTagDataSize: Int, maxHeaderSize: Int, verifiesPreviousTagSize: Bool) {
        self.maxTagDataSize = maxTagDataSize
        self.maxHeaderSize = maxHeaderSize
        self.verifiesPreviousTagSize = verifiesPreviousTagSize
    }

    /// Reads every complete item in `input`; a failure is left in `state`.
    mutating func parse(_ input: UnsafeBufferPointer<UInt8>, into tags: inout [FLVTag]) -> Step {
        var step = Step(used: 0, wanted: 0)
        do {
            if case .start = state {
                guard let used = try parseStart(input) else { return step }
                step.used = used
                consumed += used
                state = .tags
            }
            while true {
                let rest = UnsafeBufferPointer(rebasing: input[step.used...])
                guard let (tag, used) = try parseTag(rest, wanted: &step.wanted) else { break }
                tags.append(tag)
                step.used += used
                consumed += used
            }
        } catch {
            state = .failed(error)
        }
        return step
    }

    /// Length of the file header and PreviousTagSize0 if the input is a file; 0 for a tag
    /// stream; nil until enough bytes have arrived to tell.
    private mutating func parseStart(_ b: UnsafeBufferPointer<UInt8>) throws(FLVError) -> Int? {
        guard let first = b.first else { return nil }
        guard first == FLVFileHeader.signature[0] else { return 0 }
        // "F" then anything but "LV" is neither a file nor a tag.
        for i in 1..<min(3, b.count) where b[i] != FLVFileHeader.signature[i] { throw .unsupportedTagType(first) }
        guard b.count >= FLVFileHeader.size else { return nil }
        guard b[3] == 1 else { throw .unsupportedVersion(b[3]) }
        let offset = b.u32(at: 5)
        guard offset >= UInt32(FLVFileHeader.size), offset <= UInt32(maxHeaderSize) else { throw .badHeaderOffset(offset) }
        let end = Int(offset) + 4
        guard b.count >= end else { return nil }
        let tagSize0 = b.u32(at: Int(offset))
        if verifiesPreviousTagSize && tagSize0 != 0 { throw .previousTagSizeMismatch(expected: 0, found: tagSize0) }
        fileHeader = FLVFileHeader(hasAudio: b[4] & 0x04 != 0, hasVideo: b[4] & 0x01 != 0)
        return end
    }

    private func parseTag(_ b: UnsafeBufferPointer<UInt8>, wanted: inout Int) throws(FLVError) -> (FLVTag, Int)? {
        guard let first = b.first else { return nil }
        // Check the type and size as soon as their bytes arrive, before buffering a body.
        guard let type = FLVTagType(rawValue: first) else { throw .unsupportedTagType(first) }
        guard b.count >= 4 else { return nil }
        let size = Int(b.u24(at: 1))
        guard size <= maxTagDataSize else { throw .tagTooLarge(size: size, limit: maxTagDataSize) }
        let total = FLVTag.headerSize + size + 4
        guard b.count >= total else {
            wanted = total
            return nil
        }
        let trailer = b.u32(at: FLVTag.headerSize + size)
        if verifiesPreviousTagSize && trailer != UInt32(FLVTag.headerSize + size) {
            throw .previousTagSizeMismatch(expected: UInt32(FLVTag.headerSize + size), found: trailer)
        }
        let timestamp = b.u24(at: 4) | UInt32(b[7]) << 24
        let data = Array(UnsafeBufferPointer(rebasing: b[FLVTag.headerSize..<(FLVTag.headerSize + size)]))
        return (FLVTag(type: type, timestamp: timestamp, streamID: b.u24(at: 8), data: data), total)
    }
}

extension UnsafeBufferPointer<UInt8> {
    @inline(__always) func u24(at i: Int) -> UInt32 { UInt32(self[i]) << 16 | UInt32(self[i + 1]) << 8 | UInt32(self[i + 2]) }
    @inline(__always) func u32(at i: Int) -> UInt32 { u24(at: i) << 8 | UInt32(self[i + 3]) }
}
