"""Catalog reuse across restarts and re-indexing of changed library files."""
import email.utils
import os
import random
import time

import seedcast_harness as H

DEADLINE = 30.0  # seconds for any re-index to become visible


def modify_in_place(path, offset, data):
    """Overwrite bytes without changing the size (only content + mtime change)."""
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def names_to_ih(srv):
    return {name: j["infoHash"].lower() for name, j in srv.catalog().items()}


def watch_old_until_reindexed(srv, old_ih, rel, tname, timeout=DEADLINE):
    """Hammer the changed file through the OLD info-hash until the catalog shows a new
    info-hash for `tname` and the old one is gone. Every answer in between must be 503
    (with Retry-After) or 404 - never the file's bytes. Returns (new_ih, statuses seen)."""
    url = H.file_url_path(old_ih, rel)
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        for hdrs in ({}, {"Range": "bytes=0-1023"}):
            r = srv.get(url, hdrs, timeout=10)
            seen.append(r.status)
            assert r.status in (503, 404), \
                f"GET {url} {hdrs} after the file changed answered {r.status}, " \
                f"expected 503 or 404 (stale bytes must never be served)\n{r.describe()}"
            if r.status == 503:
                assert r.h("Retry-After"), f"503 without Retry-After\n{r.describe()}"
                assert r.json()["error"]["status"] == 503
        old_gone = srv.get(f"/file/{old_ih}?json=1").status == 404
        cat = names_to_ih(srv)
        new_ih = cat.get(tname)
        h = srv.healthz()
        if old_gone and new_ih and new_ih != old_ih and not h["indexing"]:
            print(f"statuses through the old info-hash while re-indexing: {seen}")
            return new_ih, seen
        if time.monotonic() > deadline:
            srv.fail(f"re-index of {tname!r} not visible within {timeout} s: old {old_ih} "
                     f"gone={old_gone}, catalog={cat}, healthz={h}, statuses={seen[-10:]}")
        time.sleep(0.05)


def assert_gone(srv, ih, rel):
    for path in (f"/file/{ih}?json=1", f"/file/{ih}", f"/torrent/{ih}.torrent",
                 H.file_url_path(ih, rel)):
        r = srv.get(path)
        assert r.status == 404, f"old info-hash still answers GET {path}\n{r.describe()}"


def assert_serves(srv, ih, tname, rel, data):
    r = srv.get(H.file_url_path(ih, rel))
    assert r.status == 200, r.describe()
    assert r.body == data, f"{tname}/{rel}: served bytes differ from the file on disk"
    meta = H.bdecode(srv.get(f"/torrent/{ih}.torrent").body)
    info = H.bkey(meta, "info")
    root = srv.library

    def read(relpath):
        return H.source_path(root, tname, relpath).read_bytes()
    H.verify_pieces(info, read)


# ---------------------------------------------------------------------------- restart

def test_restart_reuses_catalog(fresh_library, server_factory):
    srv = server_factory(fresh_library.root)
    with srv.running():
        h1 = srv.healthz()
        ih1 = names_to_ih(srv)
    assert (h1["hashed"], h1["reused"], h1["failed"], h1["torrents"]) == (2, 0, 0, 2), h1
    with srv.running():
        h2 = srv.healthz()
        ih2 = names_to_ih(srv)
        r = srv.get(f"/file/{ih2[H.SINGLE_NAME]}/{H.SINGLE_NAME}", {"Range": "bytes=-100"})
        assert r.status == 206 and r.body == fresh_library.data(H.SINGLE_NAME)[-100:]
    assert (h2["hashed"], h2["reused"], h2["failed"], h2["torrents"]) == (0, 2, 0, 2), \
        f"restart with an unchanged library must re-hash nothing: {h2}"
    assert ih2 == ih1


# ---------------------------------------------------------------------------- touch

def test_touch_reindexes_same_info_hash(fresh_library, server_factory):
    srv = server_factory(fresh_library.root)
    with srv.running():
        pass
    with srv.running():
        assert srv.healthz()["hashed"] == 0
        ih = names_to_ih(srv)
        path = f"/file/{ih[H.SINGLE_NAME]}/{H.SINGLE_NAME}"
        etag_before = srv.head(path).h("ETag")
        new_mtime = H.BASE_MTIME + 100
        os.utime(fresh_library.path(H.SINGLE_NAME), (new_mtime, new_mtime))  # touch
        h = srv.wait_health(lambda h: h["hashed"] >= 1 and not h["indexing"]
                            and h["torrents"] == 2,
                            "re-index after touch (hashed >= 1)", DEADLINE)
        assert h["failed"] == 0, h
        assert names_to_ih(srv) == ih, "content unchanged: info-hashes must stay the same"
        r = srv.get(path)
        assert r.status == 200 and r.body == fresh_library.data(H.SINGLE_NAME), r.describe()
        assert r.h("ETag") != etag_before, "ETag must change with the mtime"
        assert r.h("Last-Modified") == email.utils.formatdate(new_mtime, usegmt=True)


# ---------------------------------------------------------------------------- content change

def test_modified_bytes_new_info_hash(fresh_library, server_factory):
    lib = fresh_library
    srv = server_factory(lib.root)
    with srv.running():
        before = names_to_ih(srv)
        old = before[H.SINGLE_NAME]
        p = lib.path(H.SINGLE_NAME)
        size = p.stat().st_size
        modify_in_place(p, 1_000_000, random.Random(77).randbytes(5000))  # same size
        new_data = p.read_bytes()
        assert len(new_data) == size and new_data != lib.data(H.SINGLE_NAME)

        new, seen = watch_old_until_reindexed(srv, old, H.SINGLE_NAME, H.SINGLE_NAME)

        assert_gone(srv, old, H.SINGLE_NAME)
        assert_serves(srv, new, H.SINGLE_NAME, H.SINGLE_NAME, new_data)
        after = names_to_ih(srv)
        assert after[H.MULTI_NAME] == before[H.MULTI_NAME], "unchanged torrent changed"
        h = srv.healthz()
        assert h["torrents"] == 2 and h["failed"] == 0, h


def test_changed_file_answers_503_then_reindexes(fresh_library, server_factory):
    """With periodic rescans effectively off, the request that finds the file changed
    must answer 503 + Retry-After and trigger the re-index itself (docs/api.md)."""
    lib = fresh_library
    srv = server_factory(lib.root, RESCAN_INTERVAL=3600)
    with srv.running():
        old = srv.ih(H.SINGLE_NAME)
        p = lib.path(H.SINGLE_NAME)
        with open(p, "ab") as f:
            f.write(b"appended tail " * 100)
        new_data = p.read_bytes()
        url = f"/file/{old}/{H.SINGLE_NAME}"
        r = srv.get(url, {"Range": "bytes=0-99"})
        assert r.status == 503, f"first GET {url} after the change: {r.describe()}"
        assert r.h("Retry-After"), r.describe()
        assert r.h("Access-Control-Allow-Origin") == "*"
        assert r.json()["error"]["status"] == 503
        h = srv.head(url)
        assert h.status in (503, 404), f"HEAD {url}: {h.describe()}"

        new, seen = watch_old_until_reindexed(srv, old, H.SINGLE_NAME, H.SINGLE_NAME)
        assert_gone(srv, old, H.SINGLE_NAME)
        assert_serves(srv, new, H.SINGLE_NAME, H.SINGLE_NAME, new_data)
        j = srv.get(f"/file/{new}?json=1").json()
        assert j["length"] == len(new_data)


def test_modified_file_in_multi_file_torrent(fresh_library, server_factory):
    lib = fresh_library
    srv = server_factory(lib.root)
    with srv.running():
        before = names_to_ih(srv)
        old = before[H.MULTI_NAME]
        hashed0 = srv.healthz()["hashed"]
        p = lib.path(H.MULTI_NAME, H.NOTES)
        with open(p, "ab") as f:
            f.write(b"one more line\n")
        new_notes = p.read_bytes()

        new, seen = watch_old_until_reindexed(srv, old, H.NOTES, H.MULTI_NAME)

        assert_gone(srv, old, H.NOTES)
        assert_serves(srv, new, H.MULTI_NAME, H.NOTES, new_notes)
        assert_serves(srv, new, H.MULTI_NAME, H.EPISODE, lib.data(H.MULTI_NAME, H.EPISODE))
        after = names_to_ih(srv)
        assert after[H.SINGLE_NAME] == before[H.SINGLE_NAME]
        h = srv.healthz()
        assert h["hashed"] >= hashed0 + 1 and h["torrents"] == 2, h
        j = srv.get(f"/file/{new}?json=1").json()
        assert {f["path"]: f["length"] for f in j["files"]}[f"{H.MULTI_NAME}/{H.NOTES}"] \
            == len(new_notes)


def test_entries_added_and_removed(fresh_library, server_factory):
    lib = fresh_library
    srv = server_factory(lib.root)
    with srv.running():
        new_file = lib.root / "new clip.webm"
        data = random.Random(5).randbytes(70_000)
        new_file.write_bytes(data)
        (lib.root / ".another-hidden.mp4").write_bytes(b"x" * 100)
        srv.wait_indexed(timeout=DEADLINE, torrents=3)
        cat = names_to_ih(srv)
        assert set(cat) == {H.SINGLE_NAME, H.MULTI_NAME, "new clip.webm"}, cat
        ih = cat["new clip.webm"]
        r = srv.get(f"/file/{ih}/new%20clip.webm")
        assert r.status == 200 and r.body == data
        assert r.h("Content-Type", "").startswith("video/webm"), r.h("Content-Type")

        new_file.unlink()
        srv.wait_indexed(timeout=DEADLINE, torrents=2)
        assert_gone(srv, ih, "new clip.webm")
        assert set(names_to_ih(srv)) == {H.SINGLE_NAME, H.MULTI_NAME}


def test_changes_while_stopped(fresh_library, server_factory):
    """Changed/removed/added while the server was down: only what changed is re-hashed."""
    lib = fresh_library
    srv = server_factory(lib.root)
    with srv.running():
        before = names_to_ih(srv)
    p = lib.path(H.SINGLE_NAME)
    modify_in_place(p, 0, b"\x00" * 64)
    new_data = p.read_bytes()
    extra = lib.root / "extra.mkv"
    extra.write_bytes(b"e" * 20_000)
    srv.expected_torrents = 3
    with srv.running():
        h = srv.healthz()
        assert (h["hashed"], h["reused"], h["failed"]) == (2, 1, 0), \
            f"expected the changed and the new entry hashed, the folder reused: {h}"
        after = names_to_ih(srv)
        assert after[H.MULTI_NAME] == before[H.MULTI_NAME]
        assert after[H.SINGLE_NAME] != before[H.SINGLE_NAME]
        assert_gone(srv, before[H.SINGLE_NAME], H.SINGLE_NAME)
        assert_serves(srv, after[H.SINGLE_NAME], H.SINGLE_NAME, H.SINGLE_NAME, new_data)
    extra.unlink()
    srv.expected_torrents = 2
    with srv.running():
        h = srv.healthz()
        assert (h["hashed"], h["reused"]) == (0, 2), h
        assert "extra.mkv" not in names_to_ih(srv)


def test_undecodable_name_does_not_break_library(fresh_library, server_factory):
    """A top-level entry whose name is not valid UTF-8 must not crash or stall indexing;
    the valid torrents keep being served (whether the odd entry is indexed is not
    specified)."""
    lib = fresh_library
    bad = os.fsencode(str(lib.root)) + b"/bad\xe9name.mp4"
    with open(bad, "wb") as f:
        f.write(b"x" * 1000)
    srv = server_factory(lib.root, expected=None)
    with srv.running():
        h = srv.healthz()
        assert h["status"] == "ok" and h["torrents"] in (2, 3), h
        cat = names_to_ih(srv)
        assert {H.SINGLE_NAME, H.MULTI_NAME} <= set(cat)
        r = srv.get(f"/file/{cat[H.SINGLE_NAME]}/{H.SINGLE_NAME}", {"Range": "bytes=0-9"})
        assert r.status == 206 and r.body == lib.data(H.SINGLE_NAME)[:10]
        assert srv.get("/").status == 200
