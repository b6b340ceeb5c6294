"""Error handling of docs/api.md: status codes, JSON error shape, robustness."""
import os
import random
import socket
import threading
import time

import pytest

import seedcast_harness as H

HEX40_UNKNOWN = "0123456789abcdef0123456789abcdef01234567"


def assert_error(r, status, what=""):
    assert r.status == status, f"{what}: expected {status}\n{r.describe()}"
    assert r.h("Access-Control-Allow-Origin") == "*", f"{what}: no CORS header on error"
    assert r.h("Content-Type", "").split(";")[0].strip() == "application/json", \
        f"{what}: error Content-Type {r.h('Content-Type')!r}"
    j = r.json()
    assert set(j) == {"error"}, f"{what}: error body {j}"
    assert j["error"]["status"] == status, f"{what}: error body {j}"
    assert isinstance(j["error"]["message"], str) and j["error"]["message"], f"{what}: {j}"


def assert_raw_error(port, data, status, what, timeout=10.0, closed=True):
    raw, how = H.raw_exchange_ex(port, data, timeout)
    assert raw, f"{what}: no response at all (connection {how})"
    st, hdrs, body = H.parse_raw_response(raw)
    assert st == status, f"{what}: expected {status}, got {raw[:400]!r}"
    if closed:
        assert how in ("eof", "reset"), f"{what}: connection not closed after {status}"
    return hdrs, body


def closed_within(s, seconds) -> bool:
    """Reads (and drops) what `s` receives until the server closes it: True, or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(4096)
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        if not chunk:
            return True
    return False


# ---------------------------------------------------------------------------- 400 / 404

@pytest.mark.parametrize("path", [
    "/file/xyz", "/file/xyz?json=1", "/file/" + "a" * 39, "/file/" + "a" * 41,
    "/file/" + "g" * 40, "/torrent/xyz.torrent",
    "/torrent/" + "a" * 39 + ".torrent", "/torrent/" + "z" * 40 + ".torrent",
    "/file/xyz/clip.mp4", "/file/" + "a" * 41 + "/clip.mp4"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_bad_info_hash_400(shared_server, path, method):
    r = shared_server.req(method, path)
    if method == "HEAD":
        assert r.status == 400 and r.body == b"", f"HEAD {path}: {r.describe()}"
    else:
        assert_error(r, 400, f"GET {path}")


@pytest.mark.parametrize("path", [
    f"/file/{HEX40_UNKNOWN}", f"/file/{HEX40_UNKNOWN}?json=1",
    f"/file/{HEX40_UNKNOWN.upper()}", f"/torrent/{HEX40_UNKNOWN}.torrent",
    f"/file/{HEX40_UNKNOWN}/clip.mp4"])
def test_unknown_info_hash(library, server_factory, path):
    # Open mode: the gateway looks for the swarm, and finds nobody in time.
    srv = server_factory(library.root, OPEN_GATEWAY=1, METADATA_TIMEOUT=1)
    with srv.running():
        assert_error(srv.get(path), 504, f"GET {path}")
    # Without the open gateway (or in private mode) an unknown info-hash is simply unknown.
    srv = server_factory(library.root)  # the harness turns the open gateway off
    with srv.running():
        assert_error(srv.get(path), 404, f"GET {path}")


@pytest.mark.parametrize("path", ["/nope", "/api/v1/torrents", "/healthzz", "/file-x/abc",
                                  "/torrents"])
def test_unknown_route_404(shared_server, path):
    assert_error(shared_server.get(path), 404, f"GET {path}")


@pytest.mark.parametrize("tail", [
    "..", "../clip.mp4", "Season%201/../poster.jpg", "%2e%2e/%2e%2e/etc/passwd",
    "%2E%2E/poster.jpg", "Season%201%2F..%2F..%2F..%2Fetc%2Fpasswd", "Season%201%2f%2e%2e%2fx",
    "./poster.jpg", "%2e/poster.jpg", "Season%201/./x", "extras/deep/..",
    "poster.jpg%00", "poster.jpg%00.txt", "%00",
    "Season%201%5c..%5cposter.jpg", "..%5c..%5cetc%5cpasswd", "Season 1\\x".replace(" ", "%20"),
    "a\\b"])
@pytest.mark.parametrize("which", ["multi", "single"])
def test_traversal_nul_backslash_400(shared_server, multi_ih, single_ih, tail, which):
    ih = multi_ih if which == "multi" else single_ih
    path = f"/file/{ih}/{tail}"
    assert_error(shared_server.get(path), 400, f"GET {path}")


def test_traversal_with_name_prefix_400(shared_server, multi_ih):
    name = H.quote_seg(H.MULTI_NAME)
    for tail in (f"{name}/../{name}/poster.jpg", f"{name}%2F..%2F..%2Fx", f"{name}/%2e%2e"):
        path = f"/file/{multi_ih}/{tail}"
        assert_error(shared_server.get(path), 400, f"GET {path}")


def test_raw_nul_in_request_line_400(shared_server, multi_ih):
    data = f"GET /file/{multi_ih}/poster.jpg".encode() + b"\x00.txt HTTP/1.1\r\nHost: t\r\n\r\n"
    assert_raw_error(shared_server.port, data, 400, "raw NUL in request target")


# ---------------------------------------------------------------------------- 405

@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("route", ["bytes", "listing", "torrent"])
def test_method_not_allowed_405(shared_server, single_ih, method, route):
    path = {"bytes": f"/file/{single_ih}/clip.mp4", "listing": f"/file/{single_ih}",
            "torrent": f"/torrent/{single_ih}.torrent"}[route]
    r = shared_server.req(method, path, body=b"x=1")
    assert_error(r, 405, f"{method} {path}")
    allow = {m.strip().upper() for m in (r.h("Allow") or "").split(",")}
    assert {"GET", "HEAD"} <= allow, f"Allow header {r.h('Allow')!r}"
    assert not ({"POST", "PUT", "DELETE", "PATCH"} & allow), f"Allow header {r.h('Allow')!r}"


# ---------------------------------------------------------------------------- limits

def test_header_block_over_8k_431(shared_server):
    data = (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    assert_raw_error(shared_server.port, data, 431, "one 9000-byte header")


def test_many_headers_over_8k_431(shared_server):
    hdrs = b"".join(b"X-H%03d: %s\r\n" % (i, b"b" * 90) for i in range(100))  # ~10 KB
    data = b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + hdrs + b"\r\n"
    assert_raw_error(shared_server.port, data, 431, "100 headers of ~100 bytes")


def test_header_block_under_8k_ok(shared_server):
    r = shared_server.get("/healthz", {"X-Big": "a" * 7000})
    assert r.status == 200, r.describe()


def test_body_over_1mib_413(shared_server):
    data = (b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % (2 << 20)
            + b"z" * 65536)
    raw, how = H.raw_exchange_ex(shared_server.port, data, 10)
    assert raw, f"no response to a 2 MiB Content-Length (connection {how})"
    st, _, _ = H.parse_raw_response(raw)
    assert st == 413, f"expected 413, got {raw[:300]!r}"


@pytest.mark.parametrize("data", [
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET /healthz HTTX/1.1\r\nHost: t\r\n\r\n",
    b"GET /healthz HTTP/1.1 extra\r\nHost: t\r\n\r\n",
    b"\x01\x02\x03\x04 / HTTP/1.1\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost t\r\n\r\n",                          # header without colon
    b"GET /healthz HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n",          # space in field name
    b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
], ids=["word", "method-only", "bad-version", "extra-token", "binary-method",
        "no-colon", "space-in-name", "bad-content-length"])
def test_malformed_request_400_and_close(shared_server, data):
    assert_raw_error(shared_server.port, data, 400, f"malformed request {data[:40]!r}")


@pytest.mark.parametrize("data,status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /healthz HTTP/1.1\r\nHost t\r\n\r\n", 400),
    (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
], ids=["400-request-line", "400-header", "431"])
def test_parser_level_errors_are_json_with_cors(shared_server, data, status):
    """docs/api.md: every response carries Access-Control-Allow-Origin: * and errors are
    always JSON {"error":{"status":N,"message":...}} - also those from the HTTP parser."""
    hdrs, body = assert_raw_error(shared_server.port, data, status, f"{data[:30]!r}")
    assert hdrs.get("access-control-allow-origin") == "*", \
        f"{status} from the parser without Access-Control-Allow-Origin: * ({hdrs})"
    assert hdrs.get("content-type", "").split(";")[0] == "application/json", hdrs
    import json
    j = json.loads(body[:int(hdrs["content-length"])])
    assert j["error"]["status"] == status and j["error"]["message"], j


# ---------------------------------------------------------------------------- blacklist

def test_blacklist_451(server_factory, library, tmp_path):
    data_dir = tmp_path / "bl-data"
    srv = server_factory(library.root, data_dir=data_dir)
    with srv.running():
        single, multi = srv.ih(H.SINGLE_NAME), srv.ih(H.MULTI_NAME)
    fake = "fedcba9876543210fedcba9876543210fedcba98"

    def routes(ih, fname):
        return [f"/torrent/{ih}.torrent", f"/file/{ih}", f"/file/{ih}?json=1",
                f"/file/{ih}/{fname}", f"/file/{ih.upper()}/{fname}"]

    # default location: $DATA_DIR/blacklist.txt (comments, blank lines, padding)
    (data_dir / "blacklist.txt").write_text(f"# blocked by a takedown\n\n  {single}  \n")
    with srv.running():
        for path in routes(single, H.SINGLE_NAME):
            assert_error(srv.get(path), 451, f"GET {path} (blacklisted)")
            assert srv.head(path).status == 451, f"HEAD {path}"
        # the other torrent is untouched
        r = srv.get(H.file_url_path(multi, H.NOTES))
        assert r.status == 200 and r.body == library.data(H.MULTI_NAME, H.NOTES)

    # BLACKLIST=<file> replaces the default; an info-hash not in the library is 451 too
    other = tmp_path / "other-blacklist.txt"
    other.write_text(f"# not in the library\n{fake}\n{multi}\n")
    srv.env_overrides["BLACKLIST"] = str(other)
    with srv.running():
        for path in routes(fake, "x.mp4") + routes(multi, "poster.jpg"):
            assert_error(srv.get(path), 451, f"GET {path} (blacklisted via BLACKLIST)")
        r = srv.get(f"/file/{single}/{H.SINGLE_NAME}", {"Range": "bytes=0-9"})
        assert r.status == 206 and r.body == library.data(H.SINGLE_NAME)[:10], \
            "torrent only in the default blacklist must be served when BLACKLIST points elsewhere"


# ---------------------------------------------------------------------------- robustness

def _garbage_payloads(port, ih):
    rnd = random.Random(1234)
    p = [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + rnd.randbytes(200),  # TLS ClientHello
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"ffffffffffffffffff\r\n",
        b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
        b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /file/" + ih.encode() + b"/clip.mp4 HTTP/1.1\r\nHost: t\r\nRange: bytes="
        + b"0-1," * 1500 + b"\r\n\r\n",
        b"GET /file/" + ih.encode() + b"/clip.mp4 HTTP/1.1\r\nHost: t\r\nRange: bytes=-"
        + b"9" * 40 + b"\r\n\r\n",
        b"GET /file/" + ih.encode() + b"/clip.mp4 HTTP/1.1\r\nHost: t\r\nRange: bytes="
        + b"9" * 40 + b"-\r\n\r\n",
        b"GET /file/" + ih.encode() + b"/%%%%%%%%%%%%%%%% HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /file/" + ih.encode() + b"/\xff\xfe\xfd HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + b"X: y\r\n" * 5000 + b"\r\n",
        b"GET /healthz HTTP/1.1\r\n\r\n" * 50,                                # pipelined burst
        b"\r\n" * 5000,
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nIf-Modified-Since: " + b"9" * 200 + b"\r\n\r\n",
        b"GET /file/" + ih.encode() + b"/clip.mp4 HTTP/1.1\r\nHost: t\r\nIf-Range: "
        + b"\"" * 100 + b"\r\nRange: bytes=0-0\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET http://evil.example/../../etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /healthz HTTP/1.0\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n",                               # truncated
        b"G",
    ]
    p += [rnd.randbytes(rnd.randint(1, 3000)) for _ in range(40)]
    p += [b"GET /file/" + ih.encode() + b"/" + rnd.randbytes(30).replace(b" ", b"_")
          + b" HTTP/1.1\r\nHost: t\r\n\r\n" for _ in range(20)]
    return p


def test_malformed_burst_server_survives(shared_server, single_ih, library):
    payloads = _garbage_payloads(shared_server.port, single_ih) * 3
    errors = []

    def worker(chunk):
        for data in chunk:
            try:
                H.raw_exchange_ex(shared_server.port, data, timeout=1)
            except OSError as e:  # the server refusing a connection is a failure
                errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(payloads[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "burst workers did not finish"
    assert not errors, f"connection errors during the burst: {errors[:5]}"
    assert shared_server.alive(), "seedcast died during the malformed-request burst"
    h = shared_server.healthz()
    assert h["status"] == "ok" and h["torrents"] == 2
    r = shared_server.get(f"/file/{single_ih}/{H.SINGLE_NAME}", {"Range": "bytes=100-199"})
    assert r.status == 206 and r.body == library.data(H.SINGLE_NAME)[100:200]


def test_slow_client_does_not_block_others(shared_server, single_ih, library):
    """Clients that send half a request line and then nothing must not block the server.
    The 8 s bound on the other requests is below the 10 s HEADER_TIMEOUT, so a server
    that serialises on the slow clients fails here."""
    slow = []
    try:
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", shared_server.port), timeout=5)
            s.sendall(b"GET /heal")
            slow.append(s)
        time.sleep(0.2)  # let the server accept them; correctness does not depend on it
        for _ in range(3):
            r = shared_server.get("/healthz", timeout=8)
            assert r.status == 200
            r = shared_server.get(f"/file/{single_ih}/{H.SINGLE_NAME}",
                                  {"Range": "bytes=0-65535"}, timeout=8)
            assert r.status == 206 and r.body == library.data(H.SINGLE_NAME)[:65536]
    finally:
        for s in slow:
            s.close()


def test_header_timeout_closes_slow_request(server_factory, library):
    srv = server_factory(library.root, HEADER_TIMEOUT=1, IDLE_TIMEOUT=2)
    with srv.running():
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=15)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")  # never finished
            closed = closed_within(s, 15)
            assert closed, "incomplete request header not closed within 15 s (HEADER_TIMEOUT=1)"
        finally:
            s.close()
        # idle keep-alive connection is closed after IDLE_TIMEOUT
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=15)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(4096)
                assert chunk, "closed before answering"
                buf += chunk
            assert buf.startswith(b"HTTP/1.1 200")
            closed = closed_within(s, 15)
            assert closed, "idle keep-alive connection not closed within 15 s (IDLE_TIMEOUT=2)"
        finally:
            s.close()
        assert srv.healthz()["status"] == "ok"


def test_client_aborts_mid_body(shared_server, single_ih, library):
    """aria2 may close a connection in the middle of a body; that is normal for the server."""
    path = f"/file/{single_ih}/{H.SINGLE_NAME}"
    for i in range(30):
        s = socket.create_connection(("127.0.0.1", shared_server.port), timeout=5)
        rng = "" if i % 2 else "Range: bytes=1000-\r\n"
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n{rng}\r\n".encode())
        s.recv(1024)
        if i % 3 == 0:  # RST instead of FIN
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    assert shared_server.alive()
    r = shared_server.get(path, {"Range": "bytes=-10"})
    assert r.status == 206 and r.body == library.data(H.SINGLE_NAME)[-10:]


def test_concurrent_range_requests(shared_server, single_ih, multi_ih, library):
    data = library.data(H.SINGLE_NAME)
    ep = library.data(H.MULTI_NAME, H.EPISODE)
    failures = []

    def worker(seed):
        rnd = random.Random(seed)
        for _ in range(15):
            if rnd.random() < 0.5:
                path, src = f"/file/{single_ih}/{H.SINGLE_NAME}", data
            else:
                path, src = H.file_url_path(multi_ih, H.EPISODE), ep
            a = rnd.randrange(len(src))
            b = min(len(src) - 1, a + rnd.randrange(1, 600_000))
            try:
                r = H.get(shared_server.port, path, {"Range": f"bytes={a}-{b}"}, timeout=15)
                if r.status != 206 or r.body != src[a:b + 1]:
                    failures.append(f"{path} bytes={a}-{b}: {r.status} len={len(r.body)}")
            except OSError as e:
                failures.append(f"{path} bytes={a}-{b}: {e!r}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not any(t.is_alive() for t in threads), "concurrent requests did not finish in 90 s"
    assert not failures, failures[:5]


@pytest.mark.parametrize("data", [
    b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
], ids=["missing-host", "duplicate-host"])
def test_http11_host_rules_400(shared_server, data):
    """RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without a Host header
    or with more than one (the url-list base is taken from Host)."""
    assert_raw_error(shared_server.port, data, 400, f"{data!r}", timeout=5)
