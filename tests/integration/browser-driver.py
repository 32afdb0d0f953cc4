#!/usr/bin/env python3
"""Drives headless Chromium (Debian's chromium + chromium-driver, through selenium) for the
shell tests: one command per line on stdin, one JSON answer per line on stdout, so a test can
hold one browser session while it stops nodes and publishers (bash `coproc`).

Commands:
    open URL                     navigate (Accept: text/html, as any browser)
    eval JS                      value of the expression JS
    wait SECONDS JS              poll JS every 0.25 s until truthy: {"ok", "value", "elapsed"}
    shot FILE [SELECTOR]         PNG of the viewport, or of the element's box: {"ok", "t0", "t1"} (unix ms)
    bars FILE                    testsrc2's six colour bars in a screenshot of the video
    tab NAME                     switch to the tab NAME, opening it first if new
    transparent                  screenshots keep a transparent page transparent (alpha 0)
    pixel FILE X Y               one pixel (r, g, b, a); negative X or Y count from the right or bottom
    barcode FILE BITS            the ms clock burnt in by bench/browser (see bench/browser/README)
    quit
Every answer is {"ok": bool, ...}; an exception is {"ok": false, "error": "..."}.
"""
import base64
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pngpixels import read_png  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

BARS = [("red", (255, 0, 0)), ("green", (0, 255, 0)), ("yellow", (255, 255, 0)),
        ("blue", (0, 0, 255)), ("magenta", (255, 0, 255)), ("cyan", (0, 255, 255))]
OTHERS = [("black", (0, 0, 0)), ("white", (255, 255, 255)), ("grey", (128, 128, 128))]


def start():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--mute-audio", "--autoplay-policy=no-user-gesture-required",
                "--window-size=1024,700", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
                "--disable-renderer-backgrounding", "--disable-background-timer-throttling"]:
        options.add_argument(arg)
    if os.environ.get("BROWSER_PROFILE"):
        options.add_argument(f"--user-data-dir={os.environ['BROWSER_PROFILE']}")
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"),
                      log_output=os.environ.get("CHROMEDRIVER_LOG", os.devnull))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


def nearest(colour):
    return min(BARS + OTHERS, key=lambda c: sum((a - b) ** 2 for a, b in zip(colour, c[1])))[0]


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def bars(path):
    """testsrc2 has six vertical colour bars across the picture (red, green, yellow, blue,
    magenta, cyan); moving objects and a diagonal line cross them, so each bar's colour is the
    per-channel median over a column of samples."""
    img = read_png(path)
    found = []
    for i, (name, _) in enumerate(BARS):
        x = int((i + 0.5) / 6 * img.width)
        samples = [img.pixel(x + dx, int(img.height * (0.12 + 0.8 * k / 40))) for k in range(41) for dx in (-6, 0, 6)]
        colour = tuple(median([s[c] for s in samples]) for c in range(3))
        found.append({"expected": name, "median": colour, "seen": nearest(colour)})
    matched = sum(f["seen"] == f["expected"] for f in found)
    return {"ok": matched >= 5, "matched": matched, "bars": found, "size": [img.width, img.height]}


def barcode(path, bits):
    """bench/browser/run.sh burns the publisher's wall clock (ms, mod 2^BITS) into the top
    rows of the picture as BITS black/white cells, most significant first, across the width."""
    img = read_png(path)
    value = 0
    y = img.height // 2
    for b in range(bits):
        x = int((b + 0.5) / bits * img.width)
        r, g, bl, _ = img.pixel(x, y)
        value = value * 2 + (1 if (r + g + bl) / 3 > 128 else 0)
    return value


def screenshot(driver, path, selector=None):
    args = {"format": "png", "captureBeyondViewport": False}
    if selector:
        rect = driver.execute_script(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
            "return [r.left + scrollX, r.top + scrollY, r.width, r.height, devicePixelRatio];", selector)
        args["clip"] = {"x": rect[0], "y": rect[1], "width": rect[2], "height": rect[3], "scale": 1}
    t0 = time.time() * 1000
    data = driver.execute_cdp_cmd("Page.captureScreenshot", args)["data"]
    t1 = time.time() * 1000
    with open(path, "wb") as f:
        f.write(base64.b64decode(data))
    return {"ok": True, "t0": t0, "t1": t1}


def main():
    driver = start()
    # Stopped by the test's cleanup: take the browser and chromedriver down too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        serve(driver)
    finally:
        if not getattr(driver, "gone", False):
            driver.quit()


def serve(driver):
    tabs = {"main": driver.current_window_handle}
    out = sys.stdout
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        command, _, rest = line.partition(" ")
        try:
            if command == "quit":
                driver.quit()
                driver.gone = True
                answer = {"ok": True}
            elif command == "open":
                driver.get(rest)
                answer = {"ok": True}
            elif command == "eval":
                answer = {"ok": True, "value": driver.execute_script(f"return ({rest});")}
            elif command == "wait":
                seconds, _, js = rest.partition(" ")
                start_t = time.time()
                deadline = start_t + float(seconds)
                value = None
                while True:
                    try:
                        value = driver.execute_script(f"return ({js});")
                    except Exception as e:  # the page is navigating
                        value = None
                        last_error = str(e)
                    if value or time.time() >= deadline:
                        break
                    time.sleep(0.25)
                answer = {"ok": bool(value), "value": value, "elapsed": round(time.time() - start_t, 2)}
            elif command == "shot":
                path, _, selector = rest.partition(" ")
                answer = screenshot(driver, path, selector or None)
            elif command == "bars":
                answer = bars(rest)
            elif command == "tab":
                if rest not in tabs:
                    driver.switch_to.new_window("tab")
                    tabs[rest] = driver.current_window_handle
                driver.switch_to.window(tabs[rest])
                answer = {"ok": True}
            elif command == "transparent":
                driver.execute_cdp_cmd("Emulation.setDefaultBackgroundColorOverride", {"color": {"r": 0, "g": 0, "b": 0, "a": 0}})
                answer = {"ok": True}
            elif command == "pixel":
                path, x, y = rest.split(" ")
                img = read_png(path)
                x, y = int(x) % img.width, int(y) % img.height   # negative: from the right or bottom
                answer = {"ok": True, "value": img.pixel(x, y)}
            elif command == "barcode":
                path, bits = rest.split(" ")
                answer = {"ok": True, "value": barcode(path, int(bits))}
            else:
                answer = {"ok": False, "error": f"unknown command {command}"}
        except Exception as e:
            answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(answer, default=str) + "\n")
        out.flush()
        if command == "quit":
            break


if __name__ == "__main__":
    main()
