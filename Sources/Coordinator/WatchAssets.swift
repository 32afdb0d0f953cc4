/// The watch page's and the overlay's scripts and styles, served from `/assets/` (same origin,
/// so the pages' Content-Security-Policy needs no inline script or style). Hand-written, no
/// third-party code; the player logic is described in WatchPage and README ("Watching in a
/// browser").
enum WatchAssets {
    struct Asset: Sendable {
        var contentType: String
        var body: String
        /// A hash of the body: the pages link `name?v=<version>`.
        var version: String
    }

    static let all: [String: Asset] = {
        var assets: [String: Asset] = [:]
        for (name, type, body) in [("watch.js", "text/javascript; charset=utf-8", watchJS),
                                   ("watch.css", "text/css; charset=utf-8", watchCSS),
                                   ("overlay.js", "text/javascript; charset=utf-8", overlayJS),
                                   ("overlay.css", "text/css; charset=utf-8", overlayCSS)] {
            assets[name] = Asset(contentType: type, body: body, version: fnv1a(body))
        }
        return assets
    }()

    static func versioned(_ name: String) -> String { "\(name)?v=\(all[name]?.version ?? "0")" }

    /// FNV-1a 64, hex: enough to tell versions apart (not a security property).
    static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }

    // MARK: - The watch page

    static let watchCSS = #"""
        :root { color-scheme: dark; }
        html, body { margin: 0; background: #0e0f12; color: #e8e8ea; font: 15px/1.4 system-ui, sans-serif; }
        main { max-width: 1280px; margin: 0 auto; padding: 12px; }
        .player { position: relative; background: #000; aspect-ratio: 16 / 9; }
        video { display: block; width: 100%; height: 100%; background: #000; }
        .status { position: absolute; left: 50%; top: 50%; transform: translate(-50%, -50%); max-width: 80%;
          padding: 10px 16px; border-radius: 8px; background: rgba(0, 0, 0, .72); text-align: center; pointer-events: none; }
        .status[hidden] { display: none; }
        .info { margin: 8px 0; color: #b7b9c0; }
        .state { display: inline-block; padding: 1px 8px; border-radius: 4px; background: #3a3d45; color: #fff;
          font-weight: 600; font-size: 12px; letter-spacing: .05em; text-transform: uppercase; }
        .state.live { background: #c62828; }
        .state.reconnecting { background: #b26a00; }
        .state.offline { background: #555; }
        .via { margin-left: .5em; }
        """#

    /// The watch page's script: one function scope, in three parts (set-up and routing; the
    /// players, in WatchAssets+Players; control and progress), joined by blank lines.
    static let watchJS = [watchSetupJS, watchPlayersJS, watchControlJS].joined(separator: "\n\n")

    static let watchSetupJS = #"""
        'use strict';
        // The watch page's player. It asks the coordinator where to play from (/api/route: a node
        // chosen like /watch does, or the ingest's origin), plays HLS there — natively where the
        // browser plays HLS, else through Media Source Extensions with the fMP4 rendition — and,
        // when that node fails or playback stalls while the stream is live, asks again without
        // that node and carries on from another one. window.streamr holds what it saw.
        (() => {
          const stream = document.body.dataset.stream;
          const params = new URLSearchParams(location.search);
          const forced = params.get('player');            // "native" or "mse"; default: what the browser plays
          const video = document.getElementById('video');
          const statusBox = document.getElementById('status');
          const stateBadge = document.getElementById('state');
          const via = document.getElementById('via');
          const viewerId = Math.random().toString(36).slice(2, 12);

          const STALL_MS = 4000;          // no progress this long while playing: recover
          const CHECK_MS = 2000;          // how often the native player's node is checked
          const FETCH_MS = 4000;          // a request without an answer this long has failed
          const SEGMENT_MS = 15000;       // ... a media segment's (a slow link takes a while for 2 s of video)
          const EXCLUDE_MS = 30000;       // a failed node is not asked for again this long
          const STATUS_MS = 10000;        // stream state poll (stalls ask at once)

          const stats = window.streamr = {
            stream, player: null, format: null, node: null, name: null, url: null, state: null,
            played: 0, firstFrameMs: null, switches: 0, errors: [], events: [], message: null,
          };
          const note = (what) => {
            stats.events.push(`${(performance.now() / 1000).toFixed(1)} ${what}`);
            if (stats.events.length > 200) stats.events.shift();
          };
          const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

          function say(text) {
            stats.message = text;
            statusBox.textContent = text || '';
            statusBox.hidden = !text;
          }

          function showState(state) {
            if (!state || state === stats.state) return;
            stats.state = state;
            stateBadge.textContent = state;
            stateBadge.className = `state ${state}`;
          }

          // The response and its body (`read`: 'text', 'json' or 'arrayBuffer'), both within `timeout`: a server
          // that sends headers and then stalls must not hold a check up for good.
          async function get(url, read, timeout = FETCH_MS) {
            const abort = new AbortController();
            const timer = setTimeout(() => abort.abort(), timeout);
            try {
              const response = await fetch(url, { cache: 'no-store', signal: abort.signal });
              let body = null;
              if (read === 'json') { try { body = await response.json(); } catch (e) { if (abort.signal.aborted) throw e; } }
              else body = await response[read]();
              return { response, body };
            } finally { clearTimeout(timer); }
          }

          const withViewer = (url) => `${url}${url.includes('?') ? '&' : '?'}viewer=${viewerId}`;

          // ---- Which node ----------------------------------------------------------------
          const excluded = new Map();
          function exclude(node) {
            if (node) excluded.set(node, Date.now() + EXCLUDE_MS);
            else excluded.set('origin', Date.now() + EXCLUDE_MS);
          }
          function exclusions() {
            const now = Date.now();
            return [...excluded].filter(([node, until]) => until > now && node !== 'origin').map(([node]) => node);
          }

          async function route(format) {
            const query = new URLSearchParams({ format });
            const nodes = exclusions();
            if (nodes.length) query.set('exclude', nodes.join(','));
            const { response, body } = await get(`/api/route/${encodeURIComponent(stream)}?${query}`, 'json');
            const answer = body && typeof body === 'object' ? body : {};   // not JSON: a proxy's error page
            answer.status = response.status;
            return answer;
          }

          async function streamState() {
            const { response, body } = await get(`/api/stream/${encodeURIComponent(stream)}`, 'json');
            return response.ok ? body : null;
          }

          // Fetches the playlist the player would use: is the node there, and does it have it?
          // `segments`: how many it lists (Chromium's own HLS fails on a live playlist of fewer
          // than three, as a stream that just started has).
          async function probe(url, segments = 1) {
            try {
              const { response, body: text } = await get(withViewer(url), 'text');
              if (response.ok && text.startsWith('#EXTM3U')) {
                const listed = text.split('\n').filter((line) => line.startsWith('#EXTINF')).length;
                return listed >= segments ? { ok: true } : { ok: false, starting: true, text: `${listed} segment(s) so far` };
              }
              if (response.status === 404 && text.includes('not available')) return { ok: false, refused: true, text };
              if (response.status === 404 && text.includes('no HLS segment yet')) return { ok: false, starting: true, text };
              return { ok: false, text: `HTTP ${response.status}: ${text.slice(0, 120)}` };
            } catch (e) {
              return { ok: false, text: String(e) };
            }
          }
        """#

    static let watchControlJS = #"""
          // ---- Control -------------------------------------------------------------------
          let player = null;
          let busy = false;

          const events = {
            nodeFailed: (why) => recover(`node failed: ${why}`, true),
            fatal: (why) => { stats.errors.push(why); stop(); say(why); },
            blocked: () => say('Press play to start.'),
          };

          function stop() {
            if (player) player.stop();
            player = null;
          }

          function use(answer) {
            const previous = stats.node === null && stats.url === null ? null : (stats.node || 'origin');
            const next = answer.node || 'origin';
            if (previous !== null && previous !== next) stats.switches++;
            stats.node = answer.node || null;
            stats.name = answer.name || null;
            stats.url = answer.url;
            stats.format = format();
            via.textContent = answer.node ? `· from ${answer.name || 'a friend'}'s node` : '· from the streamer';
            note(`play ${stats.format} from ${next}: ${answer.url}`);
            if (player instanceof MSEPlayer && mode === 'mse' && !player.stopped) {
              player.switchTo(answer.url);
              return;
            }
            stop();
            stats.player = mode;
            player = mode === 'mse' ? new MSEPlayer(answer.url, events) : new NativePlayer(answer.url, events);
            lastProgressAt = performance.now();
            lastTime = video.currentTime;
            player.start();
          }

          // Finds a node (or the origin) that has the stream, and plays from it.
          async function connect() {
            for (;;) {
              let answer;
              try { answer = await route(format()); } catch (e) {
                say('Cannot reach the server; trying again…');
                await sleep(3000);
                continue;
              }
              if (answer.state) showState(answer.state);
              if (answer.status === 404) { stop(); say(`There is no stream called “${stream}”.`); await sleep(15000); continue; }
              if (answer.state === 'offline') {
                stop();
                say('The stream is offline. It starts here by itself when the streamer goes live.');
                await sleep(5000);
                continue;
              }
              if (!answer.url) { say(answer.error || 'Nobody can serve this stream right now; trying again…'); await sleep(5000); continue; }
              const check = await probe(answer.url, mode === 'native' ? 3 : 1);
              if (check.refused && mode === 'native' && nativeFormat === 'hls') {
                note(`MPEG-TS refused: ${check.text.trim()}`);
                if (MediaSourceType && forced !== 'native') mode = 'mse'; else nativeFormat = 'fmp4';
                continue;
              }
              if (check.starting) { say('The stream is starting…'); await sleep(1000); continue; }
              if (!check.ok) {
                note(`${answer.node || 'origin'} failed its check: ${check.text}`);
                exclude(answer.node);
                await sleep(500);
                continue;
              }
              use(answer);
              return;
            }
          }

          // Playback stalled or a node failed: wait (the stream is reconnecting), or move on.
          async function recover(why, nodeFailed) {
            if (busy) return;
            busy = true;
            try {
              note(`recover: ${why}`);
              let state = null;
              try { state = await streamState(); } catch (e) { /* the coordinator is away: try the nodes */ }
              if (state) showState(state.state);
              if (!nodeFailed && stats.url) nodeFailed = !(await probe(stats.url)).ok;
              if (!nodeFailed && state && state.state === 'reconnecting') {
                say('The streamer’s connection dropped; waiting for it to come back…');
                return;
              }
              if (state && state.state === 'offline') stop();
              exclude(stats.node);
              if (player) say(nodeFailed ? 'Moving to another server…' : 'Playback stalled; trying another server…');
              await connect();
            } finally {
              busy = false;
            }
          }

          // ---- Watching progress -----------------------------------------------------------
          let lastTime = 0;
          let lastProgressAt = performance.now();
          setInterval(() => {
            const t = video.currentTime, now = performance.now();
            if (t !== lastTime) {
              const delta = t - lastTime;
              if (delta > 0 && delta < 2 && !video.paused) {
                stats.played += delta;
                lastProgressAt = now;
                if (stats.message && !busy) say(null);
              }
              lastTime = t;
            }
            stats.currentTime = t;
            if (!player || busy) { lastProgressAt = now; return; }
            // Paused by the viewer: wait for them. Paused otherwise (the stream ran out at a node
            // that stopped, a refused play() after a switch) is a stall like any other.
            if (video.paused && viewerPaused) { lastProgressAt = now; return; }
            if (now - lastProgressAt > STALL_MS) {
              lastProgressAt = now;
              if (!player.nudge()) recover('stalled', false);
            }
          }, 250);

          // Only the viewer pauses a live stream: the 'pause' at its end, or none at all when a
          // play() is refused, are not theirs.
          let viewerPaused = false;
          video.addEventListener('pause', () => { viewerPaused = !video.ended && stats.played > 0; });
          video.addEventListener('play', () => { viewerPaused = false; });

          const firstFrame = () => { if (stats.firstFrameMs === null) { stats.firstFrameMs = Math.round(performance.now()); note('first frame'); } };
          if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(firstFrame);
          else video.addEventListener('playing', firstFrame, { once: true });

          video.addEventListener('error', () => {
            if (!video.getAttribute('src') || !player) return;    // a player being taken down
            const error = video.error;
            const text = `video error ${error ? error.code : '?'}${error && error.message ? `: ${error.message}` : ''}`;
            stats.errors.push(text);
            // The browser's own HLS cannot decode this stream (HEVC, say): try Media Source Extensions.
            if (error && error.code === 4 && mode === 'native' && MediaSourceType && forced !== 'native') { mode = 'mse'; stop(); }
            recover(text, true);
          });

          setInterval(async () => {
            try {
              const state = await streamState();
              if (!state) return;
              showState(state.state);
              if (state.state === 'live' && stats.message && stats.message.startsWith('The streamer’s connection')) say('Back — catching up…');
            } catch (e) { /* next time */ }
          }, STATUS_MS);

          say('Connecting…');
          connect();
        })();
        """#
}
