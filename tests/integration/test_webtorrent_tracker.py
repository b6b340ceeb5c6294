"""WebTorrent (Node, WebRTC through @roamhq/wrtc) peers find each other through seedcast's
WebSocket tracker and move every byte over a WebRTC data channel.

tests/webtorrent/seed_and_leech.mjs runs a seeder and a leecher (separate processes unless
said otherwise) with no web seed, DHT, LSD, PEX or TCP/uTP peers, and compares the bytes.
The baseline test runs the same script against bittorrent-tracker's own server, so a
failure there is in the WebRTC plumbing, not in seedcast.
Needs: node, `npm ci --ignore-scripts` in tests/webtorrent (skip, or fail when CI is set).
"""
import re
import shutil
import sys
from pathlib import Path

import pytest

import seedcast_harness as H

sys.path.insert(0, str(H.REPO / "tests" / "webtorrent"))
import wt_harness as W  # noqa: E402

SECRET = "webtorrent-secret-☃"
DEADLINE = 45  # seconds for one seed_and_leech run (they take ~1 s)


def token_for(user: str = "alice", ttl: str = "1h") -> str:
    return H.mint_token(SECRET, user, ttl)


@pytest.fixture(scope="module")
def seed_data(library, tmp_path_factory) -> Path:
    """A copy of the library for the WebTorrent seeder (its file store opens files read-write,
    and seedcast re-indexes a library file whose mtime changes)."""
    root = tmp_path_factory.mktemp("seed-data")
    shutil.copytree(library.root, root / "lib", symlinks=False)
    return root / "lib"


@pytest.fixture(scope="module")
def open_server(library, tmp_path_factory):
    srv = H.started_server(library.root, tmp_path_factory, "wt-open-server")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def private_server(library, tmp_path_factory):
    srv = H.started_server(library.root, tmp_path_factory, "wt-private-server", SECRET=SECRET)
    yield srv
    srv.stop()


def hashes_for(srv, token: str) -> list:
    """Info-hashes linked from the index (auth on: the catalog needs a token)."""
    r = srv.get(f"/?token={token}")
    assert r.status == 200, r.describe()
    hashes = sorted(set(re.findall(r"/file/[^\"/]+/([0-9a-f]{40})", r.body.decode())))
    assert hashes, "no torrents linked from the index"
    return hashes


def ws_announces(meta: dict) -> list:
    urls = []
    if H.bkey(meta, "announce"):
        urls.append(H.bkey(meta, "announce").decode())
    for tier in H.bkey(meta, "announce-list") or []:
        urls += [u.decode() for u in tier]
    return sorted({u for u in urls if u.startswith(("ws://", "wss://"))})


def run(args, deadline=DEADLINE) -> dict:
    return W.run_node("seed_and_leech.mjs", [*args, "--timeout", deadline], timeout=deadline + 30)


def check(res: dict, length: int):
    assert res.get("ok") and res.get("returncode") == 0, \
        f"WebRTC download through the WebSocket tracker failed:\n{W.describe(res)}"
    assert res["length"] == length
    assert res["bytesByWireType"].get("webrtc", 0) >= length, W.describe(res)
    assert set(res["bytesByWireType"]) == {"webrtc"}, f"bytes from non-WebRTC wires: {W.describe(res)}"


def test_baseline_bittorrent_tracker(tmp_path):
    """The WebRTC plumbing itself (Node WebTorrent + @roamhq/wrtc) against the reference
    tracker, with a private torrent made on the spot."""
    W.require_node_tools()
    data = tmp_path / "sample.bin"
    data.write_bytes(H._rand(42, 1_500_000))
    with W.BaselineTracker() as tracker:
        res = run(["--tracker", tracker.announce, "--file", data, "--private"])
    check(res, 1_500_000)


@pytest.mark.parametrize("tname", [H.SINGLE_NAME, H.MULTI_NAME], ids=["single", "multi"])
def test_webrtc_swarm_through_seedcast_open(open_server, seed_data, tmp_path, tname):
    """Open mode: both peers use the .torrent's own ws:// announce URL."""
    W.require_node_tools()
    ih = open_server.ih(tname)
    r = open_server.get(f"/torrent/{ih}.torrent")
    assert r.status == 200, r.describe()
    meta = H.bdecode(r.body)
    ws = ws_announces(meta)
    assert ws == [f"ws://127.0.0.1:{open_server.port}/announce"], \
        f"the .torrent should announce seedcast's WebSocket tracker; announce URLs: {ws}"
    tfile = tmp_path / "t.torrent"
    tfile.write_bytes(r.body)
    res = run(["--torrent", tfile, "--data", seed_data, "--tracker", "auto"])
    check(res, open_server.catalog()[tname]["length"])
    assert res["infoHash"] == ih


def test_webrtc_swarm_through_seedcast_private(private_server, seed_data, tmp_path):
    """Auth on: alice seeds with her .torrent (her token in the ws:// announce URL), bob
    leeches with his; same info-hash, different tokens, one swarm."""
    W.require_node_tools()
    alice, bob = token_for("alice"), token_for("bob")
    for ih in hashes_for(private_server, alice):
        paths = {}
        for user, tok in (("alice", alice), ("bob", bob)):
            rr = private_server.get(f"/torrent/{tok}/{ih}.torrent")
            assert rr.status == 200, rr.describe()
            meta = H.bdecode(rr.body)
            assert ws_announces(meta) == [f"ws://127.0.0.1:{private_server.port}/announce/{tok}"], \
                f"{user}'s .torrent should announce the WebSocket tracker with {user}'s token"
            paths[user] = tmp_path / f"{ih}.{user}.torrent"
            paths[user].write_bytes(rr.body)
        length = private_server.get(f"/file/{ih}?json=1&token={alice}").json()["length"]
        res = run(["--torrent", paths["alice"], "--leech-torrent", paths["bob"], "--data", seed_data,
                   "--tracker", "auto"])
        check(res, length)


def test_webrtc_swarm_refused_without_token(private_server, seed_data, tmp_path):
    """Auth on, the tracker URL without a token: the upgrade is refused, so no peers meet."""
    W.require_node_tools()
    alice = token_for("alice")
    ih = hashes_for(private_server, alice)[0]
    tfile = tmp_path / "t.torrent"
    tfile.write_bytes(private_server.get(f"/torrent/{alice}/{ih}.torrent").body)
    res = run(["--torrent", tfile, "--data", seed_data,
               "--tracker", f"ws://127.0.0.1:{private_server.port}/announce"], deadline=8)
    assert not res.get("ok"), f"peers met through a tracker URL without a token:\n{W.describe(res)}"
    assert "deadline" in str(res.get("error")), W.describe(res)


def test_two_peer_ids_on_one_socket(open_server, seed_data, tmp_path):
    """Seeder and leecher in one process share one tracker WebSocket (bittorrent-tracker's
    client pools sockets per URL, as in one browser tab): the leecher's offers must still
    reach the seeder's peer id (api.md: many peer ids may share one socket)."""
    W.require_node_tools()
    ih = open_server.ih(H.SINGLE_NAME)
    tfile = tmp_path / "t.torrent"
    tfile.write_bytes(open_server.get(f"/torrent/{ih}.torrent").body)
    res = run(["--torrent", tfile, "--data", seed_data, "--tracker", "auto", "--same-process"], deadline=20)
    check(res, open_server.catalog()[H.SINGLE_NAME]["length"])


def test_websocket_framing_after_the_handshake(open_server):
    """seedcast reads and writes WebSocket frames itself after Beast's handshake
    (docs/adr/0001): fragments with a ping in between, pongs, binary frames ignored, many
    messages in one write, malformed JSON, and the close codes for a clean close, a message
    over 64 KiB and text that is not UTF-8."""
    import json
    import websocket
    from websocket import ABNF

    ih = bytes.fromhex(open_server.ih(H.SINGLE_NAME)).decode("latin-1")
    url = f"ws://127.0.0.1:{open_server.port}/announce"

    def announce(n, **extra):
        return json.dumps({"action": "announce", "info_hash": ih, "peer_id": f"-PY0001-{n:012d}",
                           "numwant": 0, "left": 5, "event": "started", "offers": [], **extra})

    def next_text(ws):
        while True:
            op, data = ws.recv_data(control_frame=True)
            if op == ABNF.OPCODE_TEXT:
                return json.loads(data)
            assert op in (ABNF.OPCODE_PONG, ABNF.OPCODE_PING), (op, data)

    ws = websocket.create_connection(url, timeout=10)
    try:
        msg = announce(1).encode()
        ws.send_frame(ABNF.create_frame(msg[:10], ABNF.OPCODE_TEXT, fin=0))
        ws.send_frame(ABNF.create_frame(b"are you there", ABNF.OPCODE_PING))
        ws.send_frame(ABNF.create_frame(msg[10:30], ABNF.OPCODE_CONT, fin=0))
        ws.send_frame(ABNF.create_frame(msg[30:], ABNF.OPCODE_CONT, fin=1))
        op, data = ws.recv_data(control_frame=True)
        assert (op, data) == (ABNF.OPCODE_PONG, b"are you there")
        reply = next_text(ws)
        assert reply["action"] == "announce" and reply["interval"] > 0 and reply["info_hash"] == ih, reply

        ws.send_binary(b"\x00binary is not part of the protocol")
        ws.send("{not json")
        assert next_text(ws) == {"failure reason": "invalid JSON"}

        # 50 announces in one TCP write: 50 replies, in order
        frames = b"".join(ABNF.create_frame(announce(100 + i), ABNF.OPCODE_TEXT).format() for i in range(50))
        ws.sock.sendall(frames)
        replies = [next_text(ws) for _ in range(50)]
        assert all(r.get("interval") for r in replies), replies[:3]
        assert replies[-1]["incomplete"] >= 51, replies[-1]

        ws.send_frame(ABNF.create_frame(b"\x03\xe8bye", ABNF.OPCODE_CLOSE))
        op, data = ws.recv_data(control_frame=True)
        assert op == ABNF.OPCODE_CLOSE and data[:2] == b"\x03\xe8", (op, data)
    finally:
        ws.close()

    for payload, code in [(b"x" * (64 * 1024 + 1), 1009), (b'{"action":"\xc3"}', 1007)]:
        ws = websocket.create_connection(url, timeout=10)
        try:
            ws.send_frame(ABNF.create_frame(payload, ABNF.OPCODE_TEXT))
            op, data = ws.recv_data(control_frame=True)
            assert op == ABNF.OPCODE_CLOSE and int.from_bytes(data[:2], "big") == code, (op, data[:20])
        finally:
            ws.close()
    assert open_server.alive()
    # the peers of the closed sockets are gone: a scrape by a fresh socket sees none of them
    ws = websocket.create_connection(url, timeout=10)
    try:
        ws.send(json.dumps({"action": "scrape", "info_hash": ih}))
        files = next_text(ws)["files"]
        assert files[ih]["incomplete"] == 0, files
    finally:
        ws.close()
