import FLV
import Foundation
@testable import HLS
import XCTest

/// What the watch page will do: headless Chromium appends the init segment and the fragments
/// to a Media Source Extensions SourceBuffer (with the init's RFC 6381 codecs) and plays
/// them to the end. Needs ffmpeg 9 (the encodes) and Chromium (`apt install chromium`);
/// skips without Chromium. HEVC is only checked where the Chromium build can decode it.
final class MSETests: XCTestCase {
    private static let page = """
        <!doctype html><html><body><script>
        async function one(dir, codecs) {
          const type = `video/mp4; codecs="${codecs}"`;
          if (!MediaSource.isTypeSupported(type)) return `${dir} unsupported`;
          const v = document.createElement('video'); v.muted = true; document.body.appendChild(v);
          const ms = new MediaSource(); v.src = URL.createObjectURL(ms);
          await new Promise(r => ms.addEventListener('sourceopen', r, {once: true}));
          const sb = ms.addSourceBuffer(type);
          let err = '';
          sb.addEventListener('error', () => err += ' sourcebuffer-error');
          v.addEventListener('error', () => err += ' video-error');
          for (const f of ['init.mp4', '1.m4s', '2.m4s']) {
            sb.appendBuffer(await (await fetch(`${dir}/${f}`)).arrayBuffer());
            await new Promise(r => sb.addEventListener('updateend', r, {once: true}));
          }
          ms.endOfStream();
          const ranges = [];
          for (let i = 0; i < sb.buffered.length; i++) ranges.push(`${sb.buffered.start(i).toFixed(2)}-${sb.buffered.end(i).toFixed(2)}`);
          const ended = new Promise(r => { v.addEventListener('ended', r); setTimeout(r, 15000); });
          try { await v.play(); } catch (e) { err += ' play-refused'; }
          await ended;
          return `${dir} buffered=${ranges.join(',')} size=${v.videoWidth}x${v.videoHeight} ended=${v.ended}${err}`;
        }
        (async () => {
          const out = [];
          for (const [dir, codecs] of Object.entries(RENDITIONS)) {
            try { out.push(await one(dir, codecs)); } catch (e) { out.push(`${dir} exception`); }
          }
          await fetch('/result?' + encodeURIComponent(out.join(';')));
        })();
        </script></body></html>
        """

    func testChromiumPlaysTheFragmentsThroughMediaSourceExtensions() throws {
        let t = try MediaTools.require()
        defer { t.cleanUp() }
        guard let chromium = MediaTools.tool("chromium"), let python = MediaTools.tool("python3") else {
            throw XCTSkip("chromium (or python3 for a loopback web server) is not installed")
        }
        let renditions: [(String, [String], [String])] = [
            ("h264-aac", ["-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-bf", "2"], ["-c:a", "aac"]),
            ("h264-opus", ["-c:v", "libx264", "-preset", "ultrafast", "-g", "60"], ["-c:a", "libopus"]),
            ("av1-opus", ["-c:v", "libsvtav1", "-preset", "12", "-g", "60", "-svtav1-params", "lp=1"], ["-c:a", "libopus"]),
            ("hevc-aac", ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=60:open-gop=0"], ["-c:a", "aac"]),
        ]
        var codecs: [String: String] = [:]
        for (name, video, audio) in renditions {
            let chunks = MediaTools.chunks(try t.encode("\(name).flv", video: video, audio: audio))
            XCTAssertEqual(chunks.count, 2)
            try FileManager.default.createDirectory(at: t.dir.appendingPathComponent(name), withIntermediateDirectories: true)
            var muxer = FMP4Muxer()
            for chunk in chunks {
                let segment = try muxer.segment(for: chunk)
                if segment.startsNewInit { try t.write(segment.initSegment.bytes, to: "\(name)/init.mp4") }
                try t.write(segment.bytes, to: "\(name)/\(chunk.seq).m4s")
                codecs[name] = segment.initSegment.codecs
            }
        }
        let table = codecs.sorted { $0.key < $1.key }.map { "'\($0.key)': '\($0.value)'" }.joined(separator: ", ")
        try t.write(Array(Self.page.replacingOccurrences(of: "RENDITIONS", with: "{\(table)}").utf8), to: "index.html")

        let result = try serveAndBrowse(python: python, chromium: chromium, t)
        let lines = Dictionary(uniqueKeysWithValues: result.split(separator: ";").map { line in
            (String(line.prefix { $0 != " " }), String(line.drop { $0 != " " }.dropFirst()))
        })
        for name in ["h264-aac", "h264-opus", "av1-opus", "hevc-aac"] {
            let line = try XCTUnwrap(lines[name], result)
            if name == "hevc-aac" && line == "unsupported" { continue }  // no HEVC decoder in this build
            // One buffered range from the first frame to the end: the fragments join up.
            let range = try XCTUnwrap(line.split(separator: " ").first { $0.hasPrefix("buffered=") }?.dropFirst(9), line)
            let bounds = range.split(separator: "-").compactMap { Double($0) }
            XCTAssertEqual(bounds.count, 2, "\(name): one buffered range, \(line)")
            XCTAssertLessThan(bounds.first ?? 9, 0.1, line)
            XCTAssertGreaterThan(bounds.last ?? 0, 3.9, line)
            XCTAssertTrue(line.contains("size=320x240 ended=true") && !line.contains("error") && !line.contains("refused"), "\(name): \(line)")
        }
    }

    /// Serves `t.dir` on a loopback port with python's http.server, opens the page in
    /// headless Chromium, and returns what the page reported (its /result request).
    private func serveAndBrowse(python: String, chromium: String, _ t: MediaTools) throws -> String {
        let log = t.dir.appendingPathComponent("http.log")
        for _ in 0..<5 {
            let port = Int.random(in: 20_000..<60_000)
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let server = Process()
            server.executableURL = URL(fileURLWithPath: python)
            server.arguments = ["-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", t.dir.path]
            server.standardOutput = FileHandle.nullDevice
            server.standardError = try FileHandle(forWritingTo: log)
            try server.run()
            defer { server.terminate(); server.waitUntilExit() }
            Thread.sleep(forTimeInterval: 0.5)
            guard server.isRunning else { continue }  // port taken: another one
            let browser = Process()
            browser.executableURL = URL(fileURLWithPath: chromium)
            browser.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--mute-audio", "--autoplay-policy=no-user-gesture-required",
                                 "--user-data-dir=\(t.dir.appendingPathComponent("chromium").path)", "http://127.0.0.1:\(port)/index.html"]
            browser.standardOutput = FileHandle.nullDevice
            browser.standardError = FileHandle.nullDevice
            try browser.run()
            defer { browser.terminate(); browser.waitUntilExit() }
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                let text = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
                if let line = text.split(separator: "\n").first(where: { $0.contains("GET /result?") }),
                   let query = line.split(separator: "?", maxSplits: 1).last?.split(separator: " ").first {
                    return String(query).removingPercentEncoding ?? String(query)
                }
                Thread.sleep(forTimeInterval: 0.5)
            }
            XCTFail("the page reported nothing in 120 s")
            return ""
        }
        XCTFail("no free loopback port for the web server")
        return ""
    }
}
