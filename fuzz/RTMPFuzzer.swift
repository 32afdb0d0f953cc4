// libFuzzer harness for the RTMP ingest's parsers: chunk stream decoding (whole and split in
// two, which must agree), AMF0 on every payload, commands and the server session, and the
// handshake. Built by fuzz/run.sh with `-sanitize=fuzzer,address`; any crash, leak, sanitizer
// report or failed precondition is a bug.
import RTMP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRTMP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var limits = RTMPChunkDecoder.Limits()
    limits.maxMessageLength = 1 << 16
    limits.maxBufferedBytes = 1 << 18
    limits.maxChunkSize = 1 << 16

    let whole = decode(bytes, limits: limits, splitAt: nil)
    let split = decode(bytes, limits: limits, splitAt: size / 2)
    precondition(whole.messages == split.messages && whole.failed == split.failed, "split input decoded differently")

    var session = RTMPServerSession()
    for message in whole.messages {
        if let values = try? AMF0Decoder.decodeAll(message.payload) {
            // Whatever decodes re-encodes to bytes that decode and re-encode to themselves.
            let again = AMF0Encoder.encode(values)
            let values2 = try! AMF0Decoder.decodeAll(again)
            precondition(AMF0Encoder.encode(values2) == again, "AMF0 re-encoding is not stable")
        }
        _ = try? RTMPCommand.parse(message)
        // Decisions alternate with the timestamp's low bit so both paths get exercised.
        for action in session.handle(message) {
            switch action {
            case .publishRequested:
                _ = message.timestamp & 1 == 0 ? session.acceptPublish() : session.rejectPublish(reason: "fuzz")
            case .playRequested:
                _ = message.timestamp & 1 == 0 ? session.acceptPlay() : session.rejectPlay(reason: "fuzz")
                _ = session.streamEnded()
            default:
                break
            }
        }
    }

    // No crypto here: a constant "HMAC" still drives both the digest and the plain path.
    var handshake = RTMPServerHandshake(hmac: { _, _ in [UInt8](repeating: 0, count: 32) },
                                        randomBytes: { [UInt8](repeating: 0, count: $0) })
    _ = try? handshake.receive(bytes)
    return 0
}

private func decode(_ bytes: [UInt8], limits: RTMPChunkDecoder.Limits, splitAt: Int?) -> (messages: [RTMPMessage], failed: Bool) {
    var decoder = RTMPChunkDecoder(limits: limits)
    var messages: [RTMPMessage] = []
    let parts = splitAt.map { [bytes[..<$0], bytes[$0...]] } ?? [bytes[...]]
    for part in parts {
        decoder.append(part)
        do {
            while let m = try decoder.nextMessage() { messages.append(m) }
        } catch {
            return (messages, true)
        }
    }
    return (messages, false)
}

// SwiftPM links executables with `main` renamed to `<module>_main`; hand control
// to libFuzzer's driver from there.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("streamr_fuzz_rtmp_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzRTMP)
}
