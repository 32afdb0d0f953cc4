import CProtobufC
import CStreamrProto
import NIOCore

// MARK: - C -> Swift (values are copied out before protobuf-c frees the tree)

extension ProtoCodec {
    static func readEnvelope(_ m: UnsafeMutablePointer<Streamr__Envelope>) throws(WireDecodingError) -> Envelope {
        let e = m.pointee
        let body: Envelope.Body
        switch e.body_case {
        case STREAMR__ENVELOPE__BODY_HELLO:
            let c = try required(e.hello, "hello").pointee
            body = .hello(Hello(protocolVersion: c.protocol_version, software: String(protobufC: c.software),
                                role: Role(rawValue: Int32(truncatingIfNeeded: c.role.rawValue)) ?? .unspecified,
                                nodeID: String(protobufC: c.node_id)))
        case STREAMR__ENVELOPE__BODY_ERROR:
            let c = try required(e.error, "error").pointee
            body = .error(ErrorMessage(ErrorCode(rawValue: Int32(truncatingIfNeeded: c.code.rawValue)) ?? .unspecified,
                                       String(protobufC: c.message)))
        case STREAMR__ENVELOPE__BODY_ENROLL_REQUEST:
            let c = try required(e.enroll_request, "enroll_request").pointee
            body = .enrollRequest(EnrollRequest(token: String(protobufC: c.token), csrDER: [UInt8](protobufC: c.csr_der),
                                                displayName: String(protobufC: c.display_name),
                                                payoutHandle: String(protobufC: c.payout_handle),
                                                stream: String(protobufC: c.stream)))
        case STREAMR__ENVELOPE__BODY_ENROLL_RESPONSE:
            let c = try required(e.enroll_response, "enroll_response").pointee
            body = .enrollResponse(EnrollResponse(nodeID: String(protobufC: c.node_id),
                                                  certificateDER: [UInt8](protobufC: c.certificate_der),
                                                  caCertificateDER: [UInt8](protobufC: c.ca_certificate_der),
                                                  settings: c.settings.map { readSettings($0) }))
        case STREAMR__ENVELOPE__BODY_HEARTBEAT:
            let c = try required(e.heartbeat, "heartbeat").pointee
            let streams = list(c.streams, c.n_streams).map { s in
                StreamCounters(stream: String(protobufC: s.pointee.stream), viewers: s.pointee.viewers,
                               bytesServed: s.pointee.bytes_served, lastChunkSeq: s.pointee.last_chunk_seq)
            }
            body = .heartbeat(Heartbeat(seq: c.seq, sentUnixMs: c.sent_unix_ms, streams: streams,
                                        bufferHealthMs: c.buffer_health_ms, viewerPort: c.viewer_port,
                                        viewerURL: String(protobufC: c.viewer_url), uploadCapBps: c.upload_cap_bps,
                                        uploadBps: c.upload_bps, paused: c.paused != 0,
                                        pausedUntilUnixMs: c.paused_until_unix_ms,
                                        machineIDSHA256: [UInt8](protobufC: c.machine_id_sha256)))
        case STREAMR__ENVELOPE__BODY_HEARTBEAT_ACK:
            let c = try required(e.heartbeat_ack, "heartbeat_ack").pointee
            body = .heartbeatAck(HeartbeatAck(seq: c.seq, settings: c.settings.map { readSettings($0) }))
        case STREAMR__ENVELOPE__BODY_SUBSCRIBE:
            let c = try required(e.subscribe, "subscribe").pointee
            body = .subscribe(Subscribe(stream: String(protobufC: c.stream), resumeAfterChunk: c.resume_after_chunk,
                                        chainID: c.chain_id))
        case STREAMR__ENVELOPE__BODY_SUBSCRIBE_ACK:
            let c = try required(e.subscribe_ack, "subscribe_ack").pointee
            body = .subscribeAck(SubscribeAck(stream: String(protobufC: c.stream), firstChunk: c.first_chunk,
                                              resumed: c.resumed != 0, chainID: c.chain_id))
        case STREAMR__ENVELOPE__BODY_MEDIA:
            let c = try required(e.media, "media").pointee
            body = .media(MediaData(stream: String(protobufC: c.stream), chunkSeq: c.chunk_seq,
                                    kind: MediaKind(rawValue: Int32(truncatingIfNeeded: c.kind.rawValue)) ?? .tags,
                                    timestampMs: c.timestamp_ms, tags: ByteBuffer(protobufC: c.tags)))
        case STREAMR__ENVELOPE__BODY_CHUNK_SEALED:
            let c = try required(e.chunk_sealed, "chunk_sealed").pointee
            body = .chunkSealed(ChunkSealed(stream: String(protobufC: c.stream), seq: c.seq,
                                            firstTimestampMs: c.first_timestamp_ms, lastTimestampMs: c.last_timestamp_ms,
                                            size: c.size, sha256: [UInt8](protobufC: c.sha256),
                                            chain: [UInt8](protobufC: c.chain), signature: [UInt8](protobufC: c.signature),
                                            chainID: c.chain_id, sealedUnixMs: c.sealed_unix_ms))
        case STREAMR__ENVELOPE__BODY_SPOT_CHECK_REPORT:
            let c = try required(e.spot_check_report, "spot_check_report").pointee
            body = .spotCheckReport(SpotCheckReport(nodeID: String(protobufC: c.node_id), stream: String(protobufC: c.stream),
                                                    chunkSeq: c.chunk_seq, passed: c.passed != 0,
                                                    reason: String(protobufC: c.reason), latencyMs: c.latency_ms,
                                                    throughputBps: c.throughput_bps, checkedUnixMs: c.checked_unix_ms,
                                                    reportID: c.report_id, kind: String(protobufC: c.kind), chainID: c.chain_id,
                                                    bytes: c.bytes, verdict: String(protobufC: c.verdict), viaWatch: c.via_watch != 0))
        case STREAMR__ENVELOPE__BODY_STATUS_REQUEST:
            body = .statusRequest
        case STREAMR__ENVELOPE__BODY_STATUS:
            let c = try required(e.status, "status").pointee
            let items = list(c.items, c.n_items).map {
                StatusItem(String(protobufC: $0.pointee.key), String(protobufC: $0.pointee.value),
                           type: ValueType(rawValue: Int32(truncatingIfNeeded: $0.pointee.type.rawValue)) ?? .text)
            }
            body = .status(Status(software: String(protobufC: c.software),
                                  role: Role(rawValue: Int32(truncatingIfNeeded: c.role.rawValue)) ?? .unspecified,
                                  uptimeSeconds: c.uptime_seconds, items: items))
        case STREAMR__ENVELOPE__BODY_ADMIN_REQUEST:
            let c = try required(e.admin_request, "admin_request").pointee
            let command = list(c.command, c.n_command).map { String(cString: $0) }
            let arguments = list(c.arguments, c.n_arguments).map {
                AdminArgument(String(protobufC: $0.pointee.name), String(protobufC: $0.pointee.value))
            }
            body = .adminRequest(AdminRequest(command: command, arguments: arguments))
        case STREAMR__ENVELOPE__BODY_ADMIN_RESPONSE:
            let c = try required(e.admin_response, "admin_response").pointee
            let columns = list(c.columns, c.n_columns).map { String(cString: $0) }
            let rows = list(c.rows, c.n_rows).map { row in
                list(row.pointee.cells, row.pointee.n_cells).map { String(cString: $0) }
            }
            let types = c.n_types > 0 && c.types != nil
                ? UnsafeBufferPointer(start: c.types, count: c.n_types).map { ValueType(rawValue: Int32(truncatingIfNeeded: $0.rawValue)) ?? .text }
                : []
            body = .adminResponse(AdminResponse(columns: columns, rows: rows, message: String(protobufC: c.message), types: types))
        case STREAMR__ENVELOPE__BODY_ENROLL_CONFIRM:
            let c = try required(e.enroll_confirm, "enroll_confirm").pointee
            body = .enrollConfirm(EnrollConfirm(nodeID: String(protobufC: c.node_id), abandon: c.abandon != 0,
                                                reason: String(protobufC: c.reason)))
        default:
            throw .unknownBody(fieldNumber: Int(e.body_case.rawValue))
        }
        return Envelope(id: e.id, replyTo: e.reply_to, body)
    }

    private static func required<T>(_ p: UnsafeMutablePointer<T>?, _ name: String) throws(WireDecodingError) -> UnsafeMutablePointer<T> {
        guard let p else { throw .missingField(name) }
        return p
    }

    /// The non-null elements of a protobuf-c repeated field.
    private static func list<P>(_ base: UnsafeMutablePointer<UnsafeMutablePointer<P>?>?, _ count: Int) -> [UnsafeMutablePointer<P>] {
        guard let base, count > 0 else { return [] }
        return UnsafeBufferPointer(start: base, count: count).compactMap { $0 }
    }

    private static func readSettings(_ p: UnsafeMutablePointer<Streamr__NodeSettings>) -> NodeSettings {
        let c = p.pointee
        return NodeSettings(heartbeatIntervalMs: c.heartbeat_interval_ms, ingestAddress: String(protobufC: c.ingest_address),
                            streams: list(c.streams, c.n_streams).map { String(cString: $0) },
                            signingKeyDER: [UInt8](protobufC: c.signing_key_der))
    }
}
