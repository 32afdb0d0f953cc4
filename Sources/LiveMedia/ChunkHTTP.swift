import NIOCore
import StreamrHTTP

/// `GET /chunks/<stream>/<seq>` and `/chunks/<stream>/<chain>-<seq>` (chain id in hex): a
/// verified chunk's exact bytes, served the same way by the ingest's origin and by nodes.
/// (chain, seq) names one chunk's bytes forever, so such a response may be cached; a bare
/// seq means "in the current chain".
public enum ChunkHTTP {
    public static let contentType = "application/octet-stream"

    /// Parses "<seq>" or "<chain hex>-<seq>".
    public static func parseName(_ text: String) -> (chainID: UInt64?, seq: UInt64)? {
        if let dash = text.firstIndex(of: "-") {
            guard let chain = UInt64(text[..<dash], radix: 16), let seq = UInt64(text[text.index(after: dash)...]) else { return nil }
            return (chain, seq)
        }
        return UInt64(text).map { (nil, $0) }
    }

    public static func name(chainID: UInt64, seq: UInt64) -> String { String(chainID, radix: 16) + "-\(seq)" }

    /// The response for chunk `name` of `stream`, counted on its meter.
    public static func response(stream: LiveStream, name: String, request: HTTPRequest) -> HTTPResponse {
        guard let (chain, seq) = parseName(name) else {
            return .text(.badRequest, "chunk names are <seq> or <chain>-<seq>\n")
        }
        guard let chunk = stream.sealedChunk(seq: seq, chainID: chain) else {
            return .text(.notFound, "chunk \(name) of `\(stream.name)` is not kept here (verified chunks only; the last few are kept)\n")
        }
        var headers: [(String, String)] = [("Content-Type", contentType), ("Access-Control-Allow-Origin", "*"),
                                           ("X-Streamr-Chunk", self.name(chainID: chunk.seal.chainID, seq: chunk.seal.seq))]
        headers.append(("Cache-Control", chain == nil ? "no-cache" : "public, max-age=3600, immutable"))
        let response = HTTPByteRanges.respond(to: request, body: chunk.bytes, headers: headers)
        if request.method != .HEAD, case .bytes(let body) = response.body { stream.meter.add(body.readableBytes, .chunk) }
        return response
    }
}
