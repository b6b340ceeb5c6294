"""HTTP contract of docs/api.md for content, listings and metainfo (happy paths)."""
import email.utils
import hashlib
import re
import urllib.parse

import pytest

import seedcast_harness as H

CR_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
EXPOSE = ("Content-Range", "Content-Length", "Accept-Ranges", "ETag")


# ---------------------------------------------------------------------------- helpers

@pytest.fixture(scope="module")
def clip(shared_server, single_ih, library):
    """(server, path, data) of the single-file torrent's only file."""
    return shared_server, f"/file/{single_ih}/{H.SINGLE_NAME}", library.data(H.SINGLE_NAME)


def parse_cr(value):
    m = CR_RE.match(value or "")
    assert m, f"bad Content-Range {value!r}"
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def ranges_of(r, total, ctype):
    """[(first, last, data)] of a 206 answer (single part or multipart/byteranges)."""
    assert r.status == 206, r.describe()
    ct = r.h("Content-Type", "")
    assert int(r.h("Content-Length")) == len(r.body)
    out = []
    if ct.startswith("multipart/byteranges"):
        for hd, data in H.parse_multipart(r.body, ct):
            a, b, n = parse_cr(hd.get("content-range"))
            assert hd.get("content-type", "").startswith(ctype), hd
            out.append((a, b, n, data))
    else:
        assert ct.startswith(ctype), ct
        a, b, n = parse_cr(r.h("Content-Range"))
        out.append((a, b, n, r.body))
    res = []
    for a, b, n, data in out:
        assert n == total, f"Content-Range total {n} != {total}"
        assert 0 <= a <= b < total
        assert len(data) == b - a + 1, f"part {a}-{b} carries {len(data)} bytes"
        res.append((a, b, data))
    return res


def covered(spans):
    s = set()
    for a, b in spans:
        s.update(range(a, b + 1))
    return s


def check_common_file_headers(r, data, ctype="video/mp4"):
    assert r.h("Accept-Ranges") == "bytes", r.describe()
    etag = r.h("ETag")
    m = re.fullmatch(r'"([0-9a-fA-F]+)-([0-9a-fA-F]+)"', etag or "")
    assert m, f"ETag must be strong \"<mtime hex>-<size hex>\", got {etag!r}"
    assert int(m.group(2), 16) == len(data), f"ETag size part {m.group(2)} != {len(data):x}"
    assert email.utils.parsedate_to_datetime(r.h("Last-Modified")).timestamp() == H.BASE_MTIME, \
        f"Last-Modified {r.h('Last-Modified')!r} is not the file mtime"
    assert r.h("Content-Type", "").startswith(ctype), r.h("Content-Type")
    assert r.h("transferMode.dlna.org") == "Streaming"
    assert r.h("contentFeatures.dlna.org"), "contentFeatures.dlna.org missing"
    assert r.h("Access-Control-Allow-Origin") == "*"
    exposed = {x.strip().lower() for x in (r.h("Access-Control-Expose-Headers") or "").split(",")}
    for name in EXPOSE:
        assert name.lower() in exposed, f"{name} not in Access-Control-Expose-Headers {exposed}"


# ---------------------------------------------------------------------------- whole file

def test_full_get(clip):
    srv, path, data = clip
    r = srv.get(path)
    assert r.status == 200, r.describe()
    assert int(r.h("Content-Length")) == len(data)
    assert r.body == data
    assert r.h("Content-Range") is None
    check_common_file_headers(r, data)


def test_head_same_headers_no_body(clip):
    srv, path, data = clip
    g = srv.get(path)
    h = srv.head(path)
    assert h.status == 200, h.describe()
    assert h.body == b""
    assert int(h.h("Content-Length")) == len(data)
    for name in ("ETag", "Last-Modified", "Content-Type", "Accept-Ranges",
                 "transferMode.dlna.org", "contentFeatures.dlna.org",
                 "Access-Control-Allow-Origin", "Access-Control-Expose-Headers"):
        assert h.h(name) == g.h(name), f"HEAD {name}={h.h(name)!r} vs GET {g.h(name)!r}"
    # on the wire: nothing follows the header block (connection: close reads to EOF)
    raw = H.raw_exchange(srv.port, f"HEAD {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                         .encode())
    status, hdrs, body = H.parse_raw_response(raw)
    assert status == 200 and body == b"", f"HEAD sent a body of {len(body)} bytes"
    assert int(hdrs["content-length"]) == len(data)


def test_head_with_range(clip):
    srv, path, data = clip
    h = srv.head(path, {"Range": "bytes=10-109"})
    assert h.status == 206, h.describe()
    assert h.body == b""
    assert h.h("Content-Range") == f"bytes 10-109/{len(data)}"
    assert h.h("Content-Length") == "100"


# ---------------------------------------------------------------------------- one range

def single_range_cases(n):
    return [
        ("bytes=0-0", 0, 0),
        ("bytes=100-199", 100, 199),
        (f"bytes={n - 1000}-", n - 1000, n - 1),
        ("bytes=-500", n - 500, n - 1),
        (f"bytes={n - 1}-{n - 1}", n - 1, n - 1),          # last byte
        (f"bytes={n - 1}-", n - 1, n - 1),
        ("bytes=-1", n - 1, n - 1),
        (f"bytes={n - 10}-{n + 1000}", n - 10, n - 1),     # end clamped to the last byte
        (f"bytes=-{n + 5}", 0, n - 1),                     # suffix longer than the file
        ("bytes=0-", 0, n - 1),                            # aria2 / libtorrent style
        (f"bytes=1048576-{2 * 1048576 - 1}", 1048576, 2 * 1048576 - 1),
    ]


@pytest.mark.parametrize("case", range(11))
def test_single_range(clip, case):
    srv, path, data = clip
    n = len(data)
    spec, a, b = single_range_cases(n)[case]
    r = srv.get(path, {"Range": spec})
    assert r.status == 206, f"Range: {spec}\n{r.describe()}"
    assert r.h("Content-Range") == f"bytes {a}-{b}/{n}", f"Range: {spec}"
    assert int(r.h("Content-Length")) == b - a + 1
    assert r.body == data[a:b + 1], f"Range: {spec}: wrong bytes"
    assert r.h("Content-Type", "").startswith("video/mp4")
    check_common_file_headers(r, data)


@pytest.mark.parametrize("spec", ["bytes={n}-", "bytes={n}-{m}", "bytes=-0",
                                  "bytes={m}-{k}", "bytes={n}-,{m}-", "bytes=-0,{n}-"])
def test_unsatisfiable_416(clip, spec):
    srv, path, data = clip
    n = len(data)
    spec = spec.format(n=n, m=n + 10, k=n + 20)
    r = srv.get(path, {"Range": spec})
    assert r.status == 416, f"Range: {spec}\n{r.describe()}"
    assert r.h("Content-Range") == f"bytes */{n}", f"Range: {spec}\n{r.describe()}"
    assert r.h("Access-Control-Allow-Origin") == "*"


@pytest.mark.parametrize("spec", ["bytes=abc", "items=0-5", "bytes 0-5", "bytes=",
                                  "bytes=--5", "bytes=0-5-9", "bytes=1-a", "bytes=,"])
def test_invalid_range_syntax_ignored(clip, spec):
    srv, path, data = clip
    r = srv.get(path, {"Range": spec})
    assert r.status == 200, f"Range: {spec!r} should be ignored\n{r.describe()}"
    assert r.body == data
    assert r.h("Content-Range") is None


# ---------------------------------------------------------------------------- multipart

def test_multipart_byteranges(clip):
    srv, path, data = clip
    n = len(data)
    r = srv.get(path, {"Range": "bytes=0-9,1000-1999,-5"})
    assert r.status == 206, r.describe()
    assert r.h("Content-Type", "").startswith("multipart/byteranges"), r.describe()
    assert "boundary=" in r.h("Content-Type")
    parts = ranges_of(r, n, "video/mp4")
    assert [(a, b) for a, b, _ in parts] == [(0, 9), (1000, 1999), (n - 5, n - 1)]
    for a, b, d in parts:
        assert d == data[a:b + 1], f"part {a}-{b} has wrong bytes"


def test_multipart_overlapping_and_partly_unsatisfiable(clip):
    """Overlaps may be coalesced and unsatisfiable ranges dropped (RFC 9110), but every
    byte asked for that exists must be delivered correctly."""
    srv, path, data = clip
    n = len(data)
    r = srv.get(path, {"Range": f"bytes=0-99,50-149,{n + 5}-{n + 9},300-309"})
    parts = ranges_of(r, n, "video/mp4")
    for a, b, d in parts:
        assert d == data[a:b + 1]
    assert covered((a, b) for a, b, _ in parts) == covered([(0, 149), (300, 309)])


def _disjoint(count, gap=5000, size=10):
    return ",".join(f"{i * gap}-{i * gap + size - 1}" for i in range(count))


def test_max_ranges_default_16_accepted(clip):
    srv, path, data = clip
    r = srv.get(path, {"Range": "bytes=" + _disjoint(16)})
    parts = ranges_of(r, len(data), "video/mp4")
    assert len(parts) == 16
    for a, b, d in parts:
        assert d == data[a:b + 1]


def test_more_than_max_ranges_416(clip):
    srv, path, data = clip
    r = srv.get(path, {"Range": "bytes=" + _disjoint(17)})
    assert r.status == 416, r.describe()


def test_max_ranges_env(server_factory, library):
    srv = server_factory(library.root, MAX_RANGES=2)
    with srv.running():
        ih = srv.ih(H.SINGLE_NAME)
        path = f"/file/{ih}/{H.SINGLE_NAME}"
        data = library.data(H.SINGLE_NAME)
        ok = srv.get(path, {"Range": "bytes=" + _disjoint(2)})
        assert len(ranges_of(ok, len(data), "video/mp4")) == 2
        r = srv.get(path, {"Range": "bytes=" + _disjoint(3)})
        assert r.status == 416, f"MAX_RANGES=2 and 3 ranges: {r.describe()}"


# ---------------------------------------------------------------------------- conditionals

def _validators(srv, path):
    r = srv.head(path)
    assert r.status == 200
    return r.h("ETag"), r.h("Last-Modified")


@pytest.mark.parametrize("inm", ["{etag}", "*", '"nope", {etag}', "W/{etag}"],
                         ids=["exact", "star", "list", "weak"])
def test_if_none_match_304(clip, inm):
    srv, path, data = clip
    etag, _ = _validators(srv, path)
    r = srv.get(path, {"If-None-Match": inm.format(etag=etag)})
    assert r.status == 304, f"If-None-Match: {inm.format(etag=etag)}\n{r.describe()}"
    assert r.body == b""
    assert r.h("ETag") == etag


def test_if_none_match_other_200(clip):
    srv, path, data = clip
    r = srv.get(path, {"If-None-Match": '"0-0"'})
    assert r.status == 200 and r.body == data, r.describe()


@pytest.mark.parametrize("delta", [0, 3600])
def test_if_modified_since_304(clip, delta):
    srv, path, data = clip
    ims = email.utils.formatdate(H.BASE_MTIME + delta, usegmt=True)
    r = srv.get(path, {"If-Modified-Since": ims})
    assert r.status == 304, f"If-Modified-Since: {ims}\n{r.describe()}"
    assert r.body == b""


@pytest.mark.parametrize("ims", [email.utils.formatdate(H.BASE_MTIME - 3600, usegmt=True),
                                 "not a date"])
def test_if_modified_since_older_or_invalid_200(clip, ims):
    srv, path, data = clip
    r = srv.get(path, {"If-Modified-Since": ims})
    assert r.status == 200 and r.body == data, f"If-Modified-Since: {ims}\n{r.describe()}"


def test_if_range_current_etag_206(clip):
    srv, path, data = clip
    etag, _ = _validators(srv, path)
    r = srv.get(path, {"Range": "bytes=5-14", "If-Range": etag})
    assert r.status == 206, r.describe()
    assert r.h("Content-Range") == f"bytes 5-14/{len(data)}"
    assert r.body == data[5:15]


def test_if_range_last_modified_206(clip):
    srv, path, data = clip
    _, lm = _validators(srv, path)
    r = srv.get(path, {"Range": "bytes=5-14", "If-Range": lm})
    assert r.status == 206, r.describe()
    assert r.body == data[5:15]


@pytest.mark.parametrize("ifr", ['"0-0"', "W/{etag}",
                                 email.utils.formatdate(H.BASE_MTIME - 60, usegmt=True)],
                         ids=["stale-etag", "weak-etag", "other-date"])
def test_if_range_mismatch_full_200(clip, ifr):
    srv, path, data = clip
    etag, _ = _validators(srv, path)
    ifr = ifr.format(etag=etag)
    r = srv.get(path, {"Range": "bytes=5-14", "If-Range": ifr})
    assert r.status == 200, f"If-Range: {ifr}\n{r.describe()}"
    assert r.body == data
    assert r.h("Content-Range") is None


# ---------------------------------------------------------------------------- CORS

@pytest.mark.parametrize("route", ["file", "torrent"])
def test_cors_preflight(clip, single_ih, route):
    srv, path, data = clip
    target = path if route == "file" else f"/torrent/{single_ih}.torrent"
    r = srv.req("OPTIONS", target, {
        "Origin": "http://player.example.test",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range,cache-control,user-agent"})
    assert r.status == 204, r.describe()
    assert r.body == b""
    assert r.h("Access-Control-Allow-Origin") == "*"
    methods = {m.strip().upper() for m in (r.h("Access-Control-Allow-Methods") or "").split(",")}
    assert {"GET", "HEAD", "OPTIONS"} <= methods, methods
    allowed = {x.strip().lower() for x in (r.h("Access-Control-Allow-Headers") or "").split(",")}
    for name in ("range", "cache-control", "user-agent", "if-range", "if-none-match",
                 "if-modified-since"):
        assert name in allowed, f"{name} not in Access-Control-Allow-Headers {allowed}"
    assert r.h("Access-Control-Max-Age") == "86400", r.describe()


def test_cors_headers_on_get_range(clip):
    srv, path, data = clip
    r = srv.get(path, {"Range": "bytes=0-1", "Origin": "http://player.example.test"})
    assert r.status == 206
    assert r.h("Access-Control-Allow-Origin") == "*"
    exposed = {x.strip().lower() for x in (r.h("Access-Control-Expose-Headers") or "").split(",")}
    assert {e.lower() for e in EXPOSE} <= exposed


# ---------------------------------------------------------------------------- MIME, DLNA

@pytest.mark.parametrize("rel,mime", [
    (H.EPISODE, "video/mp4"), (H.SPACE_FILE, "video/x-matroska"),
    (H.NOTES, "text/plain"), (H.POSTER, "image/jpeg")])
def test_mime_types_and_dlna(shared_server, multi_ih, library, rel, mime):
    r = shared_server.head(H.file_url_path(multi_ih, rel))
    assert r.status == 200, r.describe()
    assert r.h("Content-Type", "").split(";")[0].strip() == mime, r.h("Content-Type")
    assert r.h("transferMode.dlna.org") == "Streaming"
    assert r.h("contentFeatures.dlna.org")
    assert int(r.h("Content-Length")) == len(library.data(H.MULTI_NAME, rel))


def test_single_file_mime_mp4(clip):
    srv, path, data = clip
    assert srv.head(path).h("Content-Type", "").split(";")[0] == "video/mp4"


# ---------------------------------------------------------------------------- path forms

def _lower_escapes(s):
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), s)


@pytest.mark.parametrize("rel", [H.EPISODE, H.SPACE_FILE, H.NOTES, H.EMPTY, H.POSTER])
@pytest.mark.parametrize("form", ["path", "name/path"])
@pytest.mark.parametrize("escapes", ["upper", "lower"])
def test_bep19_path_forms(shared_server, multi_ih, library, rel, form, escapes):
    full = rel if form == "path" else f"{H.MULTI_NAME}/{rel}"
    url = H.file_url_path(multi_ih, full)
    if escapes == "lower":
        url = _lower_escapes(url)
    r = shared_server.get(url)
    assert r.status == 200, f"GET {url}\n{r.describe()}"
    assert r.body == library.data(H.MULTI_NAME, rel), f"GET {url}: wrong bytes"


@pytest.mark.parametrize("variant", [
    "raw-utf8", "raw-utf8-name", "slash-%2F", "slash-%2f-name", "plus-literal", "plus-%2B",
    "plus-%2b", "uppercase-infohash", "single-%2e"])
def test_path_encoding_variants(shared_server, multi_ih, single_ih, library, variant):
    ep = H.EPISODE.split("/")
    name_q = H.quote_seg(H.MULTI_NAME)
    raw_name = H.MULTI_NAME.replace(" ", "%20")
    cases = {
        "raw-utf8": (f"/file/{multi_ih}/Season%201/" + ep[1].replace(" ", "%20"), H.EPISODE),
        "raw-utf8-name": (f"/file/{multi_ih}/{raw_name}/Season%201/"
                          + ep[1].replace(" ", "%20"), H.EPISODE),
        "slash-%2F": (f"/file/{multi_ih}/Season%201%2F" + H.quote_seg(ep[1]), H.EPISODE),
        "slash-%2f-name": (f"/file/{multi_ih}/{name_q}%2fSeason%201%2f" + H.quote_seg(ep[1]),
                           H.EPISODE),
        "plus-literal": (f"/file/{multi_ih}/Season%201/with%20space%20%26%20sign+plus.mkv",
                         H.SPACE_FILE),
        "plus-%2B": (f"/file/{multi_ih}/Season%201/with%20space%20%26%20sign%2Bplus.mkv",
                     H.SPACE_FILE),
        "plus-%2b": (f"/file/{multi_ih}/{_lower_escapes(name_q)}/Season%201/"
                     "with%20space%20&%20sign%2bplus.mkv", H.SPACE_FILE),
        "uppercase-infohash": (f"/file/{multi_ih.upper()}/" + H.quote_path(H.NOTES), H.NOTES),
        "single-%2e": (f"/file/{single_ih}/clip%2emp4", None),
    }
    url, rel = cases[variant]
    want = library.data(H.SINGLE_NAME) if rel is None else library.data(H.MULTI_NAME, rel)
    r = shared_server.get(url.encode("utf-8"))
    assert r.status == 200, f"GET {url}\n{r.describe()}"
    assert r.body == want, f"GET {url}: wrong bytes"


@pytest.mark.parametrize("tail", ["Season%201/with+space+%26+sign+plus.mkv",  # '+' is no space
                                  "Season%201/nope.mp4", "clip.mp4", "Season%201",
                                  "poster.jpg%zz", "poster.jpg%"])
def test_unknown_file_404(shared_server, multi_ih, tail):
    r = shared_server.get(f"/file/{multi_ih}/{tail}")
    assert r.status == 404, f"GET /file/<multi>/{tail}\n{r.describe()}"
    assert r.json()["error"]["status"] == 404


def test_keep_alive_sequence(clip):
    """Several requests on one connection (what web-seed clients do)."""
    srv, path, data = clip
    conn = H._Conn("127.0.0.1", srv.port, timeout=15)
    try:
        for rng, want in ((f"bytes=0-{len(data) // 2 - 1}", data[:len(data) // 2]),
                          (f"bytes={len(data) // 2}-", data[len(data) // 2:]),
                          (None, data), ("bytes=-3", data[-3:])):
            conn.request("GET", path, headers={"Range": rng} if rng else {})
            r = conn.getresponse()
            body = r.read()
            assert r.status == (206 if rng else 200)
            assert body == want
            conn.request("HEAD", path)
            r = conn.getresponse()
            r.read()
            assert r.status == 200
    finally:
        conn.close()


# ---------------------------------------------------------------------------- .torrent

def _url_list(meta):
    ul = H.bkey(meta, "url-list")
    if isinstance(ul, bytes):
        return [ul.decode()]
    return [u.decode() for u in ul]


@pytest.mark.parametrize("tname", [H.SINGLE_NAME, H.MULTI_NAME], ids=["single", "multi"])
def test_torrent_metainfo(shared_server, catalog, library, tname):
    import libtorrent as lt
    ih = catalog[tname]["infoHash"].lower()
    r = shared_server.get(f"/torrent/{ih}.torrent")
    assert r.status == 200, r.describe()
    assert r.h("Content-Type", "").split(";")[0] == "application/x-bittorrent"
    assert r.h("Access-Control-Allow-Origin") == "*"
    meta = H.bdecode(r.body)
    info = H.bkey(meta, "info")
    ti = lt.torrent_info(meta)
    assert str(ti.info_hashes().v1) == ih, "served info dict does not hash to the info-hash"
    assert H.bkey(info, "meta version") is None, "must be a v1 torrent"
    assert H.bkey(info, "name").decode() == tname
    files = H.torrent_files(info)
    if tname == H.SINGLE_NAME:
        assert H.bkey(info, "files") is None
        assert files == [(tname, len(library.data(tname)))]
    else:
        assert dict(files) == {rel: len(d) for rel, d in library.files(tname).items()}
        assert len(files) == len(library.files(tname)), "pad or duplicate files present"
        for f in H.bkey(info, "files"):
            assert H.bkey(f, "attr") is None, "no pad/attr files expected"

    def read(rel):
        return library.data(tname, rel)
    H.verify_pieces(info, read)

    base = f"http://127.0.0.1:{shared_server.port}"
    want = (f"{base}/file/{ih}/{H.SINGLE_NAME}" if tname == H.SINGLE_NAME
            else f"{base}/file/{ih}/")
    assert _url_list(meta) == [want]


def test_torrent_url_list_follows_host_header(shared_server, single_ih, multi_ih):
    for ih, tail in ((single_ih, H.SINGLE_NAME), (multi_ih, "")):
        r = shared_server.get(f"/torrent/{ih}.torrent", {"Host": "seed.example.test:8123"})
        assert r.status == 200, r.describe()
        assert _url_list(H.bdecode(r.body)) == [f"http://seed.example.test:8123/file/{ih}/{tail}"]


@pytest.mark.parametrize("public,base", [
    ("http://cdn.example.test:8443", "http://cdn.example.test:8443"),
    ("https://cdn.example.test/seed/", "https://cdn.example.test/seed"),
], ids=["host-port", "path-prefix-trailing-slash"])
def test_public_url_changes_base(server_factory, library, public, base):
    srv = server_factory(library.root, PUBLIC_URL=public)
    with srv.running():
        cat = srv.catalog()
        for tname, tail in ((H.SINGLE_NAME, H.SINGLE_NAME), (H.MULTI_NAME, "")):
            ih = cat[tname]["infoHash"].lower()
            r = srv.get(f"/torrent/{ih}.torrent")
            assert r.status == 200
            want = f"{base}/file/{ih}/{tail}"
            assert _url_list(H.bdecode(r.body)) == [want]
            assert cat[tname]["urlList"] == [want]
            assert cat[tname]["torrentURL"] == f"{base}/torrent/{ih}.torrent"
            for f in cat[tname]["files"]:
                assert f["url"].startswith(f"{base}/file/{ih}/"), f["url"]


# ---------------------------------------------------------------------------- JSON listing

@pytest.mark.parametrize("tname", [H.SINGLE_NAME, H.MULTI_NAME], ids=["single", "multi"])
def test_json_listing(shared_server, catalog, library, tname):
    ih = catalog[tname]["infoHash"].lower()
    r = shared_server.get(f"/file/{ih}?json=1")
    assert r.status == 200, r.describe()
    assert r.h("Content-Type", "").split(";")[0] == "application/json"
    assert r.h("Access-Control-Allow-Origin") == "*"
    j = r.json()
    expected_keys = {"infoHash", "name", "created", "createdBy", "comment", "length",
                     "pieceLength", "lastPieceLength", "numPieces", "private", "magnetURI",
                     "torrentURL", "urlList", "announce", "files"}
    assert expected_keys <= set(j), f"missing keys {expected_keys - set(j)}"
    assert re.fullmatch(r"[0-9a-f]{40}", j["infoHash"]), j["infoHash"]
    assert j["infoHash"] == ih
    assert j["name"] == tname
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", j["created"]), j["created"]
    assert isinstance(j["createdBy"], str) and j["createdBy"].startswith("seedcast")
    assert isinstance(j["comment"], str)
    assert j["private"] is False
    # this server's HTTP and WebSocket trackers, in that order
    base = f"127.0.0.1:{shared_server.port}"
    assert j["announce"] == [f"http://{base}/announce", f"ws://{base}/announce"], j["announce"]
    assert j["numPeers"] == 0 and j["seeders"] == 0 and j["leechers"] == 0

    meta = H.bdecode(shared_server.get(f"/torrent/{ih}.torrent").body)
    info = H.bkey(meta, "info")
    tfiles = H.torrent_files(info)
    total = sum(len(d) for d in library.files(tname).values())
    assert j["length"] == total
    assert j["pieceLength"] == H.bkey(info, "piece length")
    assert j["numPieces"] == -(-total // j["pieceLength"]) == len(H.bkey(info, "pieces")) // 20
    assert j["lastPieceLength"] == total - (j["numPieces"] - 1) * j["pieceLength"]
    assert j["urlList"] == _url_list(meta)

    # torrentURL serves the same metainfo
    tu = urllib.parse.urlsplit(urllib.parse.urljoin(shared_server.base + "/", j["torrentURL"]))
    assert tu.path == f"/torrent/{ih}.torrent"
    assert shared_server.get(tu.path).body == shared_server.get(f"/torrent/{ih}.torrent").body

    # magnet
    assert j["magnetURI"].startswith("magnet:?")
    q = urllib.parse.parse_qs(j["magnetURI"][len("magnet:?"):])
    assert [x.lower() for x in q["xt"]] == [f"urn:btih:{ih}"]
    assert q["dn"] == [tname]
    assert j["urlList"][0] in q.get("ws", []), f"ws= {q.get('ws')} lacks {j['urlList'][0]}"

    # files: torrent order, parse-torrent paths, cumulative offsets, working urls
    assert len(j["files"]) == len(tfiles)
    offset = 0
    for f, (rel, length) in zip(j["files"], tfiles):
        want_path = tname if tname == H.SINGLE_NAME else f"{tname}/{rel}"
        assert f["path"] == want_path
        assert f["name"] == rel.split("/")[-1]
        assert f["length"] == length == len(library.data(tname, rel))
        assert f["offset"] == offset
        offset += length
        assert re.fullmatch(r"[\x21-\x7e]+", f["url"]), f"url is not a valid URI: {f['url']!r}"
        u = urllib.parse.urlsplit(urllib.parse.urljoin(shared_server.base + "/", f["url"]))
        assert urllib.parse.unquote(u.path) in (f"/file/{ih}/{want_path}", f"/file/{ih}/{rel}")
        got = shared_server.get(u.path)
        assert got.status == 200, f"GET {f['url']}\n{got.describe()}"
        assert got.body == library.data(tname, rel)


# ---------------------------------------------------------------------------- HTML

def test_html_index_links(shared_server, catalog):
    r = shared_server.get("/")
    assert r.status == 200
    assert r.h("Content-Type", "").startswith("text/html")
    paths = {urllib.parse.urlsplit(urllib.parse.urljoin(shared_server.base + "/", h)).path
             for h in H.html_links(r.body)}
    text = r.body.decode("utf-8")
    for tname, j in catalog.items():
        ih = j["infoHash"].lower()
        assert f"/file/{ih}" in paths, f"index has no link to /file/{ih}"
        assert f"/torrent/{ih}.torrent" in paths, f"index has no link to the .torrent of {ih}"
        assert tname in text or tname.replace("&", "&amp;") in text


def test_hidden_entries_skipped(shared_server, catalog):
    h = shared_server.healthz()
    assert h["torrents"] == 2, h
    assert ".hidden.mp4" not in catalog and ".secret" not in catalog
    assert b".hidden" not in shared_server.get("/").body


@pytest.mark.parametrize("tname", [H.SINGLE_NAME, H.MULTI_NAME], ids=["single", "multi"])
def test_html_file_listing_links(shared_server, catalog, library, tname):
    ih = catalog[tname]["infoHash"].lower()
    page = f"{shared_server.base}/file/{ih}"
    r = shared_server.get(f"/file/{ih}")
    assert r.status == 200, r.describe()
    assert r.h("Content-Type", "").startswith("text/html")
    served = {}
    for href in H.html_links(r.body):
        u = urllib.parse.urlsplit(urllib.parse.urljoin(page, href))
        if not u.path.startswith(f"/file/{ih}/"):
            continue
        got = shared_server.get(u.path)
        assert got.status == 200, f"link {href!r} -> {got.describe()}"
        served[hashlib.sha1(got.body).hexdigest()] = href
    for rel, data in library.files(tname).items():
        assert hashlib.sha1(data).hexdigest() in served, f"no working link to {rel!r}"


# ---------------------------------------------------------------------------- odd names

def test_odd_names_url_list_and_lenient_escapes(fresh_library, server_factory):
    """Extra library entries: a single-file torrent whose name needs escaping (url-list
    must carry it percent-encoded, RFC 3986 unreserved characters only left as is) and a
    file with a literal '%' (a bad escape is kept literally)."""
    lib = fresh_library
    weird = "weird name +&ü(1)~_-.mp4"
    (lib.root / weird).write_bytes(b"w" * 1000)
    (lib.root / "odd").mkdir()
    pct = lib.root / "odd" / "100% pure.txt"
    pct.write_bytes(b"p" * 500)
    srv = server_factory(lib.root, expected=4)
    with srv.running():
        cat = srv.catalog()
        ih = cat[weird]["infoHash"].lower()
        meta = H.bdecode(srv.get(f"/torrent/{ih}.torrent").body)
        want = f"{srv.base}/file/{ih}/weird%20name%20%2B%26%C3%BC%281%29~_-.mp4"
        assert _url_list(meta) == [want]
        assert cat[weird]["urlList"] == [want]
        r = srv.get(urllib.parse.urlsplit(want).path)
        assert r.status == 200 and r.body == b"w" * 1000

        odd = cat["odd"]["infoHash"].lower()
        for tail in ("100%25%20pure.txt", "100%%20pure.txt", "odd/100%%20pure.txt",
                     "100%25 pure.txt".replace(" ", "%20")):
            r = srv.get(f"/file/{odd}/{tail}")
            assert r.status == 200, f"GET /file/<odd>/{tail}\n{r.describe()}"
            assert r.body == b"p" * 500


# ---------------------------------------------------------------------------- misc

def test_healthz_shape(shared_server):
    r = shared_server.get("/healthz")
    assert r.status == 200
    assert r.h("Content-Type", "").split(";")[0] == "application/json"
    assert r.h("Access-Control-Allow-Origin") == "*"
    j = r.json()
    assert j["status"] == "ok"
    assert j["indexing"] is False
    assert j["torrents"] == 2
    for k in ("hashed", "reused", "failed"):
        assert isinstance(j[k], int) and not isinstance(j[k], bool) and j[k] >= 0, j
    assert j["hashed"] + j["reused"] == 2 and j["failed"] == 0, j


def test_every_response_has_acao(shared_server, single_ih, multi_ih):
    clip_path = f"/file/{single_ih}/{H.SINGLE_NAME}"
    etag = shared_server.head(clip_path).h("ETag")
    cases = [
        ("GET", "/", {}), ("GET", "/healthz", {}), ("GET", f"/file/{multi_ih}", {}),
        ("GET", f"/file/{multi_ih}?json=1", {}), ("GET", f"/torrent/{multi_ih}.torrent", {}),
        ("HEAD", clip_path, {}), ("GET", clip_path, {"If-None-Match": etag}),
        ("GET", clip_path, {"Range": "bytes=99999999-"}), ("POST", clip_path, {}),
        ("GET", "/nope", {}), ("GET", "/file/xyz", {}),
    ]
    for method, path, hdrs in cases:
        r = shared_server.req(method, path, hdrs)
        assert r.h("Access-Control-Allow-Origin") == "*", \
            f"{method} {path} {hdrs} -> {r.status} without Access-Control-Allow-Origin: *"


def test_options_preflight_any_route_and_asterisk(shared_server):
    r = shared_server.req("OPTIONS", "/healthz", {
        "Origin": "http://x.example", "Access-Control-Request-Method": "GET"})
    assert r.status == 204, r.describe()
    assert r.h("Access-Control-Allow-Origin") == "*"
    raw = H.raw_exchange(shared_server.port,
                         b"OPTIONS * HTTP/1.1\r\nHost: t\r\nOrigin: http://x.example\r\n"
                         b"Access-Control-Request-Method: GET\r\nConnection: close\r\n\r\n")
    status, hdrs, _ = H.parse_raw_response(raw)
    assert status == 204, f"OPTIONS * -> {raw[:300]!r}"
    assert hdrs.get("access-control-allow-origin") == "*"


def test_pipelined_requests(clip):
    """Web-seed clients pipeline requests on one connection (libtorrent sends up to 5):
    the answers must come back complete and in order."""
    srv, path, data = clip
    spans = [(0, 16383), (16384, 16384 + 65535), (len(data) - 100, len(data) - 1), (7, 7)]
    reqs = b"".join(f"GET {path} HTTP/1.1\r\nHost: t\r\nRange: bytes={a}-{b}\r\n\r\n".encode()
                    for a, b in spans)
    reqs += f"HEAD {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
    reqs += b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    raw, how = H.raw_exchange_ex(srv.port, reqs, timeout=15)
    assert how == "eof", f"connection ended by {how} (Connection: close on the last request)"
    resps = H.parse_raw_responses(raw, head_only=(4,))
    assert len(resps) == 6, f"{len(resps)} responses to 6 pipelined requests"
    for (st, hdrs, body), (a, b) in zip(resps, spans):
        assert st == 206 and hdrs["content-range"] == f"bytes {a}-{b}/{len(data)}"
        assert body == data[a:b + 1]
    assert resps[4][0] == 200 and resps[4][2] == b""
    assert resps[5][0] == 200 and b'"status":"ok"' in resps[5][2].replace(b" ", b"")


def test_http10_request(clip):
    srv, path, data = clip
    raw, how = H.raw_exchange_ex(
        srv.port, f"GET {path} HTTP/1.0\r\nRange: bytes=10-19\r\n\r\n".encode(), timeout=10)
    assert how in ("eof", "reset"), "HTTP/1.0 request without keep-alive must be closed"
    st, hdrs, body = H.parse_raw_response(raw)
    assert st == 206 and body == data[10:20], raw[:300]
    assert "chunked" not in hdrs.get("transfer-encoding", "")


def test_if_none_match_wins_over_range(clip):
    srv, path, data = clip
    etag, _ = _validators(srv, path)
    r = srv.get(path, {"If-None-Match": etag, "Range": "bytes=0-9"})
    assert r.status == 304, r.describe()


def test_file_over_4gib(server_factory, tmp_path):
    """64-bit offsets: a sparse 4 GiB + 1 MiB + 17 B file with markers past 4 GiB."""
    import hashlib
    lib = tmp_path / "biglib"
    lib.mkdir()
    big = lib / "big.bin"
    size = (4 << 30) + (1 << 20) + 17
    with open(big, "wb") as f:
        f.truncate(size)
        f.seek((4 << 30) + 100)
        f.write(b"MARKER" * 1000)
        f.seek(size - 9)
        f.write(b"LASTBYTES")
    srv = server_factory(lib, expected=1)
    with srv.running(timeout=120):
        ih = srv.ih("big.bin")
        path = f"/file/{ih}/big.bin"
        h = srv.head(path)
        assert h.status == 200 and int(h.h("Content-Length")) == size, h.describe()
        a, b = (4 << 30) + 50, (4 << 30) + 6149
        with open(big, "rb") as f:
            f.seek(a)
            want = f.read(b - a + 1)
        r = srv.get(path, {"Range": f"bytes={a}-{b}"})
        assert r.status == 206 and r.h("Content-Range") == f"bytes {a}-{b}/{size}", r.describe()
        assert r.body == want
        r = srv.get(path, {"Range": "bytes=-9"})
        assert r.status == 206 and r.body == b"LASTBYTES", r.describe()
        assert r.h("Content-Range") == f"bytes {size - 9}-{size - 1}/{size}"
        r = srv.get(path, {"Range": f"bytes={size}-"})
        assert r.status == 416 and r.h("Content-Range") == f"bytes */{size}", r.describe()
        r = srv.get(path, {"Range": f"bytes=0-0,{a}-{a + 9}"})
        parts = ranges_of(r, size, "application/octet-stream")
        assert [(x, y) for x, y, _ in parts] == [(0, 0), (a, a + 9)]
        assert parts[1][2] == want[:10]

        j = srv.get(f"/file/{ih}?json=1").json()
        assert j["length"] == size and j["files"][0]["length"] == size
        assert j["numPieces"] == -(-size // j["pieceLength"])
        assert j["lastPieceLength"] == size - (j["numPieces"] - 1) * j["pieceLength"]
        info = H.bkey(H.bdecode(srv.get(f"/torrent/{ih}.torrent").body), "info")
        assert H.bkey(info, "length") == size
        plen = H.bkey(info, "piece length")
        pieces = H.bkey(info, "pieces")
        with open(big, "rb") as f:
            for i in sorted({(4 << 30) // plen, (size - 1) // plen}):
                f.seek(i * plen)
                assert hashlib.sha1(f.read(plen)).digest() == pieces[20 * i:20 * i + 20], \
                    f"piece {i} (past 4 GiB) hash mismatch"


# ---------------------------------------------------------------------------- RFC 9110 details

@pytest.mark.parametrize("spec,want", [
    ("bytes=0-5, 10-15", [(0, 5), (10, 15)]),        # OWS after the comma (1#range-spec)
    ("bytes=0-5 , 10-15", [(0, 5), (10, 15)]),
    ("Bytes=0-5", [(0, 5)]),                          # range units are case-insensitive
    ("bytes=00-05", [(0, 5)]),
    ("bytes=0-99999999999999999999999", None),        # huge last-pos: clamp, not overflow
], ids=["ows", "ows-both", "unit-case", "leading-zeros", "huge-last"])
def test_range_grammar_details(clip, spec, want):
    srv, path, data = clip
    n = len(data)
    want = want or [(0, n - 1)]
    r = srv.get(path, {"Range": spec})
    parts = ranges_of(r, n, "video/mp4")
    assert [(a, b) for a, b, _ in parts] == want, f"Range: {spec}"
    for a, b, d in parts:
        assert d == data[a:b + 1]


def test_range_huge_first_pos_416(clip):
    srv, path, data = clip
    r = srv.get(path, {"Range": "bytes=99999999999999999999-"})
    assert r.status == 416 and r.h("Content-Range") == f"bytes */{len(data)}", r.describe()


def test_seventeen_identical_ranges_416(clip):
    srv, path, data = clip
    r = srv.get(path, {"Range": "bytes=" + ",".join(["0-0"] * 17)})
    assert r.status == 416, r.describe()


@pytest.mark.parametrize("spec", [None, "bytes=0-0", "bytes=-5", "bytes=0-"])
def test_empty_file(shared_server, multi_ih, spec):
    path = H.file_url_path(multi_ih, H.EMPTY)
    r = shared_server.get(path, {"Range": spec} if spec else {})
    if spec is None:
        assert r.status == 200 and r.body == b"" and r.h("Content-Length") == "0", r.describe()
        assert r.h("ETag", "").endswith('-0"'), r.h("ETag")
    else:  # a zero-length representation satisfies no range (RFC 9110 14.1.2)
        assert r.status == 416 and r.h("Content-Range") == "bytes */0", r.describe()


def test_uppercase_info_hash_everywhere(shared_server, single_ih):
    up = single_ih.upper()
    for path in (f"/torrent/{up}.torrent", f"/file/{up}", f"/file/{up}?json=1",
                 f"/file/{up}/{H.SINGLE_NAME}"):
        r = shared_server.head(path)
        assert r.status == 200, f"HEAD {path}: {r.describe()}"
    assert shared_server.get(f"/file/{up}?json=1").json()["infoHash"] == single_ih


def test_connection_close_honoured(clip):
    srv, path, data = clip
    raw, how = H.raw_exchange_ex(
        srv.port, f"GET {path} HTTP/1.1\r\nHost: t\r\nRange: bytes=0-9\r\n"
                  f"Connection: close\r\n\r\n".encode(), timeout=10)
    assert how == "eof", f"connection not closed after 'Connection: close' ({how})"
    st, _, body = H.parse_raw_response(raw)
    assert st == 206 and body == data[:10]


def test_absolute_form_request_target(clip):
    """RFC 9112 3.2.2: a server MUST accept the absolute-form."""
    srv, path, data = clip
    raw = H.raw_exchange(srv.port, f"GET http://127.0.0.1:{srv.port}{path} HTTP/1.1\r\n"
                                   f"Host: 127.0.0.1:{srv.port}\r\nRange: bytes=0-9\r\n"
                                   f"Connection: close\r\n\r\n".encode())
    st, _, body = H.parse_raw_response(raw)
    assert st == 206 and body == data[:10], raw[:300]


def test_url_list_without_host_header_uses_real_port(shared_server, single_ih):
    """An HTTP/1.0 request may lack Host; the url-list must then still name a URL where
    this server can be reached, not the configured PORT=0."""
    raw = H.raw_exchange(shared_server.port,
                         f"GET /torrent/{single_ih}.torrent HTTP/1.0\r\n\r\n".encode())
    st, hdrs, body = H.parse_raw_response(raw)
    assert st == 200, raw[:300]
    urls = _url_list(H.bdecode(body))
    assert urls == [f"http://127.0.0.1:{shared_server.port}/file/{single_ih}/{H.SINGLE_NAME}"], \
        f"GET /torrent/<ih>.torrent over HTTP/1.0 without Host -> url-list {urls}"


def test_markup_and_control_characters_escaped(fresh_library, server_factory):
    """Names with HTML/JSON metacharacters: JSON stays valid, HTML shows no raw markup,
    every listing link still fetches its file."""
    lib = fresh_library
    names = {'q"uote.txt': b"1", "tab\there.txt": b"22", "<b>&amp;.txt": b"333",
             "new\nline.txt": b"4444"}
    (lib.root / "odd").mkdir()
    for n, d in names.items():
        (lib.root / "odd" / n).write_bytes(d)
    (lib.root / '<i>single".txt').write_bytes(b"55555")
    srv = server_factory(lib.root, expected=4)
    with srv.running():
        cat = srv.catalog()
        assert {"odd", '<i>single".txt'} <= set(cat)
        assert {f["name"] for f in cat["odd"]["files"]} == set(names)
        index = srv.get("/").body
        assert b"<i>" not in index, "torrent name not HTML-escaped on the index page"
        for tname in ("odd", '<i>single".txt'):
            ih = cat[tname]["infoHash"].lower()
            page = srv.get(f"/file/{ih}")
            assert b"<b>" not in page.body and b"<i>" not in page.body, \
                f"names not HTML-escaped in /file/{ih}"
            bodies = set()
            for href in H.html_links(page.body):
                u = urllib.parse.urlsplit(urllib.parse.urljoin(f"{srv.base}/file/{ih}", href))
                if u.path.startswith(f"/file/{ih}/"):
                    r = srv.get(u.path)
                    assert r.status == 200, f"{href!r}: {r.describe()}"
                    bodies.add(r.body)
            want = set(names.values()) if tname == "odd" else {b"55555"}
            assert want <= bodies, f"listing links of {tname!r} do not reach every file"
            for f in cat[tname]["files"]:
                r = srv.get(urllib.parse.urlsplit(f["url"]).path)
                assert r.status == 200, f"JSON url {f['url']}: {r.describe()}"


def test_metrics_count_every_byte_of_http_responses(library, server_factory):
    """seedcast_http_sent_bytes_total grows by exactly the bytes of the responses in between:
    what the operator's HTTP egress is. No engine (PEER_PORT=-1): its tracker announces would be
    HTTP responses too."""
    srv = server_factory(library.root, PEER_PORT="-1")
    with srv.running():
        def exchange(target, extra=""):
            raw = H.raw_exchange(srv.port, f"GET {target} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n"
                                 .encode())
            assert raw.startswith(b"HTTP/1.1 2"), raw[:200]
            return raw

        def sent(raw):
            body = H.parse_raw_response(raw)[2].decode()
            return int(next(line.split()[1] for line in body.splitlines()
                            if line.startswith("seedcast_http_sent_bytes_total ")))

        ih = srv.ih(H.SINGLE_NAME)  # an HTTP request too: before the first count
        first = exchange("/metrics")
        file = exchange(f"/file/{ih}/{H.SINGLE_NAME}", "Range: bytes=1000-200999\r\n")
        assert len(H.parse_raw_response(file)[2]) == 200000
        torrent = exchange(f"/torrent/{ih}.torrent")
        second = exchange("/metrics")
        # the first /metrics answer was counted after its value was taken; the second's is not
        assert sent(second) - sent(first) == len(first) + len(file) + len(torrent)
