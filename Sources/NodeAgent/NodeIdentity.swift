import StreamrConfig
import CoordinatorCore
import FoundationEssentials
import Glibc
import StreamrTLS

/// What joining gave this node, kept in its state directory: `identity.conf` (who it is and
/// where its host is) and its credentials — `node.key` (mode 0600), `node.pem` (its client
/// certificate, node id in the subject) and `ca.pem` (the host CA, pinned at join).
public struct NodeIdentity: Sendable, Equatable {
    public var nodeID: String
    public var displayName: String
    public var payoutHandle: String
    public var stream: String
    public var coordinatorHost: String
    public var coordinatorPort: Int
    public var ingestAddress: String
    public var heartbeatIntervalMs: UInt32
    public var streams: [String]

    static let fileName = "identity.conf"

    /// `key = value` lines, as every Streamr configuration file.
    func render() -> String {
        """
        # Written by `streamr-node join`; `streamr-node leave` removes it.
        node_id = \(nodeID)
        display_name = \(displayName)
        payout_handle = \(payoutHandle)
        stream = \(stream)
        coordinator = \(coordinatorHost.contains(":") ? "[\(coordinatorHost)]" : coordinatorHost):\(coordinatorPort)
        ingest = \(ingestAddress)
        heartbeat_interval_ms = \(heartbeatIntervalMs)
        streams = \(streams.joined(separator: ","))

        """
    }

    static func parse(_ text: String) throws -> NodeIdentity {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingWhitespace()
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), let eq = trimmed.firstIndex(of: "=") else { continue }
            fields[trimmed[..<eq].trimmingWhitespace()] = trimmed[trimmed.index(after: eq)...].trimmingWhitespace()
        }
        func need(_ key: String) throws -> String {
            guard let value = fields[key], !value.isEmpty else { throw NodeSetupError("\(fileName): `\(key)` is missing; join again") }
            return value
        }
        let coordinator = try need("coordinator")
        guard let colon = coordinator.lastIndex(of: ":"), let port = Int(coordinator[coordinator.index(after: colon)...]) else {
            throw NodeSetupError("\(fileName): bad coordinator address `\(coordinator)`")
        }
        var host = String(coordinator[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return NodeIdentity(nodeID: try need("node_id"), displayName: fields["display_name"] ?? "",
                            payoutHandle: fields["payout_handle"] ?? "", stream: fields["stream"] ?? "",
                            coordinatorHost: host, coordinatorPort: port, ingestAddress: try need("ingest"),
                            heartbeatIntervalMs: UInt32(fields["heartbeat_interval_ms"] ?? "") ?? 5000,
                            streams: (fields["streams"] ?? "").split(separator: ",").map(String.init))
    }
}

/// The node's files in its state directory.
public struct NodeFiles: Sendable {
    public let directory: String
    public init(directory: String) { self.directory = directory }

    var identityPath: String { directory + "/" + NodeIdentity.fileName }
    var keyPath: String { directory + "/node.key" }
    var certificatePath: String { directory + "/node.pem" }
    var caPath: String { directory + "/ca.pem" }
    /// The host's chunk-signing public key, pinned at join (or first heard on the mTLS session).
    var signingKeyPath: String { directory + "/signing.pem" }

    public var isJoined: Bool { FileManager.default.fileExists(atPath: identityPath) }

    public struct Loaded: Sendable {
        public var identity: NodeIdentity
        public var tls: TLSIdentity
        public var ca: Certificate
        public var signingKey: PublicKey?
    }

    /// The identity and credentials, or nil when this node has not joined.
    public func load() throws -> Loaded? {
        guard isJoined else { return nil }
        let read = { (path: String) throws -> String in
            do { return try TextFile.read(path) } catch {
                throw NodeSetupError("\(error); join again")
            }
        }
        let identity = try NodeIdentity.parse(try read(identityPath))
        let tls = TLSIdentity(chain: try Certificate.all(pem: try read(certificatePath)), key: try PrivateKey(pem: try read(keyPath)))
        let signing = FileManager.default.fileExists(atPath: signingKeyPath) ? try PublicKey(pem: try read(signingKeyPath)) : nil
        return Loaded(identity: identity, tls: tls, ca: try Certificate(pem: try read(caPath)), signingKey: signing)
    }

    /// Writes everything, the key first and private; `owner` (the service user) gets the files.
    func save(_ identity: NodeIdentity, key: PrivateKey, certificate: Certificate, ca: Certificate, signingKey: PublicKey?,
              owner: (uid_t, gid_t)?) throws {
        try TextFile.makeDirectories(directory, mode: 0o750)
        try write(try key.pemString(), to: keyPath, mode: 0o600, owner: owner)
        try write(certificate.pemString(), to: certificatePath, mode: 0o644, owner: owner)
        try write(ca.pemString(), to: caPath, mode: 0o644, owner: owner)
        if let signingKey { try write(signingKey.pemString, to: signingKeyPath, mode: 0o644, owner: owner) }
        // Last: its presence is what "joined" means, so a failed join leaves no half state.
        try write(identity.render(), to: identityPath, mode: 0o640, owner: owner)
        if let owner { chown(directory, owner.0, owner.1) }
    }

    /// Removes what join wrote; returns whether anything was there.
    func remove() -> Bool {
        var removed = false
        for path in [identityPath, keyPath, certificatePath, caPath, signingKeyPath] where FileManager.default.fileExists(atPath: path) {
            try? FileManager.default.removeItem(atPath: path)
            removed = true
        }
        return removed
    }

    /// Stores the signing key the coordinator sent (the service owns its state directory).
    func saveSigningKey(_ key: PublicKey) throws {
        try write(key.pemString, to: signingKeyPath, mode: 0o644, owner: nil)
    }

    func write(_ text: String, to path: String, mode: mode_t, owner: (uid_t, gid_t)?) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw NodeSetupError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        var offset = 0
        var failure: String?
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { failure = String(cString: strerror(errno)); break }
            offset += n
        }
        // Disk full or an I/O error may only show here.
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw NodeSetupError("cannot write \(temporary): \(failure)")
        }
        chmod(temporary, mode)
        if let owner { chown(temporary, owner.0, owner.1) }
        guard rename(temporary, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            throw NodeSetupError("cannot replace \(path): \(why)")
        }
        // The rename itself survives a crash once the directory is synced.
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
    }

    /// Checks, before anything is enrolled, that the directory can hold the node's files: it
    /// exists or can be made, a file can be written, synced and removed in it, and it has room.
    func checkWritable() throws {
        do { try TextFile.makeDirectories(directory, mode: 0o750) } catch { throw NodeSetupError("\(error)") }
        let probe = directory + "/.join-check"
        try write(String(repeating: "streamr join check\n", count: 512), to: probe, mode: 0o600, owner: nil)
        unlink(probe)
        var fs = statvfs()
        if statvfs(directory, &fs) == 0 {
            let free = UInt64(fs.f_bavail) * UInt64(fs.f_frsize)
            guard free >= 1 << 20 else { throw NodeSetupError("\(directory) has only \(free / 1024) KiB free; the node needs at least 1 MiB") }
        }
    }
}

public struct NodeSetupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
