/// Splits messages into chunks (spec 5.3.1). Every message gets a type 0 header and type 3
/// continuations, so the bytes depend only on the message, its chunk stream and the chunk
/// size, not on what was sent before: the ingest encodes a media message once and writes the
/// same bytes to every player (who all got the same Set Chunk Size and stream id).
public enum RTMPChunkEncoder {
    /// Bytes of the basic header for a chunk stream id (1, 2 or 3; spec 5.3.1.1).
    @inline(__always) static func basicHeaderLength(_ cs: UInt32) -> Int {
        cs < 64 ? 1 : cs < 320 ? 2 : 3
    }

    /// Exact size of `encode`'s output.
    public static func encodedLength(payloadCount: Int, chunkStreamID: UInt32, timestamp: UInt32, chunkSize: Int) -> Int {
        let chunks = max(1, (payloadCount + chunkSize - 1) / chunkSize)
        let basic = basicHeaderLength(chunkStreamID)
        let ext = timestamp >= 0xFFFFFF ? 4 : 0
        return payloadCount + (basic + 11 + ext) + (chunks - 1) * (basic + ext)
    }

    public static func encode(_ message: RTMPMessage, chunkSize: Int) -> [UInt8] {
        encode(message, chunkStreamID: message.chunkStreamID, chunkSize: chunkSize)
    }

    public static func encode(_ message: RTMPMessage, chunkStreamID: UInt32, chunkSize: Int) -> [UInt8] {
        var out: [UInt8] = []
        encode(message, chunkStreamID: chunkStreamID, chunkSize: chunkSize, into: &out)
        return out
    }

    /// Appends the chunks of `message` to `out`, copying the payload in bulk.
    public static func encode(_ message: RTMPMessage, chunkStreamID cs: UInt32, chunkSize: Int, into out: inout [UInt8]) {
        precondition(chunkSize >= 1 && (2...65599).contains(cs) && message.payload.count <= 0xFFFFFF,
                     "RTMP: chunk size \(chunkSize), chunk stream \(cs) or payload length out of range")
        let payload = message.payload
        let extended = message.timestamp >= 0xFFFFFF
        let total = encodedLength(payloadCount: payload.count, chunkStreamID: cs,
                                  timestamp: message.timestamp, chunkSize: chunkSize)
        // Headers are small; build them once and copy them with the payload slices.
        var first: [UInt8] = basicHeader(format: 0, cs)
        first.appendBE24(extended ? 0xFFFFFF : message.timestamp)
        first.appendBE24(UInt32(payload.count))
        first.append(message.typeID)
        first.appendLE32(message.streamID)
        var continuation = basicHeader(format: 3, cs)
        if extended { first.appendBE32(message.timestamp); continuation.appendBE32(message.timestamp) }

        let start = out.count
        out.reserveCapacity(start + total)
        out.append(contentsOf: first)
        var offset = 0
        payload.withUnsafeBufferPointer { p in
            while true {
                let n = min(chunkSize, payload.count - offset)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: p[offset ..< offset + n]))
                offset += n
                if offset >= payload.count { break }
                out.append(contentsOf: continuation)
            }
        }
        assert(out.count - start == total)
    }

    static func basicHeader(format: UInt8, _ cs: UInt32) -> [UInt8] {
        if cs < 64 { return [format << 6 | UInt8(cs)] }
        if cs < 320 { return [format << 6, UInt8(cs - 64)] }
        let v = cs - 64
        return [format << 6 | 1, UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)]
    }
}

/// Protocol control and user control messages (spec 5.4, 7.1.7), on chunk stream 2, stream 0.
public enum RTMPControl {
    public static func setChunkSize(_ size: UInt32) -> RTMPMessage { control(RTMPMessageType.setChunkSize, be32(size & 0x7FFF_FFFF)) }
    public static func abort(chunkStream: UInt32) -> RTMPMessage { control(RTMPMessageType.abort, be32(chunkStream)) }
    public static func acknowledgement(_ sequence: UInt32) -> RTMPMessage { control(RTMPMessageType.acknowledgement, be32(sequence)) }
    public static func windowAcknowledgementSize(_ size: UInt32) -> RTMPMessage {
        control(RTMPMessageType.windowAcknowledgementSize, be32(size))
    }
    /// Limit type 0 hard, 1 soft, 2 dynamic.
    public static func setPeerBandwidth(_ size: UInt32, limitType: UInt8 = 2) -> RTMPMessage {
        control(RTMPMessageType.setPeerBandwidth, be32(size) + [limitType])
    }
    public static func userControl(event: UInt16, value: UInt32) -> RTMPMessage {
        var p: [UInt8] = []
        p.appendBE16(event); p.appendBE32(value)
        return control(RTMPMessageType.userControl, p)
    }
    public static func streamBegin(streamID: UInt32) -> RTMPMessage { userControl(event: RTMPUserControlEvent.streamBegin, value: streamID) }
    public static func streamEOF(streamID: UInt32) -> RTMPMessage { userControl(event: RTMPUserControlEvent.streamEOF, value: streamID) }
    public static func pingResponse(timestamp: UInt32) -> RTMPMessage { userControl(event: RTMPUserControlEvent.pingResponse, value: timestamp) }

    private static func control(_ type: UInt8, _ payload: [UInt8]) -> RTMPMessage {
        RTMPMessage(typeID: type, streamID: 0, timestamp: 0, chunkStreamID: RTMPChunkStream.control, payload: payload)
    }
    private static func be32(_ v: UInt32) -> [UInt8] { var p: [UInt8] = []; p.appendBE32(v); return p }
}
