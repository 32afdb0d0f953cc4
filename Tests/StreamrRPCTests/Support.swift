import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import StreamrRPC
import StreamrTLS
import StreamrWire
import XCTest

/// A server on 127.0.0.1 (random port) or a Unix socket, run for the length of `body`.
func withServer<R: Sendable>(_ address: ListenAddress = .tcp(host: "127.0.0.1", port: 0), pipeline: RPCPipeline = RPCPipeline(),
                             handler: @escaping RPCConnection.Handler,
                             _ body: @Sendable (ConnectAddress) async throws -> R) async throws -> R {
    var logger = Logger(label: "test-server")
    logger.logLevel = .critical
    let server = try await RPCServer.bind(address, pipeline: pipeline, logger: logger)
    let connectTo: ConnectAddress
    switch address {
    case .unix(let path): connectTo = .unix(path: path)
    default: connectTo = .tcp(host: "127.0.0.1", port: server.localAddress!.port!)
    }
    return try await withThrowingTaskGroup(of: R?.self) { group in
        group.addTask { try await server.run(handler: handler); return nil }
        let result = try await body(connectTo)
        group.cancelAll()
        return result
    }
}

/// A blocking raw TCP client: writes bytes, then reads until the server closes (or 5 s).
func rawExchange(port: Int, send bytes: [UInt8]) throws -> [UInt8] {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        received += buffer[0..<n]
    }
    return received
}

/// Decodes the frames in `bytes` (what a raw client received).
func frames(in bytes: [UInt8]) throws -> [Envelope] {
    var buffer = ByteBuffer(bytes: bytes)
    var decoder = EnvelopeFrameDecoder()
    var result: [Envelope] = []
    while let envelope = try decoder.decode(buffer: &buffer) { result.append(envelope) }
    return result
}

/// Test PKI: a CA, a server identity for 127.0.0.1, and node client identities.
struct TestPKI: Sendable {
    let ca = try! CertificateAuthority.create(commonName: "test CA")

    func serverContext(clientCertificates: ClientCertificatePolicy = .required) throws -> TLSContext {
        let key = try PrivateKey.generate()
        let cert = try ca.issueServerCertificate(key: key, commonName: "localhost", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        return try TLSContext(.server(identity: TLSIdentity(chain: [cert, ca.certificate], key: key), trustRoots: [ca.certificate],
                                      clientCertificates: clientCertificates))
    }

    func clientContext(nodeID: String?, pin: Bool = false) throws -> TLSContext {
        var identity: TLSIdentity? = nil
        if let nodeID {
            let key = try PrivateKey.generate()
            let cert = try ca.issueClientCertificate(for: try CertificateSigningRequest(key: key, commonName: "ignored"), nodeID: nodeID)
            identity = TLSIdentity(chain: [cert], key: key)
        }
        return try TLSContext(pin ? .client(identity: identity, pinnedCAKeySHA256: ca.certificate.publicKeySHA256)
                                  : .client(identity: identity, trustRoots: [ca.certificate]))
    }
}

/// Echoes a status request's peer identity back, so tests can see what the server saw.
let identityEcho: RPCConnection.Handler = { envelope, connection in
    switch envelope.body {
    case .statusRequest:
        var items = [StatusItem("cn", connection.peer.certificate?.commonName ?? "-")]
        if let credentials = connection.peer.credentials {
            items += [StatusItem("uid", "\(credentials.uid)"), StatusItem("pid", "\(credentials.pid)")]
        }
        return .status(Status(software: "test", role: .coordinator, uptimeSeconds: 0, items: items))
    case .hello(let hello):
        return .hello(Hello(software: "echo:" + hello.software, role: .coordinator))
    default:
        return nil
    }
}
