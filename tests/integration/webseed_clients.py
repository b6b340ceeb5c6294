"""Run aria2c / python3-libtorrent as web-seed-only BitTorrent clients (bounded time)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from seedcast_harness import HERE, SYSTEM_PYTHON

ARIA2C = shutil.which("aria2c")


def _tail_text(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except FileNotFoundError:
        return "(no log)"


def run_aria2(torrent: Path, out_dir: Path, timeout: float = 60.0, extra_args=()) -> dict:
    """Download with aria2c from the torrent's url-list only. Returns
    {"ok": bool, "returncode": int, "log": tail, "stderr": ..., "requests": [GET lines]}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir.parent / (out_dir.name + ".aria2.log")
    cmd = [
        ARIA2C or "aria2c", "--no-conf",
        "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
        "--enable-peer-exchange=false", "--disable-ipv6=true",
        "--seed-time=0", "--bt-hash-check-seed=false", "--bt-save-metadata=false",
        "--bt-stop-timeout=55",
        "--listen-port=46881-46999",  # aria2 wants a BT port even with no peers
        "--file-allocation=none", "--summary-interval=0", "--console-log-level=warn",
        "--allow-overwrite=true", "--auto-file-renaming=false",
        "--max-tries=3", "--retry-wait=1", "--connect-timeout=5", "--timeout=20",
        f"--log={log}", "--log-level=info",
        f"--dir={out_dir}", *extra_args, str(torrent),
    ]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = None, e.stdout or b"", e.stderr or b""
    text = log.read_text(errors="replace") if log.exists() else ""
    requests = [ln for ln in text.splitlines() if "GET /" in ln]
    return {"ok": rc == 0, "returncode": rc, "log": _tail_text(log),
            "stdout": out.decode(errors="replace")[-2000:],
            "stderr": err.decode(errors="replace")[-2000:], "requests": requests}


def run_libtorrent(torrent: Path, out_dir: Path, timeout: float = 60.0) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [SYSTEM_PYTHON, str(HERE / "lt_client.py"), str(torrent), str(out_dir),
           "--timeout", str(timeout - 8)]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return {"ok": False, "returncode": None, "stdout": (e.stdout or b"").decode(errors="replace"),
                "stderr": (e.stderr or b"").decode(errors="replace")[-2000:]}
    res = {"returncode": p.returncode, "stderr": p.stderr.decode(errors="replace")[-2000:]}
    lines = p.stdout.decode(errors="replace").strip().splitlines()
    try:
        res.update(json.loads(lines[-1]))
    except (IndexError, ValueError):
        res["ok"] = False
        res["stdout"] = p.stdout.decode(errors="replace")[-2000:]
    res["ok"] = bool(res.get("ok")) and p.returncode == 0
    return res


def client_available(name: str) -> bool:
    if name == "aria2c":
        return ARIA2C is not None
    if name == "libtorrent":
        try:
            subprocess.run([SYSTEM_PYTHON, "-c", "import libtorrent"], check=True,
                           capture_output=True, timeout=30)
            return True
        except (OSError, subprocess.SubprocessError):
            return False
    raise ValueError(name)


def ci() -> bool:
    return bool(os.environ.get("CI"))
