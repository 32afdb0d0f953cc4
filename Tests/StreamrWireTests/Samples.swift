import StreamrWire

/// One envelope of every body kind, with non-default values in every field.
enum Samples {
    static let all: [Envelope] = [
        Envelope(id: 1, .hello(Hello(software: "streamr-node/0.1.0", role: .node, nodeID: "n-42"))),
        Envelope(replyTo: 1, .error(ErrorMessage(.replayed, "heartbeat 7 is older than 9"))),
        Envelope(id: 2, .enrollRequest(EnrollRequest(token: "tok", csrDER: [0x30, 0x82, 0, 1, 0xff], displayName: "Ana ✓",
                                                     payoutHandle: "venmo:@ana", stream: "main"))),
        Envelope(replyTo: 2, .enrollResponse(EnrollResponse(nodeID: "n-42", certificateDER: [1, 2, 3], caCertificateDER: [4, 5],
                                                            settings: NodeSettings(heartbeatIntervalMs: 5000,
                                                                                   ingestAddress: "host:7444", streams: ["a", "b"])))),
        Envelope(replyTo: 3, .enrollResponse(EnrollResponse(nodeID: "n-43", certificateDER: [], caCertificateDER: [], settings: nil))),
        Envelope(id: 4, .heartbeat(Heartbeat(seq: 9, sentUnixMs: 1_764_000_000_000, streams: [
            StreamCounters(stream: "main", viewers: 12, bytesServed: 1 << 40, lastChunkSeq: 77),
            StreamCounters(stream: "alt", viewers: 0, bytesServed: 0, lastChunkSeq: 0),
        ], bufferHealthMs: 4000, viewerPort: 8935, viewerURL: "http://203.0.113.5:8935",
           uploadCapBps: 50_000_000, uploadBps: 12_000_000))),
        Envelope(replyTo: 4, .heartbeatAck(HeartbeatAck(seq: 9, settings: NodeSettings(heartbeatIntervalMs: 2000, ingestAddress: "", streams: [])))),
        Envelope(id: 5, .subscribe(Subscribe(stream: "main", resumeAfterChunk: 76))),
        Envelope(replyTo: 5, .subscribeAck(SubscribeAck(stream: "main", firstChunk: 77, resumed: true))),
        Envelope(.media(MediaData(stream: "main", chunkSeq: 77, kind: .sequenceHeaders, timestampMs: 16_777_215,
                                  tags: Array(repeating: 0xab, count: 4096)))),
        Envelope(.media(MediaData(stream: "main", chunkSeq: 78, kind: .endOfStream, timestampMs: 0, tags: []))),
        Envelope(.chunkSealed(ChunkSealed(stream: "main", seq: 77, firstTimestampMs: 1, lastTimestampMs: 2001, size: 1_000_000,
                                          sha256: Array(0..<32), chain: Array(32..<64), signature: Array(0..<72)))),
        Envelope(id: 6, .spotCheckReport(SpotCheckReport(nodeID: "n-42", stream: "main", chunkSeq: 70, passed: false,
                                                         reason: "digest mismatch", latencyMs: 35, throughputBps: 8_000_000,
                                                         checkedUnixMs: 1_764_000_000_123))),
        Envelope(id: 9, .spotCheckReport(SpotCheckReport(nodeID: "node-0123456789ab", stream: "main", chunkSeq: 71, passed: false,
                                                         reason: "bytes_differ", latencyMs: 12, throughputBps: 9_000_000,
                                                         checkedUnixMs: 1_764_000_000_456, reportID: 1_764_000_000_456_001,
                                                         kind: "range", chainID: 0xfeed_beef_0000_0001, bytes: 49_152,
                                                         verdict: "altered", viaWatch: true))),
        Envelope(id: 7, .statusRequest),
        Envelope(replyTo: 7, .status(Status(software: "streamr-coordinator/0.1.0", role: .coordinator, uptimeSeconds: 3600,
                                            items: [StatusItem("nodes online", "3"), StatusItem("live streams", "1")]))),
        Envelope(id: 8, .adminRequest(AdminRequest(command: ["stream", "create"],
                                                   arguments: [AdminArgument("name", "main"), AdminArgument("pool", "1000.00")]))),
        Envelope(replyTo: 8, .adminResponse(AdminResponse(columns: ["name", "state"], rows: [["main", "live"], ["alt", ""]],
                                                          message: "2 streams"))),
    ]
}
