import Logging
import StreamrRPC
import StreamrWire

/// Chunk seals to the validator, as typed ChunkSealed envelopes on one persistent connection
/// to its work socket (socket activation starts it on the first connect). On every (re)connect
/// the seals still kept for each live stream go first, so a restarted validator knows the
/// recent chunks at once; a bounded backlog covers the validator being away, and what
/// overflows it is logged and counted.
public final class ValidatorLink: Sendable {
    let link: PersistentLink

    public init(socket: String, backlog: Int = 4096, logger: Logger, kept: @escaping @Sendable () -> [ChunkSealed]) {
        link = PersistentLink(name: "validator link", address: .unix(path: socket), capacity: backlog, logger: logger) { connection in
            let seals = kept()
            if !seals.isEmpty { try await connection.push(contentsOf: seals.map { .chunkSealed($0) }) }
        }
    }

    public func sealed(_ seal: ChunkSealed) { link.enqueue(.push(.chunkSealed(seal))) }
    public var counts: (dropped: UInt64, sent: UInt64, queued: Int) { link.counts }
}
