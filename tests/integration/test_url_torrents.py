"""Torrents from URLs: a loopback origin (python's http.server, counting every request) serves
videos; seedcast fetches each once, hashes it, seeds it and lists both webseeds; every way an
origin or a URL can be wrong is refused with the right status and leaves nothing to serve."""
from __future__ import annotations

import concurrent.futures
import hashlib
import http.server
import os
import random
import re
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

import seedcast_harness as H
import webseed_clients as C

VIDEO = random.Random(7).randbytes(4 * 1024 * 1024 + 777)
VIDEO2 = random.Random(8).randbytes(1 * 1024 * 1024 + 5)


class Origin:
    """An HTTP origin on 127.0.0.1 with a request log. Paths:
    /v/video.mp4        VIDEO, ETag, Last-Modified, single byte ranges, conditionals
    /v/changing.mp4     the bytes and ETag in self.changing (the test changes them)
    /v/gate.mp4         VIDEO, but the GET waits for self.gate (the test opens it)
    /v/error.mp4        500
    /v/truncated.mp4    Content-Length of VIDEO, half of it, then the connection closes
    /v/chunked.mp4      VIDEO with chunked encoding (no length)
    /v/stall.mp4        a header and 1000 bytes, then nothing for up to 20 s
    /v/gone.mp4         404
    /r/ok.mp4           302 → /v/video.mp4 (same host)
    /r/elsewhere.mp4    302 → http://localhost:<port>/v/video.mp4
    /r/ftp.mp4          302 → ftp://127.0.0.1/v/video.mp4
    /r/loop.mp4         302 → itself
    """

    def __init__(self):
        self.log: list = []  # (method, path, range or "")
        self.lock = threading.Lock()
        self.changing = (VIDEO2, '"v1"')
        self.gate = threading.Event()
        self.stop = threading.Event()
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.answer(head=True)

            def do_GET(self):
                self.answer(head=False)

            def answer(self, head):
                path = urllib.parse.urlsplit(self.path).path
                with origin.lock:
                    origin.log.append((self.command, path, self.headers.get("Range", "")))
                port = self.server.server_address[1]
                redirects = {"/r/ok.mp4": "/v/video.mp4",
                             "/r/elsewhere.mp4": f"http://localhost:{port}/v/video.mp4",
                             "/r/ftp.mp4": "ftp://127.0.0.1/v/video.mp4",
                             "/r/loop.mp4": "/r/loop.mp4"}
                if path in redirects:
                    return self.simple(302, b"moved", {"Location": redirects[path]}, head)
                if path == "/v/error.mp4":
                    return self.simple(500, b"origin broke", {}, head)
                if path == "/v/gone.mp4":
                    return self.simple(404, b"no such file", {}, head)
                if path == "/v/truncated.mp4":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(VIDEO)))
                    self.end_headers()
                    if not head:
                        self.wfile.write(VIDEO[:len(VIDEO) // 2])
                        self.wfile.flush()
                    self.close_connection = True
                    return
                if path == "/v/stall.mp4":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(VIDEO)))
                    self.end_headers()
                    if not head:
                        self.wfile.write(VIDEO[:1000])
                        self.wfile.flush()
                        origin.stop.wait(20)
                    self.close_connection = True
                    return
                if path == "/v/chunked.mp4":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    if not head:
                        for i in range(0, len(VIDEO), 100_000):
                            c = VIDEO[i:i + 100_000]
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                        self.wfile.write(b"0\r\n\r\n")
                    return
                if path == "/v/video.mp4":
                    return self.file(VIDEO, '"video-1"', head)
                if path == "/v/gate.mp4":
                    if not head:
                        origin.gate.wait(30)
                    return self.file(VIDEO, '"gate-1"', head)
                if path == "/v/changing.mp4":
                    data, etag = origin.changing
                    return self.file(data, etag, head)
                return self.simple(404, b"no such file", {}, head)

            def simple(self, status, body, headers, head):
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def file(self, data, etag, head):
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                start, end, status = 0, len(data) - 1, 200
                m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
                if m:
                    start = int(m.group(1))
                    end = min(int(m.group(2)) if m.group(2) else end, end)
                    status = 206
                self.send_response(status)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Type", "video/mp4")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                self.send_header("Content-Length", str(end - start + 1))
                self.end_headers()
                if not head:
                    self.wfile.write(data[start:end + 1])

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path, host="127.0.0.1"):
        return f"http://{host}:{self.port}{path}"

    def requests(self, method=None, path=None):
        with self.lock:
            return [r for r in self.log if (method is None or r[0] == method)
                    and (path is None or r[1] == path)]

    def close(self):
        self.stop.set()
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def origin():
    o = Origin()
    yield o
    o.close()


@pytest.fixture
def empty_library(tmp_path):
    root = tmp_path / "empty-library"
    root.mkdir()
    return root


def url_server(server_factory, library, **env):
    base = dict(ALLOWED_DOMAINS="127.0.0.1", ALLOW_PRIVATE_ORIGINS="1")
    base.update(env)
    return server_factory(library, expected=None, **{k: v for k, v in base.items() if v is not None})


def cache_files(srv) -> list:
    root = srv.data_dir / "cache" / "url"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def torrent_meta(body: bytes) -> dict:
    meta = H.bdecode(body)
    assert H.bkey(meta, "info") is not None, body[:200]
    return meta


def url_list(meta) -> list:
    u = H.bkey(meta, "url-list")
    if isinstance(u, bytes):
        u = [u]
    return [x.decode() for x in u]


def info_hash(meta) -> str:
    return hashlib.sha1(H.bencode(H.bkey(meta, "info"))).hexdigest()


def error_of(r) -> tuple:
    assert r.h("Content-Type", "").startswith("application/json"), r.describe()
    e = r.json()["error"]
    return e["status"], e["message"]


# ----------------------------------------------------------------------------------------------


def test_url_torrent_is_seeded_with_both_webseeds_and_downloads(origin, server_factory, empty_library, tmp_path):
    srv = url_server(server_factory, empty_library)
    with srv.running():
        r = srv.get("/torrent/url/" + origin.url("/v/video.mp4"))
        assert r.status == 200, r.describe()
        assert r.h("Content-Type") == "application/x-bittorrent"
        meta = torrent_meta(r.body)
        info = H.bkey(meta, "info")
        assert H.bkey(info, "name") == b"video.mp4" and H.bkey(info, "length") == len(VIDEO)
        H.verify_pieces(info, lambda rel: VIDEO)
        ih = info_hash(meta)
        urls = url_list(meta)
        assert urls == [f"{srv.base}/file/{ih}/video.mp4", origin.url("/v/video.mp4")], urls
        assert len(origin.requests("GET", "/v/video.mp4")) == 1

        # The data is in the cache under its info-hash, the torrent in the catalog, and the
        # server's own webseed serves the bytes.
        assert cache_files(srv) == [ih, f"{ih}/video.mp4"]
        assert srv.healthz()["torrents"] == 1
        assert srv.get(f"/file/{ih}/video.mp4").body == VIDEO
        listing = srv.get(f"/file/{ih}?json=1").json()
        assert listing["urlList"] == urls

        # Every form of the route names the same torrent; a second request fetches nothing.
        encoded = urllib.parse.quote(origin.url("/v/video.mp4"), safe="")
        for path in (f"/url/{encoded}", "/url?url=" + encoded,
                     "/torrent/url/" + origin.url("/v/video.mp4").replace("http://", "http:/")):
            again = srv.get(path)
            assert again.status == 200, (path, again.describe())
            assert info_hash(torrent_meta(again.body)) == ih
        j = srv.get(f"/url/{encoded}?format=json")
        assert j.status == 200, j.describe()
        j = j.json()
        assert j["infoHash"] == ih and j["name"] == "video.mp4" and j["length"] == len(VIDEO)
        assert j["origin"] == origin.url("/v/video.mp4")
        assert j["torrentUrl"] == f"{srv.base}/torrent/{ih}.torrent" and j["magnet"].startswith(f"magnet:?xt=urn:btih:{ih}")
        m = srv.get("/torrent/url/" + origin.url("/v/video.mp4") + "?format=magnet")
        assert m.status == 200 and m.body.decode().startswith(f"magnet:?xt=urn:btih:{ih}&dn=video.mp4")
        assert srv.get("/url?url=" + encoded + "&format=zip").status == 400
        assert len(origin.requests("GET", "/v/video.mp4")) == 1

        # The engine seeds it, as every catalog torrent.
        srv.wait_health(lambda h: h.get("seed", {}).get("torrents") == 1, "the engine seeding the URL torrent")

        # A BitTorrent client with the url-list only (no trackers): both webseeds serve it.
        if not C.client_available("libtorrent"):
            pytest.skip("python3-libtorrent is not installed")
        (tmp_path / "u.torrent").write_bytes(H.webseed_only(r.body))
        before = len(origin.requests("GET", "/v/video.mp4"))
        res = C.run_libtorrent(tmp_path / "u.torrent", tmp_path / "lt")
        assert res["ok"], f"{res}\n{srv.logs(30)}"
        assert (tmp_path / "lt" / "video.mp4").read_bytes() == VIDEO
        origin_ranges = [x for x in origin.requests("GET", "/v/video.mp4")[before:] if x[2]]
        served = re.findall(rf'"GET /file/{ih}/video\.mp4[?…]*" 206', "".join(
            p.read_text(errors="replace") for p in srv.log_paths if p.exists()))
        assert origin_ranges, "the client never used the origin webseed"
        assert served, "the client never used seedcast's webseed"


def test_fifty_concurrent_requests_make_one_origin_fetch(origin, server_factory, empty_library):
    srv = url_server(server_factory, empty_library)
    with srv.running():
        path = "/torrent/url/" + origin.url("/v/gate.mp4")
        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
            futures = [pool.submit(H.get, srv.port, path, timeout=60) for _ in range(50)]
            # The origin holds its answer until all 50 requests wait on the one fetch.
            srv.wait_health(lambda h: h["origin"]["coalesced"] == 49, "49 requests joining the first one's fetch")
            origin.gate.set()
            answers = [f.result() for f in futures]
        assert all(a.status == 200 for a in answers), [a.describe() for a in answers if a.status != 200][:1]
        assert len({a.body for a in answers}) == 1
        assert len(origin.requests("GET", "/v/gate.mp4")) == 1
        assert len(origin.requests()) == 1
        h = srv.healthz()
        assert h["origin"]["fetches"] == 1 and h["torrents"] == 1


def test_refusals_leave_nothing_behind(origin, server_factory, empty_library):
    srv = url_server(server_factory, empty_library, ORIGIN_TIMEOUT="3")
    with srv.running():
        cases = [
            # (path, status, origin requests expected)
            ("/torrent/url/" + origin.url("/v/video.mp4", host="localhost"), 403, []),
            ("/torrent/url/" + origin.url("/r/elsewhere.mp4"), 403, ["/r/elsewhere.mp4"]),
            ("/torrent/url/" + origin.url("/r/ftp.mp4"), 502, ["/r/ftp.mp4"]),
            ("/torrent/url/" + origin.url("/r/loop.mp4"), 502, ["/r/loop.mp4"] * 6),
            ("/torrent/url/" + origin.url("/v/error.mp4"), 502, ["/v/error.mp4"]),
            ("/torrent/url/" + origin.url("/v/gone.mp4"), 502, ["/v/gone.mp4"]),
            ("/torrent/url/" + origin.url("/v/truncated.mp4"), 502, ["/v/truncated.mp4"]),
            ("/torrent/url/" + origin.url("/v/stall.mp4"), 504, ["/v/stall.mp4"]),
            ("/torrent/url/ftp://127.0.0.1/v/video.mp4", 400, []),
            ("/torrent/url/file:///etc/passwd", 400, []),
            ("/url?url=not-a-url", 400, []),
            ("/url", 400, []),
            ("/url?url=" + urllib.parse.quote(f"http://user:pw@127.0.0.1:{origin.port}/v/video.mp4", safe=""), 400, []),
        ]
        for path, status, seen in cases:
            before = len(origin.log)
            r = srv.get(path, timeout=30)
            assert r.status == status, (path, r.describe())
            assert error_of(r)[0] == status
            assert [x[1] for x in origin.log[before:]] == seen, (path, origin.log[before:])
        # Nothing in the catalog, nothing in the cache, nothing to serve.
        assert srv.healthz()["torrents"] == 0
        assert cache_files(srv) == []
        truncated_ih = hashlib.sha1(b"never made").hexdigest()
        assert srv.get(f"/file/{truncated_ih}").status == 404

        # A redirect within the allowed host is followed.
        r = srv.get("/torrent/url/" + origin.url("/r/ok.mp4"))
        assert r.status == 200, r.describe()
        meta = torrent_meta(r.body)
        assert H.bkey(H.bkey(meta, "info"), "name") == b"ok.mp4"
        assert origin.url("/r/ok.mp4") in url_list(meta)
        assert srv.get(f"/file/{info_hash(meta)}/ok.mp4").body == VIDEO


def test_size_cap_and_unknown_length(origin, server_factory, empty_library):
    srv = url_server(server_factory, empty_library, ORIGIN_MAX_BYTES=str(1024 * 1024))
    with srv.running():
        for p in ("/v/video.mp4", "/v/chunked.mp4"):  # Content-Length too large; too many chunked bytes
            r = srv.get("/torrent/url/" + origin.url(p))
            assert r.status == 413, r.describe()
        assert srv.healthz()["torrents"] == 0 and cache_files(srv) == []
    srv2 = url_server(server_factory, empty_library)
    with srv2.running():
        r = srv2.get("/torrent/url/" + origin.url("/v/chunked.mp4"))
        assert r.status == 200, r.describe()
        info = H.bkey(torrent_meta(r.body), "info")
        assert H.bkey(info, "length") == len(VIDEO)
        H.verify_pieces(info, lambda rel: VIDEO)


def test_private_addresses_are_refused_without_allow_private(origin, server_factory, empty_library):
    srv = url_server(server_factory, empty_library, ALLOWED_DOMAINS="127.0.0.1,localhost,*.localhost",
                     ALLOW_PRIVATE_ORIGINS=None)
    with srv.running():
        for host in ("127.0.0.1", "localhost"):
            r = srv.get("/torrent/url/" + origin.url("/v/video.mp4", host=host))
            assert r.status == 403, r.describe()
            assert "private" in error_of(r)[1]
        assert origin.log == []
        assert srv.healthz()["torrents"] == 0 and cache_files(srv) == []


def test_changed_origin_makes_a_new_torrent(origin, server_factory, empty_library):
    srv = url_server(server_factory, empty_library, ORIGIN_REVALIDATE="0")
    with srv.running():
        path = "/torrent/url/" + origin.url("/v/changing.mp4")
        first = info_hash(torrent_meta(srv.get(path).body))
        assert srv.get(f"/file/{first}/changing.mp4").body == VIDEO2
        # Unchanged: a conditional HEAD (304), no second GET.
        assert info_hash(torrent_meta(srv.get(path).body)) == first
        assert len(origin.requests("GET")) == 1
        assert origin.requests("HEAD")[-1][1] == "/v/changing.mp4"

        changed = bytearray(VIDEO2)
        changed[1000] ^= 0xFF
        origin.changing = (bytes(changed), '"v2"')
        second = info_hash(torrent_meta(srv.get(path).body))
        assert second != first
        assert len(origin.requests("GET")) == 2
        assert srv.get(f"/file/{second}/changing.mp4").body == bytes(changed)
        # The old torrent is gone with its data: none of its bytes can be served any more.
        assert srv.get(f"/file/{first}/changing.mp4").status == 404
        assert srv.get(f"/torrent/{first}.torrent").status == 404
        assert srv.healthz()["torrents"] == 1
        assert cache_files(srv) == [second, f"{second}/changing.mp4"]


def test_restart_keeps_url_torrents_and_the_library_scan_leaves_them(origin, server_factory, empty_library):
    srv = url_server(server_factory, empty_library)
    with srv.running():
        ih = info_hash(torrent_meta(srv.get("/torrent/url/" + origin.url("/v/video.mp4")).body))
        time.sleep(2.5)  # RESCAN_INTERVAL=1 in the harness: two library scans pass
        assert srv.healthz()["torrents"] == 1
    with srv.running():
        assert srv.healthz()["torrents"] == 1
        assert srv.get(f"/file/{ih}/video.mp4").body == VIDEO
        r = srv.get("/torrent/url/" + origin.url("/v/video.mp4"))
        assert info_hash(torrent_meta(r.body)) == ih
        # After a restart the origin is asked once whether the file changed (HEAD), not fetched.
        assert len(origin.requests("GET")) == 1 and len(origin.requests("HEAD")) == 1


def test_private_mode_wants_a_token(origin, server_factory, empty_library):
    secret = "url-secret"
    srv = url_server(server_factory, empty_library, SECRET=secret)
    with srv.running():
        path = "/torrent/url/" + origin.url("/v/video.mp4")
        r = srv.get(path)
        assert r.status == 401 and origin.log == []
        token = H.mint_token(secret, "alice")
        r = srv.get(f"/torrent/{token}/url/" + origin.url("/v/video.mp4"))
        assert r.status == 200, r.describe()
        meta = torrent_meta(r.body)
        ih = info_hash(meta)
        assert url_list(meta) == [f"{srv.base}/file/{token}/{ih}/video.mp4", origin.url("/v/video.mp4")]
        assert H.bkey(H.bkey(meta, "info"), "private") == 1
        assert srv.get(path, {"Authorization": f"Bearer {token}"}).status == 200


def test_the_engine_seeds_a_url_torrent_to_peers(origin, server_factory, empty_library, tmp_path):
    """With the url-list removed, a BitTorrent client finds the server's seed through the tracker
    and gets every byte over the peer protocol: the engine found the data in the cache."""
    srv = url_server(server_factory, empty_library)
    with srv.running():
        r = srv.get("/torrent/url/" + origin.url("/v/video.mp4"))
        assert r.status == 200, r.describe()
        srv.wait_health(lambda h: h.get("seed", {}).get("torrents") == 1 and h["seed"].get("port"),
                        "the engine seeding the URL torrent")
        meta = H.bdecode(r.body)
        assert meta.pop(b"url-list", None) is not None
        (tmp_path / "t.torrent").write_bytes(H.bencode(meta))
        before = len(origin.log)
        out = H.aria2c(tmp_path / "t.torrent", tmp_path / "out")
        assert out.returncode == 0, f"aria2c: {out.stdout}{out.stderr}\n{srv.logs(30)}"
        assert (tmp_path / "out" / "video.mp4").read_bytes() == VIDEO
        assert srv.healthz()["seed"]["uploaded"] >= len(VIDEO)
        assert len(origin.log) == before  # nothing came from the origin


def test_the_url_cache_keeps_to_cache_max_bytes_least_recently_used_first(origin, server_factory, empty_library):
    """CACHE_MAX_BYTES bounds the URL cache too: when it is over budget, the torrent used least
    recently leaves (catalog, seed and data), the others stay byte for byte, and the next request
    for the evicted URL fetches it again (the same torrent)."""
    budget = 8 * 1024 * 1024 + 512 * 1024  # two 4 MiB videos and a 1 MiB one do not fit
    srv = url_server(server_factory, empty_library, CACHE_MAX_BYTES=str(budget))
    with srv.running():
        def fetch(path):
            r = srv.get("/torrent/url/" + origin.url(path))
            assert r.status == 200, r.describe()
            return info_hash(torrent_meta(r.body))
        a = fetch("/v/changing.mp4")  # 1 MiB
        b = fetch("/v/video.mp4")     # 4 MiB
        time.sleep(1.2)
        assert srv.get(f"/file/{a}/changing.mp4").body == VIDEO2  # a is now used after b
        c = fetch("/v/chunked.mp4")   # 4 MiB: over budget
        deadline = time.monotonic() + 40
        while b in cache_files(srv) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert sorted(cache_files(srv)) == sorted([a, f"{a}/changing.mp4", c, f"{c}/chunked.mp4"]), \
            f"{cache_files(srv)}\n{srv.logs(30)}"
        # b is gone with its catalog entry: none of its bytes can be served any more
        assert srv.get(f"/file/{b}/video.mp4").status == 404
        assert srv.get(f"/torrent/{b}.torrent").status == 404
        assert srv.get(f"/file/{a}/changing.mp4").body == VIDEO2
        assert srv.get(f"/file/{c}/chunked.mp4").body == VIDEO
        assert len(origin.requests("GET", "/v/video.mp4")) == 1
        # asked for again, b is fetched again and is the same torrent
        assert fetch("/v/video.mp4") == b
        assert len(origin.requests("GET", "/v/video.mp4")) == 2
        assert srv.get(f"/file/{b}/video.mp4").body == VIDEO
