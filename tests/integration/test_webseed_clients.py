"""Real BitTorrent clients download seedcast torrents through the web seed only.

The .torrent has no trackers and DHT/LPD/PEX are off, so the url-list is the only source.
Each download is bounded (60 s) and the result must be byte-identical to the library,
including the empty file and the non-ASCII / space / '+' / '&' names.
"""
import pytest

import seedcast_harness as H
from webseed_clients import ci, client_available, run_aria2, run_libtorrent

RUNNERS = {
    "aria2c": run_aria2,
    # several connections with explicit-end ranges at once
    "aria2c-split": lambda t, o, timeout: run_aria2(
        t, o, timeout, ["--split=4", "--max-connection-per-server=4", "--min-split-size=1M",
                        "--enable-http-pipelining=true"]),
    "libtorrent": run_libtorrent,
}


def require_client(name):
    name = name.split("-")[0]
    if not client_available(name):
        msg = f"{name} is not installed"
        if ci():
            pytest.fail(msg + " (CI is set: missing clients are failures)")
        pytest.skip(msg)


def expected_tree(library, tname):
    files = library.files(tname)
    if tname == H.SINGLE_NAME:
        return {tname: files[tname]}
    return {f"{tname}/{rel}": data for rel, data in files.items()}


@pytest.mark.parametrize("client", ["aria2c", "aria2c-split", "libtorrent"])
@pytest.mark.parametrize("tname", [H.SINGLE_NAME, H.MULTI_NAME], ids=["single", "multi"])
def test_download_via_webseed_only(shared_server, catalog, library, tmp_path, client, tname):
    require_client(client)
    ih = catalog[tname]["infoHash"].lower()
    r = shared_server.get(f"/torrent/{ih}.torrent")
    assert r.status == 200, r.describe()
    # The served .torrent lists this server's tracker too; without it, the url-list is the
    # only source a client has: no tracker, no peers.
    body = H.webseed_only(r.body)
    meta = H.bdecode(body)
    assert H.bkey(meta, "announce") is None and H.bkey(meta, "announce-list") is None
    assert H.bkey(meta, "url-list"), "the served .torrent has no url-list"
    assert H.bdecode(body)[b"info"] == H.bdecode(r.body)[b"info"]
    tfile = tmp_path / "dl.torrent"
    tfile.write_bytes(body)
    out = tmp_path / "out"

    res = RUNNERS[client](tfile, out, timeout=60)

    got = H.read_tree(out)
    want = expected_tree(library, tname)
    diag = {k: v for k, v in res.items() if k not in ("log",)}
    detail = (f"\nclient result: {diag}\nclient log tail:\n{res.get('log', '')}"
              f"\nmissing: {sorted(set(want) - set(got))}"
              f"\nextra: {sorted(set(got) - set(want))}"
              f"\ndiffering: {[k for k in want if k in got and got[k] != want[k]]}")
    assert res["ok"], f"{client} did not complete the download within 60 s{detail}"
    assert got == want, f"{client} downloaded tree differs from the library{detail}"
    if tname == H.MULTI_NAME:
        empty = out / tname / H.EMPTY
        assert empty.is_file() and empty.stat().st_size == 0, "empty file missing"
    if client == "libtorrent":
        assert res.get("hash_failures") == 0, f"libtorrent saw piece hash failures{detail}"
        assert res.get("url_seed_errors") == [], f"libtorrent web seed errors{detail}"
