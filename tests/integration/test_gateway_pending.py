"""Torrents added to the gateway by magnet or info-hash survive a restart of the server that
comes before their metadata: the server goes on fetching them."""
import seedcast_harness as H
from test_gateway import (ADMIN, admin, empty_library, fetching, info_hash, make_content,  # noqa: F401
                          make_torrent, seeders)  # (empty_library, seeders: fixtures)


def test_pending_magnets_are_fetched_again_after_a_restart(empty_library, server_factory, tmp_path, seeders):
    srv = server_factory(empty_library, expected=0, ACCESS_TOKEN=ADMIN, METADATA_TIMEOUT=40)
    content = tmp_path / "content"
    files = make_content(content, multi=False)
    with srv.running():
        torrent = make_torrent(content, "gw-clip.mp4", f"http://127.0.0.1:{srv.port}/announce")
        ih = info_hash(torrent)
        assert admin(srv, "POST", "/api/torrents", f"magnet:?xt=urn:btih:{ih}&dn=gw-clip.mp4".encode()).status == 202
        other = "ab" * 20  # an info-hash nobody seeds, added and then removed: not fetched again
        assert admin(srv, "POST", "/api/torrents", other.encode()).status == 202
        assert admin(srv, "DELETE", f"/api/torrents/{other}").status == 204
        assert admin(srv, "POST", "/api/torrents", b"magnet:?xt=urn:btih:" + ih.encode() + b"\nx").status == 400
        fetching(srv, 1)
    pending = (srv.data_dir / "pending.txt").read_text().splitlines()
    assert pending == [f"magnet:?xt=urn:btih:{ih}&dn=gw-clip.mp4"]
    with srv.running():  # no new POST: the magnet is fetched again; the removed hash is not
        fetching(srv, 1)
        # the seeder announces to this run's tracker (the announce URL is not in the info-hash)
        assert info_hash(make_torrent(content, "gw-clip.mp4", f"http://127.0.0.1:{srv.port}/announce")) == ih
        (tmp_path / "t.torrent").write_bytes(make_torrent(content, "gw-clip.mp4", f"http://127.0.0.1:{srv.port}/announce"))
        seeders(tmp_path / "t.torrent", content).wait()
        r = srv.get(f"/file/{ih}/gw-clip.mp4", timeout=60)
        assert r.status == 200 and r.body == files["gw-clip.mp4"], r.describe()
    srv.expected_torrents = 1
    with srv.running():  # it is a catalog torrent now; nothing is pending
        assert srv.get(f"/torrent/{ih}.torrent").status == 200
    assert (srv.data_dir / "pending.txt").read_text() == ""
