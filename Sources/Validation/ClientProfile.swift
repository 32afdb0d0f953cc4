/// A real player whose requests a probe copies, header for header and in its order, so a
/// node cannot pick probes out of its viewers by their headers.
///
/// Sources: Lavf was captured from Debian 12's ffmpeg 5.1 (`ffmpeg -i http://.../x.flv` and
/// an HLS playlist against a listening socket); VLC from VLC 3's sources
/// (modules/access/http/resource.c and file.c: Host, Accept, Accept-Language, User-Agent,
/// Range from 0 on files, none on HLS segments); Chromium from how it sends an XHR/fetch from
/// a plain-HTTP page (hls.js, mpegts.js on the watch page): no client hints or Sec-Fetch-*
/// headers, which it sends to secure origins only. Versions follow Debian 12's packages
/// (ffmpeg 5.1 → Lavf/59.27.100, vlc 3.0.24, chromium 156); update them with those.
public struct ClientProfile: Sendable, Hashable, CustomStringConvertible {
    public enum Family: String, Sendable, Hashable, CaseIterable {
        case lavf, vlc, chromium
    }

    public var family: Family
    public var userAgent: String

    public init(family: Family, userAgent: String) {
        self.family = family
        self.userAgent = userAgent
    }

    public static let lavf = ClientProfile(family: .lavf, userAgent: "Lavf/59.27.100")
    public static let vlc = ClientProfile(family: .vlc, userAgent: "VLC/3.0.24 LibVLC/3.0.24")
    public static let chromium = ClientProfile(
        family: .chromium,
        userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36")

    public var description: String { family.rawValue }

    /// One request of a probe.
    public enum Fetch: Sendable, Hashable {
        /// `GET /live/<stream>.flv` (or the `/watch` request before its redirect).
        case flvStream
        /// `GET /live/<stream>/index.m3u8`; `first` for a player that just started.
        case playlist(first: Bool)
        /// An HLS segment, after the playlist (on the same connection where the player reuses it).
        case segment
        /// `GET /chunks/<stream>/<seq>` read from `offset` (0: the whole chunk), as a player
        /// seeking in a file does: an open-ended Range, then it stops reading.
        case chunk(offset: Int)
    }

    /// The request headers, in this client's order. `host` is the Host value ("addr:port");
    /// `pageOrigin` is the watch page's origin ("http://host:8000"), sent by browsers only.
    public func headers(for fetch: Fetch, host: String, pageOrigin: String) -> [HTTPHeader] {
        switch family {
        case .lavf:
            // ffmpeg's http protocol: always an open Range (it probes seekability with it);
            // keep-alive once the HLS demuxer reuses the connection, close otherwise.
            let offset = if case .chunk(let o) = fetch { o } else { 0 }
            let keepAlive = switch fetch {
            case .segment, .playlist(first: false): true
            default: false
            }
            return [
                HTTPHeader("User-Agent", userAgent),
                HTTPHeader("Accept", "*/*"),
                HTTPHeader("Range", "bytes=\(offset)-"),
                HTTPHeader("Connection", keepAlive ? "keep-alive" : "close"),
                HTTPHeader("Host", host),
                HTTPHeader("Icy-MetaData", "1"),
            ]
        case .vlc:
            var headers = [
                HTTPHeader("Host", host),
                HTTPHeader("Accept", "*/*"),
                HTTPHeader("Accept-Language", "en_US"),
                HTTPHeader("User-Agent", userAgent),
            ]
            switch fetch {
            case .flvStream: headers.append(HTTPHeader("Range", "bytes=0-"))
            case .chunk(let offset): headers.append(HTTPHeader("Range", "bytes=\(offset)-"))
            case .playlist, .segment: break  // the adaptive (HLS) module asks for whole files
            }
            return headers
        case .chromium:
            var headers = [
                HTTPHeader("Host", host),
                HTTPHeader("Connection", "keep-alive"),
                HTTPHeader("User-Agent", userAgent),
                HTTPHeader("Accept", "*/*"),
                HTTPHeader("Origin", pageOrigin),
            ]
            if case .chunk(let offset) = fetch, offset > 0 {
                headers.append(HTTPHeader("Range", "bytes=\(offset)-"))
            }
            headers += [
                // Cross-origin under strict-origin-when-cross-origin: the page's origin only.
                HTTPHeader("Referer", pageOrigin + "/"),
                HTTPHeader("Accept-Encoding", "gzip, deflate"),
                HTTPHeader("Accept-Language", "en-US,en;q=0.9"),
            ]
            return headers
        }
    }
}
