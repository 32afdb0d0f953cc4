import Glibc
import NIOCore
import NIOPosix
import StreamrTLS

/// A network failure in words for the journal and the terminal ("cannot connect to
/// 10.0.0.5:7443: Connection refused"), not NIO's nested error dump.
public enum NetworkErrorText {
    /// Only the cause ("Connection refused"), for a message that names the target itself.
    public static func reason(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return reason(first.error) }
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "the name `\(error.host)` does not resolve (DNS error)" }
        }
        let text = describe(error)
        return text
    }

    public static func describe(_ error: any Error) -> String {
        switch error {
        case let error as NIOConnectionError:
            let target = error.host.contains(":") ? "[\(error.host)]:\(error.port)" : "\(error.host):\(error.port)"
            if let first = error.connectionErrors.first {
                return "cannot connect to \(target): \(describe(first.error))"
            }
            if error.dnsAError != nil || error.dnsAAAAError != nil {
                return "cannot connect to \(target): the name `\(error.host)` does not resolve (DNS error)"
            }
            return "cannot connect to \(target)"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode))
        case ChannelError.connectTimeout(let limit):
            return "no answer within \(limit.nanoseconds / 1_000_000) ms (connect timed out)"
        case ChannelError.ioOnClosedChannel, ChannelError.alreadyClosed, ChannelError.eof:
            return "the connection was closed"
        default:
            return "\(error)"
        }
    }
}
