"""Swarm-first seeding (SEED_COPIES): the server's BitTorrent seed uploads a piece only while
fewer than SEED_COPIES of its other peers have it (or are being sent it), so the swarm passes
the rest around. Checked on the wire with a bare client (tests/integration/bt_wire.py): a
request for a piece another peer has is rejected (BEP 6), one for a piece nobody has is
answered with the file's bytes, and so is one for the first pieces from a peer that lacks them
(it is starting to play). Then two python3-libtorrent peers: A has only piece X; B gets every
other piece from the seed and is refused X, then meets A and gets X from it: bytes identical,
and the seed sent B everything but X.

SEED_STARVE_MS is set far beyond any test so the rescue of a starving peer (unit-tested in
tests/unit/engine/swarm_first_test.cpp) never serves X: nothing here depends on timing."""
import time

import libtorrent as lt
import pytest

import seedcast_harness as H
from bt_wire import Wire

PIECE = 64 * 1024
BLOCK = 16 * 1024
NEVER = "600000"  # ms


def seed_port(srv):
    h = srv.wait_health(lambda h: h.get("seed", {}).get("torrents") == 2 and h["seed"].get("port"),
                        "the engine seeding 2 torrents")
    return h["seed"]["port"]


def torrent_of(srv, ih):
    meta = H.bdecode(srv.get(f"/torrent/{ih}.torrent").body)
    for key in (b"url-list", b"announce", b"announce-list"):
        meta.pop(key, None)  # BitTorrent only, and the test says who meets whom: no web seed, no tracker
    return lt.torrent_info(meta)


def session():
    ses = lt.session({
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "listen_interfaces": "127.0.0.1:0", "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True, "alert_mask": lt.alert_category.error,
        # A wants nothing from the seed and the seed nothing from A; keep them connected anyway
        "close_redundant_connections": False,
    })
    return ses


def add(ses, ti, save, prio=None):
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = str(save)
    atp.flags = (atp.flags | lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd
                 | lt.torrent_flags.disable_pex) & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
    if prio is not None:
        atp.piece_priorities = prio
    return ses.add_torrent(atp)


def wait(pred, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def swarm_first(library, server_factory):
    srv = server_factory(library.root, PIECE_SIZE=str(PIECE), SEED_COPIES="1", SEED_STARVE_MS=NEVER)
    with srv.running():
        port = seed_port(srv)
        ih = srv.ih(H.SINGLE_NAME)
        yield srv, port, ih, library.data(H.SINGLE_NAME)


def test_the_seed_rejects_a_piece_a_peer_has_and_sends_one_nobody_has(swarm_first):
    srv, port, ih, data = swarm_first
    n = (len(data) + PIECE - 1) // PIECE
    x, y, z = 5, 9, 12
    a = Wire("127.0.0.1", port, bytes.fromhex(ih), n, peer_id=b"-TW0001-aaaaaaaaaaaa")
    c = Wire("127.0.0.1", port, bytes.fromhex(ih), n, peer_id=b"-TW0001-cccccccccccc")
    try:
        assert a.remote_fast and c.remote_fast  # the seed speaks BEP 6
        # a says it has X; a's request for Z is answered after its bitfield was read, so the seed
        # knows of X before c asks for anything
        a.send_bitfield({x})
        a.interested()
        a.wait_unchoke()
        a.request(z, 0, BLOCK)
        assert a.answer(z, 0, BLOCK) == ("piece", data[z * PIECE:z * PIECE + BLOCK])
        a.send_have(z)  # a claims Z too (a grant alone would expire)
        a.send_have(0)  # and the first piece

        c.send_have_none()
        c.interested()
        c.wait_unchoke()
        c.request(x, 0, BLOCK)
        assert c.answer(x, 0, BLOCK) == ("reject", None)  # a has it: get it from a
        c.request(y, BLOCK, BLOCK)
        assert c.answer(y, BLOCK, BLOCK) == ("piece", data[y * PIECE + BLOCK:y * PIECE + 2 * BLOCK])
        c.request(z, 0, BLOCK)
        assert c.answer(z, 0, BLOCK) == ("reject", None)  # a has it
        # but c is starting (it lacks the first pieces): those come from the seed, at once
        c.request(0, 0, BLOCK)
        assert c.answer(0, 0, BLOCK) == ("piece", data[:BLOCK])
    finally:
        a.close()
        c.close()
    h = srv.healthz()["seed"]
    assert h["refused"] >= 2, h
    metrics = srv.get("/metrics").body.decode()
    assert "seedcast_seed_refused_total" in metrics


def test_two_libtorrent_peers_one_holding_x_the_other_gets_x_from_it(swarm_first, tmp_path):
    srv, port, ih, data = swarm_first
    ti = torrent_of(srv, ih)
    n = ti.num_pieces()
    # beyond the first SEED_URGENT_PIECES (4) pieces, which the seed sends whoever lacks them
    x = 20
    assert n > x
    # peer A holds only piece X: the file is zeros but for X, and it wants nothing else
    a_dir = tmp_path / "a"
    a_dir.mkdir()
    blank = bytearray(len(data))
    blank[x * PIECE:(x + 1) * PIECE] = data[x * PIECE:(x + 1) * PIECE]
    (a_dir / H.SINGLE_NAME).write_bytes(bytes(blank))
    a_ses, b_ses = session(), session()
    a = add(a_ses, ti, a_dir, prio=[0] * n)
    wait(lambda: a.have_piece(x), "A's check of its data")
    assert [i for i in range(n) if a.have_piece(i)] == [x]
    a.connect_peer(("127.0.0.1", port))
    wait(lambda: any(not p.flags & lt.peer_info.handshake and not p.flags & lt.peer_info.connecting
                     for p in a.get_peer_info()), "A connected to the seed")
    up_before = srv.healthz()["seed"]["uploaded"]

    # peer B wants everything. First it knows only the seed: it gets every piece but X, which
    # the seed refuses because A has it (B asks for X too, it is missing)
    b_dir = tmp_path / "b"
    b = add(b_ses, ti, b_dir)
    b.connect_peer(("127.0.0.1", port))
    others = [i for i in range(n) if i != x]
    wait(lambda: all(b.have_piece(i) for i in others), "B to get every piece but X from the seed", timeout=120)
    assert not b.have_piece(x)
    assert srv.healthz()["seed"]["refused"] >= 1
    # then it meets A, and gets X from A
    b.connect_peer(("127.0.0.1", a_ses.listen_port()))
    wait(lambda: b.status().is_seeding, "B to get X from A", timeout=120)
    b_ses.pause()
    assert (b_dir / H.SINGLE_NAME).read_bytes() == data
    assert a.status().total_payload_upload >= PIECE
    seed_sent = srv.healthz()["seed"]["uploaded"] - up_before
    assert seed_sent <= len(data) - PIECE, (seed_sent, len(data))
