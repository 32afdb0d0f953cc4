// libFuzzer harness for the FLV module: the incremental parser (fed in two slices, so the
// buffered path runs too), classification, the codec configuration parsers and the chunker.
// Built by fuzz/run.sh with `-sanitize=fuzzer,address`; any crash or report is a bug.
import FLV

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFLV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Raw input as codec configuration: must throw or parse, never trap.
    _ = try? AVCDecoderConfigurationRecord(bytes)
    _ = try? AudioSpecificConfig(bytes)

    var parser = FLVParser(maxTagDataSize: 1 << 16)
    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var tags: [FLVTag] = []
    do {
        tags += try parser.feed(bytes[..<split])
        tags += try parser.feed(bytes[split...])
        try parser.finish()
    } catch {}

    // A trivial stand-in hash: the chunker's logic is under test, not SHA-256.
    var chunker = Chunker(configuration: .init(targetDurationMs: 100)) { [UInt8(truncatingIfNeeded: $0.count), 0] }
    var body: [UInt8] = []
    for tag in tags {
        if let config = tag.codecConfiguration {
            _ = try? AVCDecoderConfigurationRecord(config)
            _ = try? AudioSpecificConfig(config)
        }
        tag.write(into: &body)
        _ = chunker.push(tag)
    }
    _ = chunker.finish()
    // Whatever parsed re-serializes to bytes that parse to the same tags, whole and byte by byte.
    var again = FLVParser(maxTagDataSize: 1 << 16)
    precondition((try? again.feed(body)) == tags, "re-parse changed the tags")
    var drip = FLVParser(maxTagDataSize: 1 << 16)
    var dripped: [FLVTag] = []
    for byte in body.prefix(4096) { dripped += (try? drip.feed([byte])) ?? [] }
    if body.count <= 4096 { precondition(dripped == tags, "byte-at-a-time parse differs") }
    if let keyframes = try? KeyframeIndex.scan(body) {
        precondition(keyframes.count == tags.filter { $0.kind.isKeyframe }.count)
    }
    return 0
}

// SwiftPM links executables with `main` renamed to `<module>_main`; hand control
// to libFuzzer's driver from there.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("streamr_fuzz_flv_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzFLV)
}
