/// Why a chunk a node received does not match what the ingest announced.
public enum ChunkVerificationError: Error, Sendable, Hashable {
    case digestMismatch(expected: [UInt8], actual: [UInt8])
    case chainMismatch(expected: [UInt8], actual: [UInt8])
}

/// Node-side check of a received chunk against ChunkSealed's digest and chain.
public enum ChunkVerifier {
    /// Checks `bytes` hash to `expectedDigest` and, when given, that the chain continues from
    /// `previousChain` to `expectedChain`. Returns the chain value for the next chunk.
    /// Digests are compared whole; they are public values, so timing does not matter.
    @discardableResult
    public static func verify(bytes: [UInt8], expectedDigest: [UInt8], previousChain: [UInt8],
                              expectedChain: [UInt8]? = nil, hash: HashFunction) throws(ChunkVerificationError) -> [UInt8] {
        let digest = hash(bytes)
        guard digest == expectedDigest else { throw .digestMismatch(expected: expectedDigest, actual: digest) }
        let chain = HashChain.next(previous: previousChain, digest: digest, hash: hash)
        if let expectedChain, chain != expectedChain { throw .chainMismatch(expected: expectedChain, actual: chain) }
        return chain
    }

    /// The same check for a chunk as a node keeps it.
    @discardableResult
    public static func verify(_ chunk: Chunk, previousChain: [UInt8], hash: HashFunction) throws(ChunkVerificationError) -> [UInt8] {
        try verify(bytes: chunk.bytes, expectedDigest: chunk.digest, previousChain: previousChain,
                   expectedChain: chunk.chain, hash: hash)
    }
}
