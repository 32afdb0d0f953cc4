import Glibc

/// The name friends and OBS are told to reach this host by, and whether it can work: a bare
/// host name that only this machine resolves (or that resolves to loopback) makes every join
/// line fail for friends, so the coordinator says so wherever it prints one.
public enum PublicHost {
    /// The default when `public_host` is not set: this machine's name if it resolves to an
    /// address others can use, else its first such IPv4 address, else the name anyway.
    public static func automatic(hostName: String) -> String {
        if warning(for: hostName) == nil { return hostName }
        return interfaceAddresses().first(where: { classify($0) != .loopback && classify($0) != .linkLocal }) ?? hostName
    }

    enum Kind: Equatable { case loopback, linkLocal, lan, publicAddress }

    /// Why `host` will not work for friends (nil when it resolves to a LAN or public address).
    public static func warning(for host: String) -> String? {
        let addresses = resolve(host)
        let how = "set `public_host = <an address or DNS name friends can reach>` in /etc/streamr/coordinator.conf, "
            + "`systemctl restart streamr-coordinator`, and print the line again"
        if addresses.isEmpty {
            return "`\(host)` does not resolve to any address, so friends' nodes and OBS cannot reach this host by it: \(how)"
        }
        let kinds = addresses.map(classify)
        if kinds.allSatisfy({ $0 == .loopback }) {
            return "`\(host)` resolves only to this machine's loopback (\(addresses.joined(separator: ", "))): \(how)"
        }
        if kinds.allSatisfy({ $0 == .loopback || $0 == .linkLocal }) {
            return "`\(host)` resolves only to link-local addresses (\(addresses.joined(separator: ", "))): \(how)"
        }
        return nil
    }

    /// Numeric addresses `host` resolves to (itself when it is one).
    static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var out: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let text = numeric(entry.pointee.ai_addr, length: entry.pointee.ai_addrlen), !out.contains(text) { out.append(text) }
            cursor = entry.pointee.ai_next
        }
        return out
    }

    /// This machine's interface addresses, IPv4 first.
    static func interfaceAddresses() -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(first) }
        var v4: [String] = [], v6: [String] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            if let address = entry.pointee.ifa_addr {
                let family = Int32(address.pointee.sa_family)
                let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
                if family == AF_INET || family == AF_INET6, let text = numeric(address, length: length) {
                    if family == AF_INET { v4.append(text) } else { v6.append(text) }
                }
            }
            cursor = entry.pointee.ifa_next
        }
        return v4 + v6
    }

    private static func numeric(_ address: UnsafeMutablePointer<sockaddr>?, length: socklen_t) -> String? {
        guard let address else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(address, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func classify(_ address: String) -> Kind {
        let lower = address.lowercased()
        if lower.hasPrefix("127.") || lower == "::1" { return .loopback }
        if lower.hasPrefix("169.254.") || lower.hasPrefix("fe80:") { return .linkLocal }
        if lower.hasPrefix("10.") || lower.hasPrefix("192.168.") || lower.hasPrefix("fd") || lower.hasPrefix("fc") { return .lan }
        if lower.hasPrefix("172."), let second = Int(lower.split(separator: ".").dropFirst().first ?? ""), (16...31).contains(second) { return .lan }
        return .publicAddress
    }
}
