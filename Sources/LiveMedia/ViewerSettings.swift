import StreamrConfig

/// The viewer settings every daemon that serves viewers reads (ingest origin, node agent).
/// The listeners' own timeouts and caps are StreamrDaemon's ListenerSettings.
public enum ViewerSettings {
    public static let keys: Set<String> = ["viewer_queue", "viewer_lag_timeout"]

    /// `viewer_queue` (default 2M): bytes queued for one viewer before it counts as behind;
    /// `viewer_lag_timeout` (default 10s): how long it may stay behind before it is dropped.
    public static func limits(_ config: ConfigFile) throws -> ViewerLimits {
        ViewerLimits(queueBytes: try config.bytes("viewer_queue", default: 2 << 20, range: (64 << 10)...(256 << 20)),
                     lagTimeoutMs: try config.milliseconds("viewer_lag_timeout", default: 10_000, range: 1_000...600_000))
    }
}
