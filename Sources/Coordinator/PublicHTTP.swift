import StreamrConfig
import CoordinatorCore
import FoundationEssentials
import Glibc
import NIOConcurrencyHelpers
import NIOHTTP1
import StreamrHTTP

/// The coordinator's HTTP on 8000: `/watch/<stream>` sends a viewer to a node (or the
/// ingest's origin) — a browser gets the watch page instead —, `/overlay/<stream>` for OBS,
/// the pages' JSON (`/api/route/<stream>`, `/api/stream/<stream>`), `/healthz` for load
/// balancers and monitors, `/metrics` for Prometheus.
public struct PublicHTTP: Sendable {
    let store: CoordinatorStore
    let sessions: NodeSessions
    let liveness: StreamLiveness
    let endpoints: PublicEndpoints
    /// A node is routable while its last heartbeat is at most this old (3 intervals).
    let onlineWindowMs: Int64
    let clockMs: @Sendable () -> Int64
    let random: @Sendable () -> Double
    /// Spot-check scores for routing, the validator's pins, and the record of who was sent where.
    let validator: ValidatorDesk?
    private let redirects = NIOLockedValueBox((node: UInt64(0), origin: UInt64(0)))
    /// Display names by node id, read from the database at most every 10 s (the overlay polls).
    let displayNames = NIOLockedValueBox((atMs: Int64?.none, names: [String: String]()))

    public init(store: CoordinatorStore, sessions: NodeSessions, liveness: StreamLiveness, endpoints: PublicEndpoints,
                heartbeatIntervalMs: Int64, clockMs: @escaping @Sendable () -> Int64 = CoordinatorStore.nowMs,
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }, validator: ValidatorDesk? = nil) {
        self.store = store; self.sessions = sessions; self.liveness = liveness; self.endpoints = endpoints
        self.onlineWindowMs = 3 * heartbeatIntervalMs; self.clockMs = clockMs; self.random = random; self.validator = validator
    }

    public var handler: HTTPHandler {
        { request in self.handle(request) }
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return .text(.methodNotAllowed, "only GET and HEAD are served here\n", headers: ["Allow": "GET, HEAD"])
        }
        let parts = request.pathComponents
        switch parts.first {
        case "watch" where parts.count == 2:
            // A browser gets the watch page; players (and anyone naming a format) the redirect.
            if request.query["format"] == nil, WatchPage.wantsHTML(request) { return watchPage(stream: parts[1], request: request) }
            return watch(stream: parts[1], format: request.query["format"], exclude: Self.exclusions(request),
                         pin: request.query["pin"], client: request.remoteAddress?.displayIP)
        case "overlay" where parts.count == 2: return overlayPage(stream: parts[1], request: request)
        case "api" where parts.count == 3 && parts[1] == "route": return routeAPI(stream: parts[2], request: request)
        case "api" where parts.count == 3 && parts[1] == "stream": return streamAPI(stream: parts[2])
        case "assets" where parts.count == 2: return WatchPage.asset(named: parts[1], request: request)
        case "healthz" where parts.count == 1: return healthz()
        case "metrics" where parts.count == 1: return metrics()
        default: return .text(.notFound, "not found: try /watch/<stream>, /overlay/<stream>, /healthz or /metrics\n")
        }
    }

    // MARK: - /watch

    /// `pin`: a one-time token from `validator pin`: this request goes to that node if it is a
    /// candidate (a probe that comes the way viewers come); it is not counted as a viewer sent.
    /// `client`: the requester's address, kept with the node it was sent to (the claims' evidence).
    func watch(stream name: String, format text: String?, exclude: Set<String> = [], pin: String? = nil,
               client: String? = nil) -> HTTPResponse {
        let format: WatchFormat
        do { format = try WatchFormat.parse(text) } catch { return .text(.badRequest, "\(error)\n") }
        switch route(stream: name, format: format, exclude: exclude, pin: pin, client: client) {
        case .success(let route): return .redirect(to: route.url)
        case .failure(let refusal):
            return .text(refusal.status, refusal.message + "\n", headers: refusal.retryAfter.map { ["Retry-After": "\($0)"] } ?? [:])
        }
    }

    /// Where one viewer of `stream` in `format` goes: a node, else the ingest's origin.
    struct Route: Sendable, Equatable {
        var url: String
        /// The node chosen; nil for the origin.
        var node: String?
        var state: StreamLiveness.State
    }

    struct Refusal: Error, Equatable {
        var status: HTTPResponseStatus
        var message: String
        var retryAfter: Int?
        var state: StreamLiveness.State?
    }

    /// The routing behind `/watch` and the watch page's `/api/route`: a node chosen among those
    /// relaying the stream (weighted by spare capacity and score), leaving out `exclude` (nodes
    /// the page saw fail), else the ingest's origin, which serves every format.
    func route(stream name: String, format: WatchFormat, exclude: Set<String> = [], pin: String? = nil,
               client: String? = nil) -> Result<Route, Refusal> {
        do { _ = try StreamName.validate(name) } catch { return .failure(Refusal(status: .badRequest, message: "\(error)")) }
        do { _ = try store.stream(named: name) } catch CoordinatorStoreError.unknownStream {
            return .failure(Refusal(status: .notFound, message: "no stream named `\(name)`"))
        } catch {
            return .failure(Refusal(status: .serviceUnavailable, message: "cannot read the stream list: \(error)", retryAfter: 5))
        }
        // Reconnecting: the publisher blinked and viewers are being held for it; route as live.
        let state = liveness.state(name)
        guard state != .offline else {
            return .failure(Refusal(status: .serviceUnavailable, message: "stream `\(name)` is offline; try again when it is live",
                                    retryAfter: 10, state: .offline))
        }
        var choices = candidates(stream: name).filter { !exclude.contains($0.node) }
        var probe = false
        if let pin, let node = validator?.takePin(pin, stream: name, format: format.rawValue) {
            // Not a candidate (paused, full, gone): routed as any viewer is, and still not a viewer.
            probe = true
            let only = choices.filter { $0.node == node && ViewerRouter.weight($0) > 0 }
            if !only.isEmpty { choices = only }
        }
        if format != .rtmp, let node = ViewerRouter.choose(choices, random: random()) {
            if !probe {
                redirects.withLockedValue { $0.node += 1 }
                validator?.recordRedirect(node: node.node, client: client)
            }
            return .success(Route(url: node.baseURL + format.path(stream: name), node: node.node, state: state))
        }
        // No node can take the viewer (or RTMP, which only the origin is routed for).
        redirects.withLockedValue { $0.origin += 1 }
        let base = format == .rtmp ? endpoints.originRTMPBase : endpoints.originHTTPBase
        return .success(Route(url: base + format.path(stream: name), node: nil, state: state))
    }

    /// Nodes online that relay `stream`, as the router weighs them.
    func candidates(stream: String) -> [ViewerRouter.Candidate] {
        let now = clockMs()
        return sessions.live().compactMap { live -> ViewerRouter.Candidate? in
            guard now - live.receivedMs <= onlineWindowMs, !live.heartbeat.paused,
                  let counters = live.heartbeat.streams.first(where: { $0.stream == stream }),
                  let base = Self.baseURL(live) else { return nil }
            return ViewerRouter.Candidate(node: live.node, baseURL: base, viewers: counters.viewers,
                                          uploadCapBps: live.heartbeat.uploadCapBps, uploadBps: live.heartbeat.uploadBps,
                                          score: validator?.score(node: live.node, nowMs: now) ?? 1)
        }
    }

    /// The node's viewer_url, else its session's address and viewer port (default 8935).
    static func baseURL(_ live: NodeSessions.Live) -> String? {
        var url = live.heartbeat.viewerURL
        if !url.isEmpty {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else { return nil }
            while url.hasSuffix("/") { url.removeLast() }
            return url
        }
        guard let ip = live.remoteIP else { return nil }
        let port = live.heartbeat.viewerPort == 0 ? 8935 : live.heartbeat.viewerPort
        return "http://\(ip.contains(":") ? "[\(ip)]" : ip):\(port)"
    }

    // MARK: - /healthz and /metrics

    func healthz() -> HTTPResponse {
        do {
            _ = try store.streams()
            return .text(.ok, "ok\n")
        } catch {
            return .text(.serviceUnavailable, "database unavailable: \(error)\n")
        }
    }

    func metrics() -> HTTPResponse {
        let now = clockMs()
        let live = sessions.live()
        let online = Set(live.filter { now - $0.receivedMs <= onlineWindowMs }.map(\.node))
        let viewers = live.filter { online.contains($0.node) }
            .reduce(UInt64(0)) { $0 + $1.heartbeat.streams.reduce(UInt64(0)) { $0 + UInt64($1.viewers) } }
        let liveStreams = liveness.liveStreams().count
        let counts = sessions.recorder.counts
        let routed = redirects.withLockedValue { $0 }
        var text = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for s in samples { text += "\(name)\(s.labels) \(s.value)\n" }
        }
        metric("streamr_nodes_online", "gauge", "Nodes connected with a heartbeat within 3 intervals.", [("", "\(online.count)")])
        metric("streamr_heartbeats_per_second", "gauge", "Heartbeats accepted per second over the last 10 s.",
               [("", TextFormat.fixed(sessions.heartbeatsPerSecond(), places: 1))])
        metric("streamr_heartbeats_total", "counter", "Heartbeats accepted (committed) since start.", [("", "\(counts.accepted)")])
        metric("streamr_heartbeat_commits_total", "counter", "Group commits of heartbeats since start.", [("", "\(counts.commits)")])
        metric("streamr_sessions", "gauge", "Node sessions open now.", [("", "\(sessions.openCount)")])
        metric("streamr_node_connections", "gauge", "Node connections on the RPC port now.", [("", "\(sessions.connectionCount)")])
        metric("streamr_live_streams", "gauge", "Streams being published now.", [("", "\(liveStreams)")])
        metric("streamr_viewers", "gauge", "Viewers at online nodes, from their latest heartbeats.", [("", "\(viewers)")])
        metric("streamr_watch_redirects_total", "counter", "Viewers sent on by /watch.",
               [("{target=\"node\"}", "\(routed.node)"), ("{target=\"origin\"}", "\(routed.origin)")])
        if let validator {
            let c = validator.counts
            metric("streamr_spot_checks_total", "counter", "Spot check results stored since start.", [("", "\(c.stored)")])
            metric("streamr_spot_check_reports_refused_total", "counter", "Replayed spot check reports refused since start.",
                   [("", "\(c.replayed)")])
            metric("streamr_watch_probe_redirects_total", "counter", "Validator probes sent on by /watch (pinned).",
                   [("", "\(c.probeRedirects)")])
            metric("streamr_validator_checking", "gauge", "1 while the validator is connected and checking.",
                   [("", validator.validatorState.checking ? "1" : "0")])
        }
        return .text(.ok, text, contentType: "text/plain; version=0.0.4; charset=utf-8")
    }
}
