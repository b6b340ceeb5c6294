"""The examples/ programs: seedcast embedded as a library with the site's own check."""
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

import jwt_tokens as J
import seedcast_harness as H

EXAMPLES = H.SEEDCAST_BIN.parent / "examples"


def start(binary, library, tmp_path, **env):
    port_file = tmp_path / "port"
    e = {"PATH": "/usr/bin:/bin", "HOST": "127.0.0.1", "PORT": "0", "PORT_FILE": str(port_file),
         "LIBRARY": str(library), "DATA_DIR": str(tmp_path / "data"), "PEER_PORT": "0", "RTC_PORT": "0",
         **env}
    log = open(tmp_path / "log", "wb")
    proc = subprocess.Popen([str(binary)], env=e, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text().strip()):
        assert proc.poll() is None, (tmp_path / "log").read_text()
        assert time.monotonic() < deadline, "example did not start"
        time.sleep(0.05)
    port = int(port_file.read_text())
    while H.get(port, "/healthz").json().get("indexing"):
        assert time.monotonic() < deadline, "example did not index"
        time.sleep(0.05)
    return proc, port


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0


def first_file(port, headers=None, query=""):
    ih = H.index_hashes(H.get(port, "/" + query, headers).body)[0]
    j = H.get(port, f"/file/{ih}?json=1" + query.replace("?", "&"), headers).json()
    return j["files"][0]["url"].split(str(port), 1)[1]


def test_jwt_cookie_example(library, tmp_path):
    binary = EXAMPLES / "jwt_cookie"
    assert binary.exists(), f"{binary} was not built"
    secret = "site-secret"
    proc, port = start(binary, library.root, tmp_path, SITE_SECRET=secret)
    try:
        premium = J.hs256(secret, J.claims("alice", plan="premium"))
        basic = J.hs256(secret, J.claims("bob", plan="basic"))
        assert H.get(port, "/").status == 401
        assert H.get(port, "/", {"Cookie": f"theme=dark; session={basic}"}).status == 403
        assert H.get(port, "/", {"Cookie": "session=" + J.hs256("wrong", J.claims(plan="premium"))}).status == 401
        cookie = {"Cookie": f"theme=dark; session={premium}"}
        assert H.get(port, "/", cookie).status == 200
        url = first_file(port, cookie)
        r = H.get(port, url, {**cookie, "Range": "bytes=0-9"})
        assert r.status == 206 and len(r.body) == 10
        # the token works in the path too, as BitTorrent clients send it
        assert H.get(port, "/?token=" + premium).status == 200
    finally:
        stop(proc)


def test_session_lookup_example(library, tmp_path):
    binary = EXAMPLES / "session_lookup"
    assert binary.exists(), f"{binary} was not built"
    db = tmp_path / "sessions.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE sessions(id TEXT PRIMARY KEY, user_id TEXT)")
        c.execute("INSERT INTO sessions VALUES('s-123', 'alice')")
    proc, port = start(binary, library.root, tmp_path, SESSIONS_DB=str(db))
    try:
        assert H.get(port, "/").status == 401
        assert H.get(port, "/", {"X-Session": "s-999"}).status == 401
        assert H.get(port, "/", {"X-Session": "s-123"}).status == 200
        assert H.get(port, "/?session=s-123").status == 200
        url = first_file(port, {"X-Session": "s-123"})
        assert H.get(port, url, {"X-Session": "s-123", "Range": "bytes=0-0"}).status == 206
        assert H.get(port, url).status == 401
    finally:
        stop(proc)
