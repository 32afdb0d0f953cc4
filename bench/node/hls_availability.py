#!/usr/bin/env python3
"""HLS segment availability at a node: how long after a chunk closes its segment is listed.

    hls_availability.py SECONDS PLAYLIST_URL -- SUBSCRIBER_COMMAND...

The subscriber command (tests/integration/node-client.py ... subscribe with TIMESTAMPS=1) is a
second subscription at the ingest: it prints "<unix time> chunk N ..." the moment each
ChunkSealed arrives, i.e. when the chunk closed, give or take the ingest's send. Meanwhile the
playlist is polled every 5 ms; a segment N.ts first listed at time t was available t - sealed(N)
after its chunk closed. Prints JSON: count, p50, p90, max in ms."""
import json, subprocess, sys, threading, time, urllib.request

seconds, url = float(sys.argv[1]), sys.argv[2]
command = sys.argv[sys.argv.index("--") + 1:]
sealed, listed = {}, {}
stop = time.time() + seconds

def poll():
    while time.time() < stop:
        try:
            body = urllib.request.urlopen(url, timeout=2).read().decode()
            now = time.time()
            for line in body.splitlines():
                if line.endswith(".ts"):
                    listed.setdefault(int(line[:-3]), now)
        except Exception:
            pass
        time.sleep(0.005)

thread = threading.Thread(target=poll, daemon=True)
thread.start()
proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
try:
    for line in proc.stdout:
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "chunk":
            sealed[int(parts[2])] = float(parts[0])
        if time.time() > stop:
            break
finally:
    proc.kill()
thread.join()
delays = sorted((listed[s] - t) * 1000 for s, t in sealed.items() if s in listed)
if not delays:
    print(json.dumps({"count": 0})); sys.exit(1)
pick = lambda q: round(delays[min(len(delays) - 1, int(len(delays) * q))], 1)
print(json.dumps({"count": len(delays), "p50_ms": pick(0.5), "p90_ms": pick(0.9), "max_ms": round(delays[-1], 1)}))
