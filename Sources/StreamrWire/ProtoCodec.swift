import CProtobufC
import CStreamrProto

/// Why bytes did not decode into an `Envelope`.
public enum WireDecodingError: Error, Equatable, CustomStringConvertible {
    /// protobuf-c rejected the bytes (bad varint, wrong wire type, truncated...).
    case malformed(byteCount: Int)
    /// The envelope decoded but carries no body this build knows.
    case unknownBody(fieldNumber: Int)
    /// A required nested message was absent.
    case missingField(String)

    public var description: String {
        switch self {
        case .malformed(let n): "malformed envelope (\(n) bytes)"
        case .unknownBody(let f): f == 0 ? "envelope has no body" : "unknown envelope body field \(f)"
        case .missingField(let f): "missing field \(f)"
        }
    }
}

/// Converts `Envelope`s to and from protobuf-c's wire encoding. The only place
/// where Streamr's Swift code touches the generated C structs.
public enum ProtoCodec {
    /// The encoded size, computed without encoding (used to enforce frame limits before packing).
    public static func encodedSize(_ envelope: Envelope) -> Int {
        let arena = CArena()
        let message = makeEnvelope(envelope, arena)
        return streamr__envelope__get_packed_size(message)
    }

    /// Encodes `envelope`, calling `body` with its size and a writer that packs into a buffer of that size.
    /// Lets a caller check the size against a limit and reserve room before any bytes are produced.
    public static func encode<R>(_ envelope: Envelope, _ body: (Int, (UnsafeMutableRawBufferPointer) -> Void) throws -> R) rethrows -> R {
        let arena = CArena()
        let message = makeEnvelope(envelope, arena)
        let size = streamr__envelope__get_packed_size(message)
        return try body(size) { buffer in
            precondition(buffer.count >= size, "encode buffer too small")
            let written = streamr__envelope__pack(message, buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
            precondition(written == size, "protobuf-c packed \(written) bytes, expected \(size)")
        }
    }

    public static func encode(_ envelope: Envelope) -> [UInt8] {
        encode(envelope) { size, pack in
            [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                pack(UnsafeMutableRawBufferPointer(buffer))
                count = size
            }
        }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(WireDecodingError) -> Envelope {
        var empty: UInt8 = 0 // protobuf-c wants a non-null pointer even for zero bytes
        let message = withUnsafePointer(to: &empty) { emptyPointer in
            streamr__envelope__unpack(nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer)
        }
        guard let message else { throw .malformed(byteCount: bytes.count) }
        defer { streamr__envelope__free_unpacked(message, nil) }
        return try readEnvelope(message)
    }

    public static func decode(_ bytes: [UInt8]) throws(WireDecodingError) -> Envelope {
        do {
            return try bytes.withUnsafeBytes { raw in try decode(raw) }
        } catch let error as WireDecodingError {
            throw error
        } catch {
            throw .malformed(byteCount: bytes.count)
        }
    }
}

// MARK: - Swift -> C

extension ProtoCodec {
    fileprivate static func makeEnvelope(_ e: Envelope, _ a: CArena) -> UnsafeMutablePointer<Streamr__Envelope> {
        let m = a.message(Streamr__Envelope.self) { streamr__envelope__init($0) }
        m.pointee.id = e.id
        m.pointee.reply_to = e.replyTo
        switch e.body {
        case .hello(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_HELLO
            let c = a.message(Streamr__Hello.self) { streamr__hello__init($0) }
            c.pointee.protocol_version = v.protocolVersion
            c.pointee.software = a.string(v.software)
            c.pointee.role = Streamr__Role(rawValue: numericCast(v.role.rawValue))
            c.pointee.node_id = a.string(v.nodeID)
            m.pointee.hello = c
        case .error(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_ERROR
            let c = a.message(Streamr__Error.self) { streamr__error__init($0) }
            c.pointee.code = Streamr__ErrorCode(rawValue: numericCast(v.code.rawValue))
            c.pointee.message = a.string(v.message)
            m.pointee.error = c
        case .enrollRequest(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_ENROLL_REQUEST
            let c = a.message(Streamr__EnrollRequest.self) { streamr__enroll_request__init($0) }
            c.pointee.token = a.string(v.token)
            c.pointee.csr_der = a.bytes(v.csrDER)
            c.pointee.display_name = a.string(v.displayName)
            c.pointee.payout_handle = a.string(v.payoutHandle)
            c.pointee.stream = a.string(v.stream)
            m.pointee.enroll_request = c
        case .enrollResponse(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_ENROLL_RESPONSE
            let c = a.message(Streamr__EnrollResponse.self) { streamr__enroll_response__init($0) }
            c.pointee.node_id = a.string(v.nodeID)
            c.pointee.certificate_der = a.bytes(v.certificateDER)
            c.pointee.ca_certificate_der = a.bytes(v.caCertificateDER)
            c.pointee.settings = v.settings.map { makeSettings($0, a) }
            m.pointee.enroll_response = c
        case .heartbeat(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_HEARTBEAT
            let c = a.message(Streamr__Heartbeat.self) { streamr__heartbeat__init($0) }
            c.pointee.seq = v.seq
            c.pointee.sent_unix_ms = v.sentUnixMs
            c.pointee.buffer_health_ms = v.bufferHealthMs
            c.pointee.viewer_port = v.viewerPort
            c.pointee.viewer_url = a.string(v.viewerURL)
            c.pointee.upload_cap_bps = v.uploadCapBps
            c.pointee.upload_bps = v.uploadBps
            c.pointee.paused = v.paused ? 1 : 0
            c.pointee.paused_until_unix_ms = v.pausedUntilUnixMs
            c.pointee.machine_id_sha256 = a.bytes(v.machineIDSHA256)
            c.pointee.n_streams = v.streams.count
            c.pointee.streams = a.array(v.streams) { s in
                let sc = a.message(Streamr__StreamCounters.self) { streamr__stream_counters__init($0) }
                sc.pointee.stream = a.string(s.stream)
                sc.pointee.viewers = s.viewers
                sc.pointee.bytes_served = s.bytesServed
                sc.pointee.last_chunk_seq = s.lastChunkSeq
                return sc
            }
            m.pointee.heartbeat = c
        case .heartbeatAck(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_HEARTBEAT_ACK
            let c = a.message(Streamr__HeartbeatAck.self) { streamr__heartbeat_ack__init($0) }
            c.pointee.seq = v.seq
            c.pointee.settings = v.settings.map { makeSettings($0, a) }
            m.pointee.heartbeat_ack = c
        case .subscribe(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_SUBSCRIBE
            let c = a.message(Streamr__Subscribe.self) { streamr__subscribe__init($0) }
            c.pointee.stream = a.string(v.stream)
            c.pointee.resume_after_chunk = v.resumeAfterChunk
            c.pointee.chain_id = v.chainID
            m.pointee.subscribe = c
        case .subscribeAck(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_SUBSCRIBE_ACK
            let c = a.message(Streamr__SubscribeAck.self) { streamr__subscribe_ack__init($0) }
            c.pointee.stream = a.string(v.stream)
            c.pointee.first_chunk = v.firstChunk
            c.pointee.resumed = v.resumed ? 1 : 0
            c.pointee.chain_id = v.chainID
            m.pointee.subscribe_ack = c
        case .media(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_MEDIA
            let c = a.message(Streamr__MediaData.self) { streamr__media_data__init($0) }
            c.pointee.stream = a.string(v.stream)
            c.pointee.chunk_seq = v.chunkSeq
            c.pointee.kind = Streamr__MediaKind(rawValue: numericCast(v.kind.rawValue))
            c.pointee.timestamp_ms = v.timestampMs
            c.pointee.tags = a.bytes(v.tags)
            m.pointee.media = c
        case .chunkSealed(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_CHUNK_SEALED
            let c = a.message(Streamr__ChunkSealed.self) { streamr__chunk_sealed__init($0) }
            c.pointee.stream = a.string(v.stream)
            c.pointee.seq = v.seq
            c.pointee.first_timestamp_ms = v.firstTimestampMs
            c.pointee.last_timestamp_ms = v.lastTimestampMs
            c.pointee.size = v.size
            c.pointee.sha256 = a.bytes(v.sha256)
            c.pointee.chain = a.bytes(v.chain)
            c.pointee.signature = a.bytes(v.signature)
            c.pointee.chain_id = v.chainID
            c.pointee.sealed_unix_ms = v.sealedUnixMs
            m.pointee.chunk_sealed = c
        case .spotCheckReport(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_SPOT_CHECK_REPORT
            let c = a.message(Streamr__SpotCheckReport.self) { streamr__spot_check_report__init($0) }
            c.pointee.node_id = a.string(v.nodeID)
            c.pointee.stream = a.string(v.stream)
            c.pointee.chunk_seq = v.chunkSeq
            c.pointee.passed = v.passed ? 1 : 0
            c.pointee.reason = a.string(v.reason)
            c.pointee.latency_ms = v.latencyMs
            c.pointee.throughput_bps = v.throughputBps
            c.pointee.checked_unix_ms = v.checkedUnixMs
            c.pointee.report_id = v.reportID
            c.pointee.kind = a.string(v.kind)
            c.pointee.chain_id = v.chainID
            c.pointee.bytes = v.bytes
            c.pointee.verdict = a.string(v.verdict)
            c.pointee.via_watch = v.viaWatch ? 1 : 0
            m.pointee.spot_check_report = c
        case .statusRequest:
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_STATUS_REQUEST
            m.pointee.status_request = a.message(Streamr__StatusRequest.self) { streamr__status_request__init($0) }
        case .status(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_STATUS
            let c = a.message(Streamr__Status.self) { streamr__status__init($0) }
            c.pointee.software = a.string(v.software)
            c.pointee.role = Streamr__Role(rawValue: numericCast(v.role.rawValue))
            c.pointee.uptime_seconds = v.uptimeSeconds
            c.pointee.n_items = v.items.count
            c.pointee.items = a.array(v.items) { item in
                let ci = a.message(Streamr__StatusItem.self) { streamr__status_item__init($0) }
                ci.pointee.key = a.string(item.key)
                ci.pointee.value = a.string(item.value)
                ci.pointee.type = Streamr__ValueType(rawValue: numericCast(item.type.rawValue))
                return ci
            }
            m.pointee.status = c
        case .adminRequest(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_ADMIN_REQUEST
            let c = a.message(Streamr__AdminRequest.self) { streamr__admin_request__init($0) }
            c.pointee.n_command = v.command.count
            c.pointee.command = a.array(v.command) { a.string($0) }
            c.pointee.n_arguments = v.arguments.count
            c.pointee.arguments = a.array(v.arguments) { arg in
                let ca = a.message(Streamr__AdminArgument.self) { streamr__admin_argument__init($0) }
                ca.pointee.name = a.string(arg.name)
                ca.pointee.value = a.string(arg.value)
                return ca
            }
            m.pointee.admin_request = c
        case .adminResponse(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_ADMIN_RESPONSE
            let c = a.message(Streamr__AdminResponse.self) { streamr__admin_response__init($0) }
            c.pointee.n_columns = v.columns.count
            c.pointee.columns = a.array(v.columns) { a.string($0) }
            c.pointee.n_rows = v.rows.count
            c.pointee.rows = a.array(v.rows) { row in
                let cr = a.message(Streamr__AdminRow.self) { streamr__admin_row__init($0) }
                cr.pointee.n_cells = row.count
                cr.pointee.cells = a.array(row) { a.string($0) }
                return cr
            }
            c.pointee.message = a.string(v.message)
            c.pointee.n_types = v.types.count
            c.pointee.types = a.values(v.types.map { Streamr__ValueType(rawValue: numericCast($0.rawValue)) })
            m.pointee.admin_response = c
        case .enrollConfirm(let v):
            m.pointee.body_case = STREAMR__ENVELOPE__BODY_ENROLL_CONFIRM
            let c = a.message(Streamr__EnrollConfirm.self) { streamr__enroll_confirm__init($0) }
            c.pointee.node_id = a.string(v.nodeID)
            c.pointee.abandon = v.abandon ? 1 : 0
            c.pointee.reason = a.string(v.reason)
            m.pointee.enroll_confirm = c
        }
        return m
    }

    private static func makeSettings(_ v: NodeSettings, _ a: CArena) -> UnsafeMutablePointer<Streamr__NodeSettings> {
        let c = a.message(Streamr__NodeSettings.self) { streamr__node_settings__init($0) }
        c.pointee.heartbeat_interval_ms = v.heartbeatIntervalMs
        c.pointee.ingest_address = a.string(v.ingestAddress)
        c.pointee.n_streams = v.streams.count
        c.pointee.streams = a.array(v.streams) { a.string($0) }
        c.pointee.signing_key_der = a.bytes(v.signingKeyDER)
        return c
    }
}
