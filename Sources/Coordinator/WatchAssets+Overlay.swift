/// The OBS overlay's style and script (served with the watch page's assets, see WatchAssets).
extension WatchAssets {
    static let overlayCSS = #"""
        html, body { margin: 0; background: transparent; color: #fff; overflow: hidden;
          font: 600 20px/1.3 system-ui, sans-serif; text-shadow: 0 1px 3px rgba(0, 0, 0, .9), 0 0 2px #000; }
        .overlay { padding: 12px 16px; }
        .state { margin: 0 0 6px; }
        .state::before { content: ''; display: inline-block; width: .7em; height: .7em; margin-right: .4em; border-radius: 50%;
          background: #888; box-shadow: 0 0 3px #000; vertical-align: baseline; }
        body[data-state="live"] .state::before { background: #2ecc40; }
        body[data-state="reconnecting"] .state::before { background: #ffb300; }
        body[data-state="offline"] .state::before { background: #e53935; }
        .summary { margin: 0 0 4px; font-size: 16px; font-weight: 500; }
        .relays { list-style: none; margin: 0; padding: 0; font-size: 17px; font-weight: 500; }
        .relays li { margin: 2px 0; }
        .relays .viewers { margin-left: .5em; opacity: .85; }
        """#

    static let overlayJS = #"""
        'use strict';
        // The overlay for OBS's Browser Source: polls /api/stream every 3 s and shows whether the
        // ingest receives the stream, who relays it (display names) and their viewers.
        (() => {
          const stream = document.body.dataset.stream;
          const stateLine = document.getElementById('state');
          const summary = document.getElementById('summary');
          const list = document.getElementById('relays');
          const POLL_MS = 3000;
          const labels = {
            live: 'Live: the ingest is receiving',
            reconnecting: 'Reconnecting: nothing is arriving from OBS',
            offline: 'Offline: the ingest receives nothing',
          };
          const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
          function since(seconds) {
            if (!seconds) return '';
            const m = Math.floor(seconds / 60), s = seconds % 60;
            return m >= 60 ? ` for ${Math.floor(m / 60)} h ${m % 60} min` : m ? ` for ${m} min` : ` for ${s} s`;
          }
          function render(answer) {
            const state = answer ? answer.state : 'unknown';
            document.body.dataset.state = state;
            stateLine.textContent = answer ? (labels[state] || state) + since(answer.state_seconds) : 'No answer from the coordinator';
            const relays = answer ? answer.relays || [] : [];
            summary.textContent = answer
              ? `${plural(relays.length, 'friend relays', 'friends relay')} · ${plural(answer.viewers || 0, 'viewer', 'viewers')}`
              : '';
            list.replaceChildren(...relays.map((relay) => {
              const item = document.createElement('li');
              const name = document.createElement('span');
              name.className = 'name';
              name.textContent = relay.name;
              const viewers = document.createElement('span');
              viewers.className = 'viewers';
              viewers.textContent = plural(relay.viewers, 'viewer', 'viewers');
              item.append(name, viewers);
              return item;
            }));
          }
          async function poll() {
            try {
              const response = await fetch(`/api/stream/${encodeURIComponent(stream)}`, { cache: 'no-store' });
              render(response.ok ? await response.json() : null);
            } catch (e) {
              render(null);
            }
            setTimeout(poll, POLL_MS);
          }
          poll();
        })();
        """#
}
