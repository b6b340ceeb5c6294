"""The gateway: seedcast streams torrents it does not hold. Another client (python3-libtorrent,
not seedcast) seeds content that is in no seedcast library; seedcast gets the .torrent from a
magnet / info-hash through the swarm and streams /file/… with ranges, verified bytes only."""
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import urllib.parse

import libtorrent as lt
import pytest

import seedcast_harness as H
from bt_liar import Liar

HERE = Path(__file__).resolve().parent
ADMIN = "admin-token-for-tests"
PIECE = 64 * 1024


def make_content(root: Path, multi: bool, size: int = 40 * PIECE + 1234) -> dict:
    """Random content under root; {relative path: bytes}."""
    rng = __import__("random").Random(7 if multi else 3)
    files = {"gw-clip.mp4": rng.randbytes(size)} if not multi else {
        "gw-album/a.mp4": rng.randbytes(size), "gw-album/sub/b.webm": rng.randbytes(PIECE * 3 + 17)}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def make_torrent(root: Path, name: str, tracker: str) -> bytes:
    fs = lt.file_storage()
    lt.add_files(fs, str(root / name))
    ct = lt.create_torrent(fs, PIECE, flags=lt.create_torrent.v1_only)
    ct.add_tracker(tracker)
    lt.set_piece_hashes(ct, str(root))
    return lt.bencode(ct.generate())


def info_hash(torrent: bytes) -> str:
    return str(lt.torrent_info(lt.bdecode(torrent)).info_hashes().v1)


class Seeder:
    """tests/integration/lt_seeder.py in a subprocess; started once seedcast admits the swarm."""

    def __init__(self, torrent_path: Path, save_dir: Path, seed_mode=False):
        args = [sys.executable, str(HERE / "lt_seeder.py"), str(torrent_path), str(save_dir), "--timeout", "150"]
        if seed_mode:
            args.append("--seed-mode")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            if '"seeding": true' in line:
                self.ready.set()

    def wait(self, timeout=40):
        assert self.ready.wait(timeout), f"the seeder did not announce: {''.join(self.lines)}"
        return self

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def seeders():
    made = []
    yield lambda *a, **kw: made.append(Seeder(*a, **kw)) or made[-1]
    for s in made:
        s.stop()


def admin(srv, method, path, body=b"", token=ADMIN, **headers):
    if token is not None:
        headers["X-Access-Token"] = token
    return srv.req(method, path, headers=headers, body=body)


def fetching(srv, n):
    return srv.wait_health(lambda h: h.get("gateway", {}).get("torrents") == n, f"{n} gateway torrents")


def raw_get(port, target, extra=b"", timeout=30):
    """GET over a raw socket; returns (status line and headers, body bytes read until close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + extra + b"\r\n")
        data = b""
        while True:
            try:
                chunk = s.recv(1 << 16)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


@pytest.fixture
def empty_library(tmp_path):
    lib = tmp_path / "empty-library"
    lib.mkdir()
    return lib


def clip(srv, tmp_path):
    """The single-file test clip (tmp_path/content) and its torrent, announcing to srv's tracker,
    also written to tmp_path/t.torrent: (content folder, clip bytes, torrent, info-hash)."""
    content = tmp_path / "content"
    data = make_content(content, multi=False)["gw-clip.mp4"]
    torrent = make_torrent(content, "gw-clip.mp4", f"http://127.0.0.1:{srv.port}/announce")
    (tmp_path / "t.torrent").write_bytes(torrent)
    return content, data, torrent, info_hash(torrent)


def test_admin_magnet_then_stream_with_ranges(empty_library, server_factory, tmp_path, seeders):
    srv = server_factory(empty_library, expected=0, ACCESS_TOKEN=ADMIN, METADATA_TIMEOUT=40, PIECE_TIMEOUT=30)
    with srv.running():
        content, data, torrent, ih = clip(srv, tmp_path)
        magnet = f"magnet:?xt=urn:btih:{ih}&dn=gw-clip.mp4"
        # refusals first: no token, wrong token, nonsense
        assert admin(srv, "POST", "/api/torrents", magnet.encode(), token=None).status == 401
        assert admin(srv, "POST", "/api/torrents", magnet.encode(), token="wrong").status == 403
        assert admin(srv, "POST", "/api/torrents", b"magnet:?xt=urn:btih:zz").status == 400
        assert admin(srv, "POST", "/api/torrents", b"d4:infoi1ee").status == 400
        r = admin(srv, "POST", "/api/torrents", magnet.encode())
        assert r.status == 202, r.describe()
        assert r.json()["infoHash"] == ih
        seeders(tmp_path / "t.torrent", content).wait()

        r = srv.get(f"/torrent/{ih}.torrent", timeout=60)
        assert r.status == 200, r.describe()
        meta = H.bdecode(r.body)
        assert lt.bencode(meta[b"info"]) == lt.bencode(lt.bdecode(torrent)[b"info"])  # same info-hash
        assert any(f"/file/{ih}".encode() in u for u in (meta[b"url-list"] if isinstance(meta[b"url-list"], list) else [meta[b"url-list"]]))

        path = f"/file/{ih}/gw-clip.mp4"
        for rng, want in [("bytes=0-99", data[:100]), (f"bytes={PIECE - 10}-{3 * PIECE + 5}", data[PIECE - 10:3 * PIECE + 6]),
                          ("bytes=-5000", data[-5000:]), (f"bytes={20 * PIECE}-", data[20 * PIECE:])]:
            r = srv.get(path, headers={"Range": rng}, timeout=60)
            assert r.status == 206, (rng, r.describe())
            assert r.body == want, rng
        r = srv.get(path, timeout=60)
        assert r.status == 200 and r.body == data
        assert r.h("Content-Length") == str(len(data))
        r = srv.get(path, headers={"Range": "bytes=0-9,100-109"}, timeout=60)
        assert r.status == 206 and b"multipart/byteranges" in r.h("Content-Type").encode()
        assert data[:10] in r.body and data[100:110] in r.body
        assert srv.get(path, headers={"Range": f"bytes={len(data)}-"}).status == 416
        h = srv.healthz()
        assert h["gateway"]["torrents"] == 1 and h["gateway"]["downloaded"] >= len(data), h

        listed = admin(srv, "GET", "/api/torrents").json()["torrents"]
        assert [t["source"] for t in listed if t["infoHash"] == ih] == ["swarm"]
        assert admin(srv, "DELETE", f"/api/torrents/{ih}", token="wrong").status == 403
        assert admin(srv, "DELETE", f"/api/torrents/{ih}").status == 204
        assert all(t["infoHash"] != ih for t in admin(srv, "GET", "/api/torrents").json()["torrents"])
        fetching(srv, 0)
        cache = srv.data_dir / "cache" / "swarm" / ih
        deadline = time.monotonic() + 10  # libtorrent deletes the files asynchronously
        while cache.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not cache.exists()


def test_open_mode_fetches_any_info_hash(empty_library, server_factory, tmp_path, seeders):
    srv = server_factory(empty_library, expected=0, OPEN_GATEWAY=1, METADATA_TIMEOUT=40, PIECE_TIMEOUT=30)
    content = tmp_path / "content"
    files = make_content(content, multi=True)
    with srv.running():
        torrent = make_torrent(content, "gw-album", f"http://127.0.0.1:{srv.port}/announce")
        ih = info_hash(torrent)
        (tmp_path / "t.torrent").write_bytes(torrent)
        answer = {}
        asking = threading.Thread(target=lambda: answer.setdefault("r", srv.get(f"/torrent/{ih}.torrent", timeout=60)))
        asking.start()
        fetching(srv, 1)  # the request put the info-hash in the engine, so the tracker admits it
        seeders(tmp_path / "t.torrent", content).wait()
        asking.join(60)
        r = answer["r"]
        assert r.status == 200, r.describe()
        listing = srv.get(f"/file/{ih}?json=1").json()
        assert sorted(f["path"] for f in listing["files"]) == sorted(files)
        for rel, data in files.items():
            got = srv.get(H.file_url_path(ih, rel), timeout=60)
            assert got.status == 200 and got.body == data, rel
        # a native client downloads it from seedcast's webseed alone
        (tmp_path / "w.torrent").write_bytes(H.webseed_only(r.body))
        out = tmp_path / "out"
        res = H.aria2c(tmp_path / "w.torrent", out, peers=False)
        assert res.returncode == 0, res.stdout + res.stderr
        assert H.read_tree(out) == files


def test_metadata_timeout_is_504_and_private_mode_fetches_nothing(empty_library, server_factory):
    unknown = "ab" * 20
    srv = server_factory(empty_library, expected=0, OPEN_GATEWAY=1, METADATA_TIMEOUT=2)
    with srv.running():
        t0 = time.monotonic()
        r = srv.get(f"/torrent/{unknown}.torrent", timeout=30)
        assert r.status == 504, r.describe()
        assert "metadata" in r.json()["error"]["message"]
        assert r.h("Retry-After")
        assert time.monotonic() - t0 < 20
    secret = "gateway-secret"
    srv2 = server_factory(empty_library, expected=0, SECRET=secret, OPEN_GATEWAY=1, METADATA_TIMEOUT=2)
    with srv2.running():
        token = H.mint_token(secret, "dana")
        r = srv2.get(f"/torrent/{unknown}.torrent?token={token}")
        assert r.status == 404, r.describe()  # only what the operator added is fetched
        assert srv2.healthz()["gateway"]["torrents"] == 0


def test_corrupt_piece_is_never_served(empty_library, server_factory, tmp_path):
    srv = server_factory(empty_library, expected=0, ACCESS_TOKEN=ADMIN, PIECE_TIMEOUT=4)
    with srv.running():
        content, data, torrent, ih = clip(srv, tmp_path)
        r = admin(srv, "POST", "/api/torrents", torrent, **{"Content-Type": "application/x-bittorrent"})
        assert r.status == 200, r.describe()  # a .torrent carries its metadata: known at once
        # A lying peer: it has every piece, but piece 10 is corrupt.
        bad = bytearray(data)
        bad[10 * PIECE + 100:10 * PIECE + 110] = b"X" * 10
        liar = Liar(bytes.fromhex(ih), bytes(bad), PIECE, hold=(10, 9))  # piece 9 whole before the lie
        try:
            q = urllib.parse.urlencode({"peer_id": "-XX0000-liarliarliar", "port": liar.port, "left": 0,
                                        "uploaded": 0, "downloaded": 0, "compact": 1})
            r = srv.get(f"/announce?info_hash={urllib.parse.quote_from_bytes(bytes.fromhex(ih))}&{q}")
            assert r.status == 200 and b"failure" not in r.body, r.body
            check_corrupt_piece(srv, ih, data)
            assert liar.served > 0  # the bytes did come from the liar
        finally:
            liar.close()
        assert "hash" in srv.logs(400).lower()


def check_corrupt_piece(srv, ih, data):
    """A piece that fails its hash is never sent, not even in part."""
    # A good piece first (its read-ahead asks for the rest, the bad piece too).
    r = srv.get(f"/file/{ih}/gw-clip.mp4", headers={"Range": f"bytes={9 * PIECE}-{10 * PIECE - 1}"}, timeout=60)
    assert r.status == 206 and r.body == data[9 * PIECE:10 * PIECE]
    # Pieces 9 and 10: 9 goes out, then the body stops short where the bad piece starts.
    head, body = raw_get(srv.port, f"/file/{ih}/gw-clip.mp4",
                         f"Range: bytes={9 * PIECE}-{10 * PIECE + 999}\r\n".encode())
    assert head.startswith("HTTP/1.1 206"), head
    assert f"Content-Length: {PIECE + 1000}" in head
    assert len(body) < PIECE + 1000
    assert body == data[9 * PIECE:9 * PIECE + len(body)]
    # Only the bad piece: it never verifies, so 503 and not one of its bytes.
    r = srv.get(f"/file/{ih}/gw-clip.mp4", headers={"Range": f"bytes={10 * PIECE}-{10 * PIECE + 999}"}, timeout=60)
    assert r.status == 503, r.describe()
    assert r.h("Retry-After")


def test_evicted_torrents_serve_from_cache_until_the_budget_drops_them(empty_library, server_factory, tmp_path,
                                                                        seeders):
    srv = server_factory(empty_library, expected=0, ACCESS_TOKEN=ADMIN, PIECE_TIMEOUT=3, GATEWAY_LIFETIME=2)
    with srv.running():
        content, data, torrent, ih = clip(srv, tmp_path)
        assert admin(srv, "POST", "/api/torrents", torrent).status == 200
        seeder = seeders(tmp_path / "t.torrent", content).wait()
        path = f"/file/{ih}/gw-clip.mp4"
        rng = {"Range": f"bytes={PIECE}-{4 * PIECE - 1}"}
        assert srv.get(path, headers=rng, timeout=60).body == data[PIECE:4 * PIECE]
        seeder.stop()
        fetching(srv, 0)  # unused for its lifetime: out of the engine
        r = srv.get(path, headers=rng, timeout=60)  # back in, from the verified cache alone
        assert r.status == 206 and r.body == data[PIECE:4 * PIECE], r.describe()
    # A restart with a budget of 1 byte: once the torrent leaves the engine, its data goes.
    srv.env_overrides["CACHE_MAX_BYTES"] = "1"
    with srv.running(wait_ready=False):
        srv.wait_health(lambda h: h.get("status") == "ok", "up")
        cache = srv.data_dir / "cache" / "swarm" / ih
        deadline = time.monotonic() + 40
        while cache.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not cache.exists(), srv.logs(40)
        r = srv.get(path, headers=rng, timeout=60)
        assert r.status == 503, r.describe()


def test_seedcast_add_command(empty_library, server_factory):
    srv = server_factory(empty_library, expected=0, ACCESS_TOKEN=ADMIN)
    with srv.running():
        ih = "cd" * 20
        env = {"PATH": "/usr/bin:/bin", "ACCESS_TOKEN": ADMIN}
        out = subprocess.run([str(H.SEEDCAST_BIN), "add", ih, "--server", f"http://127.0.0.1:{srv.port}"],
                             env=env, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["infoHash"] == ih
        fetching(srv, 1)
        env["ACCESS_TOKEN"] = "wrong"
        out = subprocess.run([str(H.SEEDCAST_BIN), "add", ih, "--server", f"http://127.0.0.1:{srv.port}"],
                             env=env, capture_output=True, text=True, timeout=30)
        assert out.returncode == 1 and "wrong access token" in out.stdout


class MiniTracker:
    """A swarm's own tracker (not seedcast's): an HTTP announce endpoint that remembers every
    peer and answers the others, compact, bencoded by libtorrent."""

    def __init__(self):
        import http.server
        peers = self.peers = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                port = int(q.get("port", ["0"])[0])
                me = socket.inet_aton(self.client_address[0]) + port.to_bytes(2, "big")
                others = b"".join(p for p in peers.values() if p != me)
                if port:
                    peers[q.get("peer_id", [""])[0]] = me
                body = lt.bencode({"interval": 60, "peers": others})
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/announce"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_seek_after_idle_reaches_peers_of_the_magnets_own_tracker(empty_library, server_factory, tmp_path, seeders):
    """Peers known only from the magnet's tracker: after a range and its read-ahead are done the
    torrent wants nothing for a while; a later seek must still be served promptly."""
    srv = server_factory(empty_library, expected=0, ACCESS_TOKEN=ADMIN, METADATA_TIMEOUT=30, PIECE_TIMEOUT=20)
    content = tmp_path / "content"
    data = make_content(content, multi=False, size=300 * PIECE)["gw-clip.mp4"]  # 18.75 MiB > read-ahead
    tracker = MiniTracker()
    try:
        with srv.running():
            torrent = make_torrent(content, "gw-clip.mp4", tracker.url)
            ih = info_hash(torrent)
            (tmp_path / "t.torrent").write_bytes(torrent)
            seeders(tmp_path / "t.torrent", content).wait()
            magnet = f"magnet:?xt=urn:btih:{ih}&tr={urllib.parse.quote(tracker.url, safe='')}"
            assert admin(srv, "POST", "/api/torrents", magnet.encode()).status == 202
            path = f"/file/{ih}/gw-clip.mp4"
            r = srv.get(path, headers={"Range": "bytes=0-65535"}, timeout=60)
            assert r.status == 206 and r.body == data[:PIECE], r.describe()
            time.sleep(4)  # the read-ahead completes; nothing is wanted any more
            far = 250 * PIECE
            # PIECE_TIMEOUT (20 s) is well below libtorrent's 60 s before dialling a dropped peer again
            r = srv.get(path, headers={"Range": f"bytes={far}-{far + PIECE - 1}"}, timeout=60)
            assert r.status == 206 and r.body == data[far:far + PIECE], r.describe()
    finally:
        tracker.close()


def test_when_the_metadata_arrives_only_the_head_of_the_video_is_fetched(empty_library, server_factory, tmp_path,
                                                                         seeders):
    """Between the metadata and the first request the head of the largest file stays wanted (so
    that the connections keep libtorrent's slow start), and nothing else is fetched."""
    srv = server_factory(empty_library, expected=0, ACCESS_TOKEN=ADMIN, METADATA_TIMEOUT=40)
    with srv.running():
        content, data, torrent, ih = clip(srv, tmp_path)
        r = admin(srv, "POST", "/api/torrents", f"magnet:?xt=urn:btih:{ih}&dn=gw-clip.mp4".encode())
        assert r.status == 202, r.describe()
        seeders(tmp_path / "t.torrent", content).wait()  # the tracker admits the swarm once added
        assert srv.get(f"/torrent/{ih}.torrent", timeout=60).status == 200  # the metadata is here
        srv.wait_health(lambda h: h["gateway"]["downloaded"] >= PIECE, "the head piece fetched", timeout=30)
        time.sleep(2)
        h = srv.healthz()
        # the head only (received once, or twice in libtorrent's end game over two connections
        # to the seeder), not the file's 40 pieces
        assert h["gateway"]["downloaded"] < 4 * PIECE, h
        r = srv.get(f"/file/{ih}/gw-clip.mp4", headers={"Range": "bytes=0-99"}, timeout=30)
        assert r.status == 206 and r.body == data[:100], r.describe()
