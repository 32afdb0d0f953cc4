#!/usr/bin/env python3
"""soak-watch.py OUT_DIR SECONDS NAME=PID... -- URL...

For SECONDS: every 2 s fetches each HLS playlist URL and appends the segment names it lists to
OUT_DIR/segments-<i>.txt (i = the URL's index, from 1); every 5 s appends each named process's
RSS (KiB, from /proc) to OUT_DIR/rss.csv as `elapsed_s,name,kib`. Used by test-soak.sh, which
judges the files afterwards (gaps in chunk sequences, RSS growth)."""
import os, re, sys, time, urllib.request

out, seconds = sys.argv[1], float(sys.argv[2])
args = sys.argv[3:]
split = args.index("--")
procs = [a.split("=", 1) for a in args[:split]]
urls = args[split + 1:]
segment = re.compile(r"^[^#\s].*\.(ts|m4s)\s*$")


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None


start = time.monotonic()
next_rss = 0.0
seen = [set() for _ in urls]
files = [open(os.path.join(out, f"segments-{i + 1}.txt"), "a") for i in range(len(urls))]
with open(os.path.join(out, "rss.csv"), "a") as rss:
    while (elapsed := time.monotonic() - start) < seconds:
        for i, url in enumerate(urls):
            try:
                body = urllib.request.urlopen(url, timeout=2).read().decode()
            except Exception:
                continue
            for line in body.splitlines():
                name = line.strip().rsplit("/", 1)[-1]
                if segment.match(line) and name not in seen[i]:
                    seen[i].add(name)
                    files[i].write(name + "\n")
            files[i].flush()
        if elapsed >= next_rss:
            for name, pid in procs:
                kib = rss_kib(pid)
                if kib is not None:
                    rss.write(f"{elapsed:.0f},{name},{kib}\n")
            rss.flush()
            next_rss += 5
        time.sleep(max(0.0, 2 - (time.monotonic() - start - elapsed)))
