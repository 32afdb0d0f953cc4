import FoundationEssentials
import Glibc
import StreamrConfig
import StreamrTLS

/// The host's CA and the server certificate its daemons present, as files:
/// `ca.pem`, `ca.key`, `server.pem`, `server.key` in one directory.
public struct HostPKI: Sendable {
    public let directory: String
    public init(directory: String) { self.directory = directory }

    public var caCertificatePath: String { directory + "/ca.pem" }
    public var caKeyPath: String { directory + "/ca.key" }
    public var serverCertificatePath: String { directory + "/server.pem" }
    public var serverKeyPath: String { directory + "/server.key" }
    /// The chunk-signing key: long-lived, separate from the TLS certificates (which expire and
    /// are renewed), pinned by every node at join.
    public var signingKeyPath: String { directory + "/signing.key" }

    public var exists: Bool { FileManager.default.fileExists(atPath: caCertificatePath) }

    /// Creates the CA and a server certificate unless a CA already exists, so it is
    /// safe to run on every install and upgrade. Returns whether it created anything.
    @discardableResult
    public func initialize(hostnames: [String], ipAddresses: [String]) throws -> Bool {
        if exists {
            // Hosts set up before chunk signing had its own key get one now (upgrades).
            if !FileManager.default.fileExists(atPath: signingKeyPath) {
                try writeAtomically(try PrivateKey.generate().pemString(), to: signingKeyPath, mode: 0o600)
                return true
            }
            return false
        }
        try TextFile.makeDirectories(directory, mode: 0o750)
        let ca = try CertificateAuthority.create()
        let serverKey = try PrivateKey.generate()
        let server = try ca.issueServerCertificate(key: serverKey, commonName: hostnames.first ?? "streamr-host",
                                                   dnsNames: hostnames, ipAddresses: ipAddresses)
        // Keys first and the CA certificate last: `exists` only turns true once everything is in place.
        try writeAtomically(try ca.key.pemString(), to: caKeyPath, mode: 0o600)
        try writeAtomically(try serverKey.pemString(), to: serverKeyPath, mode: 0o600)
        try writeAtomically(try PrivateKey.generate().pemString(), to: signingKeyPath, mode: 0o600)
        try writeAtomically(server.pemString() + ca.certificate.pemString(), to: serverCertificatePath, mode: 0o644)
        try writeAtomically(ca.certificate.pemString(), to: caCertificatePath, mode: 0o644)
        return true
    }

    public func loadCA() throws -> Certificate {
        try Certificate(pem: try read(caCertificatePath))
    }

    public func loadAuthority() throws -> CertificateAuthority {
        CertificateAuthority(certificate: try loadCA(), key: try PrivateKey(pem: try read(caKeyPath)))
    }

    /// The server chain (server certificate then CA) and key.
    public func loadServerIdentity() throws -> TLSIdentity {
        TLSIdentity(chain: try Certificate.all(pem: try read(serverCertificatePath)),
                    key: try PrivateKey(pem: try read(serverKeyPath)))
    }

    /// The key the ingest signs chunk chains with. A host set up before it existed signs with
    /// its server key (what its nodes already trust); `init-pki` adds a dedicated one.
    public func loadSigningKey() throws -> PrivateKey {
        if FileManager.default.fileExists(atPath: signingKeyPath) { return try PrivateKey(pem: try read(signingKeyPath)) }
        return try PrivateKey(pem: try read(serverKeyPath))
    }

    /// The public half of `loadSigningKey()`, as nodes pin it.
    public func signingPublicKey() throws -> PublicKey { try loadSigningKey().publicKey() }

    /// The invite's pin: `sha256:<hex of the CA's SubjectPublicKeyInfo digest>`.
    public func caPin() throws -> String { "sha256:" + SHA256Digest.hex(try loadCA().publicKeySHA256) }

    private func read(_ path: String) throws -> String {
        do { return try TextFile.read(path) } catch {
            throw PKIError("\(error) (create the host CA with `streamr-coordinator init-pki`)")
        }
    }
}

public struct PKIError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Writes through a temporary file and rename, so a crash never leaves half a file.
public func writeAtomically(_ text: String, to path: String, mode: Int) throws {
    let temporary = path + ".tmp-\(getpid())"
    guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
        throw PKIError("cannot write \(temporary)")
    }
    let fd = open(temporary, O_RDONLY)
    if fd >= 0 { fsync(fd); close(fd) }
    guard rename(temporary, path) == 0 else {
        unlink(temporary)
        throw PKIError("cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
    }
}
