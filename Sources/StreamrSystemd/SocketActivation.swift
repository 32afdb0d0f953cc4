import CSystemd

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A listening socket handed over by systemd (or `systemd-socket-activate`).
public struct ListenedSocket: Sendable, Hashable {
    /// The inherited file descriptor (already `FD_CLOEXEC`, owned by this process).
    public let fd: Int32
    /// The unit's `FileDescriptorName=`, or `"unknown"` when LISTEN_FDNAMES is absent.
    public let name: String

    public init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }
}

public enum SocketActivation {
    /// The sockets passed to this process through LISTEN_FDS, in order.
    ///
    /// Empty when the process was not socket-activated (no LISTEN_FDS, or LISTEN_PID names another
    /// process, e.g. the variables leaked from a parent). `unsetEnvironment` removes LISTEN_PID,
    /// LISTEN_FDS and LISTEN_FDNAMES so children we spawn do not mistake the sockets for theirs.
    public static func inheritedSockets(unsetEnvironment: Bool = true) -> [ListenedSocket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        let count = sd_listen_fds_with_names(unsetEnvironment ? 1 : 0, &names)
        // sd_listen_fds_with_names hands us a strv we must free, entries included.
        defer {
            if let names {
                var i = 0
                while let entry = names[i] {
                    free(entry)
                    i += 1
                }
                free(names)
            }
        }
        guard count > 0 else { return [] }

        var sockets: [ListenedSocket] = []
        sockets.reserveCapacity(Int(count))
        for i in 0..<Int(count) {
            let name = names?[i].map { String(cString: $0) } ?? "unknown"
            sockets.append(ListenedSocket(fd: SD_LISTEN_FDS_START + Int32(i), name: name))
        }
        return sockets
    }
}

/// Lets a daemon claim inherited sockets by name, then see (and close) what nobody claimed.
///
/// A unit may pass several sockets with the same name (e.g. `ListenStream=` on IPv4 and IPv6), so
/// `takeAll(named:)` returns every match; `take(named:)` is for names that must be unique.
public struct InheritedSockets: Sendable {
    private var remaining: [ListenedSocket]

    public init(_ sockets: [ListenedSocket]) {
        self.remaining = sockets
    }

    /// Reads the sockets from the environment (see `SocketActivation.inheritedSockets`).
    public static func fromEnvironment(unsetEnvironment: Bool = true) -> InheritedSockets {
        InheritedSockets(SocketActivation.inheritedSockets(unsetEnvironment: unsetEnvironment))
    }

    /// True when nothing was inherited: the daemon should bind its own listeners.
    public var isEmpty: Bool { remaining.isEmpty }

    /// Sockets not claimed so far.
    public var leftovers: [ListenedSocket] { remaining }

    /// Claims the first socket with this name, if any.
    public mutating func take(named name: String) -> ListenedSocket? {
        guard let index = remaining.firstIndex(where: { $0.name == name }) else { return nil }
        return remaining.remove(at: index)
    }

    /// Claims every socket with this name, in the order systemd passed them.
    public mutating func takeAll(named name: String) -> [ListenedSocket] {
        let matches = remaining.filter { $0.name == name }
        remaining.removeAll { $0.name == name }
        return matches
    }

    /// Closes and forgets the unclaimed sockets, returning them so the caller can log a warning.
    /// Leaving them open would keep systemd's queue filling with connections nobody accepts.
    @discardableResult
    public mutating func closeLeftovers() -> [ListenedSocket] {
        let unclaimed = remaining
        for socket in unclaimed {
            close(socket.fd)
        }
        remaining.removeAll()
        return unclaimed
    }
}
