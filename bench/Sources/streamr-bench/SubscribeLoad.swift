// subscribe: N node subscriptions to a live stream at a running streamr-ingest (mTLS), counting
// the media bytes received; the ingest's CPU is measured from outside (bench/rtmp/subscribe.sh).
import Foundation
import NIOConcurrencyHelpers
import StreamrRPC
import StreamrTLS
import StreamrWire

struct SubscribeLoadOptions {
    var host = "127.0.0.1"
    var port = 7444
    var caPath = "", certPath = "", keyPath = ""
    var stream = "bench"
    var subscribers = 100
    var seconds = 30.0

    init(_ args: [String]) {
        var i = 0
        while i < args.count {
            let value = i + 1 < args.count ? args[i + 1] : ""
            switch args[i] {
            case "--host": host = value
            case "--port": port = Int(value) ?? port
            case "--ca": caPath = value
            case "--cert": certPath = value
            case "--key": keyPath = value
            case "--stream": stream = value
            case "--subscribers": subscribers = Int(value) ?? subscribers
            case "--seconds": seconds = Double(value) ?? seconds
            default: FileHandle.standardError.write(Data("unknown argument \(args[i])\n".utf8)); exit(64)
            }
            i += 2
        }
    }
}

func runSubscribeLoad(_ o: SubscribeLoadOptions) async throws {
    let read = { (path: String) in try String(contentsOfFile: path, encoding: .utf8) }
    let identity = TLSIdentity(chain: try Certificate.all(pem: read(o.certPath)), key: try PrivateKey(pem: read(o.keyPath)))
    let tls = try TLSContext(.client(identity: identity, trustRoots: [try Certificate(pem: read(o.caPath))]))
    let bytes = NIOLockedValueBox(0)
    let sealed = NIOLockedValueBox(0)
    let subscribed = NIOLockedValueBox(0)
    let handler: RPCConnection.Handler = { envelope, _ in
        switch envelope.body {
        case .media(let media): bytes.withLockedValue { $0 += media.tags.readableBytes }
        case .chunkSealed: sealed.withLockedValue { $0 += 1 }
        default: break
        }
        return nil
    }
    let end = ContinuousClock.now + .milliseconds(Int64(o.seconds * 1000))
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<o.subscribers {
            group.addTask {
                try await RPCClient.withConnection(to: .tcp(host: o.host, port: o.port), pipeline: RPCPipeline(tls: tls), handler: handler) { c in
                    _ = try await c.request(.subscribe(Subscribe(stream: o.stream)))
                    subscribed.withLockedValue { $0 += 1 }
                    try await Task.sleep(until: end)
                }
            }
        }
        try await group.waitForAll()
    }
    print("""
    {"scenario":"subscribe","subscribers":\(subscribed.withLockedValue { $0 }),"seconds":\(o.seconds),\
    "media_mbit_s":\(String(format: "%.1f", Double(bytes.withLockedValue { $0 }) * 8 / 1e6 / o.seconds)),"chunks_sealed_seen":\(sealed.withLockedValue { $0 })}
    """)
}
