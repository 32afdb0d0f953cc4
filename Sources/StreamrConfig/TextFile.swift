#if canImport(Glibc)
import Glibc
#endif

/// Reading a small text file with an error a person can act on ("No such file or directory",
/// "Permission denied"), not a Foundation error dump.
public enum TextFile {
    public struct ReadError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot read \(path): \(reason)" }
    }

    public struct DirectoryError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot create \(path): \(reason)" }
    }

    /// `mkdir -p` with `mode` for the directories it creates; the error names the part that
    /// failed and why ("Read-only file system", "Not a directory").
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(DirectoryError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, mode) == 0 || errno == EEXIST {
                var info = stat()
                if stat(prefix, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { continue }
                throw DirectoryError(path: prefix, reason: "it exists and is not a directory")
            }
            throw DirectoryError(path: prefix, reason: String(cString: strerror(errno)))
        }
    }

    public static func read(_ path: String, limit: Int = 16 << 20) throws(ReadError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadError(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            if bytes.count > limit { throw ReadError(path: path, reason: "larger than \(limit) bytes") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ReadError(path: path, reason: "not UTF-8 text") }
        return text
    }
}
