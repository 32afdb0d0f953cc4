#!/usr/bin/env bash
# The watch page and the OBS overlay in a real browser: Debian's headless Chromium, driven by
# chromedriver through selenium (browser-driver.py), against the real binaries on loopback — a
# coordinator, an ingest, two friends' nodes and ffmpeg publishing testsrc2 + a sine.
#
# - the page and its assets come with their content types and a strict CSP; players still get
#   the redirect;
# - the page plays (Chromium's own HLS, MPEG-TS) for 10 s: currentTime advances, no error event,
#   and a screenshot of the video shows testsrc2's six colour bars;
# - the node the page plays from is stopped: playback goes on from the other node;
# - the same with Media Source Extensions and the fMP4 rendition forced on (?player=mse);
#   then with both nodes stopped, from the ingest's origin;
# - the overlay (transparent background) names both friends (display names, escaped; no payout
#   handle or address anywhere) and their viewers, and says whether the ingest receives;
# - a publisher blink: page and overlay say "reconnecting", and playback resumes;
# - offline: the page says so, and starts by itself when the stream is live again.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$IT_DIR/lib-live.sh"

for tool in chromium chromedriver ffmpeg; do
    command -v "$tool" >/dev/null || fail "$tool not installed (make deps)"
done
PY=${BROWSER_PYTHON:-$REPO/.build-tools/venv/bin/python}
[[ -x "$PY" ]] && "$PY" -c 'import selenium' 2>/dev/null || fail "selenium not installed in $PY (make browser-tools)"

GRACE=14
live_system "${GRACE}s"
live_node 1 "Friend One"
TWO='Friend <b>Two</b> & Co'
live_node 2 "$TWO"
URL="http://127.0.0.1:$CH"

ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -t 20 -c:v libx264 -preset ultrafast -b:v 1M -g 60 -pix_fmt yuv420p -c:a aac -b:a 96k -f flv "$WORK/source.flv"
publish() {
    start_bg "publisher-$1" ffmpeg -hide_banner -loglevel warning -nostdin -re -stream_loop -1 -i "$WORK/source.flv" -c copy -f flv \
        "rtmp://127.0.0.1:$RP/live/$KEY"
    PUBLISHER=$PID
}
publish 1
relays() { curl -sf "$URL/api/stream/main" | python3 -c 'import json, sys; s = json.load(sys.stdin); print(s["state"], len(s["relays"]))'; }
check "both nodes relay the live stream (/api/stream)" wait_until 30 eval '[[ "$(relays)" == "live 2" ]]'
check "both nodes serve HLS" wait_until 20 eval \
    'curl -sf "http://127.0.0.1:$N1H/live/main/index.m3u8" >/dev/null && curl -sf "http://127.0.0.1:$N2H/live/main/fmp4.m3u8" >/dev/null'

############ the page over plain HTTP ############
curl -s -D "$WORK/page.headers" -H 'Accept: text/html,application/xhtml+xml,*/*;q=0.8' "$URL/watch/main" -o "$WORK/page.html"
header() { grep -i "^$1:" "$2" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
check "a browser's /watch gets the page (200, text/html)" bash -c '[[ $(head -1 "$1") == *" 200 "* && $(grep -ci "^content-type: text/html; charset=utf-8" "$1") == 1 ]]' _ "$WORK/page.headers"
CSP=$(header Content-Security-Policy "$WORK/page.headers")
check "... with a strict CSP: default-src 'none', scripts and styles from self only ($CSP)" bash -c '
  [[ $1 == *"default-src '"'"'none'"'"'"* && $1 == *"script-src '"'"'self'"'"';"* && $1 == *"style-src '"'"'self'"'"';"* &&
     $1 == *"media-src '"'"'self'"'"' blob: http: https:"* && $1 == *"connect-src '"'"'self'"'"' http: https:"* && $1 != *unsafe* ]]' _ "$CSP"
check "... no inline script or style in the page" bash -c '! grep -qiE "<script>|<style|[[:space:]]style=|[[:space:]]on[a-z]+=" "$1"' _ "$WORK/page.html"
JS=$(grep -o 'src="/assets/watch.js[^"]*"' "$WORK/page.html" | cut -d'"' -f2)
check "the script it links is JavaScript from this origin ($JS)" bash -c '
  curl -s -D "$2" -o /dev/null "$1$3"; grep -qi "^content-type: text/javascript" "$2" && grep -qi "^x-content-type-options: nosniff" "$2"' _ "$URL" "$WORK/js.headers" "$JS"
check "players (Accept: */*) still get the redirect" test "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: */*' "$URL/watch/main")" = 302
check "so does a browser naming a format" test "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/html' "$URL/watch/main?format=hls")" = 302
check "an unknown stream's page is a 404 page" test "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/html' "$URL/watch/nosuch")" = 404
check "the overlay page has its own CSP (connect-src 'self' only)" bash -c \
    'curl -sI "$1/overlay/main" | grep -i "^content-security-policy:" | grep -q "connect-src '"'"'self'"'"'; base-uri"' _ "$URL"
STATUS=$(curl -s "$URL/api/stream/main")
check "/api/stream is public: display names and viewer counts, no payout handle, node id or address" bash -c '
  [[ $1 == *"Friend One"* && $1 != *venmo* && $1 != *friend-1* && $1 != *127.0.0.1* && $1 != *node-* ]]' _ "$STATUS"

############ a real browser ############
coproc BROWSER { exec env BROWSER_PROFILE="$WORK/chromium" CHROMEDRIVER_LOG="$WORK/chromedriver.log" "$PY" "$IT_DIR/browser-driver.py" 2>"$WORK/driver.log"; }
BROWSER_PID=$BROWSER_PID
# Its TERM handler quits Chromium and chromedriver: give it the time.
on_cleanup "kill $BROWSER_PID; for _ in \$(seq 50); do kill -0 $BROWSER_PID || break; sleep 0.1; done"
# b COMMAND — one driver command; its JSON answer in $A (bounded: 120 s)
b() {
    echo "$*" >&"${BROWSER[1]}"
    IFS= read -r -t 120 A <&"${BROWSER[0]}" || A='{"ok": false, "error": "no answer from the browser driver"}'
}
# j EXPR — a Python expression over the answer `a` (and its "value" parsed when it is JSON text)
j() { python3 -c 'import json, sys
a = json.loads(sys.argv[1]); v = a.get("value")
if isinstance(v, str) and v[:1] in "{[": v = json.loads(v)
print(eval(sys.argv[2]))' "$A" "$1"; }
ok_answer() { [[ $(j 'a["ok"]') == True ]]; }
stats() { b 'eval JSON.stringify(window.streamr)'; S=$A; }
show_stats() { stats; echo "page: $S" >&2; }
# played — seconds the page has played, in $PLAYED (no $(...): the driver's pipes are this shell's)
played() { b 'eval window.streamr ? window.streamr.played : 0'; PLAYED=$(j 'round(v, 2)'); }
# node_pid ID → pid of the node whose id is ID
node_pid() {
    local n
    for n in 1 2; do
        grep -q "$1" "$WORK/node$n/identity.conf" 2>/dev/null && { local p="NODE${n}_PID"; echo "${!p} $n"; return; }
    done
}

watch_plays() {  # watch_plays QUERY PLAYER — opens the page and checks 10 s of playback
    local query=$1 player=$2
    b "open $URL/watch/main$query"
    b 'wait 60 window.streamr && window.streamr.played >= 10'
    ok_answer || { show_stats; fail "the page ($query) did not play 10 s within 60 s: $A"; }
    stats
    A=$S
    ok "the page$query played 10 s ($(j '"first frame after %s ms, %s player, %s from %s" % (v["firstFrameMs"], v["player"], v["format"], v["name"])'))"
    [[ $(j 'v["player"]') == "$player" ]] || { echo "page: $A" >&2; fail "... the $player player expected"; }
    ok "... with the $player player"
    check "... currentTime advanced (now $(j 'round(v["currentTime"], 1)') s) and no error event ($(j 'v["errors"]'))" \
        test "$(j 'v["currentTime"] >= 9 and v["errors"] == []')" = True
    b "shot $WORK/video${query//[^a-z]/}.png #video"
    b "bars $WORK/video${query//[^a-z]/}.png"
    check "... and a screenshot shows testsrc2's colour bars ($(j '" ".join(x["seen"] for x in a["bars"])'))" ok_answer
}

failover() {  # failover LABEL — stops the node the page plays from; playback goes on elsewhere
    stats; A=$S
    local from pid n t0 took
    from=$(j 'v["node"]')
    read -r pid n < <(node_pid "$from")
    [[ -n "$pid" ]] || fail "the page plays from $from, not from a node of this test"
    played
    t0=$(date +%s%N)
    stop_pid "$pid" 10 || true
    b "wait 40 window.streamr.node !== '$from' && window.streamr.played >= $PLAYED + 4"
    took=$(( ($(date +%s%N) - t0) / 1000000 ))
    ok_answer || { show_stats; fail "$1: playback did not go on after node $n stopped: $A"; }
    stats; A=$S
    j '"\n".join(v["events"][-12:])' >"$WORK/events-${1//[^A-Za-z0-9]/}.txt"
    ok "$1: node $n stopped; 4 s more played from $(j 'v["name"] or "the origin"') $((took / 1000)).$((took % 1000 / 100)) s later (switches: $(j 'v["switches"]'))"
    echo "FAILOVER $1 ${took}ms" >>"$WORK/figures"
    live_node_start "$n" "node$n-again-${1//[^A-Za-z0-9]/}"
    check "node $n is back" wait_until 30 eval '[[ "$(relays)" == "live 2" ]]'
}

watch_plays "" native
failover "native HLS"
watch_plays "?player=mse" mse
failover "MSE/fMP4"
# No node left: the ingest's origin (HLS of the chunks it seals).
played
stop_pid "$NODE1_PID" 10 || true
stop_pid "$NODE2_PID" 10 || true
b "wait 60 window.streamr.node === null && window.streamr.url.includes(':$HP/') && window.streamr.played >= $PLAYED + 4"
ok_answer || { show_stats; fail "both nodes stopped: playback did not go on from the ingest's origin: $A"; }
ok "both nodes stopped: playback goes on from the ingest's origin"
live_node_start 1 node1-back
live_node_start 2 node2-back
check "both nodes are back" wait_until 30 eval '[[ "$(relays)" == "live 2" ]]'
b "eval JSON.stringify(window.streamr.errors)"
check "... without an error event" test "$(j 'v')" = "[]"

############ the overlay ############
b "tab overlay"
b "transparent"
b "open $URL/overlay/main"
b "wait 30 document.querySelectorAll('#relays .name').length === 2 && document.body.dataset.state === 'live'"
check "the overlay lists the two relaying friends and says live" ok_answer
b "eval JSON.stringify([...document.querySelectorAll('#relays li')].map(li => li.textContent))"
NAMES=$A
check "... by display name, as text (not markup): $(j 'v')" bash -c '[[ $1 == *"Friend One"* && $1 == *"Friend <b>Two</b> & Co"* ]]' _ "$NAMES"
b "eval document.querySelectorAll('#relays b').length"
check "... a name's markup stays text" test "$(j 'v')" = 0
b "eval document.getElementById('state').textContent"
check "... the ingest state line: $(j 'v')" bash -c '[[ $1 == Live* ]]' _ "$(j 'v')"
b "eval [getComputedStyle(document.documentElement).backgroundColor, getComputedStyle(document.body).backgroundColor].join(' ')"
check "... transparent background (html and body: $(j 'v'))" test "$(j 'v')" = "rgba(0, 0, 0, 0) rgba(0, 0, 0, 0)"
b "shot $WORK/overlay.png"
b "pixel $WORK/overlay.png -8 -8"
check "... the screenshot is transparent away from the text (alpha $(j 'v[3]'))" test "$(j 'v[3]')" = 0
b "eval JSON.stringify((r => [r.left, r.top, r.right, r.bottom].map(Math.round))(document.getElementById('relays').getBoundingClientRect()))"
RECT=$(j 'v')
check "... and opaque where the names are" "$PY" -c '
import json, sys; sys.path.insert(0, sys.argv[3]); from pngpixels import read_png
img = read_png(sys.argv[1]); l, t, r, b = json.loads(sys.argv[2])
sys.exit(0 if sum(img.pixel(x, y)[3] > 200 for x in range(l, r) for y in range(t, b)) > 100 else 1)' "$WORK/overlay.png" "$RECT" "$IT_DIR"

############ a publisher blink: reconnecting, then on ############
b "tab main"
b "open $URL/watch/main"
b 'wait 60 window.streamr && window.streamr.played >= 3'
check "the page plays again" ok_answer
# A viewer's pause is theirs: no stall, no other server; play goes on.
b "eval (document.getElementById('video').pause(), JSON.stringify([window.streamr.events.length, window.streamr.switches]))"
NOTES_AT=$(j 'v[0]') SWITCHES_AT=$(j 'v[1]')
sleep 9    # over twice the page's stall limit (4 s)
b "eval JSON.stringify({paused: document.getElementById('video').paused, switches: window.streamr.switches, notes: window.streamr.events.slice($NOTES_AT)})"
check "the viewer pauses: 9 s later the page still waits, no recovery ($(j 'v'))" \
    test "$(j 'v["paused"] and v["switches"] == '"$SWITCHES_AT"' and not any("recover" in n or "play " in n for n in v["notes"])')" = True
played
b "eval (document.getElementById('video').play(), 1)"
b "wait 20 window.streamr.played >= $PLAYED + 3"
check "... and plays on when they press play" ok_answer
stop_pid "$PUBLISHER" 5 || true
b 'wait 20 window.streamr.state === "reconnecting"'
check "publisher gone: the page says the stream is reconnecting" ok_answer
b "tab overlay"
b "wait 10 document.body.dataset.state === 'reconnecting'"
check "... so does the overlay ($(j 'v'))" ok_answer
b "eval document.getElementById('state').textContent"
check "... nothing is arriving from OBS: $(j 'v')" bash -c '[[ $1 == Reconnecting* ]]' _ "$(j 'v')"
b "tab main"
sleep 4
played
publish 2
b "wait 45 window.streamr.state === 'live' && window.streamr.played >= $PLAYED + 5"
check "the publisher is back within the grace: playback resumes ($(j 'v'))" ok_answer

############ offline, then live again ############
stop_pid "$PUBLISHER" 5 || true
b "wait $((GRACE + 25)) window.streamr.state === 'offline' && (window.streamr.message || '').includes('offline')"
check "past the grace: the page says the stream is offline" ok_answer
b "tab overlay"
b "wait 10 document.body.dataset.state === 'offline'"
check "... so does the overlay" ok_answer
b "tab main"
played
publish 3
b "wait 60 window.streamr.state === 'live' && window.streamr.played >= $PLAYED + 5"
check "live again: the page starts playing by itself" ok_answer
b quit
[[ -s "$WORK/figures" ]] && sed 's/^/    /' "$WORK/figures"
