import FoundationEssentials
import Glibc
import Logging
import StreamrRPC
import StreamrTLS
import StreamrWire

/// The ingest's questions and reports to the coordinator, over its local control socket
/// (the same admin RPC as streamrctl): stream keys, live/offline, sealed chunks.
public struct CoordinatorLink: Sendable {
    let socket: String
    let logger: Logger

    public init(socket: String, logger: Logger) { self.socket = socket; self.logger = logger }

    /// The stream `key` publishes; throws the coordinator's refusal (NOT_FOUND for a bad key)
    /// or a transport error (coordinator not running).
    public func authorize(key: String) async throws -> String {
        let response = try await admin(["publish", "authorize"], ["key": key])
        guard let stream = response.rows.first?.first, !stream.isEmpty else {
            throw ErrorMessage(.internalError, "the coordinator answered no stream for the key")
        }
        return stream
    }

    public func started(stream: String) async throws { _ = try await admin(["publish", "started"], ["stream": stream]) }

    public func stopped(stream: String, reason: String) async throws {
        _ = try await admin(["publish", "stopped"], ["stream": stream, "reason": reason])
    }

    /// A sealed chunk's digests (hex), for the coordinator and, through it, the validator.
    public func chunk(_ seal: ChunkSealed) async throws {
        let hex = SHA256Digest.hex
        _ = try await admin(["publish", "chunk"], [
            "stream": seal.stream, "seq": "\(seal.seq)", "first_ms": "\(seal.firstTimestampMs)", "last_ms": "\(seal.lastTimestampMs)",
            "size": "\(seal.size)", "sha256": hex(seal.sha256), "chain": hex(seal.chain), "signature": hex(seal.signature),
        ])
    }

    /// No stream is live at an ingest that has just started.
    public func reset() async throws { _ = try await admin(["publish", "reset"], [:]) }

    private func admin(_ command: [String], _ arguments: [String: String]) async throws -> AdminResponse {
        let request = AdminRequest(command: command, arguments: arguments.sorted { $0.key < $1.key }.map { AdminArgument($0.key, $0.value) })
        let answer = try await RPCClient.withConnection(to: .unix(path: socket), pipeline: RPCPipeline(), connectTimeout: .seconds(5)) {
            try await $0.request(.adminRequest(request), timeout: .seconds(10))
        }
        guard case .adminResponse(let response) = answer else { throw RPCError.unexpectedReply(answer.name) }
        return response
    }
}
