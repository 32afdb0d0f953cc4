import NIOCore
import StreamrConfig
import StreamrHTTP
import StreamrRPC
import StreamrTLS

/// Timeouts and per-address caps for the daemons that listen (coordinator, ingest, node),
/// read in one place so every listener of every daemon is limited the same way.
public enum ListenerSettings {
    public static let keys: Set<String> = [
        "http_request_timeout", "http_body_timeout", "http_connections_per_address",
        "rpc_handshake_timeout", "rpc_frame_timeout", "rpc_unauthenticated_timeout", "rpc_unauthenticated_per_address",
    ]

    /// `http_request_timeout` (15s): a request head must be complete this long after the
    /// connection opens or the last response ends (slowloris, idle keep-alive);
    /// `http_body_timeout` (30s): its body this long after the head;
    /// `http_connections_per_address` (128): open connections one address may hold.
    public static func http(_ config: ConfigFile, viewerQueueBytes: Int = 2 << 20) throws -> HTTPLimits {
        HTTPLimits(requestHeadTimeoutMs: try config.milliseconds("http_request_timeout", default: 15_000, range: 1_000...600_000),
                   requestBodyTimeoutMs: try config.milliseconds("http_body_timeout", default: 30_000, range: 1_000...600_000),
                   connectionsPerAddress: try config.int("http_connections_per_address", default: 128, range: 1...100_000),
                   viewerQueueBytes: viewerQueueBytes)
    }

    /// `rpc_handshake_timeout` (10s): TLS must be up this long after accept;
    /// `rpc_frame_timeout` (15s): a frame that has started to arrive must be complete;
    /// `rpc_unauthenticated_timeout` (30s): how long a TLS peer without a certificate (a join)
    /// may stay; `rpc_unauthenticated_per_address` (8): how many such peers one address may have.
    public static func rpc(_ config: ConfigFile, tls: TLSContext?) throws -> RPCPipeline {
        RPCPipeline(tls: tls,
                    handshakeTimeout: .milliseconds(try config.milliseconds("rpc_handshake_timeout", default: 10_000, range: 500...600_000)),
                    partialFrameTimeout: .milliseconds(try config.milliseconds("rpc_frame_timeout", default: 15_000, range: 500...600_000)),
                    unauthenticatedLifetime: .milliseconds(
                        try config.milliseconds("rpc_unauthenticated_timeout", default: 30_000, range: 1_000...3_600_000)),
                    unauthenticatedPerAddress: try config.int("rpc_unauthenticated_per_address", default: 8, range: 1...10_000))
    }
}
