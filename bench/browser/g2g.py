#!/usr/bin/env python3
"""Time to first frame and glass-to-glass delay, against a live stream whose publisher burns
its wall clock into the picture (bench/browser/latency.sh: the top 36 rows of a 960x540
picture are 24 black/white cells, the wall clock in ms mod 2^24, most significant first).

    g2g.py page URL [--samples N]     the watch page in headless Chromium (selenium)
    g2g.py ffmpeg URL [ffmpeg args]   ffmpeg decoding URL (what ffplay would show), frames read raw

Prints one JSON line: first_frame_ms, and glass-to-glass p50/p90/min/max in ms.
"""
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from pngpixels import read_png  # noqa: E402

BITS = 24
MOD = 1 << BITS
STRIP = 36 / 540  # the barcode's share of the picture height


def now_ms():
    return time.time() * 1000


def delay(wall_ms, stamp):
    """wall_ms minus the burnt-in clock, both mod 2^24 (a delay is well under 4.6 hours)."""
    return (int(wall_ms) - stamp) % MOD


def decode_row(pixel, width, y):
    value = 0
    for b in range(BITS):
        x = int((b + 0.5) / BITS * width)
        r, g, bl = pixel(x, y)[:3]
        value = value * 2 + (1 if (r + g + bl) / 3 > 128 else 0)
    return value


def summary(values):
    values = sorted(values)
    return {"p50": round(statistics.median(values)), "p90": round(values[int(0.9 * (len(values) - 1))]),
            "min": round(values[0]), "max": round(values[-1]), "n": len(values)}


def page(url, samples):
    spec = __import__("importlib.util").util.spec_from_file_location(
        "driver", os.path.join(HERE, "..", "..", "tests", "integration", "browser-driver.py"))
    driver_module = __import__("importlib.util").util.module_from_spec(spec)
    spec.loader.exec_module(driver_module)
    driver = driver_module.start()
    try:
        t_open = now_ms()
        driver.get(url)
        first = None
        deadline = time.time() + 90
        while time.time() < deadline:
            first = driver.execute_script("return window.streamr && window.streamr.firstFrameMs")
            if first is not None:
                break
            time.sleep(0.05)
        if first is None:
            raise SystemExit(f"no first frame from {url} in 90 s")
        # performance.now() counts from navigation start; the wall clock from before driver.get.
        nav_start = driver.execute_script("return performance.timeOrigin")
        while driver.execute_script("return window.streamr.played") < 3 and time.time() < deadline:
            time.sleep(0.2)
        delays, path = [], f"/tmp/g2g-{os.getpid()}.png"
        for _ in range(samples):
            r = driver.execute_script("const r = document.getElementById('video').getBoundingClientRect();"
                                      "return [r.left, r.top, r.width, r.height];")
            clip = {"x": r[0], "y": r[1], "width": r[2], "height": max(2, r[3] * STRIP), "scale": 1}
            t0 = now_ms()
            data = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "clip": clip})["data"]
            t1 = now_ms()
            with open(path, "wb") as f:
                f.write(__import__("base64").b64decode(data))
            img = read_png(path)
            stamp = decode_row(img.pixel, img.width, img.height // 2)
            # The frame on screen when the capture began: t0 is the honest end (capture takes time).
            delays.append(delay(t0, stamp))
            time.sleep(0.4)
        os.unlink(path)
        stats = driver.execute_script("return window.streamr")
        return {"first_frame_ms": first, "open_to_first_frame_ms": round(nav_start + first - t_open),
                "player": stats["player"], "format": stats["format"], "glass_to_glass_ms": summary(delays),
                "stalls": [e for e in stats["events"] if "recover" in e or "stall" in e]}
    finally:
        driver.quit()


def ffmpeg(url, args, seconds=20):
    """Frames as ffmpeg decodes them: `decoded` is when each one comes out of the decoder (a
    lower bound for any player); `paced` is what a player showing frames at 1x from the first
    one (ffplay) shows: the first frame's delay, kept."""
    width = 320
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", *args, "-i", url, "-an",
           "-vf", f"crop=iw:ih*{STRIP}:0:0,scale={width}:4,format=gray", "-f", "rawvideo", "-"]
    t_start = now_ms()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    frame = width * 4
    first_ms, first_delay, delays = None, None, []
    deadline = time.time() + seconds
    try:
        while time.time() < deadline:
            data = proc.stdout.read(frame)
            if len(data) < frame:
                break
            t = now_ms()
            stamp = decode_row(lambda x, y: (data[y * width + x],) * 3, width, 2)
            d = delay(t, stamp)
            if first_ms is None:
                first_ms, first_delay = round(t - t_start), d
            delays.append(d)
    finally:
        proc.kill()
        proc.wait()
    if first_ms is None:
        raise SystemExit(f"ffmpeg decoded nothing from {url}")
    # Leave out the first second: the GOP from the latest keyframe comes in a burst.
    steady = delays[30:] or delays
    return {"first_frame_ms": first_ms, "paced_glass_to_glass_ms": round(first_delay),
            "decoded_glass_to_glass_ms": summary(steady)}


def main():
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "page":
        samples = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--samples" else 15
        print(json.dumps(page(url, samples)))
    else:
        print(json.dumps(ffmpeg(url, sys.argv[3:])))


if __name__ == "__main__":
    main()
