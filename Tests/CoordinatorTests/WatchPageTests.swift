@testable import Coordinator
import CoordinatorCore
import Foundation
import NIOCore
import NIOHTTP1
import StreamrHTTP
import XCTest

/// The coordinator's browser side without a browser: who gets the page, its headers, the
/// assets it links, and the JSON the page and the overlay read (test-browser.sh plays it).
final class WatchPageTests: TempDatabaseTestCase {
    var web: PublicHTTP!

    override func setUpWithError() throws {
        try super.setUpWithError()
        try store.createStream(name: "main", keyHash: "k", pool: Amount(minor: 0, currency: try Currency.parse("USD")),
                               periodSeconds: 3600, now: 1)
        let sessions = try NodeSessions(store: store)
        web = PublicHTTP(store: store, sessions: sessions, liveness: StreamLiveness(), endpoints: PublicEndpoints(host: "203.0.113.7"),
                         heartbeatIntervalMs: 5000)
    }

    func get(_ uri: String, accept: String? = nil) -> HTTPResponse {
        var headers = HTTPHeaders()
        if let accept { headers.add(name: "Accept", value: accept) }
        return web.handle(HTTPRequest(method: .GET, uri: uri, headers: headers))
    }

    func body(_ response: HTTPResponse) -> String {
        guard case .bytes(let buffer) = response.body else { return "" }
        return String(buffer: buffer)
    }

    func json(_ response: HTTPResponse) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body(response).utf8)) as? [String: Any])
    }

    func testBrowsersGetThePagePlayersTheRedirect() {
        let chromium = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
        XCTAssertTrue(WatchPage.wantsHTML(HTTPRequest(uri: "/", headers: ["Accept": chromium])))
        XCTAssertTrue(WatchPage.wantsHTML(HTTPRequest(uri: "/", headers: ["Accept": "TEXT/HTML ; q=0.5"])))
        XCTAssertFalse(WatchPage.wantsHTML(HTTPRequest(uri: "/", headers: ["Accept": "*/*"])))          // ffmpeg, VLC, curl
        XCTAssertFalse(WatchPage.wantsHTML(HTTPRequest(uri: "/", headers: ["Accept": "text/html;q=0"])))
        XCTAssertFalse(WatchPage.wantsHTML(HTTPRequest(uri: "/")))

        let page = get("/watch/main", accept: chromium)
        XCTAssertEqual(page.status, .ok)
        XCTAssertEqual(page.headers["Content-Type"].first, "text/html; charset=utf-8")
        XCTAssertEqual(page.headers["Vary"].first, "Accept")
        let csp = page.headers["Content-Security-Policy"].first ?? ""
        XCTAssertTrue(csp.hasPrefix("default-src 'none'; script-src 'self'; style-src 'self';"), csp)
        XCTAssertTrue(csp.contains("media-src 'self' blob: http: https:") && csp.contains("connect-src 'self' http: https:"), csp)
        XCTAssertFalse(csp.contains("unsafe"), csp)
        XCTAssertTrue(body(page).contains(#"<body data-stream="main">"#))
        XCTAssertFalse(body(page).contains("<script>"), "no inline script")

        // Offline: players are told so; a browser still gets the page (it says so and retries).
        XCTAssertEqual(get("/watch/main", accept: "*/*").status, .serviceUnavailable)
        XCTAssertEqual(get("/watch/main?format=hls", accept: chromium).status, .serviceUnavailable, "a format asks for media")
        XCTAssertEqual(get("/watch/nosuch", accept: chromium).status, .notFound)
        XCTAssertEqual(get("/watch/Bad%20name", accept: chromium).status, .badRequest)
    }

    func testTheLinkedAssetsAreServedWithTheirTypes() throws {
        let page = body(get("/watch/main", accept: "text/html")) + body(get("/overlay/main"))
        for (name, type) in [("watch.js", "text/javascript"), ("watch.css", "text/css"), ("overlay.js", "text/javascript"),
                             ("overlay.css", "text/css")] {
            let link = "/assets/" + WatchAssets.versioned(name)
            XCTAssertTrue(page.contains(link), "\(link) linked")
            let asset = get(link)
            XCTAssertEqual(asset.status, .ok)
            XCTAssertTrue(asset.headers["Content-Type"].first?.hasPrefix(type) ?? false)
            XCTAssertEqual(asset.headers["X-Content-Type-Options"].first, "nosniff")
            XCTAssertEqual(asset.headers["Cache-Control"].first, "public, max-age=86400, immutable")
            XCTAssertEqual(get("/assets/\(name)").headers["Cache-Control"].first, "no-cache")
        }
        XCTAssertEqual(get("/assets/nope.js").status, .notFound)
        XCTAssertNotEqual(WatchAssets.fnv1a("a"), WatchAssets.fnv1a("b"))
    }

    func testTheOverlayPolicyOnlyTalksToTheCoordinator() {
        let overlay = get("/overlay/main")
        XCTAssertEqual(overlay.status, .ok)
        let csp = overlay.headers["Content-Security-Policy"].first ?? ""
        XCTAssertTrue(csp.contains("connect-src 'self';") && !csp.contains("media-src") && !csp.contains("http:"), csp)
        XCTAssertEqual(get("/overlay/nosuch").status, .notFound)
    }

    func testTheAPIAnswersOfflineAndUnknownStreamsInJSON() throws {
        let route = get("/api/route/main?format=fmp4")
        XCTAssertEqual(route.status, .serviceUnavailable)
        XCTAssertEqual(route.headers["Content-Type"].first, "application/json")
        XCTAssertEqual(route.headers["Retry-After"].first, "10")
        let answer = try json(route)
        XCTAssertEqual(answer["state"] as? String, "offline")
        XCTAssertNil(answer["url"])
        XCTAssertEqual(get("/api/route/nosuch").status, .notFound)
        XCTAssertEqual(get("/api/route/main?format=mp4").status, .badRequest)

        let stream = try json(get("/api/stream/main"))
        XCTAssertEqual(stream["state"] as? String, "offline")
        XCTAssertEqual((stream["relays"] as? [Any])?.count, 0)
        XCTAssertEqual(stream["viewers"] as? Int, 0)
        XCTAssertEqual(get("/api/stream/nosuch").status, .notFound)
        XCTAssertEqual(get("/api/stream/Bad").status, .badRequest)
    }

    func testExclusionsAreBounded() {
        let many = (0..<40).map { "node-\($0)" }.joined(separator: ",")
        XCTAssertEqual(PublicHTTP.exclusions(HTTPRequest(uri: "/api/route/main?exclude=\(many)")).count, PublicHTTP.maxExclusions)
        XCTAssertEqual(PublicHTTP.exclusions(HTTPRequest(uri: "/api/route/main?exclude=a,b")), ["a", "b"])
        XCTAssertEqual(PublicHTTP.exclusions(HTTPRequest(uri: "/api/route/main")), [])
    }

    func testHTMLIsEscaped() {
        XCTAssertEqual(WatchPage.escape(#"<b a="1">'&"#), "&lt;b a=&quot;1&quot;&gt;&#39;&amp;")
    }
}
