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
        Run the line exactly as the host printed it. It asks for what it needs that the line does \
        not carry — your payout handle (venmo:@you or paypal:you@example.com) and a display name — \
        unless you give them with --payout and --name (required when not run on a terminal).

        Makes a key pair and a certificate request, connects to the host (checking its CA against \
        the pin in the line), enrols, stores the node's certificate, key and settings in the state \
        directory (/var/lib/streamr-node), and confirms to the host. A join is all or nothing: the \
        directory is checked first, and if the node cannot be stored the host undoes the enrolment \
        and the invite keeps its use. Then: systemctl enable --now streamr-node
        """)

    @Argument(help: "The join line or URL (streamr://HOST:PORT/STREAM?token=...&ca=sha256:...).") var line: String
    @Option(help: "Your display name on the host's leaderboard (asked on a terminal; default: this machine's name).") var name: String?
    @Option(help: "Where earnings are paid: venmo:@handle or paypal:you@example.com (asked on a terminal; required otherwise).")
    var payout: String?
    @Option(name: .customLong("state-directory"), help: "Where to keep the node's identity (default /var/lib/streamr-node).")
    var stateDirectory = "/var/lib/streamr-node"
    @Flag(help: "Replace an existing identity (as after `leave`).") var force = false

    func run() async throws {
        let join: JoinLine
        do { join = try JoinLine.parse(line) } catch { fail(64, "\(error)") }
        let files = NodeFiles(directory: stateDirectory)
        if files.isJoined && !force {
            let current = (try? files.load())?.identity.nodeID ?? "?"
            fail(1, "this machine has already joined as \(current); run `streamr-node leave` first (or add --force)")
        }
        let payout = askPayout()
        let displayName = askName()
        // Nothing is enrolled unless everything can be stored afterwards.
        do { try files.checkWritable() } catch { fail(73, "\(error); nothing was enrolled and the invite is unused") }

        let key = try PrivateKey.generate()
        let csr = try CertificateSigningRequest(key: key, commonName: displayName)
        let pipeline = RPCPipeline(tls: try TLSContext(.client(pinnedCAKeySHA256: join.caPinBytes, expectedPeer: .host)))
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
            fail(2, Self.explain(tls: error, join: join))
        } catch {
            fail(2, Self.explain(unreachable: error, join: join))
        }
        guard case .enrollResponse(let response) = answer else { fail(1, "unexpected answer from the host: \(answer.name)") }
        let certificate = try Certificate(der: response.certificateDER)
        let ca = try Certificate(der: response.caCertificateDER)
        guard ca.publicKeySHA256 == join.caPinBytes, certificate.isSigned(by: ca) else {
            fail(1, "the host's answer does not match the pinned CA; not joining")
        }
        let settings = response.settings
        let signingKey = settings.flatMap { $0.signingKeyDER.isEmpty ? nil : try? PublicKey(der: $0.signingKeyDER) }
        let identity = NodeIdentity(nodeID: response.nodeID, displayName: displayName, payoutHandle: payout, stream: join.stream,
                                    coordinatorHost: join.host, coordinatorPort: join.port,
                                    ingestAddress: settings?.ingestAddress ?? "\(join.host):7444",
                                    heartbeatIntervalMs: settings?.heartbeatIntervalMs ?? 5000,
                                    streams: settings?.streams ?? [join.stream])
        let tls = TLSIdentity(chain: [certificate], key: key)
        // The service runs as user streamr: it gets the files (when joining as root on a real install).
        let owner = getpwnam("streamr").map { ($0.pointee.pw_uid, $0.pointee.pw_gid) }
        do {
            try files.save(identity, key: key, certificate: certificate, ca: ca, signingKey: signingKey, owner: getuid() == 0 ? owner : nil)
        } catch {
            _ = files.remove()
            let undone = await confirm(join: join, identity: tls, ca: ca, nodeID: response.nodeID, abandon: true, reason: "\(error)")
            fail(73, "cannot store the node's identity: \(error); "
                 + (undone ? "the host undid the enrolment and the invite keeps its use"
                           : "the host will undo the enrolment by itself shortly (the invite use comes back then)"))
        }
        if !(await confirm(join: join, identity: tls, ca: ca, nodeID: response.nodeID, abandon: false, reason: "")) {
            TextFormat.printError("streamr-node join: joined, but the host did not hear the confirmation; the service confirms when it starts\n")
        }
        // For `journalctl -t streamr-node STREAMR_EVENT=joined` (the terminal gets the lines below).
        if StreamrLogging.journalReachable(at: StreamrLogging.journalSocketPath) {
            let journal = Logger(label: "streamr-node") { label in
                StreamrLogging.makeHandler(label: label, identifier: "streamr-node", destination: .journal)
            }
            journal.notice("joined \(join.host):\(join.port) as \(response.nodeID)", metadata: [
                "event": "joined", "node": "\(response.nodeID)", "stream": "\(join.stream)"])
        }
        print("joined \(join.host) as \(response.nodeID) (\(displayName)), relaying \(identity.streams.joined(separator: ", "))")
        print("earnings go to \(payout)")
        if Self.restartWaitingService(stateDirectory: stateDirectory) {
            print("the streamr-node service was waiting for a join: restarted, it is relaying now")
        } else {
            print("next: systemctl enable --now streamr-node")
        }
    }

    /// A service enabled before the join runs idle; it is restarted so the join takes effect
    /// at once (only for the packaged state directory, and only where systemd runs).
    static func restartWaitingService(stateDirectory: String) -> Bool {
        guard stateDirectory == "/var/lib/streamr-node", access("/run/systemd/system", F_OK) == 0 else { return false }
        guard run(["systemctl", "is-active", "--quiet", "streamr-node.service"]) == 0 else { return false }
        return run(["systemctl", "try-restart", "streamr-node.service"]) == 0
    }

    /// Runs a command (searched on PATH) with no input and its output discarded; its exit status.
    private static func run(_ arguments: [String]) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        guard posix_spawnp(&pid, arguments[0], &actions, nil, &argv, environ) == 0 else { return 127 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Tells the host the join is complete (or abandoned), on an mTLS session with the new certificate.
    private func confirm(join: JoinLine, identity: TLSIdentity, ca: Certificate, nodeID: String, abandon: Bool, reason: String) async -> Bool {
        do {
            let tls = try TLSContext(.client(identity: identity, trustRoots: [ca], expectedPeer: .host))
            let answer = try await RPCClient.withConnection(to: .tcp(host: join.host, port: join.port), pipeline: RPCPipeline(tls: tls),
                                                            connectTimeout: .seconds(10)) { connection in
                try await connection.request(.enrollConfirm(EnrollConfirm(nodeID: nodeID, abandon: abandon, reason: reason)), timeout: .seconds(15))
            }
            if case .enrollConfirm = answer { return true }
            return false
        } catch {
            return false
        }
    }

    private func askPayout() -> String {
        if let payout, !payout.isEmpty {
            do { return try PayoutHandle.validate(payout) } catch { fail(64, "\(error)") }
        }
        guard isatty(0) == 1 else {
            fail(64, "a payout handle is needed to be paid, and there is no terminal to ask on: add --payout venmo:@handle or --payout paypal:you@example.com")
        }
        while true {
            TextFormat.printError("Where should your earnings go? (venmo:@you or paypal:you@example.com): ")
            guard let answer = readLine()?.trimmingWhitespace() else { fail(64, "no payout handle given") }
            do { return try PayoutHandle.validate(answer) } catch { TextFormat.printError("  \(error)\n") }
        }
    }

    private func askName() -> String {
        if let name, !name.isEmpty {
            do { return try DisplayName.validate(name) } catch { fail(64, "\(error)") }
        }
        let fallback = TextFormat.hostName
        guard isatty(0) == 1 else { return (try? DisplayName.validate(fallback)) ?? "node" }
        while true {
            TextFormat.printError("Your name on the host's leaderboard [\(fallback)]: ")
            guard let answer = readLine()?.trimmingWhitespace() else { return fallback }
            do { return try DisplayName.validate(answer.isEmpty ? fallback : answer) } catch { TextFormat.printError("  \(error)\n") }
        }
    }

    /// What a failed handshake means to a friend: a wrong pin is a security stop; a host that
    /// never finishes the handshake is a network problem.
    static func explain(tls error: TLSError, join: JoinLine) -> String {
        let text = "\(error)"
        if text.contains("no TLS handshake within") || text.contains("closed before the TLS handshake")
            || text.contains("closed during the TLS handshake") {
            return "the host at \(join.host):\(join.port) accepted the connection but did not complete the TLS handshake (\(text)): "
                + "is the coordinator running there, and is \(join.port) its port (a firewall or proxy in between)?"
        }
        return "the host at \(join.host):\(join.port) is not the one the join line names: its certificate does not match the "
            + "CA pin in the line (\(text)). Ask the host for a new line; do not join a host you cannot verify."
    }

    static func explain(unreachable error: any Error, join: JoinLine) -> String {
        let text = NetworkErrorText.reason(error)
        if text.contains("does not resolve") || text.lowercased().contains("dns") || text.contains("getaddrinfo") {
            return "cannot reach the host at \(join.host):\(join.port): the name `\(join.host)` does not resolve on this machine (\(text)). "
                + "Ask the host for a join line with an address you can reach (they set `public_host` in /etc/streamr/coordinator.conf)."
        }
        return "cannot reach the host at \(join.host):\(join.port): \(text) (is it running, and is the port open to you?)"
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
