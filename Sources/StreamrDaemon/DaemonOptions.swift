import ArgumentParser
import FoundationEssentials
import Glibc
import Logging
import StreamrConfig

/// Options every daemon takes.
public struct DaemonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Configuration file.", valueName: "path"))
    public var config: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a setting (repeatable), e.g. --set listen_rpc=127.0.0.1:17443.", valueName: "key=value"))
    public var overrides: [String] = []

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical (default: the `log_level` setting, else info)."))
    public var logLevel: String?

    public init() {}

    public func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("unknown log level `\(logLevel)`")
        }
        for item in overrides where !item.contains("=") {
            throw ValidationError("--set takes key=value, got `\(item)`")
        }
    }

    /// Reads the configuration: the default file may be absent (built-in defaults
    /// apply), a file named with --config must exist. Overrides win.
    public func loadConfig(defaultPath: String, known: Set<String>) throws -> ConfigFile {
        let path = config ?? defaultPath
        var file: ConfigFile
        if FileManager.default.fileExists(atPath: path) {
            let text: String
            do { text = try TextFile.read(path) } catch {
                throw ConfigError(source: path, line: 0, message: "cannot read: \(error.reason)")
            }
            file = try ConfigFile.parse(text, source: path)
        } else if config != nil {
            throw ConfigError(source: path, line: 0, message: "no such file")
        } else {
            file = ConfigFile(source: path)
        }
        for item in overrides {
            let parts = item.split(separator: "=", maxSplits: 1)
            file.set(String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        try file.validate(known: known)
        return file
    }
}
