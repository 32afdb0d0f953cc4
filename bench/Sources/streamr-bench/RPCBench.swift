// rpc: the RPC transport alone (TLS, framing, protobuf-c), client and server in one process.
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import StreamrRPC
import StreamrTLS
import StreamrWire

struct Options {
    var payload = "heartbeat"
    var seconds = 5.0
    var connections = 4
    var inflight = 32
    var tls = true

    init(_ args: [String]) {
        var i = 0
        while i < args.count {
            let value = i + 1 < args.count ? args[i + 1] : ""
            switch args[i] {
            case "--payload": payload = value; i += 1
            case "--seconds": seconds = Double(value) ?? seconds; i += 1
            case "--connections": connections = Int(value) ?? connections; i += 1
            case "--inflight": inflight = Int(value) ?? inflight; i += 1
            case "--plain": tls = false
            case "rpc": break
            default: FileHandle.standardError.write(Data("unknown argument \(args[i])\n".utf8)); exit(64)
            }
            i += 1
        }
    }
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func runRPC(_ options: Options) async throws {
    let ca = try CertificateAuthority.create()
    let serverKey = try PrivateKey.generate()
    let serverCert = try ca.issueServerCertificate(key: serverKey, commonName: "bench", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
    let clientKey = try PrivateKey.generate()
    let clientCert = try ca.issueClientCertificate(for: try CertificateSigningRequest(key: clientKey, commonName: "n"), nodeID: "bench-node")
    let serverPipeline = RPCPipeline(tls: options.tls ? try TLSContext(.server(identity: TLSIdentity(chain: [serverCert, ca.certificate], key: serverKey),
                                                                               trustRoots: [ca.certificate])) : nil)
    let clientPipeline = RPCPipeline(tls: options.tls ? try TLSContext(.client(identity: TLSIdentity(chain: [clientCert], key: clientKey),
                                                                               trustRoots: [ca.certificate])) : nil)

    let received = NIOLockedValueBox<(count: Int, bytes: Int)>((0, 0))
    let handler: RPCConnection.Handler = { envelope, _ in
        switch envelope.body {
        case .heartbeat(let hb):
            received.withLockedValue { $0.count += 1; $0.bytes += ProtoCodec.encodedSize(envelope) }
            return .heartbeatAck(HeartbeatAck(seq: hb.seq))
        case .media(let m):
            received.withLockedValue { $0.count += 1; $0.bytes += m.tags.readableBytes }
            return nil
        default:
            return nil
        }
    }

    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    let server = try await RPCServer.bind(.tcp(host: "127.0.0.1", port: 0), pipeline: serverPipeline, logger: logger)
    let port = server.localAddress!.port!
    let media = MediaData(stream: "bench", chunkSeq: 1, tags: [UInt8](repeating: 0x42, count: 64 * 1024))
    let deadline = ContinuousClock.now + .milliseconds(Int64(options.seconds * 1000))

    let serverTask = Task { try await server.run(handler: handler) }
    // In-flight bytes (pushed by clients, not yet handled by the server), sampled: shows
    // that backpressure bounds what the transport buffers.
    let pushed = NIOLockedValueBox(0)
    let maxInFlight = NIOLockedValueBox(0)
    let sampler = Task {
        while !Task.isCancelled {
            let inFlight = pushed.withLockedValue { $0 } - received.withLockedValue { $0.bytes }
            maxInFlight.withLockedValue { $0 = max($0, inFlight) }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
    let cpuStart = cpuSeconds()
    let wallStart = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for c in 0..<options.connections {
            group.addTask {
                try await RPCClient.withConnection(to: .tcp(host: "127.0.0.1", port: port), pipeline: clientPipeline) { connection in
                    if options.payload == "media" {
                        while ContinuousClock.now < deadline {
                            try await connection.push(contentsOf: Array(repeating: .media(media), count: 16))
                            pushed.withLockedValue { $0 += 16 * media.tags.readableBytes }
                        }
                    } else {
                        try await withThrowingTaskGroup(of: Void.self) { inner in
                            for lane in 0..<options.inflight {
                                inner.addTask {
                                    var seq = UInt64(lane)
                                    while ContinuousClock.now < deadline {
                                        seq += UInt64(options.inflight)
                                        _ = try await connection.request(.heartbeat(Heartbeat(
                                            seq: seq, sentUnixMs: 1_764_000_000_000,
                                            streams: [StreamCounters(stream: "main", viewers: UInt32(c), bytesServed: seq * 1000, lastChunkSeq: seq)],
                                            bufferHealthMs: 4000)))
                                    }
                                }
                            }
                            try await inner.waitForAll()
                        }
                    }
                }
            }
        }
        try await group.waitForAll()
    }
    let wall = Double((ContinuousClock.now - wallStart).components.attoseconds) / 1e18 + Double((ContinuousClock.now - wallStart).components.seconds)
    // Let the server drain what is in flight before counting.
    try await Task.sleep(for: .milliseconds(200))
    let cpu = cpuSeconds() - cpuStart
    serverTask.cancel()
    sampler.cancel()
    let (count, bytes) = received.withLockedValue { $0 }
    let json = """
    {"scenario":"rpc-\(options.payload)","tls":\(options.tls),"connections":\(options.connections),"seconds":\(String(format: "%.2f", wall)),\
    "envelopes_per_s":\(Int(Double(count) / wall)),"mb_per_s":\(String(format: "%.1f", Double(bytes) / wall / 1e6)),\
    "cpu_seconds":\(String(format: "%.2f", cpu)),"max_in_flight_mb":\(String(format: "%.1f", Double(maxInFlight.withLockedValue { $0 }) / 1e6)),"cpu_s_per_gb":\(bytes > 0 ? String(format: "%.2f", cpu / (Double(bytes) / 1e9)) : "null")}
    """
    print(json)
}
