// coordinator: many stand-in nodes against a real streamr-coordinator, over the real
// protocol (enrolment, mTLS sessions, heartbeats acked after the SQLite group commit).
import Foundation
import NIOConcurrencyHelpers
import StreamrRPC
import StreamrTLS
import StreamrWire

struct CoordinatorLoadOptions {
    var host = "127.0.0.1"
    var port = 7443
    var caPath = ""
    var token = ""
    var stream = "main"
    var nodes = 100
    var rate = 0.0
    var seconds = 10.0
    var warmup = 3.0
    /// The coordinator's pid, to report its CPU use over the measured window beside ours.
    var serverPID: Int32 = 0

    init(_ args: [String]) {
        var i = 0
        while i < args.count {
            let value = i + 1 < args.count ? args[i + 1] : ""
            switch args[i] {
            case "--host": host = value
            case "--port": port = Int(value) ?? port
            case "--ca": caPath = value
            case "--token": token = value
            case "--stream": stream = value
            case "--nodes": nodes = Int(value) ?? nodes
            case "--rate": rate = Double(value) ?? rate
            case "--seconds": seconds = Double(value) ?? seconds
            case "--warmup": warmup = Double(value) ?? warmup
            case "--server-pid": serverPID = Int32(value) ?? 0
            default: FileHandle.standardError.write(Data("unknown argument \(args[i])\n".utf8)); exit(64)
            }
            i += 2
        }
    }
}

/// Ack latencies in microseconds, for percentiles.
final class LatencyLog: Sendable {
    private let samples = NIOLockedValueBox([UInt32]())
    private let errors = NIOLockedValueBox([String: Int]())
    func add(_ us: UInt32) { samples.withLockedValue { $0.append(us) } }
    func fail(_ error: any Error) { errors.withLockedValue { $0["\(error)", default: 0] += 1 } }
    func reset() { samples.withLockedValue { $0.removeAll(keepingCapacity: true) } }
    var count: Int { samples.withLockedValue { $0.count } }
    var errorSummary: [String: Int] { errors.withLockedValue { $0 } }
    func percentile(_ p: Double) -> Double {
        let sorted = samples.withLockedValue { $0 }.sorted()
        guard !sorted.isEmpty else { return 0 }
        return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000
    }
}

func runCoordinatorLoad(_ o: CoordinatorLoadOptions) async throws {
    let ca = try Certificate(pem: String(contentsOfFile: o.caPath, encoding: .utf8))
    let address = ConnectAddress.tcp(host: o.host, port: o.port)
    let anonymous = RPCPipeline(tls: try TLSContext(.client(identity: nil, trustRoots: [ca])))

    // 1. Enrol the nodes, 32 at a time (key generation, CSR, one RPC each).
    let enrolStart = ContinuousClock.now
    let identities = NIOLockedValueBox([TLSIdentity]())
    try await withThrowingTaskGroup(of: Void.self) { group in
        for i in 0..<o.nodes {
            if i >= 32 { try await group.next() }
            group.addTask {
                let key = try PrivateKey.generate()
                let csr = try CertificateSigningRequest(key: key, commonName: "bench-\(i)")
                let answer = try await RPCClient.withConnection(to: address, pipeline: anonymous) { connection in
                    try await connection.request(.enrollRequest(EnrollRequest(
                        token: o.token, csrDER: csr.derBytes(), displayName: "Bench \(i)",
                        payoutHandle: "venmo:@bench-node-\(i)", stream: o.stream)))
                }
                guard case .enrollResponse(let response) = answer else { throw RPCError.unexpectedReply(answer.name) }
                let identity = TLSIdentity(chain: [try Certificate(der: response.certificateDER)], key: key)
                identities.withLockedValue { $0.append(identity) }
            }
        }
        try await group.waitForAll()
    }
    let enrolSeconds = seconds(since: enrolStart)

    // 2. Hold one session per node and heartbeat: paced at rate/nodes per node per second,
    //    staggered, or (rate 0) each node's next heartbeat as soon as the last is acked.
    let latencies = LatencyLog()
    let connected = NIOLockedValueBox(0)
    let start = ContinuousClock.now
    let connectDone = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
    let total = o.warmup + o.seconds
    let measureFrom = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
    let nodes = identities.withLockedValue { $0 }
    let interval = o.rate > 0 ? Double(nodes.count) / o.rate : 0
    let gate = ConnectGate(limit: 200)
    // CPU of both processes over the measured window (from `measureFrom` to the end).
    let cpu = NIOLockedValueBox<(load: Double, server: Double)?>(nil)
    let cpuWatch = Task {
        while measureFrom.withLockedValue({ $0 }) == nil { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(until: measureFrom.withLockedValue { $0 }!)
        let (load0, server0) = (cpuSeconds(pid: nil), cpuSeconds(pid: o.serverPID))
        try await Task.sleep(for: .milliseconds(Int64(o.seconds * 1000)))
        let (load1, server1) = (cpuSeconds(pid: nil), cpuSeconds(pid: o.serverPID))
        cpu.withLockedValue { $0 = ((load1 - load0) / o.seconds, (server1 - server0) / o.seconds) }
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (i, identity) in nodes.enumerated() {
            group.addTask {
                let pipeline = RPCPipeline(tls: try TLSContext(.client(identity: identity, trustRoots: [ca])))
                await gate.enter()
                let left = NIOLockedValueBox(false)
                let leave = { @Sendable in if !left.withLockedValue({ let was = $0; $0 = true; return was }) { await gate.leave() } }
                do {
                    try await RPCClient.withConnection(to: address, pipeline: pipeline) { connection in
                        await leave()
                        let all = connected.withLockedValue { $0 += 1; return $0 }
                        if all == nodes.count {
                            let now = ContinuousClock.now
                            connectDone.withLockedValue { $0 = now }
                            measureFrom.withLockedValue { $0 = now + .milliseconds(Int64(o.warmup * 1000)) }
                        }
                        // Wait for every session to be up, so the measured phase holds them all.
                        while connectDone.withLockedValue({ $0 }) == nil { try await Task.sleep(for: .milliseconds(50)) }
                        let begin = connectDone.withLockedValue { $0 }!
                        let end = begin + .milliseconds(Int64(total * 1000))
                        var next = begin + .milliseconds(Int64(interval * 1000 * Double(i) / Double(nodes.count)))
                        var seq: UInt64 = 0
                        while ContinuousClock.now < end {
                            if interval > 0 {
                                if next > ContinuousClock.now { try await Task.sleep(until: next) }
                                next = max(next + .milliseconds(Int64(interval * 1000)), ContinuousClock.now - .milliseconds(Int64(interval * 1000)))
                            }
                            seq += 1
                            let sent = ContinuousClock.now
                            do {
                                _ = try await connection.request(.heartbeat(Heartbeat(
                                    seq: seq, sentUnixMs: UInt64(Date().timeIntervalSince1970 * 1000),
                                    streams: [StreamCounters(stream: o.stream, viewers: UInt32(i % 50), bytesServed: seq * 100_000, lastChunkSeq: seq)],
                                    bufferHealthMs: 4000, viewerPort: 8935, uploadCapBps: 100_000_000, uploadBps: 10_000_000)))
                                if let from = measureFrom.withLockedValue({ $0 }), sent >= from {
                                    latencies.add(UInt32(min(Double(UInt32.max), seconds(since: sent) * 1e6)))
                                }
                            } catch {
                                latencies.fail(error)
                            }
                        }
                    }
                } catch {
                    await leave()
                    latencies.fail(error)
                }
            }
        }
        try await group.waitForAll()
    }
    _ = try? await cpuWatch.value
    let used = cpu.withLockedValue { $0 } ?? (load: 0, server: 0)
    let connectSeconds = connectDone.withLockedValue { $0 }.map { Double(($0 - start).components.seconds) + Double(($0 - start).components.attoseconds) / 1e18 } ?? -1
    let acks = latencies.count
    let errors = latencies.errorSummary
    let errorText = errors.map { "\"\($0.key.replacingOccurrences(of: "\"", with: "'"))\":\($0.value)" }.joined(separator: ",")
    print("""
    {"scenario":"coordinator-heartbeats","nodes":\(nodes.count),"target_rate":\(Int(o.rate)),"seconds":\(o.seconds),\
    "enrol_per_s":\(Int(Double(nodes.count) / enrolSeconds)),"connect_seconds":\(String(format: "%.1f", connectSeconds)),\
    "acks_per_s":\(Int(Double(acks) / o.seconds)),"p50_ms":\(String(format: "%.1f", latencies.percentile(0.5))),\
    "p99_ms":\(String(format: "%.1f", latencies.percentile(0.99))),\
    "load_cpu_cores":\(String(format: "%.2f", used.load)),"server_cpu_cores":\(String(format: "%.2f", used.server)),"errors":{\(errorText)}}
    """)
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// At most `limit` TLS handshakes at once, so 10,000 sessions connect without a SYN storm.
actor ConnectGate {
    let limit: Int
    var inside = 0
    var waiting: [CheckedContinuation<Void, Never>] = []
    init(limit: Int) { self.limit = limit }
    func enter() async {
        if inside < limit { inside += 1; return }
        await withCheckedContinuation { waiting.append($0) }
    }
    func leave() {
        if waiting.isEmpty { inside -= 1 } else { waiting.removeFirst().resume() }
    }
}

/// utime + stime of `pid` (nil: this process) in seconds, from /proc (0 when unreadable).
func cpuSeconds(pid: Int32?) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid.map(String.init) ?? "self")/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After the command: state is field 3, utime 14 and stime 15 (1-based, /proc/PID/stat).
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}
