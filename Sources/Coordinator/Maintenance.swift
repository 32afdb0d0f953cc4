import Logging
import ServiceLifecycle

/// The coordinator's housekeeping, every few seconds: streams of an ingest gone silent go
/// offline; joins never confirmed are undone (their invite uses come back).
struct Maintenance: Service {
    let store: CoordinatorStore
    let liveness: StreamLiveness
    let confirmTimeoutMs: Int64
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                tick()
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    func tick() {
        for stream in liveness.expireSilent() {
            logger.warning("stream \(stream) is offline: its ingest has gone silent", metadata: [
                "event": "stream_offline", "stream": "\(stream)", "reason": "ingest_silent"])
        }
        let cutoff = CoordinatorStore.now() - confirmTimeoutMs / 1000
        for node in (try? store.stalePendingNodes(enrolledBefore: cutoff)) ?? [] where (try? store.abandonEnrollment(node: node)) == true {
            logger.notice("node \(node) never confirmed its join; undone, and its invite use given back", metadata: [
                "event": "enrollment_expired", "node": "\(node)"])
        }
    }
}
