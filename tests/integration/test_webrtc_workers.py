"""WebRTC peers in worker processes (WORKERS=N): the master's tracker relays a browser's offer to
the worker that seeds the channel, over its control socket, and relays the worker's answer;
WebTorrent in Node then downloads from the worker over WebRTC. A `kill -9` of that worker
mid-download: the browser reaches the replacement through the tracker and the download
finishes byte for byte. /stats counts the WebRTC peers and bytes per worker and channel.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import seedcast_harness as H
from test_superpeer_api import TOKEN, api, b64, ok, stats

sys.path.insert(0, str(H.REPO / "tests" / "webtorrent"))
import wt_harness as W  # noqa: E402

MOVIE = "movie.mp4"
SIZE = 16 * 1024 * 1024


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("rtc-workers-lib")
    (root / MOVIE).write_bytes(os.urandom(SIZE))
    return root


def wait_for(pred, timeout, what, srv):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.2)
    srv.fail(f"timeout waiting for {what}; last: {json.dumps(last)[:2000]}")


def worker_seeding(srv, ih):
    """The running worker seeding channel `ih` with a WebRTC port, or None."""
    for w in stats(srv)["workers"]:
        if w["state"] == "running" and w.get("rtcPort") and any(c["infoHash"] == ih for c in w["channels"]):
            return w
    return None


def test_a_worker_serves_a_browser_over_webrtc_and_its_replacement_finishes_after_kill_9(library, server_factory,
                                                                                       tmp_path):
    W.require_node_tools()
    srv = server_factory(library, expected=1, ACCESS_TOKEN=TOKEN, WORKERS=1, PEER_PORT=-1, ANNOUNCE_INTERVAL=10)
    with srv.running():
        ih = srv.ih(MOVIE)
        ok(api(srv, "POST", "/seed", {"list": [{"channel": b64(ih), "label": MOVIE}]}))
        first = wait_for(lambda: worker_seeding(srv, ih), 60, "a worker seeding the channel with a WebRTC port", srv)
        r = srv.get(f"/torrent/{ih}.torrent")
        assert r.status == 200, r.describe()
        tfile = tmp_path / "movie.torrent"
        tfile.write_bytes(r.body)
        # 2 MB/s: the download lasts ~8 s; at 4 MiB it pauses 1 s, the worker is killed then.
        cmd = [W.NODE, str(W.WT_DIR / "rtc_leech.mjs"), "--torrent", tfile, "--data", library,
               "--download-limit", 2_000_000, "--pause-after", 4 * 1024 * 1024, "--pause-ms", 1000,
               "--timeout", 90]
        proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if '"event":"paused"' in line:
                    during = worker_seeding(srv, ih)
                    assert during and during["pid"] == first["pid"], during
                    assert during["rtcPeers"] >= 1, during
                    ch = next(c for c in during["channels"] if c["infoHash"] == ih)
                    assert ch["rtcPeers"] >= 1 and ch["rtcUploadedBytes"] > 0, ch
                    os.kill(first["pid"], signal.SIGKILL)
                    break
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        results = [json.loads(x) for x in (lines + out.splitlines()) if x.startswith("{")]
        res = results[-1]
        assert res.get("ok"), f"the download did not complete after the worker was killed:\n{res}\n{err[-3000:]}"
        assert res["length"] == SIZE and set(res["bytesByWireType"]) == {"webrtc"}, res
        servers = [p for p in res["peers"] if p["server"]]
        assert len({p["peerId"] for p in servers}) >= 2, f"no second worker's peer served it: {res['peers']}"
        assert all(p["server"] for p in res["peers"]), res["peers"]
        assert sum(p["bytes"] for p in servers) >= SIZE
        # the replacement is a new process, and it served the rest
        second = wait_for(lambda: (w := worker_seeding(srv, ih)) and w["pid"] != first["pid"] and w, 30,
                          "the replacement worker", srv)
        assert second["rtcUploadedBytes"] > 0, second
