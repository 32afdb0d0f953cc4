import Foundation
import NIOCore
import StreamrTLS
import XCTest

/// A CA with a server and a client certificate, as PEM files in a fresh temporary directory.
final class TestPKI {
    let directory: String
    let ca: CertificateAuthority
    let serverKey: PrivateKey
    let serverCertificate: Certificate
    let clientKey: PrivateKey
    let clientCertificate: Certificate
    static let nodeID = "node-7f3a"
    static let serverName = "coordinator.streamr.test"

    init() throws {
        directory = try makeTemporaryDirectory()
        ca = try CertificateAuthority.create(commonName: "Test host CA", days: 2)
        serverKey = try PrivateKey.generate()
        serverCertificate = try ca.issueServerCertificate(key: serverKey, commonName: Self.serverName,
                                                          dnsNames: [Self.serverName, "localhost"],
                                                          ipAddresses: ["127.0.0.1", "::1"])
        clientKey = try PrivateKey.generate()
        let request = try CertificateSigningRequest(key: clientKey, commonName: "requested-name")
        clientCertificate = try ca.issueClientCertificate(for: request, nodeID: Self.nodeID)
        try write("ca.pem", ca.certificate.pemString())
        try write("server.pem", serverCertificate.pemString())
        try write("server.key", serverKey.pemString())
        try write("client.pem", clientCertificate.pemString())
        try write("client.key", clientKey.pemString())
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func path(_ name: String) -> String { "\(directory)/\(name)" }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    /// The server identity sends the CA too, so that pinned clients can find it.
    var serverIdentity: TLSIdentity { TLSIdentity(chain: [serverCertificate, ca.certificate], key: serverKey) }
    var clientIdentity: TLSIdentity { TLSIdentity(chain: [clientCertificate], key: clientKey) }
}

func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/streamr-tls-XXXXXX".utf8CString)
    guard let path = mkdtemp(&template) else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    return String(cString: path)
}

/// What a `Recorder` saw; written on an event loop, read by the test thread.
final class Observations: @unchecked Sendable {
    private let lock = NSLock()
    private var _handshakes: [TLSHandshakeCompleted] = []
    private var _errors: [Error] = []
    private var _received: [UInt8] = []
    private var _inactive = 0

    var handshakes: [TLSHandshakeCompleted] { lock.withLock { _handshakes } }
    var errors: [Error] { lock.withLock { _errors } }
    var tlsErrors: [TLSError] { errors.compactMap { $0 as? TLSError } }
    var received: String { lock.withLock { String(decoding: _received, as: UTF8.self) } }
    var inactiveCount: Int { lock.withLock { _inactive } }

    func handshake(_ event: TLSHandshakeCompleted) { lock.withLock { _handshakes.append(event) } }
    func error(_ error: Error) { lock.withLock { _errors.append(error) } }
    func receive(_ bytes: [UInt8]) { lock.withLock { _received += bytes } }
    func inactive() { lock.withLock { _inactive += 1 } }
}

/// Sits above the TLSHandler: records plaintext, the handshake event, errors and
/// channel closure; optionally echoes plaintext back.
final class Recorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let observations: Observations
    let echo: Bool

    init(_ observations: Observations, echo: Bool = false) { self.observations = observations; self.echo = echo }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        observations.receive(Array(buffer.readableBytesView))
        if echo { context.writeAndFlush(wrapOutboundOut(buffer), promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSHandshakeCompleted { observations.handshake(event) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { observations.error(error) }

    func channelInactive(context: ChannelHandlerContext) {
        observations.inactive()
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension Recorder: Sendable {}

/// Polls `condition` until it holds or `timeout` passes.
func waitUntil(timeout: TimeInterval = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return condition()
}

/// A future's result once it completes, or nil after `timeout` (a broken handler must fail
/// a test, not hang it). Embedded event loops complete synchronously: use timeout 0 there.
func result(of future: EventLoopFuture<Void>, timeout: TimeInterval = 10) -> Result<Void, Error>? {
    final class Box: @unchecked Sendable {
        let lock = NSLock()
        var value: Result<Void, Error>?
    }
    let box = Box()
    future.whenComplete { result in box.lock.withLock { box.value = result } }
    _ = waitUntil(timeout: timeout) { box.lock.withLock { box.value != nil } }
    return box.lock.withLock { box.value }
}

/// An external tool (openssl) run under `timeout`, stdout and stderr merged and collected.
final class Tool: @unchecked Sendable {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let lock = NSLock()
    private var collected = Data()
    private var reachedEOF = false

    init(_ arguments: [String], directory: String, limit: Int = 20) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["\(limit)"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let reader = output.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                lock.withLock { collected.append(data) }
            }
            lock.withLock { reachedEOF = true }
        }
    }

    var text: String { lock.withLock { String(decoding: collected, as: UTF8.self) } }

    func send(_ text: String) { try? input.fileHandleForWriting.write(contentsOf: Data(text.utf8)) }
    func closeInput() { try? input.fileHandleForWriting.close() }

    func waitFor(_ needle: String, timeout: TimeInterval = 10) -> Bool { waitUntil(timeout: timeout) { text.contains(needle) } }

    /// The exit status, or nil if it is still running after `timeout`.
    func waitForExit(timeout: TimeInterval = 15) -> Int32? {
        guard waitUntil(timeout: timeout, { !process.isRunning }) else { return nil }
        _ = waitUntil(timeout: 2) { lock.withLock { reachedEOF } } // let the reader drain the pipe
        return process.terminationStatus
    }

    func stop() {
        closeInput()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// Runs a shell command line to completion and returns its stdout.
func shell(_ command: String, in directory: String) throws -> (status: Int32, output: String) {
    let tool = try Tool(["/bin/sh", "-c", command], directory: directory)
    tool.closeInput()
    let status = tool.waitForExit() ?? -1
    tool.stop()
    return (status, tool.text)
}
