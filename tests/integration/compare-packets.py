#!/usr/bin/env python3
"""Checks that a played copy of a stream carries the source's packets, unchanged, using
ffprobe (nobody here wrote it) on both files.

  compare-packets.py SOURCE PLAYED [--min-seconds S] [--to-end] [--cut]

For each of video and audio: the played packets' SHA-256 (ffprobe -show_data_hash) must be a
contiguous run of the source's, with the same spacing of timestamps (one constant offset:
a player joins mid-stream, and a remuxing player may rebase time). Video must start on a
keyframe. --to-end: the run reaches the source's last packet (the player got everything to
the end of stream). --cut: the copy was cut off mid-stream (the player was stopped), so its
last packet of each kind may be incomplete and is not compared. Prints what matched; exits
1 on a mismatch."""
import json, subprocess, sys

def packets(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_data_hash", "sha256", "-show_entries",
                          "packet=codec_type,pts,flags,data_hash", "-of", "json", path],
                         check=True, capture_output=True, text=True).stdout
    result = {"video": [], "audio": []}
    for p in json.loads(out)["packets"]:
        if p["codec_type"] in result:
            result[p["codec_type"]].append((p["data_hash"], int(p["pts"]), "K" in p.get("flags", "")))
    return result

def main():
    args = sys.argv[1:]
    source, played = packets(args[0]), packets(args[1])
    min_seconds = float(args[args.index("--min-seconds") + 1]) if "--min-seconds" in args else 1.0
    to_end = "--to-end" in args
    if "--cut" in args:
        played = {kind: list_[:-1] for kind, list_ in played.items()}
    failed = False
    for kind in ("video", "audio"):
        src, out = source[kind], played[kind]
        if not out:
            print(f"{kind}: no packets played"); failed = True; continue
        hashes = [h for h, _, _ in src]
        try:
            start = hashes.index(out[0][0])
        except ValueError:
            print(f"{kind}: the first played packet is not in the source"); failed = True; continue
        run = src[start:start + len(out)]
        same = [a[0] == b[0] for a, b in zip(run, out)]
        offsets = {b[1] - a[1] for a, b in zip(run, out)}
        if len(run) != len(out) or not all(same):
            bad = same.index(False) if False in same else len(run)
            print(f"{kind}: played packet {bad} differs from source packet {start + bad}"); failed = True; continue
        if len(offsets) != 1:
            print(f"{kind}: timestamps were not shifted uniformly: offsets {sorted(offsets)[:5]}"); failed = True; continue
        seconds = (out[-1][1] - out[0][1]) / 1000
        if kind == "video" and not out[0][2]:
            print("video: playback did not start on a keyframe"); failed = True
        if seconds < min_seconds:
            print(f"{kind}: only {seconds:.1f}s played"); failed = True
        if to_end and start + len(out) != len(src):
            print(f"{kind}: playback stopped {len(src) - start - len(out)} packets before the source's end"); failed = True
        print(f"{kind}: {len(out)} packets identical to source packets {start}..{start + len(out) - 1}, "
              f"{seconds:.1f}s, timestamp offset {offsets.pop()} ms")
    sys.exit(1 if failed else 0)

main()
