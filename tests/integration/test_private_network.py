"""The private network: tokens at every route and at both trackers, per-user .torrents, and
two native BitTorrent clients finding each other through the embedded HTTP tracker."""
import json
import subprocess
import time
from pathlib import Path

import pytest
import websocket  # Debian python3-websocket

import jwt_tokens as J
import seedcast_harness as H

SECRET = "integration-secret-☃"
HERE = Path(__file__).resolve().parent


def token_for(user: str = "alice", ttl: str = "1h") -> str:
    return H.mint_token(SECRET, user, ttl)


def hashes_from_index(srv, token):
    r = srv.get(f"/?token={token}")
    assert r.status == 200, r.describe()
    return H.index_hashes(r.body)


@pytest.fixture(scope="module")
def private_server(library, tmp_path_factory):
    work = tmp_path_factory.mktemp("private-server")
    # No seed of the server's own (PEER_PORT=-1): the peer-to-peer test must see every byte
    # travel between the two clients.
    srv = H.Server(library.root, work / "data", work, expected_torrents=2, SECRET=SECRET, PEER_PORT="-1")
    srv.start()
    yield srv
    srv.stop()


def listing(srv, ih, token):
    r = srv.get(f"/file/{ih}?json=1&token={token}")
    assert r.status == 200, r.describe()
    return r.json()


def test_torrents_are_private_and_carry_the_users_token(private_server, library):
    alice, bob = token_for("alice"), token_for("bob")
    hashes = hashes_from_index(private_server, alice)
    assert len(hashes) == 2
    for ih in hashes:
        ta = H.bdecode(private_server.get(f"/torrent/{alice}/{ih}.torrent").body)
        tb = H.bdecode(private_server.get(f"/torrent/{ih}.torrent", {"Authorization": f"Bearer {bob}"}).body)
        assert ta[b"info"] == tb[b"info"], "the info dictionary (and info-hash) must not depend on the user"
        assert H.bkey(ta[b"info"], "private") == 1, "BEP 27: private=1 when auth is on"
        port = private_server.port
        assert ta[b"announce"].decode() == f"http://127.0.0.1:{port}/announce/{alice}"
        assert [t[0].decode() for t in ta[b"announce-list"]] == [
            f"http://127.0.0.1:{port}/announce/{alice}", f"ws://127.0.0.1:{port}/announce/{alice}"]
        assert tb[b"announce"].decode().endswith(f"/announce/{bob}")
        urls = ta[b"url-list"] if isinstance(ta[b"url-list"], list) else [ta[b"url-list"]]
        assert all(f"/file/{alice}/{ih}/" in u.decode() for u in urls)
        assert listing(private_server, ih, alice)["private"] is True


def test_webseed_only_download_with_the_tokened_url_list(private_server, library, tmp_path):
    """The token in the url-list is all a client needs: aria2c, no headers."""
    alice = token_for("alice")
    ih = listing(private_server, hashes_from_index(private_server, alice)[0], alice)["infoHash"]
    name = listing(private_server, ih, alice)["name"]
    body = H.webseed_only(private_server.get(f"/torrent/{alice}/{ih}.torrent").body)
    (tmp_path / "t.torrent").write_bytes(body)
    out = tmp_path / "out"
    r = H.aria2c(tmp_path / "t.torrent", out, peers=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert H.read_tree(out) == library.downloaded(name)


def test_two_native_clients_find_each_other_through_the_tracker(private_server, library, tmp_path):
    """libtorrent seeds with alice's .torrent, aria2c leeches with bob's; the url-list is removed,
    so every byte aria2c gets comes from the libtorrent peer found through the HTTP tracker."""
    alice, bob = token_for("alice"), token_for("bob")
    ih = next(h for h in hashes_from_index(private_server, alice)
              if listing(private_server, h, alice)["name"] == H.SINGLE_NAME)

    def no_webseed(token):
        meta = H.bdecode(private_server.get(f"/torrent/{token}/{ih}.torrent").body)
        meta.pop(b"url-list", None)
        return H.bencode(meta)
    (tmp_path / "alice.torrent").write_bytes(no_webseed(alice))
    (tmp_path / "bob.torrent").write_bytes(no_webseed(bob))

    seeder = subprocess.Popen(["/usr/bin/python3", str(HERE / "lt_seeder.py"), str(tmp_path / "alice.torrent"),
                               str(library.root), "--timeout", "90"], stdout=subprocess.PIPE, text=True)
    try:
        line = seeder.stdout.readline()
        assert line, "the libtorrent seeder printed nothing"
        assert json.loads(line).get("seeding"), f"seeder did not announce: {line}"
        j = listing(private_server, ih, alice)
        assert (j["seeders"], j["leechers"]) == (1, 0), j

        out = tmp_path / "bob"
        r = H.aria2c(tmp_path / "bob.torrent", out, timeout=90)
        assert r.returncode == 0, f"aria2c failed: {r.stdout}{r.stderr}"
        assert (out / H.SINGLE_NAME).read_bytes() == library.data(H.SINGLE_NAME)
    finally:
        seeder.terminate()
        seeder.wait(timeout=10)
    # the bytes came from the libtorrent peer (there was no other source)
    ends = [json.loads(l) for l in seeder.stdout.read().splitlines() if l.strip()]
    uploaded = [e["uploaded"] for e in ends if "uploaded" in e]
    assert uploaded and uploaded[0] >= len(library.data(H.SINGLE_NAME)), ends


# ---- refusals ------------------------------------------------------------------------

def bad_tokens(pub_pem: bytes | None = None):
    c = J.claims()
    out = {
        "wrong key": J.hs256("not-the-secret", c),
        "expired": J.hs256(SECRET, J.claims(ttl=-3600)),
        "not yet valid": J.hs256(SECRET, J.claims(nbf=int(time.time()) + 3600)),
        "alg none": J.alg_none(c),
        "garbage": "aaa.bbb.ccc",
    }
    if pub_pem:
        out["HS256 signed with the RS public key"] = J.hs256(pub_pem, c)
    return out


def content_routes(ih, name):
    return [("/", None), (f"/file/{ih}", None), (f"/file/{ih}?json=1", None), (f"/file/{ih}/{name}", None),
            (f"/torrent/{ih}.torrent", None), (f"/watch/{ih}", None)]


def tracker_query(ih):
    ihq = "".join(f"%{b:02x}" for b in bytes.fromhex(ih))
    return f"info_hash={ihq}&peer_id=-XX0001-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=0"


def assert_refused(srv, path, token, how, tracker=False):
    variants = [path if token is None else
                (path + ("&" if "?" in path else "?") + "token=" + token)]
    if token is not None:
        variants.append(("H", path, {"Authorization": f"Bearer {token}"}))
    for v in variants:
        r = srv.get(v[1], v[2]) if isinstance(v, tuple) else srv.get(v)
        assert r.status == 401, f"{how}: GET {path} answered {r.status} {r.body[:200]!r}"
        if tracker:
            assert b"failure reason" in r.body, r.body
        else:
            assert r.json()["error"]["status"] == 401


def ws_connect(port, path):
    return websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=10)


def single_file_torrent(srv, token):
    return next(h for h in hashes_from_index(srv, token) if listing(srv, h, token)["name"] == H.SINGLE_NAME)


def test_every_route_and_both_trackers_refuse_bad_tokens(private_server):
    good = token_for("alice")
    ih = single_file_torrent(private_server, good)
    name = H.quote_seg(H.SINGLE_NAME)
    for how, tok in [("no token", None), *bad_tokens().items()]:
        for path, _ in content_routes(ih, name):
            assert_refused(private_server, path, tok, how)
        assert_refused(private_server, "/announce?" + tracker_query(ih), tok, how, tracker=True)
        assert_refused(private_server, "/scrape?" + tracker_query(ih), tok, how, tracker=True)
        with pytest.raises(websocket.WebSocketBadStatusException) as e:
            ws_connect(private_server.port, "/announce" if tok is None else f"/announce/{tok}")
        assert e.value.status_code == 401, how
    # and with the good token, the same routes answer
    for path, _ in content_routes(ih, name):
        r = private_server.get(path + ("&" if "?" in path else "?") + "token=" + good)
        assert r.status == 200, f"GET {path} with a good token: {r.describe()}"
    r = private_server.get(f"/announce/{good}?" + tracker_query(ih))
    assert r.status == 200 and b"interval" in r.body, r.body


def test_a_valid_user_cannot_use_info_hashes_outside_the_catalog(private_server):
    good = token_for("alice")
    stranger = "0123456789abcdef0123456789abcdef01234567"
    for path, _ in content_routes(stranger, "x.mp4")[1:]:
        r = private_server.get(path + ("&" if "?" in path else "?") + "token=" + good)
        assert r.status == 404, f"{path}: {r.describe()}"
    r = private_server.get(f"/announce/{good}?" + tracker_query(stranger))
    assert r.status == 404 and b"failure reason" in r.body, r.body
    ws = ws_connect(private_server.port, f"/announce/{good}")
    try:
        ihs = bytes.fromhex(stranger).decode("latin-1")
        ws.send(json.dumps({"action": "announce", "info_hash": ihs, "peer_id": "-WW0300-abcdefghijkl",
                            "numwant": 1, "left": 0, "event": "started", "offers": []}))
        reply = json.loads(ws.recv())
        assert "failure reason" in reply and reply.get("info_hash") == ihs, reply
    finally:
        ws.close()


def test_rs256_key_refuses_hs256_made_with_the_public_key(library, tmp_path, server_factory):
    priv, pub = J.rsa_keypair(tmp_path)
    srv = server_factory(library.root, JWT_PUBLIC_KEY=str(pub))
    with srv.running():
        good = J.rs256(priv, J.claims("alice"))
        assert srv.get(f"/?token={good}").status == 200
        ih = single_file_torrent(srv, good)
        name = H.quote_seg(H.SINGLE_NAME)
        for how, tok in bad_tokens(pub.read_bytes()).items():
            for path, _ in content_routes(ih, name):
                assert_refused(srv, path, tok, how)
            assert_refused(srv, "/announce?" + tracker_query(ih), tok, how, tracker=True)
