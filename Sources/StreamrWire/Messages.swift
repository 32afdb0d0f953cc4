import NIOCore

// Swift value types for every message in proto/streamr.proto. They carry no C
// pointers; ProtoCodec.swift converts them to and from protobuf-c structs.

/// One frame on a Streamr connection.
public struct Envelope: Sendable, Equatable {
    /// Request id (> 0) when an answer is expected; 0 for pushes and answers.
    public var id: UInt64
    /// The id of the request this envelope answers; 0 otherwise.
    public var replyTo: UInt64
    public var body: Body

    public init(id: UInt64 = 0, replyTo: UInt64 = 0, _ body: Body) {
        self.id = id
        self.replyTo = replyTo
        self.body = body
    }

    public enum Body: Sendable, Equatable {
        case hello(Hello)
        case error(ErrorMessage)
        case enrollRequest(EnrollRequest)
        case enrollResponse(EnrollResponse)
        case heartbeat(Heartbeat)
        case heartbeatAck(HeartbeatAck)
        case subscribe(Subscribe)
        case subscribeAck(SubscribeAck)
        case media(MediaData)
        case chunkSealed(ChunkSealed)
        case spotCheckReport(SpotCheckReport)
        case statusRequest
        case status(Status)
        case adminRequest(AdminRequest)
        case adminResponse(AdminResponse)
        case enrollConfirm(EnrollConfirm)

        /// A stable name for logs and errors.
        public var name: String {
            switch self {
            case .hello: "hello"
            case .error: "error"
            case .enrollRequest: "enroll_request"
            case .enrollResponse: "enroll_response"
            case .heartbeat: "heartbeat"
            case .heartbeatAck: "heartbeat_ack"
            case .subscribe: "subscribe"
            case .subscribeAck: "subscribe_ack"
            case .media: "media"
            case .chunkSealed: "chunk_sealed"
            case .spotCheckReport: "spot_check_report"
            case .statusRequest: "status_request"
            case .status: "status"
            case .adminRequest: "admin_request"
            case .adminResponse: "admin_response"
            case .enrollConfirm: "enroll_confirm"
            }
        }
    }
}

public enum Role: Int32, Sendable, CaseIterable {
    case unspecified = 0, ingest, coordinator, validator, node, ctl
}

public enum ErrorCode: Int32, Sendable, CaseIterable {
    case unspecified = 0
    case malformed, tooLarge, unsupported, unauthenticated, permissionDenied
    case notFound, alreadyExists, invalidArgument, failedPrecondition, unavailable, internalError, replayed
}

public enum MediaKind: Int32, Sendable, CaseIterable {
    case tags = 0, sequenceHeaders, lagged, endOfStream
}

/// How `--json` renders a cell or status value (the text is always there, for tables).
public enum ValueType: Int32, Sendable, CaseIterable {
    case text = 0, integer, boolean, timestamp, number, null
}

public struct Hello: Sendable, Equatable {
    public static let protocolVersion: UInt32 = 1
    public var protocolVersion: UInt32
    public var software: String
    public var role: Role
    public var nodeID: String
    public init(protocolVersion: UInt32 = Hello.protocolVersion, software: String, role: Role, nodeID: String = "") {
        self.protocolVersion = protocolVersion; self.software = software; self.role = role; self.nodeID = nodeID
    }
}

/// The wire's Error message (named so to stay clear of Swift's `Error`).
public struct ErrorMessage: Sendable, Equatable, Error, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public init(_ code: ErrorCode, _ message: String) { self.code = code; self.message = message }
    public var description: String { "\(code): \(message)" }
}

public struct EnrollRequest: Sendable, Equatable {
    public var token: String
    public var csrDER: [UInt8]
    public var displayName: String
    public var payoutHandle: String
    public var stream: String
    public init(token: String, csrDER: [UInt8], displayName: String, payoutHandle: String, stream: String) {
        self.token = token; self.csrDER = csrDER; self.displayName = displayName
        self.payoutHandle = payoutHandle; self.stream = stream
    }
}

public struct NodeSettings: Sendable, Equatable {
    public var heartbeatIntervalMs: UInt32
    public var ingestAddress: String
    public var streams: [String]
    /// The host's chunk-signing public key (SubjectPublicKeyInfo DER); empty when not sent.
    public var signingKeyDER: [UInt8]
    public init(heartbeatIntervalMs: UInt32, ingestAddress: String, streams: [String], signingKeyDER: [UInt8] = []) {
        self.heartbeatIntervalMs = heartbeatIntervalMs; self.ingestAddress = ingestAddress; self.streams = streams
        self.signingKeyDER = signingKeyDER
    }
}

/// A join completed (the node stored its identity) or is abandoned (the enrolment is undone).
public struct EnrollConfirm: Sendable, Equatable {
    public var nodeID: String
    public var abandon: Bool
    public var reason: String
    public init(nodeID: String, abandon: Bool = false, reason: String = "") {
        self.nodeID = nodeID; self.abandon = abandon; self.reason = reason
    }
}

public struct EnrollResponse: Sendable, Equatable {
    public var nodeID: String
    public var certificateDER: [UInt8]
    public var caCertificateDER: [UInt8]
    public var settings: NodeSettings?
    public init(nodeID: String, certificateDER: [UInt8], caCertificateDER: [UInt8], settings: NodeSettings?) {
        self.nodeID = nodeID; self.certificateDER = certificateDER
        self.caCertificateDER = caCertificateDER; self.settings = settings
    }
}

public struct StreamCounters: Sendable, Equatable {
    public var stream: String
    public var viewers: UInt32
    public var bytesServed: UInt64
    public var lastChunkSeq: UInt64
    public init(stream: String, viewers: UInt32, bytesServed: UInt64, lastChunkSeq: UInt64) {
        self.stream = stream; self.viewers = viewers; self.bytesServed = bytesServed; self.lastChunkSeq = lastChunkSeq
    }
}

public struct Heartbeat: Sendable, Equatable {
    public var seq: UInt64
    public var sentUnixMs: UInt64
    public var streams: [StreamCounters]
    public var bufferHealthMs: UInt32
    public var viewerPort: UInt32
    public var viewerURL: String
    public var uploadCapBps: UInt64
    public var uploadBps: UInt64
    public var paused: Bool
    public var pausedUntilUnixMs: UInt64
    public var machineIDSHA256: [UInt8]
    public init(seq: UInt64, sentUnixMs: UInt64, streams: [StreamCounters] = [], bufferHealthMs: UInt32 = 0,
                viewerPort: UInt32 = 0, viewerURL: String = "", uploadCapBps: UInt64 = 0, uploadBps: UInt64 = 0,
                paused: Bool = false, pausedUntilUnixMs: UInt64 = 0, machineIDSHA256: [UInt8] = []) {
        self.seq = seq; self.sentUnixMs = sentUnixMs; self.streams = streams; self.bufferHealthMs = bufferHealthMs
        self.viewerPort = viewerPort; self.viewerURL = viewerURL; self.uploadCapBps = uploadCapBps; self.uploadBps = uploadBps
        self.paused = paused; self.pausedUntilUnixMs = pausedUntilUnixMs; self.machineIDSHA256 = machineIDSHA256
    }
}

public struct HeartbeatAck: Sendable, Equatable {
    public var seq: UInt64
    public var settings: NodeSettings?
    public init(seq: UInt64, settings: NodeSettings? = nil) { self.seq = seq; self.settings = settings }
}

public struct Subscribe: Sendable, Equatable {
    public var stream: String
    public var resumeAfterChunk: UInt64
    /// The chain `resumeAfterChunk` belongs to (0: any).
    public var chainID: UInt64
    public init(stream: String, resumeAfterChunk: UInt64 = 0, chainID: UInt64 = 0) {
        self.stream = stream; self.resumeAfterChunk = resumeAfterChunk; self.chainID = chainID
    }
}

public struct SubscribeAck: Sendable, Equatable {
    public var stream: String
    public var firstChunk: UInt64
    public var resumed: Bool
    public var chainID: UInt64
    public init(stream: String, firstChunk: UInt64, resumed: Bool, chainID: UInt64 = 0) {
        self.stream = stream; self.firstChunk = firstChunk; self.resumed = resumed; self.chainID = chainID
    }
}

public struct MediaData: Sendable, Equatable {
    public var stream: String
    public var chunkSeq: UInt64
    public var kind: MediaKind
    public var timestampMs: UInt32
    /// Whole FLV tags, each with its PreviousTagSize. A ByteBuffer, so a receiver can hand out
    /// slices of it (one per tag) instead of copies.
    public var tags: ByteBuffer
    public init(stream: String, chunkSeq: UInt64, kind: MediaKind = .tags, timestampMs: UInt32 = 0, tags: ByteBuffer) {
        self.stream = stream; self.chunkSeq = chunkSeq; self.kind = kind; self.timestampMs = timestampMs; self.tags = tags
    }
    public init(stream: String, chunkSeq: UInt64, kind: MediaKind = .tags, timestampMs: UInt32 = 0, tags: [UInt8]) {
        self.init(stream: stream, chunkSeq: chunkSeq, kind: kind, timestampMs: timestampMs, tags: ByteBuffer(bytes: tags))
    }
}

public struct ChunkSealed: Sendable, Equatable {
    public var stream: String
    public var seq: UInt64
    public var firstTimestampMs: UInt32
    public var lastTimestampMs: UInt32
    public var size: UInt64
    public var sha256: [UInt8]
    public var chain: [UInt8]
    public var signature: [UInt8]
    public var chainID: UInt64
    public var sealedUnixMs: UInt64
    public init(stream: String, seq: UInt64, firstTimestampMs: UInt32, lastTimestampMs: UInt32, size: UInt64,
                sha256: [UInt8], chain: [UInt8], signature: [UInt8], chainID: UInt64 = 0, sealedUnixMs: UInt64 = 0) {
        self.stream = stream; self.seq = seq; self.firstTimestampMs = firstTimestampMs
        self.lastTimestampMs = lastTimestampMs; self.size = size; self.sha256 = sha256
        self.chain = chain; self.signature = signature; self.chainID = chainID; self.sealedUnixMs = sealedUnixMs
    }
}

public struct SpotCheckReport: Sendable, Equatable {
    public var nodeID: String
    public var stream: String
    public var chunkSeq: UInt64
    public var passed: Bool
    public var reason: String
    /// Time to the first body byte.
    public var latencyMs: UInt32
    public var throughputBps: UInt64
    public var checkedUnixMs: UInt64
    /// Strictly increasing per validator: the coordinator stores each id once and refuses an
    /// old id it does not hold (a replay).
    public var reportID: UInt64
    /// "range", "chunk", "live_flv", "hls".
    public var kind: String
    public var chainID: UInt64
    /// Body bytes the node sent the probe.
    public var bytes: UInt64
    /// "passed", "failed", "altered", "stale".
    public var verdict: String
    /// Reached the node through the coordinator's `/watch` redirect.
    public var viaWatch: Bool
    public init(nodeID: String, stream: String, chunkSeq: UInt64, passed: Bool, reason: String = "",
                latencyMs: UInt32 = 0, throughputBps: UInt64 = 0, checkedUnixMs: UInt64 = 0,
                reportID: UInt64 = 0, kind: String = "", chainID: UInt64 = 0, bytes: UInt64 = 0, verdict: String = "",
                viaWatch: Bool = false) {
        self.nodeID = nodeID; self.stream = stream; self.chunkSeq = chunkSeq; self.passed = passed
        self.reason = reason; self.latencyMs = latencyMs; self.throughputBps = throughputBps
        self.checkedUnixMs = checkedUnixMs; self.reportID = reportID; self.kind = kind; self.chainID = chainID
        self.bytes = bytes; self.verdict = verdict; self.viaWatch = viaWatch
    }
}

public struct Status: Sendable, Equatable {
    public var software: String
    public var role: Role
    public var uptimeSeconds: UInt64
    /// Role-specific facts in display order.
    public var items: [StatusItem]
    public init(software: String, role: Role, uptimeSeconds: UInt64, items: [StatusItem] = []) {
        self.software = software; self.role = role; self.uptimeSeconds = uptimeSeconds; self.items = items
    }
    public subscript(item key: String) -> String? { items.first { $0.key == key }?.value }
}

public struct StatusItem: Sendable, Equatable {
    public var key: String
    public var value: String
    public var type: ValueType
    public init(_ key: String, _ value: String, type: ValueType = .text) { self.key = key; self.value = value; self.type = type }
    public init(_ key: String, integer value: some BinaryInteger) { self.init(key, "\(value)", type: .integer) }
    public init(_ key: String, boolean value: Bool) { self.init(key, value ? "true" : "false", type: .boolean) }
}

public struct AdminRequest: Sendable, Equatable {
    /// The verb path, e.g. ["stream", "create"].
    public var command: [String]
    /// Named arguments in the order given.
    public var arguments: [AdminArgument]
    public init(command: [String], arguments: [AdminArgument] = []) { self.command = command; self.arguments = arguments }
    public subscript(argument name: String) -> String? { arguments.last { $0.name == name }?.value }
}

public struct AdminArgument: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) { self.name = name; self.value = value }
}

/// A table (columns and rows of text) plus a free-text message.
public struct AdminResponse: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[String]]
    public var message: String
    /// The JSON type of each column (missing entries: text).
    public var types: [ValueType]
    public init(columns: [String] = [], rows: [[String]] = [], message: String = "", types: [ValueType] = []) {
        self.columns = columns; self.rows = rows; self.message = message; self.types = types
    }

    public func type(ofColumn index: Int) -> ValueType { index < types.count ? types[index] : .text }
}
