import CSystemd

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// sd_notify(3) for `Type=notify` units.
///
/// Every call is a no-op returning `false` when NOTIFY_SOCKET is unset (running by hand, in tests,
/// or under a unit that is not `Type=notify`), so daemons can call these unconditionally.
public enum SystemdNotifier {
    /// Sends raw `KEY=value` lines. Returns true only when a datagram was actually delivered.
    @discardableResult
    public static func notify(_ state: String) -> Bool {
        // unset_environment = 0: the notifier is called many times over the process lifetime.
        sd_notify(0, state) > 0
    }

    /// READY=1, once listeners are live; systemd then starts units ordered after this one.
    @discardableResult
    public static func ready(status: String? = nil) -> Bool {
        notify(lines("READY=1", status: status))
    }

    /// STATUS=…, shown by `systemctl status`.
    @discardableResult
    public static func status(_ text: String) -> Bool {
        notify(lines(nil, status: text))
    }

    /// STOPPING=1, when graceful shutdown begins.
    @discardableResult
    public static func stopping(status: String? = nil) -> Bool {
        notify(lines("STOPPING=1", status: status))
    }

    /// RELOADING=1 with MONOTONIC_USEC (required by `Type=notify-reload`, harmless before
    /// systemd 253). Send `ready()` again when the reload is done.
    @discardableResult
    public static func reloading(status: String? = nil) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let usec = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        return notify(lines("RELOADING=1\nMONOTONIC_USEC=\(usec)", status: status))
    }

    /// WATCHDOG=1 keep-alive ping.
    @discardableResult
    public static func watchdog() -> Bool {
        notify("WATCHDOG=1")
    }

    /// The unit's `WatchdogSec=`, or nil when no watchdog is configured for this process
    /// (sd_watchdog_enabled checks WATCHDOG_PID against our pid).
    public static var watchdogInterval: Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(clamping: usec))
    }

    /// Sends WATCHDOG=1 now and then every half interval until the task is cancelled.
    /// Returns immediately when no watchdog is configured or there is nobody to notify.
    public static func watchdogLoop() async {
        guard let interval = watchdogInterval, notifySocketConfigured else { return }
        await watchdogLoop(every: interval / 2)
    }

    /// The loop with an explicit period, for callers that pick their own (and for tests).
    public static func watchdogLoop(every period: Duration) async {
        while !Task.isCancelled {
            watchdog()
            do {
                try await Task.sleep(for: period)
            } catch {
                return  // cancelled
            }
        }
    }

    static var notifySocketConfigured: Bool {
        guard let value = getenv("NOTIFY_SOCKET") else { return false }
        return value.pointee != 0
    }

    private static func lines(_ head: String?, status: String?) -> String {
        // STATUS is one line in the protocol: a newline would start a bogus assignment.
        let status = status.map { "STATUS=" + $0.replacingNewlines() }
        return [head, status].compactMap { $0 }.joined(separator: "\n")
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        String(map { $0.isNewline ? " " : $0 })
    }
}
