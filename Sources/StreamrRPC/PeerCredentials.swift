#if canImport(Glibc)
import Glibc
#endif

/// The process on the other end of a Unix socket, as the kernel reports it (SO_PEERCRED).
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) { self.pid = pid; self.uid = uid; self.gid = gid }

    /// Reads SO_PEERCRED from a connected Unix socket.
    public static func of(socket fd: Int32) -> PeerCredentials? {
        var cred = KernelUcred()
        var length = socklen_t(MemoryLayout<KernelUcred>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) == 0 else { return nil }
        return PeerCredentials(pid: cred.pid, uid: cred.uid, gid: cred.gid)
    }

    /// Admin access: root, the daemon's own user, or a member of `group`
    /// (primary or supplementary group of the peer's user).
    public func isAdmin(group: String = "streamr") -> Bool {
        if uid == 0 || uid == geteuid() { return true }
        guard let groupEntry = getgrnam(group) else { return false }
        let adminGID = groupEntry.pointee.gr_gid
        if gid == adminGID { return true }
        guard let user = getpwuid(uid), let name = user.pointee.pw_name else { return false }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, user.pointee.pw_gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            guard getgrouplist(name, user.pointee.pw_gid, &groups, &count) >= 0 else { return false }
        }
        return groups.prefix(Int(count)).contains(adminGID)
    }
}

/// `struct ucred` from <sys/socket.h>, which Glibc only declares under _GNU_SOURCE.
/// Same layout: pid_t, uid_t, gid_t.
struct KernelUcred: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
