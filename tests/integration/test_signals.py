"""The process's life: SIGTERM/SIGQUIT/SIGINT stop gracefully (no new connections, responses
in flight finish, idle connections and WebSockets close, exit 0 — or cut when SHUTDOWN_TIMEOUT
passes, or at once on a second signal); SIGHUP reads the settings again; the systemd unit in
packaging/systemd is valid. Time only bounds waits here, it never decides a result."""
from __future__ import annotations

import configparser
import http.server
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

import seedcast_harness as H

BIG = "big.bin"
BIG_SIZE = 32 * 1024 * 1024  # well over the socket buffers (server send ≤ 4 MiB, client 64 KiB)
HEAD_READ = 1024 * 1024      # what the client reads before the signal


@pytest.fixture(scope="module")
def big_library(tmp_path_factory):
    root = tmp_path_factory.mktemp("big-library")
    data = os.urandom(BIG_SIZE)
    (root / BIG).write_bytes(data)
    return root, data


def start_download(port: int, path: str):
    """GET `path` on a socket with a small receive buffer, read the head and the first bytes
    of the body; the rest stays in flight. Returns (socket, head fields, body so far, length)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, f"closed before the response head: {buf!r}"
        buf += chunk
    status, fields, body = H.parse_raw_response(buf)
    assert status == 200, (status, fields)
    length = int(fields["content-length"])
    while len(body) < HEAD_READ:
        chunk = s.recv(65536)
        assert chunk, "closed early"
        body += chunk
    return s, fields, body, length


def read_rest(s: socket.socket, body: bytes, length: int, rate: float | None) -> tuple:
    """Reads up to `length` body bytes (at about `rate` bytes/s when given), then what follows.
    Returns (body, how the connection ended after it: "eof", "reset", "timeout" or "more")."""
    start, start_len = time.monotonic(), len(body)
    while len(body) < length:
        try:
            chunk = s.recv(min(65536, length - len(body)))
        except ConnectionResetError:
            return body, "reset"
        if not chunk:
            return body, "eof"
        body += chunk
        if rate:
            ahead = (len(body) - start_len) / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    try:
        after = s.recv(1)
    except ConnectionResetError:
        return body, "reset"
    except socket.timeout:
        return body, "timeout"
    return body, "eof" if not after else "more"


def wait_refused(port: int, timeout: float = 20.0):
    """Connects until the connection is refused (the server closed its listening sockets)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            c.close()  # accepted just before the listener closed (the server closes it)
        except ConnectionRefusedError:
            return
        except ConnectionResetError:
            pass  # in the backlog of a listener that closed: reset
        assert time.monotonic() < deadline, f"port {port} still accepts {timeout} s after the signal"
        time.sleep(0.05)


def assert_refused(port: int):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def big_server(server_factory, big_library, **env):
    root, _ = big_library
    srv = server_factory(root, expected=1, **env)
    srv.start()
    return srv, H.file_url_path(srv.ih(BIG), BIG)


# ---- graceful stop ---------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGQUIT, signal.SIGINT])
def test_stop_lets_a_download_in_flight_finish(server_factory, big_library, sig):
    """A slow download is in flight when the signal comes: new connections are refused at
    once, the download completes with the library's bytes, then the connection closes and the
    process exits 0 before SHUTDOWN_TIMEOUT."""
    grace = 120
    srv, path = big_server(server_factory, big_library, SHUTDOWN_TIMEOUT=grace)
    s, fields, body, length = start_download(srv.port, path)
    try:
        assert length == BIG_SIZE and fields.get("connection", "").lower() != "close", fields
        signalled = time.monotonic()
        srv.signal(sig)
        wait_refused(srv.port)
        assert srv.alive(), "exited with a response in flight"
        assert_refused(srv.port)
        body, end = read_rest(s, body, length, rate=16 * 1024 * 1024)
    finally:
        s.close()
    assert len(body) == length and body == big_library[1], f"{len(body)} of {length} bytes"
    assert end == "eof", f"after the body: {end} (expected the server to close)"
    assert srv.wait_exit(timeout=60) == 0
    assert time.monotonic() - signalled < grace
    log = srv.stderr()
    assert "stopping gracefully" in log and "every connection has ended" in log, log[-2000:]


def test_stop_closes_idle_keepalive_and_websocket_at_once(server_factory, library):
    """An idle keep-alive connection is closed and a WebSocket gets a close frame 1001 (going
    away); nothing is left in flight, so the process exits without waiting for the grace."""
    import websocket
    from websocket import ABNF

    srv = server_factory(library.root, SHUTDOWN_TIMEOUT=300)
    srv.start()
    idle = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got:
        got += idle.recv(65536)
    _, fields, body = H.parse_raw_response(got)
    while len(body) < int(fields["content-length"]):
        body += idle.recv(65536)
    assert fields.get("connection", "").lower() != "close", fields
    ws = websocket.create_connection(f"ws://127.0.0.1:{srv.port}/announce", timeout=30)
    try:
        srv.signal(signal.SIGTERM)
        op, frame = ws.recv_data_frame(control_frame=True)  # the client answers with its close
        assert op == ABNF.OPCODE_CLOSE and frame.data[:2] == (1001).to_bytes(2, "big"), (op, frame.data)
        assert ws.sock.recv(1) == b"", "no end of stream after the close frame"
        ws.shutdown()  # as a browser does once both close frames are through
        assert idle.recv(1) == b"", "the idle connection got bytes instead of its close"
        assert srv.wait_exit(timeout=60) == 0  # far less than SHUTDOWN_TIMEOUT=300
    finally:
        ws.close()
        idle.close()
    assert "every connection has ended" in srv.stderr()


def test_grace_expiry_cuts_a_client_that_never_reads(server_factory, big_library):
    """SHUTDOWN_TIMEOUT=2 and a client that stops reading: the process still exits (0), and the
    client's body stops short."""
    srv, path = big_server(server_factory, big_library, SHUTDOWN_TIMEOUT=2)
    s, _, body, length = start_download(srv.port, path)
    try:
        srv.signal(signal.SIGTERM)
        assert srv.wait_exit(timeout=60) == 0
        body, end = read_rest(s, body, length, rate=None)
    finally:
        s.close()
    assert len(body) < length and end in ("eof", "reset"), (len(body), end)
    assert re.search(r"2 s passed with 1 connections open", srv.stderr()), srv.stderr()[-2000:]


def test_second_signal_stops_at_once(server_factory, big_library):
    srv, path = big_server(server_factory, big_library, SHUTDOWN_TIMEOUT=600)
    s, _, body, length = start_download(srv.port, path)
    try:
        srv.signal(signal.SIGTERM)
        wait_refused(srv.port)
        assert srv.alive()
        srv.signal(signal.SIGTERM)
        assert srv.wait_exit(timeout=60) == 0
    finally:
        s.close()
    assert "stopping now" in srv.stderr()


# ---- SIGHUP ----------------------------------------------------------------------------------


class Origin:
    """A loopback HTTP origin serving one file, for URL torrents."""

    def __init__(self, root: Path):
        (root / "v.mp4").write_bytes(os.urandom(100_000))
        handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(root), **kw)  # noqa: E731
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v.mp4"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_sighup_reloads_settings(server_factory, library, tmp_path):
    """SIGHUP reads .env again: LOG_LEVEL, the blacklist, ALLOWED_DOMAINS and ACCESS_TOKEN
    change at once, a setting that needs a restart is logged as such, and a .env with a bad
    value changes nothing (the server keeps serving)."""
    origin = Origin(tmp_path)
    blacklist = tmp_path / "blacklist.txt"
    blacklist.write_text("# nothing yet\n")
    settings = dict(LOG_LEVEL="info", BLACKLIST=blacklist, ACCESS_TOKEN="old-token", IDLE_TIMEOUT=60)
    # RESCAN_INTERVAL=0: no scan but the first re-reads the blacklist, unless something asks
    srv = server_factory(library.root, dotenv=settings, RESCAN_INTERVAL=0, ALLOW_PRIVATE_ORIGINS=1)
    srv.start()
    try:
        ih = srv.ih(H.SINGLE_NAME)
        listing = f"/file/{ih}?json=1"
        url_torrent = "/torrent/url/" + origin.url

        def admin(token):
            return srv.get("/api/torrents", {"X-Access-Token": token}).status

        def debug_logged():
            """Whether a request made now gets an access-log (debug) line after `mark`. The line
            is written (stderr, unbuffered) before the response, so it is there when this looks."""
            assert srv.get("/healthz?probe").status == 200
            return '"GET /healthz?…"' in srv.stderr()[mark:]

        blacklist.write_text(f"{ih}\n")
        assert srv.get(listing).status == 200  # nothing reads the file before SIGHUP
        assert srv.get(url_torrent).status == 403
        assert (admin("old-token"), admin("new-token")) == (200, 403)
        mark = len(srv.stderr())
        assert not debug_logged()

        srv.write_dotenv("".join(f"{k}={v}\n" for k, v in dict(
            settings, LOG_LEVEL="debug", ALLOWED_DOMAINS="127.0.0.1", ACCESS_TOKEN="new-token",
            IDLE_TIMEOUT=61).items()))
        mark = len(srv.stderr())
        srv.signal(signal.SIGHUP)
        srv.wait_log(r"reload: done", after=mark)
        log = srv.stderr()[mark:]
        assert "IDLE_TIMEOUT changed: takes effect at the next restart" in log, log
        for name in ("LOG_LEVEL", "ACCESS_TOKEN", "ALLOWED_DOMAINS"):
            assert f"{name} changed: applied" in log, log
        assert "new-token" not in log and "old-token" not in log  # never the token itself
        assert srv.get(listing).status == 451
        assert srv.get(url_torrent).status == 200
        assert (admin("old-token"), admin("new-token")) == (403, 200)
        mark = len(srv.stderr())
        assert debug_logged()

        for bad in ("LOG_LEVEL=info\nACCESS_TOKEN=third\nMAX_RANGES=lots\n",  # the loader refuses
                    "LOG_LEVEL=loud\nACCESS_TOKEN=third\n",                   # App::reload refuses
                    None):                                                    # .env gone
            if bad is None:
                (srv.workdir / ".env").unlink()
            else:
                srv.write_dotenv(bad)
            blacklist.write_text("")
            mark = len(srv.stderr())
            srv.signal(signal.SIGHUP)
            srv.wait_log(r"SIGHUP: .*nothing changed", after=mark)
            assert "reload: done" not in srv.stderr()[mark:]
            assert srv.get(listing).status == 451  # the blacklist was not read again
            assert (admin("third"), admin("new-token")) == (403, 200)
            assert srv.get(url_torrent).status == 200
            mark = len(srv.stderr())
            assert debug_logged()
        assert srv.alive()
    finally:
        origin.close()


# ---- systemd ---------------------------------------------------------------------------------

UNIT = H.REPO / "packaging" / "systemd" / "seedcast.service"


def unit_sections() -> configparser.ConfigParser:
    p = configparser.ConfigParser(strict=True, interpolation=None, delimiters=("=",))
    p.optionxform = str  # systemd keys are case-sensitive
    p.read_string(UNIT.read_text())
    return p


def test_systemd_unit_has_what_operations_need():
    u = unit_sections()
    svc = u["Service"]
    assert svc["Restart"] == "always" and int(svc["RestartSec"]) > 0
    assert svc["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert svc["KillSignal"] == "SIGTERM"
    # above SHUTDOWN_TIMEOUT's default, so that a graceful stop is never killed
    default_grace = int(re.search(r"int shutdown_timeout = (\d+);",
                                  (H.REPO / "src/seedcast/core/config.hpp").read_text()).group(1))
    assert int(svc["TimeoutStopSec"]) > default_grace
    assert int(svc["LimitNOFILE"]) >= 65536
    assert svc["User"] and svc["User"] != "root"
    assert svc["NoNewPrivileges"] == "yes" and svc["ProtectSystem"] == "strict"
    assert svc["WorkingDirectory"] in svc["ReadWritePaths"].split()
    assert "EnvironmentFile" in svc and u["Install"]["WantedBy"] == "multi-user.target"
    argv = shlex.split(svc["ExecStart"])
    assert argv[1] == "serve", argv


def test_systemd_unit_verifies(tmp_path):
    """systemd-analyze verify (it needs no running systemd) on the unit, its ExecStart pointed
    at the binary under test: no error and no warning."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze missing (scripts/setup --for test installs systemd)")
        pytest.skip("systemd-analyze missing")
    argv = shlex.split(unit_sections()["Service"]["ExecStart"])
    unit = tmp_path / "seedcast.service"
    unit.write_text(UNIT.read_text().replace(argv[0], str(H.SEEDCAST_BIN)))
    r = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr


def test_systemd_exec_start_runs(server_factory, library, tmp_path):
    """The unit's ExecStart arguments start the server (with the env file it names, moved
    under tmp_path), and its KillSignal stops it with status 0."""
    argv = shlex.split(unit_sections()["Service"]["ExecStart"])
    env_file = tmp_path / "seedcast.env"
    env_file.write_text("ACCESS_TOKEN=from-the-env-file\n")
    args = [str(env_file) if a.endswith(".env") and a.startswith("/") else a for a in argv[2:]]
    assert str(env_file) in args, argv
    srv = server_factory(library.root, args=args)
    srv.start()
    assert srv.get("/api/torrents", {"X-Access-Token": "from-the-env-file"}).status == 200
    srv.signal(getattr(signal, unit_sections()["Service"]["KillSignal"]))
    assert srv.wait_exit(timeout=60) == 0
