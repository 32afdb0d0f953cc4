import NIOCore
import StreamrTLS
import StreamrWire

/// Why a chunk or its seal was refused.
public enum ChunkRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// The seal's signature is not the host's over its chain value.
    case signature(seq: UInt64)
    case size(seq: UInt64, received: Int, sealed: UInt64)
    case digest(seq: UInt64)
    /// The chain value does not follow from the previous one and this digest.
    case chain(seq: UInt64)

    public var description: String {
        switch self {
        case .signature(let seq): "chunk \(seq): the chain value is not signed by the host's key"
        case .size(let seq, let received, let sealed): "chunk \(seq): size \(received), the ingest sealed \(sealed)"
        case .digest(let seq): "chunk \(seq): SHA-256 differs from the ingest's digest"
        case .chain(let seq): "chunk \(seq): the hash chain does not continue from the previous chunk"
        }
    }
}

/// Checks chunks against the host's signing key, pinned at join: the seal's signature over
/// its chain value, the bytes' SHA-256, and that the chain continues from the previous seal.
/// It trusts nothing about who delivered them, so it works the same for a chunk from the
/// ingest, from a parent node, or fetched by the validator from a node.
public struct ChunkVerifier: Sendable {
    public let signingKey: PublicKey
    /// The chain being followed, and the chain value of its last accepted seal.
    public private(set) var chainID: UInt64 = 0
    public private(set) var previousChain: [UInt8]?

    public init(signingKey: PublicKey) { self.signingKey = signingKey }

    /// Checks `seal`'s signature; once it passes, its chain value is the reference for the next
    /// chunk even when this chunk's bytes were not seen whole (the signature vouches for it).
    /// Returns the previous chain value the bytes must extend (nil at the start of a chain or
    /// after a gap: the digest alone is then checked).
    public mutating func accept(_ seal: ChunkSealed) throws(ChunkRejection) -> [UInt8]? {
        guard signingKey.verifies(signature: seal.signature, of: seal.chain) else {
            previousChain = nil
            throw .signature(seq: seal.seq)
        }
        if seal.chainID != chainID { chainID = seal.chainID; previousChain = nil }
        defer { previousChain = seal.chain }
        return previousChain
    }

    /// A new subscription that did not resume: the chain is taken afresh from the next seal.
    public mutating func restart() { previousChain = nil }

    /// Checks `bytes` against `seal` (size, SHA-256, and the chain from `previousChain` when
    /// known). Stateless, for anyone holding a seal the host signed.
    public static func verify(_ bytes: ByteBuffer, against seal: ChunkSealed, previousChain: [UInt8]?) throws(ChunkRejection) {
        guard UInt64(bytes.readableBytes) == seal.size else {
            throw .size(seq: seal.seq, received: bytes.readableBytes, sealed: seal.size)
        }
        let digest = SHA256Digest.hash(bytes)
        guard digest == seal.sha256 else { throw .digest(seq: seal.seq) }
        if let previousChain, SHA256Digest.hash(previousChain + digest) != seal.chain { throw .chain(seq: seal.seq) }
    }

    /// Checks a seal the host signed, by itself (the validator's check of what it is told).
    public func signatureIsValid(_ seal: ChunkSealed) -> Bool {
        signingKey.verifies(signature: seal.signature, of: seal.chain)
    }
}
