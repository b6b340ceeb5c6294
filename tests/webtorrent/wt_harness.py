"""Python side of the WebTorrent tests: finds Node, the npm trees and Chromium, runs the Node
drivers in this folder with a deadline and returns their one-line JSON result.

Used by tests/integration/test_webtorrent_*.py and test_player_*.py. A missing dependency
skips the test, or fails it when CI is set.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

WT_DIR = Path(__file__).resolve().parent
REPO = WT_DIR.parent.parent
WEB_DIR = Path(os.environ.get("WEB_DIR", str(REPO / "web")))
NODE = shutil.which("node")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FFMPEG = shutil.which("ffmpeg")

INSTALL_HINT = ("npm ci --ignore-scripts --prefix tests/webtorrent && "
                "npm ci --ignore-scripts --prefix web")


def ci() -> bool:
    return bool(os.environ.get("CI"))


def missing(msg: str):
    if ci():
        pytest.fail(f"{msg} (CI is set: missing dependencies are failures)")
    pytest.skip(msg)


def require_node_tools():
    if not NODE:
        missing("node is not installed")
    for pkg in ("webtorrent", "bittorrent-tracker", "@roamhq/wrtc", "playwright-core", "parse-torrent",
                "webrtc-polyfill"):
        if not (WT_DIR / "node_modules" / pkg / "package.json").is_file():
            missing(f"tests/webtorrent/node_modules/{pkg} is missing; run: {INSTALL_HINT}")


def require_chromium():
    require_node_tools()
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"{CHROMIUM} is missing (apt-get install chromium)")


def require_web_bundle():
    for f in ("webtorrent.min.js", "sw.min.js"):
        if not (WEB_DIR / "node_modules" / "webtorrent" / "dist" / f).is_file():
            missing(f"web/node_modules/webtorrent/dist/{f} is missing; run: {INSTALL_HINT}")


def require_ffmpeg():
    if not FFMPEG:
        missing("ffmpeg is not installed")


def make_video(path: Path, seconds: int = 10):
    """A small real H.264/MP4 (moov first, so it streams)."""
    require_ffmpeg()
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([FFMPEG, "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}",
                    "-pix_fmt", "yuv420p", "-c:v", "libx264", "-movflags", "+faststart", str(path)],
                   check=True, timeout=120, stdin=subprocess.DEVNULL)


def run_node(script: str, args: list, timeout: float) -> dict:
    """Run `node <script> <args>` (the script's own --timeout should be below `timeout`).
    Returns its last JSON stdout line plus "returncode" and "log" (stderr tail)."""
    cmd = [NODE, str(WT_DIR / script), *map(str, args)]
    t0 = time.monotonic()
    # own process group: on a timeout the script's children (seeder, Chromium) go too
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=WT_DIR,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        rc = None
    result = {}
    for line in reversed(out.strip().splitlines()):
        with contextlib.suppress(ValueError):
            result = json.loads(line)
            break
    if rc is None:
        result.setdefault("ok", False)
        result["error"] = f"killed after {timeout} s: " + str(result.get("error", ""))
    result["returncode"] = rc
    result["seconds"] = round(time.monotonic() - t0, 1)
    result["log"] = "\n".join(err.splitlines()[-40:])
    return result


def describe(res: dict) -> str:
    """A failure message: the JSON result without the log, then the log."""
    body = {k: v for k, v in res.items() if k != "log"}
    return json.dumps(body, indent=1, ensure_ascii=False)[:6000] + "\n--- stderr tail ---\n" + res.get("log", "")


class BaselineTracker:
    """bittorrent-tracker's own WebSocket tracker on 127.0.0.1 (tracker_server.mjs)."""

    def __init__(self):
        self.proc = None
        self.announce = None

    def __enter__(self):
        self.proc = subprocess.Popen([NODE, str(WT_DIR / "tracker_server.mjs")], cwd=WT_DIR,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()  # {"event":"listening",…} or EOF on failure
        if not line:
            self.proc.wait(timeout=10)
            raise AssertionError(f"tracker_server.mjs exited with {self.proc.returncode}")
        self.announce = json.loads(line)["announce"]
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
