// libFuzzer harness for the network-facing decoder: varint framing plus
// protobuf-c unpacking into Swift values. Built by fuzz/run.sh with
// `-sanitize=fuzzer,address`; any crash, leak or sanitizer report is a bug.
import NIOCore
import StreamrWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrame(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    var decoder = EnvelopeFrameDecoder(maxFrameBytes: 1 << 16)
    while true {
        do {
            guard let envelope = try decoder.decode(buffer: &buffer) else { break }
            // Whatever decodes must re-encode to something that decodes to the same value.
            let again = try ProtoCodec.decode(ProtoCodec.encode(envelope))
            precondition(again == envelope, "re-encoding changed \(envelope.body.name)")
        } catch {
            break
        }
    }
    return 0
}

// SwiftPM links executables with `main` renamed to `<module>_main`; hand control
// to libFuzzer's driver from there.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("streamr_fuzz_frames_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzFrame)
}
