#!/usr/bin/env python3
"""check-timestamps.py FILE [MIN_SECONDS]: every stream's DTS in FILE (read by ffprobe) never
goes back, and the file spans at least MIN_SECONDS (default 12). Prints a summary; exits 1
naming the first step back."""
import subprocess, sys

path, minimum = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 12.0
out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "packet=stream_index,dts_time", "-of", "csv=p=0", path],
                     capture_output=True, text=True, check=True).stdout
last, first, end, n = {}, None, 0.0, 0
for line in out.splitlines():
    parts = line.strip().split(",")
    if len(parts) < 2 or parts[1] in ("", "N/A"):
        continue
    stream, t = parts[0], float(parts[1])
    n += 1
    if stream in last and t < last[stream] - 0.001:
        sys.exit(f"dts goes back in stream {stream}: {last[stream]:.3f} -> {t:.3f} s")
    last[stream] = t
    first = t if first is None else min(first, t)
    end = max(end, t)
span = end - (first or 0)
if span < minimum:
    sys.exit(f"only {span:.1f} s of media, expected at least {minimum:.0f}")
print(f"{n} packets over {span:.1f} s, monotonic")
