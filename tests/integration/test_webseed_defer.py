"""The webseed sends a native BitTorrent client of a torrent (one that announced to the HTTP
tracker, or is connected to the server's seed) to the seed and its peers for bulk requests:
a closed range longer than one piece is answered 503 with Retry-After (WEBSEED_DEFER).
One-piece and open ranges, other addresses, and WEBSEED_DEFER=0 are always served."""
import seedcast_harness as H


def piece_length(srv, ih):
    meta = H.bdecode(srv.get(f"/torrent/{ih}.torrent").body)
    return H.bkey(H.bkey(meta, "info"), "piece length")


def announce(srv, ih):
    ihq = "".join(f"%{b:02x}" for b in bytes.fromhex(ih))
    r = srv.get(f"/announce?info_hash={ihq}&peer_id=-XX0001-abcdefghijkl&port=6999&left=1&compact=1")
    assert r.status == 200 and b"failure reason" not in r.body, r.describe()


def ranged(srv, ih, spec):
    return srv.get(H.file_url_path(ih, H.SINGLE_NAME), {"Range": f"bytes={spec}"})


def test_bulk_ranges_of_an_announced_client_are_deferred(library, server_factory):
    srv = server_factory(library.root, WEBSEED_DEFER="17")
    with srv.running():
        ih = srv.ih(H.SINGLE_NAME)
        pl = piece_length(srv, ih)
        data = library.files(H.SINGLE_NAME)[H.SINGLE_NAME]
        # not (yet) a BitTorrent client of this torrent: served
        r = ranged(srv, ih, f"0-{2 * pl - 1}")
        assert r.status == 206 and r.body == data[:2 * pl], r.describe()
        announce(srv, ih)
        r = ranged(srv, ih, f"0-{2 * pl - 1}")
        assert r.status == 503 and r.h("Retry-After") == "17", r.describe()
        # one piece (WebTorrent, a player's small read) and open ranges: served
        r = ranged(srv, ih, f"{pl}-{2 * pl - 1}")
        assert r.status == 206 and r.body == data[pl:2 * pl], r.describe()
        r = ranged(srv, ih, f"{len(data) - 10}-")
        assert r.status == 206 and r.body == data[-10:], r.describe()
        r = srv.get(H.file_url_path(ih, H.SINGLE_NAME))
        assert r.status == 200 and r.body == data


def test_defer_zero_always_serves(library, server_factory):
    srv = server_factory(library.root, WEBSEED_DEFER="0")
    with srv.running():
        ih = srv.ih(H.SINGLE_NAME)
        pl = piece_length(srv, ih)
        announce(srv, ih)
        r = ranged(srv, ih, f"0-{2 * pl - 1}")
        assert r.status == 206 and len(r.body) == 2 * pl, r.describe()
