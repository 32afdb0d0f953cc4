import NIOCore
import NIOHTTP1

/// A whole-body response that honours `Range` (HLS segments, chunks): 200 with the body, 206
/// with the one range asked for, or 416 — through `HTTPRange`'s rules.
public enum HTTPByteRanges {
    public static func respond(to request: HTTPRequest, body: ByteBuffer, headers: [(String, String)],
                               entityTag: String? = nil) -> HTTPResponse {
        var fields = HTTPHeaders(headers)
        if let entityTag { fields.replaceOrAdd(name: "ETag", value: entityTag) }
        let length = body.readableBytes
        let range = request.range(length: length, entityTag: entityTag)
        range.addHeaders(to: &fields, length: length)
        let slice = range.bodyRange(length: length)
        let part = body.getSlice(at: body.readerIndex + slice.lowerBound, length: slice.count) ?? ByteBuffer()
        return HTTPResponse(status: range.status, headers: fields, body: .bytes(part))
    }
}
