// libFuzzer harness for StreamrConfig: ConfigFile.parse on the input as a file, then every
// typed getter (string, int, bool, duration) on every key that parsed, DurationText and
// HostPort on every value and on the raw input, and round trips: a parsed file written out
// again (`key = "value"`) parses to the same values, a duration formats to text that parses to
// the same duration, a host:port describes itself as text that parses back to it.
// Built by fuzz/run.sh with `-sanitize=fuzzer,address`; any trap or report is a bug.
import StreamrConfig

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    checkValue(text)
    guard let config = try? ConfigFile.parse(text, source: "fuzz.conf") else { return 0 }
    var rendered = ""
    for (key, entry) in config.entries.sorted(by: { $0.value.line < $1.value.line }) {
        precondition(!key.isEmpty && !key.contains("=") && !key.contains("\n") && !entry.value.contains("\n"),
                     "a setting spans lines: `\(key)` = `\(entry.value)`")
        precondition(config.string(key, default: "") == entry.value && config.line(of: key) == entry.line)
        if let n = try? config.int(key, default: 0) { precondition(Int(entry.value) == n) }
        _ = try? config.int(key, default: 0, range: 1...65535)
        _ = try? config.bool(key, default: false)
        if let d = try? config.duration(key, default: .zero) { precondition(DurationText.parse(entry.value) == d) }
        checkValue(entry.value)
        rendered += "\(key) = \"\(entry.value)\"\n"
    }
    let again: ConfigFile
    do { again = try ConfigFile.parse(rendered, source: "again.conf") } catch {
        preconditionFailure("a parsed file written out again does not parse: \(error)\n\(rendered)")
    }
    precondition(again.entries.mapValues(\.value) == config.entries.mapValues(\.value), "re-parse changed values:\n\(rendered)")
    var known = Set(config.entries.keys)
    try! config.validate(known: known)
    known.insert("listen")
    if let some = known.first { known.remove(some); _ = try? config.validate(known: known) }
    return 0
}

private func checkValue(_ text: String) {
    if let duration = DurationText.parse(text) {
        let formatted = DurationText.format(duration)
        precondition(DurationText.parse(formatted) == duration, "`\(text)` is \(duration), formatted `\(formatted)`")
    }
    if let hostPort = HostPort.parse(text) {
        precondition((0...65535).contains(hostPort.port) && !hostPort.host.isEmpty)
        precondition(HostPort.parse(hostPort.description) == hostPort,
                     "`\(text)` is \(hostPort.host) port \(hostPort.port), described as `\(hostPort)`, which reads back differently")
    }
}

// SwiftPM links executables with `main` renamed to `<module>_main`; hand control
// to libFuzzer's driver from there.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("streamr_fuzz_config_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzConfig)
}
