// libFuzzer harness for the join line a friend pastes (CoordinatorCore's JoinLine.parse):
// the input as a whole line, and spliced into each slot of a valid line (host, port, stream,
// query) so the fuzzer need not find the scheme and the 64-digit pin by itself. Whatever
// parses must re-render, as URL and as command line, to text that parses to the same value.
// Built by fuzz/run.sh with `-sanitize=fuzzer,address`; any trap or report is a bug.
import CoordinatorCore

private let pin = "sha256:" + String(repeating: "0f", count: 32)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJoinLine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for line in [
        text,
        "streamr://\(text):7443/main?token=abc&ca=\(pin)",
        "streamr://[\(text)]:7443/main?token=abc&ca=\(pin)",
        "streamr://host.example:\(text)/main?token=abc&ca=\(pin)",
        "streamr://host.example:7443/\(text)?token=abc&ca=\(pin)",
        "streamr://host.example:7443/main?\(text)",
        "streamr-node join 'streamr://host.example:7443/main?token=\(text)&ca=\(pin)'",
    ] {
        check(line)
    }
    return 0
}

private func check(_ line: String) {
    guard let join = try? JoinLine.parse(line) else { return }
    precondition(!join.host.isEmpty && (1...65535).contains(join.port))
    precondition(join.caPinBytes.count == 32 && join.caPin == join.caPin.lowercased())
    precondition((try? StreamName.validate(join.stream)) == join.stream)
    for rendered in [join.url, join.commandLine, "  \(join.commandLine)\n"] {
        let again: JoinLine
        do { again = try JoinLine.parse(rendered) } catch {
            preconditionFailure("`\(line)` parsed to \(join), but its rendering `\(rendered)` does not parse: \(error)")
        }
        precondition(again == join, "`\(line)` parsed to \(join), its rendering `\(rendered)` to \(again)")
    }
}

// SwiftPM links executables with `main` renamed to `<module>_main`; hand control
// to libFuzzer's driver from there.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("streamr_fuzz_joinline_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzJoinLine)
}
