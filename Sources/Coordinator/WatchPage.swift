import NIOHTTP1
import StreamrHTTP

/// The pages the coordinator serves to browsers: the watch page (`/watch/<stream>` asked for
/// as text/html) and the overlay for OBS's Browser Source (`/overlay/<stream>`), hand-written
/// HTML whose scripts and styles are same-origin files under `/assets/` (WatchAssets), so the
/// Content-Security-Policy can forbid everything else: no inline script or style, no other
/// origin's script. Media comes from nodes at whatever address they have, so the watch page's
/// policy allows media and fetches over http: and https: (and blob: for Media Source
/// Extensions), and nothing else.
enum WatchPage {
    static let watchPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "media-src 'self' blob: http: https:; connect-src 'self' http: https:; base-uri 'none'; form-action 'none'"
    /// The overlay only talks to the coordinator.
    static let overlayPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; base-uri 'none'; form-action 'none'"

    /// True when the request lists text/html in Accept (with q > 0): a browser navigating. Players
    /// send `*/*` or nothing, and keep getting the redirect.
    static func wantsHTML(_ request: HTTPRequest) -> Bool {
        for field in request.headers["Accept"] {
            for range in field.split(separator: ",") {
                let parts = range.split(separator: ";").map { $0.filter { $0 != " " && $0 != "\t" } }
                guard parts.first?.lowercased() == "text/html" else { continue }
                let q = parts.dropFirst().first { $0.lowercased().hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
                if q > 0 { return true }
            }
        }
        return false
    }

    static func page(_ html: String, policy: String) -> HTTPResponse {
        .text(.ok, html, contentType: "text/html; charset=utf-8", headers: [
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        ])
    }

    /// `stream` is a validated name (a-z, 0-9, - and _); escaped anyway.
    static func watchHTML(stream: String) -> String {
        let name = escape(stream)
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(name) · Streamr</title>
            <link rel="stylesheet" href="/assets/\(WatchAssets.versioned("watch.css"))">
            <script src="/assets/\(WatchAssets.versioned("watch.js"))" defer></script>
            </head>
            <body data-stream="\(name)">
            <main>
            <div class="player">
            <video id="video" playsinline muted autoplay controls></video>
            <div id="status" class="status" role="status" aria-live="polite">Connecting…</div>
            </div>
            <p class="info"><span id="state" class="state">…</span> <strong>\(name)</strong> <span id="via" class="via"></span></p>
            </main>
            </body>
            </html>

            """
    }

    static func overlayHTML(stream: String) -> String {
        let name = escape(stream)
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(name) overlay · Streamr</title>
            <link rel="stylesheet" href="/assets/\(WatchAssets.versioned("overlay.css"))">
            <script src="/assets/\(WatchAssets.versioned("overlay.js"))" defer></script>
            </head>
            <body data-stream="\(name)" data-state="unknown">
            <section class="overlay">
            <p id="state" class="state">…</p>
            <p id="summary" class="summary"></p>
            <ul id="relays" class="relays"></ul>
            </section>
            </body>
            </html>

            """
    }

    static func messageHTML(title: String, text: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title)) · Streamr</title></head>
        <body><h1>\(escape(title))</h1><p>\(escape(text))</p></body></html>

        """
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// `/assets/<name>?v=<version>`: scripts and styles. The pages link them with their version
    /// (a hash of the content), so a copy may be cached for a day; without it, revalidated.
    static func asset(named name: String, request: HTTPRequest) -> HTTPResponse {
        guard let asset = WatchAssets.all[name] else { return .text(.notFound, "no asset \(name)\n") }
        let versioned = request.query["v"] == asset.version
        return .text(.ok, asset.body, contentType: asset.contentType, headers: [
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": versioned ? "public, max-age=86400, immutable" : "no-cache",
        ])
    }
}
