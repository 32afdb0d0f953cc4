import FLV
import LiveMedia
import NIOCore
import StreamrConfig
import StreamrHTTP

/// A cheating node, for tests only: `test_fault` is honoured only when the environment has
/// STREAMR_TEST_FAULTS=1 (otherwise the agent refuses to start), and the agent says so in its
/// journal at start. Each fault is one way a friend's node could try to earn without serving:
/// - `fake-uptime`: heartbeats as usual (it relays), but serves viewers nothing (404).
/// - `altered`: flips a byte in every `/chunks` response.
/// - `stale`: serves old data: HTTP-FLV from the oldest chunks it keeps, and HLS playlists
///   frozen at the first it served (its oldest segments then), falling further behind.
/// - `inflated`: claims 25 more viewers and 50 MB more served per heartbeat than it has.
public enum TestFault: String, Sendable, CaseIterable {
    case fakeUptime = "fake-uptime"
    case altered
    case stale
    case inflated

    public static let environmentKey = "STREAMR_TEST_FAULTS"

    /// `test_fault` (none by default); refused without STREAMR_TEST_FAULTS=1.
    static func from(_ config: ConfigFile, environment: [String: String]) throws -> TestFault? {
        let text = config.string("test_fault", default: "none")
        guard text != "none", !text.isEmpty else { return nil }
        guard let fault = TestFault(rawValue: text) else {
            throw config.error("test_fault", "`test_fault` is none, \(allCases.map(\.rawValue).joined(separator: ", ")), got `\(text)`")
        }
        guard environment[environmentKey] == "1" else {
            throw config.error("test_fault", "`test_fault` makes this node cheat and is for tests only: it needs \(environmentKey)=1 in the environment")
        }
        return fault
    }

    /// The altered fault: one byte of the body flipped, early enough to be in any range a probe reads.
    static func alter(_ response: HTTPResponse) -> HTTPResponse {
        guard case .bytes(var body) = response.body, body.readableBytes > 0 else { return response }
        let index = body.readerIndex + min(100, body.readableBytes - 1)
        if let byte = body.getInteger(at: index, as: UInt8.self) { body.setInteger(byte ^ 0xFF, at: index) }
        var altered = response
        altered.body = .bytes(body)
        return altered
    }

    /// The stale fault's HTTP-FLV: the file header, the sequence headers, then the oldest few
    /// chunks it keeps (genuine tags, long behind the live edge), and the end.
    static func staleFLV(_ stream: LiveStream) -> HTTPResponse {
        var body = ByteBuffer(bytes: FLVFileHeader(hasAudio: true, hasVideo: true).serialized())
        for frame in stream.headerFrames { var f = frame.flv; body.writeBuffer(&f) }
        for chunk in stream.sealedChunks.prefix(3) { var b = chunk.bytes; body.writeBuffer(&b) }
        stream.meter.add(body.readableBytes, .flv)
        return HTTPResponse(status: .ok, headers: ["Content-Type": HTTPFLV.contentType, "Cache-Control": "no-cache, no-store",
                                                   "Access-Control-Allow-Origin": "*"], body: .bytes(body))
    }
}
