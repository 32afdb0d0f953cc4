/// Stream names appear in URLs (`/watch/<stream>`, `/live/<stream>.flv`), join lines and
/// file names, so they are kept to a small safe alphabet rather than escaped everywhere.
public enum StreamName {
    public static let maxLength = 32

    /// Returns `text` if it is a valid name: 1–32 of a–z, 0–9, `-` and `_`, starting with a letter or digit.
    public static func validate(_ text: String) throws -> String {
        let allowed = { (c: Unicode.Scalar) in ("a"..."z").contains(c) || ("0"..."9").contains(c) || c == "-" || c == "_" }
        guard !text.isEmpty else { throw InvalidInput("a stream name cannot be empty") }
        guard text.unicodeScalars.count <= maxLength else {
            throw InvalidInput("stream name `\(text)` is too long: at most \(maxLength) characters")
        }
        guard text.unicodeScalars.allSatisfy(allowed), let first = text.unicodeScalars.first, first != "-", first != "_" else {
            throw InvalidInput("bad stream name `\(text)`: use lower-case letters, digits, `-` and `_`, starting with a letter or digit")
        }
        return text
    }
}
