"""seedcast as a WebRTC peer of browsers: WebTorrent (Node, WebRTC from @roamhq/wrtc) downloads
a library torrent with no web seed and no other peer — every byte over a data channel from the
server's own WebRTC peer, which it reaches through seedcast's WebSocket tracker.

tests/webtorrent/rtc_leech.mjs runs the client and compares the bytes with the library files.
Needs: node, `npm ci --ignore-scripts` in tests/webtorrent (skip, or fail when CI is set).
"""
import json
import re
import sys

import pytest

import seedcast_harness as H

sys.path.insert(0, str(H.REPO / "tests" / "webtorrent"))
import wt_harness as W  # noqa: E402

SECRET = "webrtc-seed-secret"
DEADLINE = 60


@pytest.fixture(scope="module")
def open_server(library, tmp_path_factory):
    srv = H.started_server(library.root, tmp_path_factory, "rtc-open-server")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def private_server(library, tmp_path_factory):
    srv = H.started_server(library.root, tmp_path_factory, "rtc-private-server", SECRET=SECRET)
    yield srv
    srv.stop()


def leech(args, deadline=DEADLINE) -> dict:
    return W.run_node("rtc_leech.mjs", [*args, "--timeout", deadline], timeout=deadline + 30)


def webrtc_stats(srv, token=None) -> dict:
    r = srv.get("/healthz")
    assert r.status == 200, r.describe()
    return r.json().get("webrtc", {})


def check_from_server(res: dict, length: int):
    assert res.get("ok") and res.get("returncode") == 0, f"WebRTC download from seedcast failed:\n{W.describe(res)}"
    assert res["length"] == length
    assert set(res["bytesByWireType"]) == {"webrtc"}, W.describe(res)
    assert res["bytesByWireType"]["webrtc"] >= length
    # every wire the client had was the server's peer, and it sent every byte
    assert res["peers"] and all(p["server"] for p in res["peers"]), W.describe(res)
    assert res["fromServer"] >= length, W.describe(res)


@pytest.mark.parametrize("tname", [H.SINGLE_NAME, H.MULTI_NAME], ids=["single", "multi"])
def test_library_torrent_from_the_server_over_webrtc(open_server, library, tmp_path, tname):
    W.require_node_tools()
    ih = open_server.ih(tname)
    r = open_server.get(f"/torrent/{ih}.torrent")
    assert r.status == 200, r.describe()
    tfile = tmp_path / "t.torrent"
    tfile.write_bytes(r.body)
    before = webrtc_stats(open_server)
    res = leech(["--torrent", tfile, "--data", library.root])
    check_from_server(res, open_server.catalog()[tname]["length"])
    after = webrtc_stats(open_server)
    assert after["uploaded"] - before["uploaded"] >= open_server.catalog()[tname]["length"]
    assert after["answered"] > before["answered"]


def test_magnet_metadata_and_bytes_from_the_server(open_server, library):
    """A browser with only a magnet gets the info dictionary from the server (ut_metadata)."""
    W.require_node_tools()
    ih = open_server.ih(H.SINGLE_NAME)
    magnet = f"magnet:?xt=urn:btih:{ih}&tr=ws://127.0.0.1:{open_server.port}/announce"
    res = leech(["--magnet", magnet, "--data", library.root])
    check_from_server(res, open_server.catalog()[H.SINGLE_NAME]["length"])
    assert res["infoHash"] == ih


def private_catalog(srv, token: str) -> dict:
    """{name: JSON listing} of the torrents linked from the index, as a user sees them."""
    r = srv.get(f"/?token={token}")
    assert r.status == 200, r.describe()
    cat = {}
    for ih in sorted(set(re.findall(r"/file/[^\"/]+/([0-9a-f]{40})", r.body.decode()))):
        j = srv.get(f"/file/{token}/{ih}?json=1")
        assert j.status == 200, j.describe()
        cat[j.json()["name"]] = j.json()
    return cat


def test_private_mode_with_a_users_token(private_server, library, tmp_path):
    """Auth on: alice's .torrent carries her token in its ws:// announce URL; the tracker lets
    her in and hands her offer to the server's peer."""
    W.require_node_tools()
    token = H.mint_token(SECRET, "alice", "1h")
    listing = private_catalog(private_server, token)[H.SINGLE_NAME]
    ih = listing["infoHash"].lower()
    r = private_server.get(f"/torrent/{token}/{ih}.torrent")
    assert r.status == 200, r.describe()
    tfile = tmp_path / "alice.torrent"
    tfile.write_bytes(r.body)
    res = leech(["--torrent", tfile, "--data", library.root])
    check_from_server(res, listing["length"])
    assert res["infoHash"] == ih


# ---- refusals: a browser's first steps, forged by hand (rtc_probe.py)

import os  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402

import rtc_probe as P  # noqa: E402


def offered(srv, ih, token=None, fingerprint=None, timeout=10.0):
    """Sends an offer for `ih` through the tracker; returns (answer parts, our ufrag, our pwd)."""
    ufrag, pwd = "py" + os.urandom(3).hex(), os.urandom(16).hex()
    sdp = P.offer_sdp(ufrag, pwd, fingerprint or os.urandom(32))
    ans = P.ws_offer(srv.port, ih, sdp, token=token, timeout=timeout)
    return ans, ufrag, pwd


def test_the_answer_is_ice_lite_dtls_passive_with_a_loopback_candidate(open_server):
    ans, _, _ = offered(open_server, open_server.ih(H.SINGLE_NAME))
    assert ans and "answer" in ans, f"no answer relayed from the server's peer: {ans}"
    assert ans["peer_id"].startswith("-SC"), ans["peer_id"]
    parts = P.answer_parts(ans["answer"]["sdp"])
    assert parts["lite"] and parts["setup"] == "passive", ans["answer"]["sdp"]
    assert parts["candidates"] and all(ip in ("127.0.0.1", "::1") for ip, _ in parts["candidates"]), parts


def test_stun_checks_want_the_answers_credentials(open_server):
    ans, ufrag, pwd = offered(open_server, open_server.ih(H.SINGLE_NAME))
    assert ans and "answer" in ans, f"no answer: {ans}"
    parts = P.answer_parts(ans["answer"]["sdp"])
    dest = next((ip, port) for ip, port in parts["candidates"] if ip == "127.0.0.1")
    user = f"{parts['ufrag']}:{ufrag}"
    before = webrtc_stats(open_server)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        # the wrong password: 401, and nothing that proves the server's key
        req, tid = P.binding_request(user, "not-the-password-0123456")
        r = P.exchange(s, dest, req)
        assert r is not None, "no answer to a check with a wrong password"
        resp = P.parse_response(r, parts["pwd"])
        assert resp["type"] == 0x0111 and resp["error"] == 401 and resp["tid"] == tid, resp
        assert resp["mapped"] is None
        # a ufrag nobody was given: silence
        req, _ = P.binding_request(f"nobody00:{ufrag}", parts["pwd"])
        assert P.exchange(s, dest, req, timeout=0.5) is None
        # no integrity at all: refused (400 or 401), never a success
        req, _ = P.binding_request(user, parts["pwd"], integrity=False)
        r = P.exchange(s, dest, req)
        assert r is not None and P.parse_response(r)["type"] == 0x0111
        # the controlled role is the server's: 487
        req, _ = P.binding_request(user, parts["pwd"], controlling=False)
        r = P.exchange(s, dest, req)
        resp = P.parse_response(r, parts["pwd"])
        assert resp["type"] == 0x0111 and resp["error"] == 487 and resp["integrity"] is True, resp
        # DTLS from a path that never passed a check is ignored
        assert P.exchange(s, dest, bytes([22, 0xfe, 0xfd]) + b"\0" * 60, timeout=0.5) is None
        # the right credentials: a success that maps our address, signed with the server's key
        req, tid = P.binding_request(user, parts["pwd"])
        r = P.exchange(s, dest, req)
        resp = P.parse_response(r, parts["pwd"])
        assert resp["type"] == 0x0101 and resp["tid"] == tid and resp["integrity"] is True, resp
        assert resp["mapped"] == s.getsockname(), resp
    after = webrtc_stats(open_server)
    assert after["stunRefused"] >= before["stunRefused"] + 3, after


def test_offers_outside_the_catalog_or_without_a_token_get_no_answer(open_server, private_server):
    unknown = os.urandom(20).hex()
    ans, _, _ = offered(open_server, unknown)
    assert not ans or "answer" not in ans, ans
    assert any("failure reason" in m for m in (ans or {}).get("seen", [])), ans
    # private mode: no token, no WebSocket at all
    token = H.mint_token(SECRET, "alice", "1h")
    ih = private_catalog(private_server, token)[H.SINGLE_NAME]["infoHash"].lower()
    before = webrtc_stats(private_server)
    try:
        ans, _, _ = offered(private_server, ih, token=None)
    except Exception as e:  # the upgrade is refused with 401
        assert "401" in str(e), e
    else:
        assert not ans or "answer" not in ans, ans
    bad = H.mint_token("another-secret", "mallory", "1h")
    try:
        ans, _, _ = offered(private_server, ih, token=bad)
    except Exception as e:
        assert "401" in str(e), e
    else:
        assert not ans or "answer" not in ans, ans
    assert webrtc_stats(private_server)["answered"] == before["answered"]
    # and with alice's token, an answer
    ans, _, _ = offered(private_server, ih, token=token)
    assert ans and "answer" in ans, ans


def test_a_dtls_certificate_that_does_not_match_the_offer_is_refused(open_server, tmp_path):
    """OpenSSL's own DTLS client (s_client) on the path a STUN check opened: with the certificate
    its offer named, the handshake completes; with another, the server ends it."""
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=probe"],
                   check=True, capture_output=True, timeout=30)
    der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], check=True, capture_output=True).stdout
    import hashlib
    real = hashlib.sha256(der).digest()

    def handshake(fingerprint: bytes) -> tuple[bool, str]:
        ans, ufrag, _ = offered(open_server, open_server.ih(H.SINGLE_NAME), fingerprint=fingerprint)
        assert ans and "answer" in ans, ans
        parts = P.answer_parts(ans["answer"]["sdp"])
        dest = next((ip, port) for ip, port in parts["candidates"] if ip == "127.0.0.1")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            local = s.getsockname()
            req, _ = P.binding_request(f"{parts['ufrag']}:{ufrag}", parts["pwd"])
            resp = P.parse_response(P.exchange(s, dest, req), parts["pwd"])
            assert resp["type"] == 0x0101, resp
        out = subprocess.run(["openssl", "s_client", "-dtls1_2", "-bind", f"{local[0]}:{local[1]}",
                              "-connect", f"{dest[0]}:{dest[1]}", "-cert", cert, "-key", key, "-mtu", "1200",
                              "-timeout", "-brief"],
                             input=b"", capture_output=True, timeout=30)
        text = (out.stdout + out.stderr).decode("utf-8", "replace")
        return ("CONNECTION ESTABLISHED" in text or "Protocol version" in text), text

    ok, text = handshake(real)
    assert ok, f"DTLS with the certificate the offer named did not complete:\n{text}"
    mark = len(open_server.stderr())
    handshake(os.urandom(32))
    # the server checks the fingerprint once the handshake is done, and ends that session
    open_server.wait_log(r"DTLS ended: the peer's certificate does not match its offer's fingerprint", 15, after=mark)


# ---- swarm-first over WebRTC

@pytest.fixture(scope="module")
def copies_server(library, tmp_path_factory):
    srv = H.started_server(library.root, tmp_path_factory, "rtc-copies-server", SEED_COPIES=1, SEED_URGENT_PIECES=1)
    yield srv
    srv.stop()


def test_swarm_first_refuses_what_a_viewer_has_and_the_other_gets_it_from_that_viewer(copies_server, library,
                                                                                     tmp_path):
    """SEED_COPIES=1: viewer A streams the file slowly from the server's peer (nobody else has
    it). While A is at a third of it, viewer B joins: the server's peer refuses B's requests for
    pieces A already has (BEP 6 rejects), beyond B's first piece, so B takes those from A."""
    W.require_node_tools()
    srv = copies_server
    ih = srv.ih(H.SINGLE_NAME)
    length = srv.catalog()[H.SINGLE_NAME]["length"]
    r = srv.get(f"/torrent/{ih}.torrent")
    assert r.status == 200, r.describe()
    tfile = tmp_path / "t.torrent"
    tfile.write_bytes(r.body)
    a = subprocess.Popen([W.NODE, str(W.WT_DIR / "rtc_leech.mjs"), "--torrent", str(tfile), "--data",
                          str(library.root), "--timeout", "60", "--download-limit", "400000",
                          "--notify-at", str(length // 3), "--linger", "30"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        at = json.loads(a.stdout.readline())
        assert at.get("event") == "at", at
        refused_before = srv.get("/healthz").json()["seed"]["refused"]
        res = leech(["--torrent", tfile, "--data", library.root])
        assert res.get("ok") and res["length"] == length, W.describe(res)
        from_viewer = sum(p["bytes"] for p in res["peers"] if not p["server"])
        assert from_viewer > 0, f"B got nothing from A: {W.describe(res)}"
        assert from_viewer + res["fromServer"] >= length
        assert srv.get("/healthz").json()["seed"]["refused"] > refused_before, W.describe(res)
    finally:
        a.kill()
        a.communicate(timeout=10)


def test_an_offer_flood_from_one_address_hits_the_pending_cap(library, tmp_path_factory):
    """RTC_PENDING_PER_ADDRESS=4: ten browsers' offers from one address, none of which goes on to
    connect, get four answers; the rest are refused (and counted) until those time out (no
    check for 30 s ends a session: the loop stays well inside that)."""
    srv = H.started_server(library.root, tmp_path_factory, "rtc-flood", RTC_PENDING_PER_ADDRESS=4,
                           RTC_HANDSHAKE_TIMEOUT=60)
    try:
        ih = srv.ih(H.SINGLE_NAME)
        answers = 0
        for _ in range(10):
            ans, _, _ = offered(srv, ih, timeout=1.5)
            answers += 1 if ans and "answer" in ans else 0
        assert answers == 4, answers
        s = webrtc_stats(srv)
        assert s["refused"] >= 6 and s["handshaking"] == 4, s
    finally:
        srv.stop()


def test_over_ipv6(library, tmp_path_factory, tmp_path):
    """HOST=::1: the tracker is reached over IPv6, the answer's candidate is the IPv6 loopback,
    and the browser's data channel runs over IPv6."""
    W.require_node_tools()
    srv = H.started_server(library.root, tmp_path_factory, "rtc-v6", HOST="::1")
    try:
        ih = srv.ih(H.SINGLE_NAME)
        r = srv.get(f"/torrent/{ih}.torrent")
        assert r.status == 200, r.describe()
        tfile = tmp_path / "t.torrent"
        tfile.write_bytes(r.body)
        res = leech(["--torrent", tfile, "--data", library.root, "--tracker", f"ws://[::1]:{srv.port}/announce"])
        check_from_server(res, srv.catalog()[H.SINGLE_NAME]["length"])
    finally:
        srv.stop()
