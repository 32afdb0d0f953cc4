import CoordinatorCore
import FoundationEssentials
import NIOHTTP1
import StreamrHTTP

/// The browser side of the coordinator's HTTP: the watch page and the OBS overlay (WatchPage
/// has their HTML, scripts and styles), and the JSON they poll.
///
/// - `GET /api/route/<stream>?format=hls|fmp4|flv&exclude=<node>,...` — where the page plays
///   from: the routing of `/watch` (minus the nodes the page saw fail), as
///   `{"stream", "state", "format", "url", "node", "name"}` (`node` and `name` null for the
///   ingest's origin); 503 with `{"state": "offline"}` while nothing is published.
/// - `GET /api/stream/<stream>` — what the overlay shows: the stream's state (live, reconnecting,
///   offline) and for how long, and each relaying node's display name and viewer count. Public,
///   like /watch: display names only, never payout handles, node ids or addresses.
extension PublicHTTP {
    static let maxExclusions = 16

    /// `?exclude=a,b`: node ids the page will not be sent to again.
    static func exclusions(_ request: HTTPRequest) -> Set<String> {
        guard let text = request.query["exclude"], !text.isEmpty else { return [] }
        return Set(text.split(separator: ",").prefix(maxExclusions).map { String($0.prefix(64)) })
    }

    func watchPage(stream name: String, request: HTTPRequest) -> HTTPResponse {
        if let missing = pageRefusal(stream: name) { return missing }
        var response = WatchPage.page(WatchPage.watchHTML(stream: name), policy: WatchPage.watchPolicy)
        response.headers.add(name: "Vary", value: "Accept")
        return response
    }

    func overlayPage(stream name: String, request: HTTPRequest) -> HTTPResponse {
        if let missing = pageRefusal(stream: name) { return missing }
        return WatchPage.page(WatchPage.overlayHTML(stream: name), policy: WatchPage.overlayPolicy)
    }

    /// A bad or unknown stream name, as a page (no script).
    private func pageRefusal(stream name: String) -> HTTPResponse? {
        do { _ = try StreamName.validate(name) } catch {
            return .text(.badRequest, "\(error)\n")
        }
        do { _ = try store.stream(named: name) } catch CoordinatorStoreError.unknownStream {
            var response = WatchPage.page(WatchPage.messageHTML(title: "No such stream",
                                                                 text: "There is no stream called “\(name)” here."),
                                          policy: WatchPage.overlayPolicy)
            response.status = .notFound
            return response
        } catch {
            return .text(.serviceUnavailable, "cannot read the stream list: \(error)\n", headers: ["Retry-After": "5"])
        }
        return nil
    }

    struct RouteAnswer: Encodable {
        var stream: String
        var state: String?
        var format: String?
        var url: String?
        var node: String?
        var name: String?
        var error: String?
        var retryAfterSeconds: Int?

        enum CodingKeys: String, CodingKey {
            case stream, state, format, url, node, name, error
            case retryAfterSeconds = "retry_after_seconds"
        }
    }

    func routeAPI(stream name: String, request: HTTPRequest) -> HTTPResponse {
        let format: WatchFormat
        do { format = try WatchFormat.parse(request.query["format"] ?? "hls") } catch {
            return Self.json(.badRequest, RouteAnswer(stream: name, error: "\(error)"))
        }
        switch route(stream: name, format: format, exclude: Self.exclusions(request), client: request.remoteAddress?.displayIP) {
        case .success(let route):
            let display = route.node.flatMap { displayName(node: $0) }
            return Self.json(.ok, RouteAnswer(stream: name, state: route.state.rawValue, format: format.rawValue, url: route.url,
                                              node: route.node, name: display))
        case .failure(let refusal):
            var headers: HTTPHeaders = [:]
            if let after = refusal.retryAfter { headers.add(name: "Retry-After", value: "\(after)") }
            return Self.json(refusal.status, RouteAnswer(stream: name, state: refusal.state?.rawValue, error: refusal.message,
                                                         retryAfterSeconds: refusal.retryAfter), headers: headers)
        }
    }

    struct StreamAnswer: Encodable {
        struct Relay: Encodable {
            var name: String
            var viewers: UInt32
        }
        var stream: String
        var state: String
        /// Seconds in this state (0 when offline: not known).
        var stateSeconds: Int64
        var viewers: UInt32
        var relays: [Relay]

        enum CodingKeys: String, CodingKey {
            case stream, state, viewers, relays
            case stateSeconds = "state_seconds"
        }
    }

    func streamAPI(stream name: String) -> HTTPResponse {
        do {
            _ = try StreamName.validate(name)
            _ = try store.stream(named: name)
        } catch CoordinatorStoreError.unknownStream {
            return Self.json(.notFound, RouteAnswer(stream: name, error: "no stream named `\(name)`"))
        } catch let error as InvalidInput {
            return Self.json(.badRequest, RouteAnswer(stream: name, error: "\(error)"))
        } catch {
            return Self.json(.serviceUnavailable, RouteAnswer(stream: name, error: "cannot read the stream list: \(error)"))
        }
        let entry = liveness.entry(name)
        let now = clockMs()
        let relays = candidates(stream: name).map { c in
            StreamAnswer.Relay(name: displayName(node: c.node) ?? "a friend", viewers: c.viewers)
        }.sorted { ($0.name.lowercased(), $0.viewers) < ($1.name.lowercased(), $1.viewers) }
        let answer = StreamAnswer(stream: name, state: entry.state.rawValue,
                                  stateSeconds: entry.state == .offline ? 0 : max(0, (now - entry.sinceMs) / 1000),
                                  viewers: relays.reduce(0) { $0 + $1.viewers }, relays: relays)
        return Self.json(.ok, answer)
    }

    /// A node's display name (what its friend chose at join), from a cache refreshed every 10 s.
    func displayName(node: String) -> String? {
        let now = clockMs()
        if let cached = displayNames.withLockedValue({ $0.atMs.map { now - $0 < 10_000 } == true ? $0.names[node] : nil }) { return cached }
        guard let nodes = try? store.nodes() else { return nil }
        let names = Dictionary(nodes.map { ($0.nodeID, $0.displayName) }, uniquingKeysWith: { first, _ in first })
        displayNames.withLockedValue { $0 = (now, names) }
        return names[node]
    }

    static func json<T: Encodable>(_ status: HTTPResponseStatus, _ value: T, headers: HTTPHeaders = [:]) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        var headers = headers
        headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        return .text(status, body + "\n", contentType: "application/json", headers: headers)
    }
}
