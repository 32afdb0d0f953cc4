import NIOConcurrencyHelpers
import NIOCore
import StreamrWire

/// Bounds the bytes a connection has handed to NIO but not yet written to the
/// socket. Writers wait here while the window is full, so a peer that does not
/// keep up (or a busy event loop) holds them back instead of letting queued
/// writes grow without limit. NIOAsyncChannel's writer alone does not bound this:
/// it learns of unwritability only after the event loop has processed the writes.
final class WriteWindow: Sendable {
    private struct State {
        var pending = 0
        var failed: (any Error)?
        var waiters: [(bytes: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    let limit: Int
    private let state = NIOLockedValueBox(State())

    init(limit: Int) { self.limit = limit }

    /// Waits until `bytes` fit (a message larger than the whole window goes alone).
    func acquire(_ bytes: Int) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome: Result<Void, any Error>? = state.withLockedValue { state in
                if let failed = state.failed { return .failure(failed) }
                if state.waiters.isEmpty && (state.pending == 0 || state.pending + bytes <= limit) {
                    state.pending += bytes
                    return .success(())
                }
                state.waiters.append((bytes, continuation))
                return nil
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    /// Takes room for `bytes` without waiting: false when the window is full (or someone is
    /// waiting, or the connection failed). `force` takes it even over the limit (small
    /// control messages that must keep their place in the stream).
    func tryAcquire(_ bytes: Int, force: Bool = false, limit: Int? = nil) -> Bool {
        let limit = limit ?? self.limit
        return state.withLockedValue { state in
            guard state.failed == nil else { return false }
            guard force || (state.waiters.isEmpty && (state.pending == 0 || state.pending + bytes <= limit)) else { return false }
            state.pending += bytes
            return true
        }
    }

    var pending: Int { state.withLockedValue { $0.pending } }

    /// Called when a write completed (or failed): admits waiters in order.
    func release(_ bytes: Int) {
        let admitted = state.withLockedValue { state -> [CheckedContinuation<Void, any Error>] in
            state.pending -= bytes
            var admitted: [CheckedContinuation<Void, any Error>] = []
            while let first = state.waiters.first, state.pending == 0 || state.pending + first.bytes <= limit {
                state.pending += first.bytes
                admitted.append(first.continuation)
                state.waiters.removeFirst()
            }
            return admitted
        }
        for continuation in admitted { continuation.resume() }
    }

    /// Fails every waiter and all later acquisitions (the connection is gone).
    func fail(_ error: any Error) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, any Error>] in
            state.failed = error
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }
}

extension Envelope.Body {
    /// A cheap upper estimate of the encoded size, for write accounting.
    var approximateSize: Int {
        switch self {
        case .media(let m): m.tags.readableBytes + m.stream.utf8.count + 32
        case .enrollRequest(let r): r.csrDER.count + 256
        case .enrollResponse(let r): r.certificateDER.count + r.caCertificateDER.count + 256
        case .adminResponse(let r): r.rows.reduce(256) { $0 + $1.reduce(8) { $0 + $1.utf8.count + 2 } }
        default: 256
        }
    }
}
