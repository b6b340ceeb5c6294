"""The server as a BitTorrent seed: with the url-list removed from the .torrent, a native client
finds the server through its tracker and downloads every byte from its libtorrent engine."""
import pytest

import jwt_tokens as J
import seedcast_harness as H

SECRET = "engine-test-secret"


def hashes(srv, token=""):
    return H.index_hashes(srv.get("/" + (f"?token={token}" if token else "")).body)


def by_name(srv, token=""):
    out = {}
    for ih in hashes(srv, token):
        q = f"&token={token}" if token else ""
        j = srv.get(f"/file/{ih}?json=1{q}").json()
        out[j["name"]] = ih
    return out


def wait_seeding(srv, n):
    return srv.wait_health(lambda h: h.get("seed", {}).get("torrents") == n and h["seed"].get("port"),
                           f"the engine seeding {n} torrents")


def download_without_webseed(srv, path, tmp_path, library, name):
    meta = H.bdecode(srv.get(path).body)
    assert meta.pop(b"url-list", None) is not None
    (tmp_path / "t.torrent").write_bytes(H.bencode(meta))
    out = tmp_path / "out"
    r = H.aria2c(tmp_path / "t.torrent", out)
    assert r.returncode == 0, f"aria2c: {r.stdout}{r.stderr}\n{srv.logs(30)}"
    assert H.read_tree(out) == library.downloaded(name)
    return sum(len(v) for v in library.files(name).values())


@pytest.mark.parametrize("tname", [H.SINGLE_NAME, H.MULTI_NAME], ids=["single", "multi"])
def test_native_client_downloads_from_the_seed(library, server_factory, tmp_path, tname):
    srv = server_factory(library.root)
    with srv.running():
        wait_seeding(srv, 2)
        ih = by_name(srv)[tname]
        size = download_without_webseed(srv, f"/torrent/{ih}.torrent", tmp_path, library, tname)
        seed = srv.healthz()["seed"]
        assert seed["uploaded"] >= size, seed  # every byte came from the engine


def test_private_seed_needs_the_tracker_token(library, server_factory, tmp_path):
    srv = server_factory(library.root, SECRET=SECRET)
    with srv.running():
        wait_seeding(srv, 2)
        token = J.hs256(SECRET, J.claims("carol"))
        ih = by_name(srv, token)[H.SINGLE_NAME]
        size = download_without_webseed(srv, f"/torrent/{token}/{ih}.torrent", tmp_path, library, H.SINGLE_NAME)
        assert srv.healthz()["seed"]["uploaded"] >= size
        # Without a token the tracker hands out nothing, so the seed cannot be found.
        ihq = "".join(f"%{b:02x}" for b in bytes.fromhex(ih))
        r = srv.get(f"/announce?info_hash={ihq}&peer_id=-XX0001-abcdefghijkl&port=1&left=1")
        assert r.status == 401 and b"failure reason" in r.body


def test_metrics_report_the_same_numbers_as_healthz(library, server_factory, tmp_path):
    srv = server_factory(library.root, SECRET=SECRET)  # public even in private mode, like /healthz
    with srv.running():
        wait_seeding(srv, 2)
        r = srv.get("/metrics")
        assert r.status == 200 and r.h("Content-Type", "").startswith("text/plain")
        values = dict(line.split(" ", 1) for line in r.body.decode().splitlines() if line and line[0] != "#")
        h = srv.healthz()
        assert float(values["seedcast_torrents"]) == h["torrents"] == 2
        assert float(values["seedcast_indexing"]) == 0
        assert float(values["seedcast_seed_torrents"]) == h["seed"]["torrents"]
        assert "seedcast_tracker_peers" in values
