extension WatchAssets {
    /// The watch page's two players: the browser's own HLS (NativePlayer) and Media Source
    /// Extensions over fMP4 (MSEPlayer), with the fMP4 and playlist parsing MSE needs.
    static let watchPlayersJS = #"""
          // ---- Players -------------------------------------------------------------------
          const canNative = video.canPlayType('application/vnd.apple.mpegurl') !== '';
          const MediaSourceType = window.ManagedMediaSource || window.MediaSource;
          let mode = forced === 'mse' || forced === 'native' ? forced : (canNative ? 'native' : (MediaSourceType ? 'mse' : 'native'));
          let nativeFormat = 'hls';      // 'fmp4' once the MPEG-TS rendition is refused (AV1, Opus)
          const format = () => (mode === 'mse' ? 'fmp4' : nativeFormat);

          class Fatal extends Error {}

          // HLS in the <video> element itself; the node is checked every CHECK_MS on the side.
          class NativePlayer {
            constructor(url, events) { this.url = url; this.events = events; this.failures = 0; }
            start() {
              video.src = withViewer(this.url);
              video.play().catch(() => this.events.blocked());
              this.timer = setInterval(() => this.check(), CHECK_MS);
            }
            async check() {
              const answer = await probe(this.url);
              if (answer.ok || answer.starting) { this.failures = 0; return; }
              if (++this.failures >= 2) { this.failures = 0; this.events.nodeFailed(answer.text); }
            }
            nudge() { return nudge(); }
            stop() {
              clearInterval(this.timer);
              video.removeAttribute('src');
              video.load();
            }
          }

          // ISO BMFF boxes: calls visit(type, contentStart, end) for each box in [start, end).
          function boxes(view, start, end, visit) {
            for (let p = start; p + 8 <= end;) {
              let size = view.getUint32(p), header = 8;
              const type = String.fromCharCode(view.getUint8(p + 4), view.getUint8(p + 5), view.getUint8(p + 6), view.getUint8(p + 7));
              if (size === 1) { size = Number(view.getBigUint64(p + 8)); header = 16; } else if (size === 0) size = end - p;
              if (size < header || p + size > end) return;
              visit(type, p + header, p + size);
              p += size;
            }
          }
          // Track id → timescale, from an init segment's moov.
          function timescales(buffer) {
            const view = new DataView(buffer), scales = {};
            boxes(view, 0, view.byteLength, (type, s, e) => {
              if (type !== 'moov') return;
              boxes(view, s, e, (type, s, e) => {
                if (type !== 'trak') return;
                let id = 0, scale = 0;
                boxes(view, s, e, (type, s, e) => {
                  if (type === 'tkhd') id = view.getUint32(s + (view.getUint8(s) === 1 ? 20 : 12));
                  if (type === 'mdia') {
                    boxes(view, s, e, (type, s) => {
                      if (type === 'mdhd') scale = view.getUint32(s + (view.getUint8(s) === 1 ? 20 : 12));
                    });
                  }
                });
                if (id && scale) scales[id] = scale;
              });
            });
            return scales;
          }
          // A fragment's earliest decode time in seconds (tfdt of each traf), or null.
          function fragmentStart(buffer, scales) {
            const view = new DataView(buffer);
            let start = null;
            boxes(view, 0, view.byteLength, (type, s, e) => {
              if (type !== 'moof') return;
              boxes(view, s, e, (type, s, e) => {
                if (type !== 'traf') return;
                let id = 0, time = null;
                boxes(view, s, e, (type, s) => {
                  if (type === 'tfhd') id = view.getUint32(s + 4);
                  if (type === 'tfdt') time = view.getUint8(s) === 1 ? Number(view.getBigUint64(s + 4)) : view.getUint32(s + 4);
                });
                if (time !== null && scales[id]) {
                  const t = time / scales[id];
                  if (start === null || t < start) start = t;
                }
              });
            });
            return start;
          }

          function parsePlaylist(text, base) {
            const playlist = { targetDuration: 2, segments: [] };
            let map = null, discontinuity = false, duration = 0;
            for (const raw of text.split('\n')) {
              const line = raw.trim();
              if (line.startsWith('#EXT-X-TARGETDURATION:')) playlist.targetDuration = Number(line.slice(22)) || 2;
              else if (line.startsWith('#EXTINF:')) duration = parseFloat(line.slice(8)) || 0;
              else if (line.startsWith('#EXT-X-MAP:')) {
                const uri = /URI="([^"]*)"/.exec(line);
                if (uri) map = new URL(uri[1], base).href;
              } else if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
              else if (line && !line.startsWith('#')) {
                const uri = new URL(line, base).href;
                const file = uri.split('?')[0].split('/').pop();
                playlist.segments.push({ uri, map, discontinuity, duration, key: file.replace(/\.[a-z0-9]+$/, '') });
                discontinuity = false;
              }
            }
            return playlist;
          }
          // Segments are named by their chunk, "<chain>-<seq>", the same on every node.
          function chunkOf(key) {
            const m = /^([0-9a-f]+)-(\d+)$/.exec(key);
            return m ? { chain: m[1], seq: Number(m[2]) } : null;
          }
          function describe(codecs) {
            const names = { avc1: 'H.264', hvc1: 'HEVC', hev1: 'HEVC', av01: 'AV1', mp4a: 'AAC', opus: 'Opus' };
            return codecs.split(',').map((c) => names[c.split('.')[0]] || c).join(' + ');
          }

          // HLS-fMP4 through Media Source Extensions: polls the playlist, appends the init segment
          // (again whenever EXT-X-MAP changes) and then each fragment once, in order. A fragment
          // whose timeline does not continue the buffer (a discontinuity, a gap, another node) is
          // placed where the buffer ends. Moving to another node (switchTo) keeps the buffer: the
          // next fragment is the chunk after the last one appended.
          class MSEPlayer {
            constructor(url, events) {
              this.url = url; this.events = events; this.stopped = false; this.failures = 0;
              this.lastKey = null; this.map = null; this.codecs = null; this.sourceBuffer = null; this.scales = {};
            }
            async start() {
              this.mediaSource = new MediaSourceType();
              if (window.ManagedMediaSource && MediaSourceType === window.ManagedMediaSource) video.disableRemotePlayback = true;
              this.objectURL = URL.createObjectURL(this.mediaSource);
              video.src = this.objectURL;
              await new Promise((resolve) => this.mediaSource.addEventListener('sourceopen', resolve, { once: true }));
              this.loop();
            }
            switchTo(url) { this.url = url; this.failures = 0; }
            stop() {
              this.stopped = true;
              video.playbackRate = 1;
              video.removeAttribute('src');
              video.load();
              URL.revokeObjectURL(this.objectURL);
            }
            async loop() {
              while (!this.stopped) {
                let wait = 1000;
                const url = this.url;
                try {
                  const { response, body } = await get(withViewer(url), 'text');
                  if (!response.ok) throw new Error(`playlist: HTTP ${response.status}`);
                  const playlist = parsePlaylist(body, url);
                  wait = Math.max(500, playlist.targetDuration * 500);
                  // How far behind the buffered end to play: the next fragment exists only once
                  // its chunk is complete, so one segment's time, and half a second to fetch it.
                  this.cushion = Math.max(...playlist.segments.map((s) => s.duration), 1) + 0.5;
                  for (const segment of this.next(playlist.segments)) {
                    if (this.stopped || url !== this.url) break;
                    await this.append(segment);
                  }
                  this.failures = 0;
                  await this.trim();
                } catch (e) {
                  if (this.stopped) return;
                  if (e instanceof Fatal) { this.events.fatal(e.message); return; }
                  note(`mse: ${e.message || e}`);
                  if (url === this.url && ++this.failures >= 2) { this.failures = 0; this.events.nodeFailed(String(e.message || e)); }
                  wait = 500;
                }
                await sleep(wait);
              }
            }
            // Which of the listed segments to append now.
            next(segments) {
              if (!segments.length) return [];
              const edge = () => {
                // Near the live edge with one segment in hand, not before the latest discontinuity.
                let from = Math.max(0, segments.length - 2);
                for (let i = segments.length - 1; i > from; i--) if (segments[i].discontinuity) { from = i; break; }
                return segments.slice(from);
              };
              if (this.lastKey === null) {
                const join = edge();
                this.joinUntil = join[join.length - 1];
                return join;
              }
              const at = segments.findIndex((s) => s.key === this.lastKey);
              if (at >= 0) return segments.slice(at + 1);
              const last = chunkOf(this.lastKey);
              if (last) {
                const sameChain = segments.filter((s) => chunkOf(s.key)?.chain === last.chain);
                const later = sameChain.filter((s) => chunkOf(s.key).seq > last.seq);
                if (later.length) return later;
                if (sameChain.length) return [];   // this node is behind the last one: wait for it
              }
              return edge();                       // a new chain (the stream started again)
            }
            push(data) {
              return new Promise((resolve, reject) => {
                const buffer = this.sourceBuffer;
                const done = () => { buffer.removeEventListener('updateend', done); buffer.removeEventListener('error', failed); resolve(); };
                const failed = () => { buffer.removeEventListener('updateend', done); buffer.removeEventListener('error', failed); reject(new Error('append failed')); };
                buffer.addEventListener('updateend', done);
                buffer.addEventListener('error', failed);
                try { buffer.appendBuffer(data); } catch (e) { buffer.removeEventListener('updateend', done); buffer.removeEventListener('error', failed); reject(e); }
              });
            }
            bufferedEnd() {
              const ranges = this.sourceBuffer.buffered;
              return ranges.length ? ranges.end(ranges.length - 1) : null;
            }
            async append(segment) {
              if (segment.map && segment.map !== this.map) {
                const { response, body: data } = await get(segment.map, 'arrayBuffer', SEGMENT_MS);
                if (!response.ok) throw new Error(`init segment: HTTP ${response.status}`);
                const codecs = response.headers.get('X-Streamr-Codecs');
                if (!codecs) throw new Fatal('The server did not say which codecs the stream uses.');
                const type = `video/mp4; codecs="${codecs}"`;
                if (!MediaSourceType.isTypeSupported(type)) throw new Fatal(`This browser cannot play ${describe(codecs)} (${codecs}).`);
                if (!this.sourceBuffer) {
                  this.sourceBuffer = this.mediaSource.addSourceBuffer(type);
                  this.sourceBuffer.mode = 'segments';
                } else if (codecs !== this.codecs) {
                  if (!this.sourceBuffer.changeType) throw new Fatal('The stream changed codecs and this browser cannot follow.');
                  this.sourceBuffer.changeType(type);
                }
                await this.push(data);
                note(`init ${segment.map.split('/').pop()} ${codecs}`);
                this.map = segment.map; this.codecs = codecs; this.scales = timescales(data);
              }
              const { response, body: data } = await get(segment.uri, 'arrayBuffer', SEGMENT_MS);
              if (!response.ok) throw new Error(`segment: HTTP ${response.status}`);
              const start = fragmentStart(data, this.scales);
              const end = this.bufferedEnd();
              if (start !== null) {
                if (end === null) this.sourceBuffer.timestampOffset = -start;
                else if (Math.abs(start + this.sourceBuffer.timestampOffset - end) > 0.3) {
                  note(`realign ${segment.key}: ${(start + this.sourceBuffer.timestampOffset - end).toFixed(2)} s`);
                  this.sourceBuffer.timestampOffset = end - start;
                }
              }
              try {
                await this.push(data);
              } catch (e) {
                if (e.name !== 'QuotaExceededError') throw e;
                await this.trim(5);
                await this.push(data);
              }
              this.lastKey = segment.key;
              stats.segment = segment.key;
              const ranges = this.sourceBuffer.buffered;
              const now = this.bufferedEnd();
              if (!this.started) {
                // Joining: the two newest segments are appended; play `cushion` before their end.
                if (segment !== this.joinUntil) return;
                this.started = true;
                if (ranges.length) video.currentTime = Math.max(ranges.start(0), now - this.cushion);
                video.play().catch(() => this.events.blocked());
                return;
              }
              // Behind the live edge by more than a segment beyond the cushion (after stalls):
              // play a little faster until back; far behind, jump.
              const ahead = now - video.currentTime, want = this.cushion + this.cushion - 0.5;
              if (ahead > want + 8) video.currentTime = now - this.cushion;
              else if (ahead > want + 1) video.playbackRate = 1.1;
              else if (ahead <= want) video.playbackRate = 1;
              stats.behind = Math.round(ahead * 10) / 10;
            }
            // Keeps 30 s behind the playhead (or `keep` s when the buffer is full).
            async trim(keep = 30) {
              const buffer = this.sourceBuffer;
              if (!buffer || buffer.updating || !buffer.buffered.length) return;
              const from = buffer.buffered.start(0), to = video.currentTime - keep;
              if (to - from < 1) return;
              await new Promise((resolve) => {
                buffer.addEventListener('updateend', resolve, { once: true });
                try { buffer.remove(from, to); } catch (e) { resolve(); }
              });
            }
            nudge() { return nudge(); }
          }

          // Stalled in a hole before buffered media: jump to it.
          function nudge() {
            const ranges = video.buffered, t = video.currentTime;
            for (let i = 0; i < ranges.length; i++) {
              if (ranges.start(i) <= t && t < ranges.end(i) - 0.5) return false;
              if (ranges.start(i) > t && ranges.start(i) - t < 3) {
                note(`skip gap ${t.toFixed(2)} → ${ranges.start(i).toFixed(2)}`);
                video.currentTime = ranges.start(i) + 0.05;
                return true;
              }
            }
            return false;
          }
        """#
}
