import ArgumentParser
import CoordinatorCore
import FoundationEssentials
import Glibc
import Logging
import StreamrConfig
import StreamrDaemon
import StreamrRPC
import StreamrSystemd
import StreamrTLS
import StreamrWire

/// `streamr-node join 'streamr://HOST:7443/STREAM?token=...&ca=sha256:...'`
struct JoinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Join a host with the line from `streamrctl invite create` (run as root).",
        discussion: """
        Makes a key pair and a certificate request, connects to the host (checking its CA against \
        the pin in the line), enrols, and stores the node's certificate, key and settings in the \
        state directory (/var/lib/streamr-node). Then: systemctl enable --now streamr-node
        """)

    @Argument(help: "The join line or URL (streamr://HOST:PORT/STREAM?token=...&ca=sha256:...).") var line: String
    @Option(help: "Your display name on the host's leaderboard (default: this machine's name).") var name: String?
    @Option(help: "Where earnings are paid: venmo:@handle or paypal:you@example.com.") var payout: String?
    @Option(name: .customLong("state-directory"), help: "Where to keep the node's identity (default /var/lib/streamr-node).")
    var stateDirectory = "/var/lib/streamr-node"
    @Flag(help: "Replace an existing identity (as after `leave`).") var force = false

    func run() async throws {
        let join: JoinLine
        do { join = try JoinLine.parse(line) } catch { fail(64, "\(error)") }
        guard let payout, !payout.isEmpty else {
            fail(64, "a payout handle is needed to be paid: add --payout venmo:@handle or --payout paypal:you@example.com")
        }
        let files = NodeFiles(directory: stateDirectory)
        if files.isJoined && !force {
            let current = (try? files.load())?.identity.nodeID ?? "?"
            fail(1, "this machine has already joined as \(current); run `streamr-node leave` first (or add --force)")
        }
        let key = try PrivateKey.generate()
        let displayName = name ?? TextFormat.hostName
        let csr = try CertificateSigningRequest(key: key, commonName: displayName)
        let pipeline = RPCPipeline(tls: try TLSContext(.client(pinnedCAKeySHA256: join.caPinBytes)))
        let answer: Envelope.Body
        do {
            answer = try await RPCClient.withConnection(to: .tcp(host: join.host, port: join.port), pipeline: pipeline,
                                                       connectTimeout: .seconds(10)) { connection in
                try await connection.request(.enrollRequest(EnrollRequest(
                    token: join.token, csrDER: csr.derBytes(), displayName: displayName, payoutHandle: payout, stream: join.stream)),
                    timeout: .seconds(30))
            }
        } catch let error as ErrorMessage {
            fail(1, "the host refused to enrol this node: \(error.message)")
        } catch let error as TLSError {
            fail(2, "cannot verify the host at \(join.host):\(join.port): \(error) (is the CA pin in the line right?)")
        } catch {
            fail(2, "cannot reach the host at \(join.host):\(join.port): \(error)")
        }
        guard case .enrollResponse(let response) = answer else { fail(1, "unexpected answer from the host: \(answer.name)") }
        let certificate = try Certificate(der: response.certificateDER)
        let ca = try Certificate(der: response.caCertificateDER)
        guard ca.publicKeySHA256 == join.caPinBytes, certificate.isSigned(by: ca) else {
            fail(1, "the host's answer does not match the pinned CA; not joining")
        }
        let settings = response.settings
        let identity = NodeIdentity(nodeID: response.nodeID, displayName: displayName, payoutHandle: payout, stream: join.stream,
                                    coordinatorHost: join.host, coordinatorPort: join.port,
                                    ingestAddress: settings?.ingestAddress ?? "\(join.host):7444",
                                    heartbeatIntervalMs: settings?.heartbeatIntervalMs ?? 5000,
                                    streams: settings?.streams ?? [join.stream])
        // The service runs as user streamr: it gets the files (when joining as root on a real install).
        let owner = getpwnam("streamr").map { ($0.pointee.pw_uid, $0.pointee.pw_gid) }
        try files.save(identity, key: key, certificate: certificate, ca: ca, owner: getuid() == 0 ? owner : nil)
        // For `journalctl -t streamr-node STREAMR_EVENT=joined` (the terminal gets the lines below).
        if StreamrLogging.journalReachable(at: StreamrLogging.journalSocketPath) {
            let journal = Logger(label: "streamr-node") { label in
                StreamrLogging.makeHandler(label: label, identifier: "streamr-node", destination: .journal)
            }
            journal.notice("joined \(join.host):\(join.port) as \(response.nodeID)", metadata: [
                "event": "joined", "node": "\(response.nodeID)", "stream": "\(join.stream)"])
        }
        print("joined \(join.host) as \(response.nodeID) (\(displayName)), relaying \(identity.streams.joined(separator: ", "))")
        print("next: systemctl enable --now streamr-node")
    }

    private func fail(_ code: Int32, _ message: String) -> Never {
        TextFormat.printError("streamr-node join: \(message)\n")
        Glibc.exit(code)
    }
}

/// `streamr-node leave`: forgets the identity (the host can `streamrctl node disable` it).
struct LeaveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leave", abstract: "Forget this node's identity and credentials (run as root; stop the service first).")
    @Option(name: .customLong("state-directory"), help: "The node's state directory (default /var/lib/streamr-node).")
    var stateDirectory = "/var/lib/streamr-node"

    func run() throws {
        let files = NodeFiles(directory: stateDirectory)
        let id = (try? files.load())?.identity.nodeID
        if files.remove() {
            print("left: removed \(id ?? "the node")'s identity and credentials from \(stateDirectory)")
            print("next: systemctl disable --now streamr-node (and ask the host to `streamrctl node disable \(id ?? "ID")`)")
        } else {
            print("not joined: nothing to remove in \(stateDirectory)")
        }
    }
}
