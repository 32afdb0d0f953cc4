import COpenSSL
import NIOCore

/// One TLS session over two memory BIOs: ciphertext from the network goes into
/// `networkIn`, ciphertext for the network comes out of `networkOut`. Calls
/// never block; "incomplete" means OpenSSL wants more network input.
public final class TLSConnection {
    public enum Outcome { case complete, incomplete, failed(TLSError) }

    private let ssl: OpaquePointer
    private let networkIn: OpaquePointer
    private var networkOut: OpaquePointer
    /// A drained output BIO whose buffer is larger than this is replaced by a fresh one: a
    /// memory BIO's buffer never shrinks, so one burst (a resume pushing the kept chunks, say)
    /// would otherwise stay allocated for the connection's life.
    static let outputRetainLimit = 256 << 10
    let context: TLSContext

    init(context: TLSContext) throws {
        self.context = context
        guard let ssl = SSL_new(context.pointer) else { throw TLSError.drain(.configuration, "SSL_new failed") }
        guard let rbio = BIO_new(BIO_s_mem()), let wbio = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError.drain(.configuration, "BIO_new failed")
        }
        // An empty input BIO means "retry later", not end of file.
        streamr_bio_set_mem_eof_return(rbio, -1)
        SSL_set_bio(ssl, rbio, wbio) // the SSL now owns both BIOs
        self.ssl = ssl
        networkIn = rbio
        networkOut = wbio
        if context.configuration.role == .server { SSL_set_accept_state(ssl) } else { SSL_set_connect_state(ssl) }
    }

    deinit { SSL_free(ssl) }

    public func handshake() -> Outcome {
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        return rc == 1 ? .complete : outcome(rc, "handshake failed", .handshakeFailed)
    }

    /// Queues ciphertext received from the network.
    public func receive(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = BIO_write(networkIn, raw.baseAddress! + offset, Int32(min(raw.count - offset, Int(Int32.max))))
                if n <= 0 { break }
                offset += Int(n)
            }
        }
    }

    /// Decrypts everything available into `out`. `.complete` means the peer sent close_notify.
    public func readPlaintext(into out: inout ByteBuffer) -> Outcome {
        ERR_clear_error()
        while true {
            var read = 0
            let rc = out.writeWithUnsafeMutableBytes(minimumWritableBytes: 16_384) { raw -> Int in
                let ok = SSL_read_ex(ssl, raw.baseAddress, raw.count, &read)
                return ok == 1 ? read : 0
            }
            if rc > 0 { continue }
            let error = SSL_get_error(ssl, 0)
            if error == SSL_ERROR_ZERO_RETURN { return .complete }
            return outcome(0, "read failed", .protocolError)
        }
    }

    /// Encrypts all of `buffer`; the ciphertext waits in `networkOut`.
    public func writePlaintext(_ buffer: ByteBuffer) -> Outcome {
        ERR_clear_error()
        return buffer.withUnsafeReadableBytes { raw -> Outcome in
            guard raw.count > 0 else { return .complete }
            var written = 0
            // Memory BIOs grow, so SSL_write_ex takes everything at once.
            if SSL_write_ex(ssl, raw.baseAddress, raw.count, &written) == 1 && written == raw.count { return .complete }
            return outcome(0, "write failed", .protocolError)
        }
    }

    /// Sends close_notify (into `networkOut`).
    public func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    public var hasNetworkOutput: Bool { BIO_ctrl_pending(networkOut) > 0 }

    /// Moves pending ciphertext into `out`.
    public func takeNetworkOutput(into out: inout ByteBuffer) {
        var pending = Int(BIO_ctrl_pending(networkOut))
        guard pending > 0 else { return }
        while pending > 0 {
            let bio = networkOut
            let n = out.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { raw -> Int in
                Int(max(0, BIO_read(bio, raw.baseAddress, Int32(min(raw.count, Int(Int32.max))))))
            }
            if n <= 0 { break }
            pending = Int(BIO_ctrl_pending(networkOut))
        }
        if pending == 0 && outputBufferCapacity > Self.outputRetainLimit, let fresh = BIO_new(BIO_s_mem()) {
            SSL_set0_wbio(ssl, fresh)  // frees the old one, now empty
            networkOut = fresh
        }
    }

    /// The bytes the output BIO's buffer holds allocated (what a burst left behind).
    var outputBufferCapacity: Int {
        var memory: UnsafeMutablePointer<BUF_MEM>?
        _ = BIO_ctrl(networkOut, BIO_C_GET_BUF_MEM_PTR, 0, &memory)
        return memory.map { Int($0.pointee.max) } ?? 0
    }

    /// The peer's certificate, once the handshake is complete.
    public var peerCertificate: Certificate? {
        SSL_get1_peer_certificate(ssl).map { Certificate(taking: $0) }
    }

    public var negotiatedVersion: String { String(cString: SSL_get_version(ssl)) }

    private func outcome(_ rc: Int32, _ what: String, _ kind: TLSError.Kind) -> Outcome {
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .incomplete
        case SSL_ERROR_ZERO_RETURN: return .failed(TLSError(.closed, "peer closed the TLS session"))
        default:
            let verify = SSL_get_verify_result(ssl)
            var error = TLSError.drain(kind, what)
            if verify != X509_V_OK {
                error.message += " (certificate: \(String(cString: X509_verify_cert_error_string(verify))))"
            }
            return .failed(error)
        }
    }
}
