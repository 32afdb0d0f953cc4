import NIOCore

extension NIOAsyncChannel {
    /// Wraps a connection a server accepted. Dropped without being served, it closes itself.
    ///
    /// When a server stops (its task cancelled, or its listener closing), NIO drops the
    /// connections it has accepted but not yet handed to the accept loop. One wrapped with
    /// `init(wrappingChannelSynchronously:)` then traps the process ("Deinited NIOAsyncWriter
    /// without calling finish()", swift-nio #2637 and #2813, both open): a node crashed so on
    /// SIGTERM while viewers were connecting. This initializer, deprecated in favour of that
    /// one, closes the channel on deinit instead; every connection that is served still ends
    /// through `executeThenClose`.
    public static func accepted(_ channel: any Channel, configuration: Configuration = .init()) throws -> NIOAsyncChannel {
        try NIOAsyncChannel(synchronouslyWrapping: channel, configuration: configuration)
    }
}
