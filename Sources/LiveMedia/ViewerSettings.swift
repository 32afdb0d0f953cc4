import StreamrConfig
import StreamrHTTP

/// The viewer settings every daemon that serves viewers reads (ingest origin, node agent).
public enum ViewerSettings {
    public static let keys = ["viewer_queue", "viewer_lag_timeout", "http_connections_per_address", "http_request_timeout"]

    /// `viewer_queue` (default 2M): bytes queued for one viewer before it counts as behind;
    /// `viewer_lag_timeout` (default 10s): how long it may stay behind before it is dropped.
    public static func limits(_ config: ConfigFile) throws -> ViewerLimits {
        ViewerLimits(queueBytes: try config.bytes("viewer_queue", default: 2 << 20, range: (64 << 10)...(256 << 20)),
                     lagTimeoutMs: try config.milliseconds("viewer_lag_timeout", default: 10_000, range: 1_000...600_000))
    }

    /// The HTTP limits with the viewer queue as the sockets' high water mark.
    public static func httpLimits(_ config: ConfigFile) throws -> HTTPLimits {
        HTTPLimits(requestHeadTimeoutMs: try config.milliseconds("http_request_timeout", default: 15_000, range: 1_000...600_000),
                   connectionsPerAddress: try config.int("http_connections_per_address", default: 128, range: 1...100_000),
                   viewerQueueBytes: try limits(config).queueBytes)
    }
}
