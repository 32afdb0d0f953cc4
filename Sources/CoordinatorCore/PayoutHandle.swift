/// Where a friend wants to be paid: `venmo:@name` or `paypal:email`. Checked at enrolment
/// so a payout batch never holds a handle nobody can pay.
public enum PayoutHandle {
    public static func validate(_ text: String) throws -> String {
        let hint = "use venmo:@username or paypal:you@example.com"
        if text.hasPrefix("venmo:@") {
            let name = text.dropFirst(7)
            let ok = (5...30).contains(name.count)
                && name.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "-" || $0 == "_" }
            guard ok else { throw InvalidInput("bad payout handle `\(text)`: a Venmo username has 5–30 letters, digits, - or _; \(hint)") }
            return text
        }
        if text.hasPrefix("paypal:") {
            let email = text.dropFirst(7)
            let parts = email.split(separator: "@", omittingEmptySubsequences: false)
            let ok = email.count <= 254 && parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
                && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
                && email.unicodeScalars.allSatisfy { $0.isASCII && !$0.properties.isWhitespace && $0 != "'" && $0 != "\"" }
            guard ok else { throw InvalidInput("bad payout handle `\(text)`: not an email address; \(hint)") }
            return text
        }
        throw InvalidInput("bad payout handle `\(text)`: \(hint)")
    }
}

/// Display names show up in tables and leaderboards: printable, one line, bounded.
public enum DisplayName {
    public static func validate(_ text: String) throws -> String {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.count <= 64,
              trimmed.unicodeScalars.allSatisfy({ !$0.properties.generalCategory.isControl }) else {
            throw InvalidInput("bad display name `\(text)`: 1–64 printable characters on one line")
        }
        return trimmed
    }
}

extension Unicode.Scalar {
    var isASCIIAlphanumeric: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self) }
}

extension Unicode.GeneralCategory {
    var isControl: Bool {
        switch self {
        case .control, .format, .lineSeparator, .paragraphSeparator, .unassigned, .surrogate: true
        default: false
        }
    }
}
