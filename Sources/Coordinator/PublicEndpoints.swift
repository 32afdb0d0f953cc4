/// Where friends and OBS reach this host: printed in RTMP URLs and join lines.
public struct PublicEndpoints: Sendable {
    public var host: String
    public var rtmpPort: Int
    public var rpcPort: Int
    /// Where nodes subscribe to live streams at the ingest.
    public var subscribePort: Int
    /// The ingest's own HTTP (origin HTTP-FLV), where /watch sends viewers no node can take.
    public var originHTTPPort: Int
    public init(host: String, rtmpPort: Int = 1935, rpcPort: Int = 7443, subscribePort: Int = 7444, originHTTPPort: Int = 8936,
                httpPort: Int = 8000) {
        self.host = host; self.rtmpPort = rtmpPort; self.rpcPort = rpcPort; self.subscribePort = subscribePort
        self.originHTTPPort = originHTTPPort; self.httpPort = httpPort
    }

    private var hostPart: String { host.contains(":") ? "[\(host)]" : host }
    public func rtmpURL(key: String) -> String { "\(rtmpServer)/\(key)" }
    /// What OBS calls the Server (the key goes in its own field).
    public var rtmpServer: String { "rtmp://\(hostPart):\(rtmpPort)/live" }
    /// Where viewers are sent (the coordinator's /watch).
    public var httpPort: Int
    public func watchURL(stream: String) -> String { "http://\(hostPart):\(httpPort)/watch/\(stream)" }
    public var ingestAddress: String { "\(hostPart):\(subscribePort)" }
    public var originHTTPBase: String { "http://\(hostPart):\(originHTTPPort)" }
    public var originRTMPBase: String { "rtmp://\(hostPart):\(rtmpPort)" }
}
