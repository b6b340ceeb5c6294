"""The super peer's REST API (SwarmCloud's "Server as Peer" paths, bodies and header) in
single-process mode: the whole contract (refusals, bad bodies, status codes), /seed of library
torrents, of a magnet whose content only a python3-libtorrent seeder has, and of a URL; then a
native client (aria2c) downloads from the engine alone (url-list removed, the other seeder gone)
and /stats counts its bytes; stop and restart; SEED_MAX_CHANNELS with priorities."""
import base64
import json
import socket
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

import seedcast_harness as H
from test_gateway import info_hash, make_content, make_torrent, seeders  # noqa: F401 (seeders: a fixture)
from test_url_torrents import Origin, VIDEO

HERE = Path(__file__).resolve().parent
TOKEN = "super-peer-access-token"
AUTH = {"X-ACCESS-TOKEN": TOKEN}


def b64(s, urlsafe=False, pad=True) -> str:
    raw = s if isinstance(s, bytes) else s.encode()
    e = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
    return e if pad else e.rstrip("=")


def api(srv, method, path, body=None, headers=AUTH):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    hdrs = dict(headers or {})
    if data is not None:
        hdrs.setdefault("Content-Type", "application/json")
    return srv.req(method, path, headers=hdrs, body=data, timeout=60)


def ok(r):
    assert r.status == 200, r.describe()
    assert r.h("Content-Type", "").startswith("application/json"), r.describe()
    return r.json()


def error(r, status, mentions=""):
    assert r.status == status, r.describe()
    j = r.json()
    assert j["error"]["status"] == status and mentions in j["error"]["message"], j
    return j["error"]["message"]


def stats(srv):
    return ok(api(srv, "GET", "/stats"))


def upload_limits(srv):
    """Each worker's upload cap, KB/s (0: none)."""
    return [w["uploadLimit"] for w in stats(srv)["workers"]]


def channel(srv, ch):
    return ok(api(srv, "GET", "/stats/" + urllib.parse.quote(ch, safe="")))


def wait_channel(srv, ch, pred, what, timeout=60):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        r = api(srv, "GET", "/stats/" + urllib.parse.quote(ch, safe=""))
        if r.status == 200:
            last = r.json()
            if pred(last):
                return last
        else:
            last = r.describe()
        time.sleep(0.2)
    srv.fail(f"timeout waiting for {what}; last: {last}")


def download_from_engine(srv, ih, tmp_path, name="dl"):
    """aria2c gets the torrent without url-list: its only source is the engine, found through
    seedcast's tracker. Returns the files {relative path: bytes}."""
    meta = H.bdecode(srv.get(f"/torrent/{ih}.torrent").body)
    assert meta.pop(b"url-list", None) is not None
    t = tmp_path / f"{name}.torrent"
    t.write_bytes(H.bencode(meta))
    out = tmp_path / name
    r = H.aria2c(t, out, timeout=90)
    assert r.returncode == 0, f"aria2c: {r.stdout}{r.stderr}\n{srv.logs(40)}"
    return H.read_tree(out)


class TrackerLog:
    """A stand-in HTTP tracker on 127.0.0.1 that records the info-hashes announced to it."""

    def __init__(self):
        import http.server
        import threading
        self.hashes = set()
        log = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                q = urllib.parse.urlsplit(self.path).query
                for k, v in urllib.parse.parse_qsl(q, encoding="latin-1"):
                    if k == "info_hash":
                        log.hashes.add(v.encode("latin-1").hex())
                body = b"d8:intervali60e5:peers0:e"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/announce"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tracker_log():
    t = TrackerLog()
    yield t
    t.close()


@pytest.fixture
def empty_library(tmp_path):
    lib = tmp_path / "empty-library"
    lib.mkdir()
    return lib


# --------------------------------------------------------------------------------------


def test_access_token_is_required_everywhere(library, server_factory):
    # accessToken (the .env key of the original system) is an alias of ACCESS_TOKEN; a SECRET
    # turns the JWT check on for content, but the API wants the access token instead.
    srv = server_factory(library.root, accessToken=TOKEN, SECRET="jwt-secret-not-used-here")
    with srv.running():
        pid = srv.proc.pid
        calls = [("POST", "/ping", {}), ("POST", "/seed", {"list": []}), ("GET", "/stats", None),
                 ("GET", f"/stats/{pid}", None), ("POST", "/stop_all", None), ("POST", f"/stop/{pid}", None),
                 ("POST", "/restart_all", None), ("POST", f"/restart/{pid}", None)]
        for method, path, body in calls:
            error(api(srv, method, path, body, headers={}), 401, "X-ACCESS-TOKEN")
            error(api(srv, method, path, body, headers={"X-ACCESS-TOKEN": TOKEN + "x"}), 403, "wrong access token")
            error(api(srv, method, path, body, headers={"Authorization": f"Bearer {TOKEN}"}), 401)
        for method, path, body in calls:
            assert api(srv, method, path, body).status == 200, (method, path)
        # header names are case-insensitive; the admin API takes the same token
        assert api(srv, "GET", "/stats", headers={"x-access-token": TOKEN}).status == 200
        assert srv.get("/api/torrents", headers={"X-Access-Token": TOKEN}).status == 200
        # the page: ?token= or the header
        assert srv.get("/ui").status == 401
        assert srv.get("/ui?token=nope").status == 403
        r = srv.get(f"/ui?token={TOKEN}")
        assert r.status == 200 and r.h("Content-Type", "").startswith("text/html"), r.describe()
        assert TOKEN.encode() in r.body and r.h("Cache-Control") == "no-store"
        assert srv.get("/ui", headers=AUTH).status == 200
        # content routes still want a JWT
        assert srv.get("/").status == 401


def test_without_access_token_only_loopback_is_answered(library, server_factory):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("10.255.255.255", 1))
        own = s.getsockname()[0]
    except OSError:
        own = "127.0.0.1"
    finally:
        s.close()
    srv = server_factory(library.root, HOST="0.0.0.0")
    with srv.running():
        assert ok(api(srv, "POST", "/ping", {}, headers={})) == {"workers": 1}
        assert srv.get("/ui").status == 200
        if own.startswith("127."):
            pytest.skip("no non-loopback address on this machine")
        r = H.request(srv.port, "GET", "/stats", host=own)
        error(r, 403, "accessToken")


def test_bodies_and_status_codes(library, server_factory):
    srv = server_factory(library.root, ACCESS_TOKEN=TOKEN)
    with srv.running():
        pid = srv.proc.pid
        # bandwidth caps the engine's upload: 200 Mbit/s = 25,000,000 bytes/s, shown in KB/s
        assert upload_limits(srv) == [0]
        assert ok(api(srv, "POST", "/ping", {"bandwidth": 200, "workers": 0})) == {"workers": 1}
        assert upload_limits(srv) == [24414.0]
        assert ok(api(srv, "POST", "/ping", b"")) == {"workers": 1}
        assert upload_limits(srv) == [24414.0]
        assert ok(api(srv, "POST", "/ping", {"bandwidth": 0})) == {"workers": 1}
        assert upload_limits(srv) == [0]
        error(api(srv, "POST", "/ping", {"bandwidth": "fast"}), 400, "bandwidth")
        error(api(srv, "POST", "/ping", {"colour": 1}), 400, "unknown field")
        ih = srv.ih(H.SINGLE_NAME)
        good = b64(ih)
        for body, mentions in [
            (b"", "not JSON"), (b"{\"list\":", "not JSON"), ([], "object"), ({}, "list: missing"),
            ({"list": "x"}, "expected an array"), ({"list": [], "more": 1}, "unknown field \"more\""),
            ({"list": [{}]}, "list[0].channel: missing"),
            ({"list": [{"channel": "%%%"}]}, "not base64"),
            ({"list": [{"channel": b64("ftp://example.com/x")}]}, "neither"),
            ({"list": [{"channel": b64("magnet:?dn=x")}]}, "magnet"),
            ({"list": [{"channel": good, "maxConnections": 1}]}, "list[0].maxConnections"),
            ({"list": [{"channel": good, "maxConnections": "10"}]}, "list[0].maxConnections"),
            ({"list": [{"channel": good, "priority": 0.5}]}, "list[0].priority"),
            ({"list": [{"channel": good, "keepAlive": "yes"}]}, "list[0].keepAlive"),
            ({"list": [{"channel": good, "signal1": "gopher://x"}]}, "list[0].signal1"),
            ({"list": [{"channel": good, "color": "red"}]}, "unknown field \"color\""),
            ({"list": [{"channel": good}, {"channel": b64(bytes.fromhex(ih))}]}, "listed twice"),
        ]:
            error(api(srv, "POST", "/seed", body), 400, mentions)
        error(api(srv, "POST", "/seed", {"list": [{"channel": good, "live": True}]}), 501, "live")
        assert stats(srv)["channels"] == []  # nothing refused left a trace
        # routes and methods
        assert api(srv, "GET", "/seed").status == 405
        assert api(srv, "GET", "/stop_all").status == 405
        error(api(srv, "GET", "/stats/999999999"), 404)
        error(api(srv, "GET", "/stats/" + b64("f" * 40)), 404, "channel")
        error(api(srv, "POST", "/stop/999999999"), 404, "pid")
        error(api(srv, "POST", "/restart/abc"), 404, "pid")
        error(api(srv, "POST", f"/restart/{pid}0"), 404, "pid")
        s = stats(srv)
        assert [w["pid"] for w in s["workers"]] == [pid]
        w = s["workers"][0]
        for key in ("state", "started", "restarts", "cpu", "rss", "peers", "uploaded", "uploadRate", "uploadLimit", "channels"):
            assert key in w, w
        assert w["state"] == "running" and w["rss"] > 1000 and w["cpu"] >= 0  # rss in KB


def test_a_restarted_server_keeps_the_channels_and_the_bandwidth(library, server_factory):
    """The last good /seed list and the last /ping bandwidth are kept in DATA_DIR: after a
    restart the same channels are seeded and the upload cap applies again."""
    srv = server_factory(library.root, ACCESS_TOKEN=TOKEN)
    with srv.running():
        ch = b64(srv.ih(H.SINGLE_NAME))
        ok(api(srv, "POST", "/seed", {"list": [{"channel": ch, "label": "kept"}]}))
        wait_channel(srv, ch, lambda c: c["state"] == "seeding", "the clip seeding")
        assert ok(api(srv, "POST", "/ping", {"bandwidth": 40})) == {"workers": 1}
        assert ok(api(srv, "POST", "/ping", {"workers": 1})) == {"workers": 1}  # no bandwidth: kept as is
        assert upload_limits(srv) == [4882.8]  # 5,000,000 bytes/s
    with srv.running():
        c = wait_channel(srv, ch, lambda c: c["state"] == "seeding", "the clip seeding after the restart")
        assert c["label"] == "kept"
        assert upload_limits(srv) == [4882.8]
        assert ok(api(srv, "POST", "/ping", {"bandwidth": 0})) == {"workers": 1}
    with srv.running():
        wait_channel(srv, ch, lambda c: c["state"] == "seeding", "the clip seeding after the second restart")
        assert upload_limits(srv) == [0]


def test_seed_library_channels_stats_stop_restart(library, server_factory, tmp_path, tracker_log):
    srv = server_factory(library.root, ACCESS_TOKEN=TOKEN)
    with srv.running():
        pid = srv.proc.pid
        single, multi = srv.ih(H.SINGLE_NAME), srv.ih(H.MULTI_NAME)
        ch_single = b64(single)                      # 40 hex digits
        ch_multi = b64(bytes.fromhex(multi), urlsafe=True, pad=False)  # 20 raw bytes, URL-safe
        r = ok(api(srv, "POST", "/seed", {"list": [
            {"channel": ch_single, "label": "clip", "priority": 2, "maxConnections": 20, "keepAlive": True,
             "signal1": f"http://127.0.0.1:{srv.port}/announce", "token": "customer", "trackerZone": "eu",
             "live": False, "noUseDiskCache": False},
            {"channel": ch_multi, "label": "show", "signal2": tracker_log.url}]}))
        assert {c["infoHash"] for c in r["list"]} == {single, multi}
        c = wait_channel(srv, ch_single, lambda c: c["state"] == "seeding", "the clip seeding")
        assert c["label"] == "clip" and c["priority"] == 2 and c["maxConnections"] == 20 and c["keepAlive"]
        assert c["workers"] == [pid] and c["infoHash"] == single
        assert c["connectionLimit"] == 20  # maxConnections reached libtorrent
        assert channel(srv, ch_multi)["connectionLimit"] == 0
        # any spelling of a channel finds it: standard or URL-safe, raw bytes or hex
        assert channel(srv, b64(bytes.fromhex(multi)))["label"] == "show"
        assert channel(srv, b64(multi))["label"] == "show"
        assert ok(api(srv, "GET", f"/stats/{pid}"))["pid"] == pid
        # signal2: the engine announces the channel to that extra tracker
        deadline = time.monotonic() + 30
        while multi not in tracker_log.hashes and time.monotonic() < deadline:
            time.sleep(0.2)
        assert multi in tracker_log.hashes, tracker_log.hashes

        files = download_from_engine(srv, single, tmp_path, "first")
        assert files == {H.SINGLE_NAME: library.data(H.SINGLE_NAME)}
        size = len(library.data(H.SINGLE_NAME))
        c = wait_channel(srv, ch_single, lambda c: c["uploadedBytes"] >= size, "the upload counted")
        assert c["uploaded"] == c["uploadedBytes"] // 1024
        w = ok(api(srv, "GET", f"/stats/{pid}"))
        assert w["uploadedBytes"] >= size and len(w["channels"]) == 2

        # stop: the worker and its channels say so; restart: seeding again, restarts counted
        w = ok(api(srv, "POST", f"/stop/{pid}"))
        assert w["state"] == "stopped" and {c["state"] for c in w["channels"]} == {"stopped"}
        assert all(c["workers"] == [] for c in w["channels"])
        started = w["started"]
        w = ok(api(srv, "POST", f"/restart/{pid}"))
        assert w["state"] == "running" and w["restarts"] == 1 and w["started"] >= started
        wait_channel(srv, ch_single, lambda c: c["state"] == "seeding", "the clip seeding again")
        ws = ok(api(srv, "POST", "/stop_all"))["workers"]
        assert [x["state"] for x in ws] == ["stopped"]
        ws = ok(api(srv, "POST", "/restart_all"))["workers"]
        assert [x["state"] for x in ws] == ["running"] and ws[0]["restarts"] == 2
        wait_channel(srv, ch_multi, lambda c: c["state"] == "seeding", "the show seeding again")
        files = download_from_engine(srv, multi, tmp_path, "second")
        assert files == {f"{H.MULTI_NAME}/{k}": v for k, v in library.files(H.MULTI_NAME).items()}

        # the list replaces the previous one
        ok(api(srv, "POST", "/seed", {"list": [{"channel": ch_multi}]}))
        assert [c["infoHash"] for c in stats(srv)["channels"]] == [multi]
        error(api(srv, "GET", "/stats/" + urllib.parse.quote(ch_single, safe="")), 404)
        ok(api(srv, "POST", "/seed", {"list": []}))
        assert stats(srv)["channels"] == []


def test_priority_decides_under_seed_max_channels(library, server_factory):
    srv = server_factory(library.root, ACCESS_TOKEN=TOKEN, SEED_MAX_CHANNELS=1)
    with srv.running():
        low, high = b64(srv.ih(H.SINGLE_NAME)), b64(srv.ih(H.MULTI_NAME))
        ok(api(srv, "POST", "/seed", {"list": [{"channel": low, "priority": 1}, {"channel": high, "priority": 5}]}))
        wait_channel(srv, high, lambda c: c["state"] == "seeding", "the high-priority channel seeding")
        assert channel(srv, low)["state"] == "queued"
        ok(api(srv, "POST", "/seed", {"list": [{"channel": low, "priority": 9}, {"channel": high, "priority": 5}]}))
        wait_channel(srv, low, lambda c: c["state"] == "seeding", "the re-prioritised channel seeding")
        assert channel(srv, high)["state"] == "queued"


@pytest.mark.parametrize("form", ["magnet", "info-hash"])
def test_seed_a_torrent_only_another_client_has(empty_library, server_factory, tmp_path, seeders, form):
    # magnet: the engine announces to the magnet's tracker itself; a bare info-hash: it meets the
    # peers seedcast's tracker knows, and the tracker hands the engine out once it is a seed.
    srv = server_factory(empty_library, expected=0, ACCESS_TOKEN=TOKEN, GATEWAY_LIFETIME=1)
    content = tmp_path / "content"
    files = make_content(content, multi=False)
    data = files["gw-clip.mp4"]
    with srv.running():
        announce = f"http://127.0.0.1:{srv.port}/announce"
        torrent = make_torrent(content, "gw-clip.mp4", announce)
        ih = info_hash(torrent)
        magnet = f"magnet:?xt=urn:btih:{ih}&dn=gw-clip.mp4&tr={urllib.parse.quote(announce, safe='')}"
        ch = b64(magnet) if form == "magnet" else b64(bytes.fromhex(ih))
        r = ok(api(srv, "POST", "/seed", {"list": [{"channel": ch, "keepAlive": True, "label": "gw"}]}))
        assert r["list"] == [{"channel": ch, "infoHash": ih}]
        (tmp_path / "t.torrent").write_bytes(torrent)
        other = seeders(tmp_path / "t.torrent", content).wait()
        # the engine fetches the whole torrent and becomes a seed; the bare info-hash is the
        # same channel
        c = wait_channel(srv, ch, lambda c: c["state"] == "seeding" and c["progress"] == 1, "the channel complete",
                         timeout=90)
        assert channel(srv, b64(ih))["label"] == "gw" and channel(srv, b64(magnet))["label"] == "gw"
        other.stop()
        time.sleep(2.5)  # over GATEWAY_LIFETIME: a keepAlive channel stays in the engine
        assert channel(srv, ch)["state"] == "seeding"
        got = download_from_engine(srv, ih, tmp_path)
        assert got == {"gw-clip.mp4": data}
        wait_channel(srv, ch, lambda c: c["uploadedBytes"] >= len(data), "the channel's upload counted")
        assert stats(srv)["workers"][0]["uploadedBytes"] >= len(data)
        # stop and restart keep the cached data (noUseDiskCache is false): seeding again at once
        ok(api(srv, "POST", "/stop_all"))
        assert channel(srv, ch)["state"] == "stopped"
        ok(api(srv, "POST", "/restart_all"))
        wait_channel(srv, ch, lambda c: c["state"] == "seeding", "the channel seeding after restart")


def test_no_use_disk_cache_deletes_the_data_when_seeding_stops(empty_library, server_factory, tmp_path, seeders):
    srv = server_factory(empty_library, expected=0, ACCESS_TOKEN=TOKEN)
    content = tmp_path / "content"
    make_content(content, multi=True)
    with srv.running():
        torrent = make_torrent(content, "gw-album", f"http://127.0.0.1:{srv.port}/announce")
        ih = info_hash(torrent)
        (tmp_path / "t.torrent").write_bytes(torrent)
        ch = b64(f"magnet:?xt=urn:btih:{ih}&tr=" + urllib.parse.quote(f"http://127.0.0.1:{srv.port}/announce", safe=""))
        ok(api(srv, "POST", "/seed", {"list": [{"channel": ch, "noUseDiskCache": True}]}))
        seeders(tmp_path / "t.torrent", content).wait()  # the tracker admits the swarm once it is seeded
        wait_channel(srv, ch, lambda c: c["state"] == "seeding", "the album complete", timeout=90)
        cache = srv.data_dir / "cache" / "swarm" / ih
        assert any(p.is_file() and p.stat().st_size > 0 for p in cache.rglob("*"))
        ok(api(srv, "POST", "/seed", {"list": []}))
        deadline = time.monotonic() + 20
        while cache.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not cache.exists(), list(cache.rglob("*"))


def test_seed_a_url(empty_library, server_factory, tmp_path):
    origin = Origin()
    try:
        srv = server_factory(empty_library, expected=None, ACCESS_TOKEN=TOKEN, ALLOWED_DOMAINS="127.0.0.1",
                             ALLOW_PRIVATE_ORIGINS=1)
        with srv.running():
            url = origin.url("/v/video.mp4")
            ch = b64(url)
            r = ok(api(srv, "POST", "/seed", {"list": [{"channel": ch, "label": "from-url"}]}))
            ih = r["list"][0]["infoHash"]
            assert srv.get(f"/file/{ih}?json=1").json()["name"] == "video.mp4"
            wait_channel(srv, ch, lambda c: c["state"] == "seeding", "the URL's torrent seeding")
            assert download_from_engine(srv, ih, tmp_path) == {"video.mp4": VIDEO}
            # a host that is not allowed and an origin error: refused, nothing changes
            error(api(srv, "POST", "/seed", {"list": [{"channel": b64("http://localhost:1/x.mp4")}]}), 403)
            assert api(srv, "POST", "/seed", {"list": [{"channel": b64(origin.url("/v/gone.mp4"))}]}).status >= 400
            assert [c["label"] for c in stats(srv)["channels"]] == ["from-url"]
    finally:
        origin.close()


def test_dashboard_in_headless_chromium(library, server_factory):
    sys.path.insert(0, str(H.REPO / "tests" / "webtorrent"))
    import wt_harness as W
    W.require_chromium()
    srv = server_factory(library.root, ACCESS_TOKEN=TOKEN)
    with srv.running():
        ok(api(srv, "POST", "/seed", {"list": [{"channel": b64(srv.ih(H.SINGLE_NAME)), "label": "clip"},
                                               {"channel": b64(srv.ih(H.MULTI_NAME)), "label": "show"}]}))
        res = W.run_node("ui_check.mjs", ["--url", f"{srv.base}/ui?token={TOKEN}&interval=500", "--channels", 2,
                                          "--timeout", 60], timeout=90)
        assert res.get("ok") and res.get("returncode") == 0, f"dashboard check failed:\n{json.dumps(res, indent=1)}"
        assert res["after"]["workers"][0]["pid"] == srv.proc.pid
        assert ok(api(srv, "GET", f"/stats/{srv.proc.pid}"))["restarts"] == 1
