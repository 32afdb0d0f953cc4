/// The one line `invite create` prints and a friend pastes:
/// `streamr-node join 'streamr://HOST:7443/STREAM?token=...&ca=sha256:...'`.
/// Everything in it is URL-safe (stream names, base64url tokens, hex pins), so no
/// percent-encoding is needed, and the single quotes keep `&` away from the shell.
public struct JoinLine: Sendable, Equatable {
    public static let scheme = "streamr://"
    public static let command = "streamr-node join"

    public var host: String
    public var port: Int
    public var stream: String
    public var token: String
    /// `sha256:<64 hex digits>`, the CA public-key pin.
    public var caPin: String

    public init(host: String, port: Int, stream: String, token: String, caPin: String) {
        self.host = host; self.port = port; self.stream = stream; self.token = token; self.caPin = caPin
    }

    /// IPv6 literals go in brackets, as in any URL.
    private var hostPart: String { host.contains(":") ? "[\(host)]" : host }

    public var url: String { "\(Self.scheme)\(hostPart):\(port)/\(stream)?token=\(token)&ca=\(caPin)" }

    public var commandLine: String { "\(Self.command) '\(url)'" }

    /// Accepts the bare URL or the whole command line (with or without quotes).
    public static func parse(_ input: String) throws -> JoinLine {
        var text = input.trimmingWhitespace()
        if text.hasPrefix(command) { text = String(text.dropFirst(command.count)).trimmingWhitespace() }
        if text.count >= 2, let q = text.first, q == "'" || q == "\"", text.last == q { text = String(text.dropFirst().dropLast()) }
        let bad = { (why: String) in InvalidInput("bad join line: \(why) (expected \(scheme)HOST:PORT/STREAM?token=...&ca=sha256:...)") }
        guard text.hasPrefix(scheme) else { throw bad("it does not start with \(scheme)") }
        text = String(text.dropFirst(scheme.count))

        let host: String, afterHost: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad("unclosed [ in the host") }
            host = String(text[text.index(after: text.startIndex)..<close])
            afterHost = text[text.index(after: close)...]
        } else {
            guard let colon = text.firstIndex(of: ":") else { throw bad("no port") }
            host = String(text[..<colon])
            afterHost = text[colon...]
        }
        guard !host.isEmpty else { throw bad("no host") }
        // A name, an IPv4 address or (in brackets) an IPv6 one: nothing that would change the
        // line's structure when it is written out again, or break the shell's single quotes.
        guard host.unicodeScalars.allSatisfy(Self.isHostCharacter) else { throw bad("bad host `\(host)`") }
        guard afterHost.hasPrefix(":"), let slash = afterHost.firstIndex(of: "/"),
              let port = Int(afterHost[afterHost.index(after: afterHost.startIndex)..<slash]), (1...65535).contains(port) else {
            throw bad("no valid port")
        }
        let pathAndQuery = afterHost[afterHost.index(after: slash)...]
        guard let question = pathAndQuery.firstIndex(of: "?") else { throw bad("no token") }
        let stream = try StreamName.validate(String(pathAndQuery[..<question]))
        var fields: [String: String] = [:]
        for pair in pathAndQuery[pathAndQuery.index(after: question)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { throw bad("malformed `\(pair)`") }
            fields[String(kv[0])] = String(kv[1])
        }
        guard let token = fields["token"], Base64URL.isEncoded(token) else { throw bad("no valid token") }
        guard let pin = fields["ca"], pin.hasPrefix("sha256:"), let digest = Hex.decode(String(pin.dropFirst(7))),
              digest.count == 32 else { throw bad("no valid ca=sha256:<64 hex digits> pin") }
        return JoinLine(host: host, port: port, stream: stream, token: token, caPin: pin.lowercased())
    }

    /// Letters, digits, `-`, `.`, `_`; `:` and `%` (a zone) only occur inside brackets.
    private static func isHostCharacter(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || "-._:%".unicodeScalars.contains(c)
    }

    /// The 32 pinned bytes.
    public var caPinBytes: [UInt8] { Hex.decode(String(caPin.dropFirst(7))) ?? [] }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars.drop { $0.properties.isWhitespace }.reversed().drop { $0.properties.isWhitespace }.reversed()
        return String(String.UnicodeScalarView(scalars))
    }
}
