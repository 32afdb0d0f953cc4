import NIOCore

extension SocketAddress {
    /// The peer's IP as people write it: an IPv4 peer on a dual-stack (IPv6) socket is
    /// "10.0.0.5", not "::ffff:10.0.0.5"; a Unix socket is "local".
    public var displayIP: String {
        guard let ip = ipAddress else { return "local" }
        let lower = ip.lowercased()
        if lower.hasPrefix("::ffff:"), lower.dropFirst(7).contains(".") { return String(ip.dropFirst(7)) }
        return ip
    }

    /// "10.0.0.5:41234", "[2001:db8::1]:41234", or "local".
    public var displayAddress: String {
        guard ipAddress != nil, let port else { return displayIP }
        let ip = displayIP
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
