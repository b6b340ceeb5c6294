"""The /watch player in headless Chromium: streams a real H.264 video from the web seed
alone, and a second viewer gets its bytes from the first over WebRTC through seedcast's
WebSocket tracker while its <video> plays (open mode and with tokens).

tests/webtorrent/player_check.mjs drives Chromium (playwright-core, /usr/bin/chromium,
fresh profile, each viewer in its own browser context so each has its own service worker).
To make sure viewer 2's bytes come from viewer 1 and not from the server, viewer 2's requests
to /file/ (the web seed) are aborted by Playwright request interception.
Needs: node, chromium, ffmpeg, `npm ci --ignore-scripts` in tests/webtorrent and web/
(skip, or fail when CI is set).
"""
import html
import re
import sys
from pathlib import Path

import pytest

import seedcast_harness as H

sys.path.insert(0, str(H.REPO / "tests" / "webtorrent"))
import wt_harness as W  # noqa: E402

SECRET = "player-secret-☃"
VIDEO = "clip.mp4"
SHOW = "Tom & Jerry <live>"  # a folder torrent whose name needs HTML escaping
EPISODE = "Episode 1.mp4"
DEADLINE = 75  # seconds for one player_check run (they take 3-8 s)


def token_for(user: str = "alice", ttl: str = "1h") -> str:
    return H.mint_token(SECRET, user, ttl)


@pytest.fixture(scope="module")
def video_library(tmp_path_factory) -> Path:
    """clip.mp4 (10 s 320x240 H.264, moov first) and a folder torrent whose first file is
    not a video: the player must pick the episode."""
    root = tmp_path_factory.mktemp("video-library")
    W.make_video(root / VIDEO, seconds=10)
    W.make_video(root / SHOW / EPISODE, seconds=8)
    (root / SHOW / "a-readme.txt").write_text("not a video\n" * 100)
    return root


def server(video_library, tmp_path_factory, name, **env):
    # Without the server's own WebRTC peer unless a test asks for it: these tests check what
    # viewers get from the web seed and from each other.
    env.setdefault("RTC_PORT", "-1")
    work = tmp_path_factory.mktemp(name)
    srv = H.Server(video_library, work / "data", work, expected_torrents=2, WEB_DIR=str(W.WEB_DIR), **env)
    srv.start()
    return srv


@pytest.fixture(scope="module")
def open_server(video_library, tmp_path_factory):
    srv = server(video_library, tmp_path_factory, "player-open")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def private_server(video_library, tmp_path_factory):
    srv = server(video_library, tmp_path_factory, "player-private", SECRET=SECRET)
    yield srv
    srv.stop()


def hashes_for(srv, token: str) -> dict:
    """{torrent name: info-hash} with auth on (the index needs a token)."""
    out = {}
    for ih in sorted(set(re.findall(r"/file/[^\"/]+/([0-9a-f]{40})", srv.get(f"/?token={token}").body.decode()))):
        out[srv.get(f"/file/{ih}?json=1&token={token}").json()["name"]] = ih
    return out


def player(args, deadline=DEADLINE) -> dict:
    return W.run_node("player_check.mjs", [*args, "--timeout", deadline], timeout=deadline + 30)


def assert_ok(res: dict):
    assert res.get("ok") and res.get("returncode") == 0, f"player check failed:\n{W.describe(res)}"


# ---- the page and its assets (plain HTTP) ---------------------------------------------

def test_watch_page_is_filled_in(open_server):
    for name in (VIDEO, SHOW):
        ih = open_server.ih(name)
        r = open_server.get(f"/watch/{ih}")
        assert r.status == 200, r.describe()
        assert r.h("Content-Type", "").startswith("text/html"), r.describe()
        body = r.body.decode()
        assert "{{" not in body, f"placeholders left in the page: {re.findall(r'{{[A-Z_]+}}', body)}"
        assert f"<h1>{html.escape(name, quote=True)}</h1>" in body or f"<h1>{html.escape(name, quote=False)}</h1>" in body, \
            f"the page does not show the HTML-escaped name {name!r}"
        assert "<live>" not in body, "a torrent name reached the page unescaped"
        m = re.search(r'data-torrent-url="([^"]*)"', body)
        assert m and html.unescape(m.group(1)) == f"http://127.0.0.1:{open_server.port}/torrent/{ih}.torrent", \
            f"data-torrent-url is {m and m.group(1)!r}"
        assert f'data-info-hash="{ih}"' in body
        assert 'src="/assets/watch.js"' in body


def test_player_assets_are_served(open_server):
    W.require_web_bundle()
    dist = W.WEB_DIR / "node_modules" / "webtorrent" / "dist"
    for path, local in (("/assets/watch.js", W.WEB_DIR / "watch.js"),
                        ("/assets/webtorrent.min.js", dist / "webtorrent.min.js"),
                        ("/sw.min.js", dist / "sw.min.js")):
        r = open_server.get(path)
        assert r.status == 200, f"GET {path}: {r.describe()}"
        assert re.match(r"(text|application)/javascript", r.h("Content-Type", "")), \
            f"GET {path}: Content-Type {r.h('Content-Type')!r} (module scripts need a JavaScript type)"
        assert r.body == local.read_bytes(), f"GET {path} is not {local}"


def test_watch_requires_a_token(private_server):
    alice = token_for("alice")
    ih = hashes_for(private_server, alice)[VIDEO]
    assert private_server.get(f"/watch/{ih}").status == 401
    forged = alice[:-4] + ("AAAA" if not alice.endswith("AAAA") else "BBBB")
    assert private_server.get(f"/watch/{forged}/{ih}").status == 401
    for path in (f"/watch/{alice}/{ih}", f"/watch/{ih}?token={alice}"):
        r = private_server.get(path)
        assert r.status == 200, f"GET {path}: {r.describe()}"
        body = r.body.decode()
        m = re.search(r'data-torrent-url="([^"]*)"', body)
        assert m and f"/torrent/{alice}/{ih}.torrent" in html.unescape(m.group(1)), \
            f"the page's torrent URL should carry the viewer's token: {m and m.group(1)!r}"
        assert f'data-token="{alice}"' in body


# ---- Chromium ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", [VIDEO, SHOW], ids=["single", "multi"])
def test_plays_from_the_webseed_alone(open_server, name):
    W.require_chromium()
    W.require_web_bundle()
    ih = open_server.ih(name)
    res = player(["--single", "--url", f"{open_server.base}/watch/{ih}"])
    assert_ok(res)
    st = res["viewers"]["viewer1"]["state"]
    assert st["mode"] == "stream" and st["numPeers"] == 0 and st["webseedBytes"] > 0
    assert st["file"].endswith(EPISODE if name == SHOW else VIDEO)


def test_second_viewer_plays_from_the_first(open_server):
    W.require_chromium()
    W.require_web_bundle()
    ih = open_server.ih(VIDEO)
    res = player(["--url", f"{open_server.base}/watch/{ih}", "--page2-webseed", "block"])
    assert_ok(res)
    v2 = res["viewers"]["viewer2"]
    assert v2["state"]["peerBytes"] > 0 and v2["state"]["webseedBytes"] == 0
    assert v2["fileRequests"]["blocked"] > 0, "viewer 2 never tried the web seed: the block proved nothing"
    assert v2["ws"]["failures"] == [], f"tracker failures: {v2['ws']['failures']}"


def test_second_viewer_plays_from_the_first_with_tokens(private_server):
    """alice opens /watch/{token}/{ih}, bob /watch/{ih}?token=…: one swarm, bob's bytes
    from alice over WebRTC (his web seed requests blocked)."""
    W.require_chromium()
    W.require_web_bundle()
    alice, bob = token_for("alice"), token_for("bob")
    ih = hashes_for(private_server, alice)[SHOW]
    res = player(["--url", f"{private_server.base}/watch/{alice}/{ih}",
                  "--url2", f"{private_server.base}/watch/{ih}?token={bob}", "--page2-webseed", "block"])
    assert_ok(res)
    for v in ("viewer1", "viewer2"):
        assert res["viewers"][v]["state"]["file"].endswith(EPISODE)
        assert res["viewers"][v]["ws"]["failures"] == []


@pytest.mark.parametrize("how", ["no-service-worker", "insecure-origin"])
def test_plays_without_streaming(open_server, how):
    """No service worker (blocked here by Playwright): WebTorrent downloads, then the video
    plays from a blob. Not a secure context (http://NAME:PORT, NAME not localhost): browsers
    have no crypto.subtle, so no WebTorrent; the video plays the server's file URL."""
    W.require_chromium()
    W.require_web_bundle()
    ih = open_server.ih(VIDEO)
    if how == "no-service-worker":
        args = ["--url", f"{open_server.base}/watch/{ih}", "--block-service-workers", "--expect-mode", "blob"]
    else:
        args = ["--url", f"http://seedcast.invalid:{open_server.port}/watch/{ih}",
                "--map-host", "seedcast.invalid", "--expect-mode", "server"]
    res = player(["--single", *args])
    assert_ok(res)


@pytest.fixture(scope="module")
def rtc_server(video_library, tmp_path_factory):
    srv = server(video_library, tmp_path_factory, "player-rtc", RTC_PORT="0")
    yield srv
    srv.stop()


def test_plays_from_the_servers_webrtc_peer_with_the_web_seed_off(rtc_server):
    """/watch?webseed=0: the player's only source is the server's own WebRTC peer, which the
    tracker hands its offers to; the page shows those bytes apart."""
    W.require_chromium()
    W.require_web_bundle()
    ih = rtc_server.ih(VIDEO)
    res = player(["--url", f"{rtc_server.base}/watch/{ih}?webseed=0", "--server-peer"])
    assert_ok(res)
