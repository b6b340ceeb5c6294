"""Shared helpers for the seedcast integration tests (standard library only).

- build_library(): the reference library (one single-file and one multi-file torrent)
- Server: start/stop `seedcast serve` with environment configuration, wait for
  PORT_FILE and /healthz with deadlines, keep stdout/stderr for failure messages
- request()/raw_exchange(): HTTP over http.client (UTF-8 request lines allowed)
  or raw bytes over a socket
- discover(): info-hashes from the HTML index, JSON listings keyed by torrent name
- parse_multipart(), piece verification against the source files
"""
from __future__ import annotations

import contextlib
import hashlib
import html
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import time
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SEEDCAST_BIN = Path(os.environ.get("SEEDCAST_BIN", str(REPO / "build" / "seedcast")))
SYSTEM_PYTHON = "/usr/bin/python3"  # has python3-libtorrent; the pyenv python3 does not

# --------------------------------------------------------------------------------------
# Library
# --------------------------------------------------------------------------------------

SINGLE_NAME = "clip.mp4"
MULTI_NAME = unicodedata.normalize("NFC", "My Show ünï")
EPISODE = unicodedata.normalize("NFC", "Season 1/Épisode 01.mp4")
SPACE_FILE = "Season 1/with space & sign+plus.mkv"
NOTES = "extras/deep/nested/notes.txt"
EMPTY = "empty.dat"
POSTER = "poster.jpg"
# fixed, old mtime for every generated file: any later write changes mtime at any granularity
BASE_MTIME = 1_600_000_000


def _rand(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


def library_spec() -> dict:
    """{torrent name: {relative path: bytes}}; single-file torrents use {name: bytes}."""
    notes = ("seedcast integration notes\n" * 200).encode()
    poster = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + _rand(5, 4000) + b"\xff\xd9"
    return {
        SINGLE_NAME: {SINGLE_NAME: _rand(1, 3 * 1024 * 1024 + 12345)},
        MULTI_NAME: {
            EPISODE: _rand(2, 2 * 1024 * 1024 + 4321),
            SPACE_FILE: _rand(3, 300_001),
            NOTES: notes,
            EMPTY: b"",
            POSTER: poster,
        },
    }


def build_library(root: Path) -> dict:
    """Write the library below root and return library_spec(). Also writes hidden
    entries (.hidden.mp4, .secret/) that must not become torrents."""
    root.mkdir(parents=True, exist_ok=True)
    spec = library_spec()
    for tname, files in spec.items():
        for rel, data in files.items():
            p = root / rel if tname == rel else root / tname / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            os.utime(p, (BASE_MTIME, BASE_MTIME))
    (root / ".hidden.mp4").write_bytes(_rand(9, 1000))
    (root / ".secret").mkdir(exist_ok=True)
    (root / ".secret" / "x.bin").write_bytes(_rand(10, 1000))
    return spec


def source_path(root: Path, tname: str, rel: str) -> Path:
    return root / tname if tname == rel else root / tname / rel


# --------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------


class _Conn(http.client.HTTPConnection):
    """http.client that lets the test send any (UTF-8 / raw-byte) request target."""

    def _encode_request(self, request):  # noqa: D401 - overrides private helper
        return request.encode("utf-8", "surrogateescape")

    def _validate_path(self, url):
        pass


@dataclass
class Resp:
    status: int
    reason: str
    headers: Message
    body: bytes
    version: int = 11

    def h(self, name: str, default=None):
        return self.headers.get(name, default)

    def all(self, name: str) -> list:
        return self.headers.get_all(name) or []

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def describe(self) -> str:
        hdrs = "".join(f"  {k}: {v}\n" for k, v in self.headers.items())
        body = self.body[:300]
        return f"{self.status} {self.reason}\n{hdrs}  body[:300]={body!r}"


def path_to_target(path) -> str:
    if isinstance(path, bytes):
        return path.decode("utf-8", "surrogateescape")
    return path


def request(port: int, method: str, path, headers: dict | None = None, body: bytes | None = None,
            timeout: float = 15.0, host: str = "127.0.0.1") -> Resp:
    conn = _Conn(host, port, timeout=timeout)
    try:
        hdrs = headers or {}
        skip_host = any(k.lower() == "host" for k in hdrs)
        conn.putrequest(method, path_to_target(path), skip_host=skip_host,
                        skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, r.reason, r.msg, data, r.version)
    finally:
        conn.close()


def get(port, path, headers=None, **kw) -> Resp:
    return request(port, "GET", path, headers, **kw)


def head(port, path, headers=None, **kw) -> Resp:
    return request(port, "HEAD", path, headers, **kw)


def raw_exchange_ex(port: int, data: bytes, timeout: float = 10.0):
    """Send raw bytes, read until the server closes or `timeout` passes.
    Returns (bytes read, how) with how in {"eof", "reset", "timeout"}."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    how = "timeout"
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                how = "reset"
                break
            if not chunk:
                how = "eof"
                break
            out += chunk
    finally:
        s.close()
    return out, how


def raw_exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    return raw_exchange_ex(port, data, timeout)[0]


def parse_raw_response(data: bytes):
    """(status, headers dict lower-case -> value, body bytes) of the first response."""
    if b"\r\n\r\n" not in data:
        raise AssertionError(f"no complete HTTP response head in {data[:500]!r}")
    head_, body = data.split(b"\r\n\r\n", 1)
    lines = head_.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    if not m:
        raise AssertionError(f"bad status line {lines[0]!r}")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(m.group(1)), hdrs, body


def quote_seg(seg: str) -> str:
    return urllib.parse.quote(seg, safe="")


def quote_path(rel: str) -> str:
    return "/".join(quote_seg(s) for s in rel.split("/"))


def file_url_path(ih: str, rel: str) -> str:
    return f"/file/{ih}/{quote_path(rel)}"


# --------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------

# settings seedcast reads from the environment: never inherit them from the caller
_SERVER_ENV_KEYS = ("HOST", "PORT", "listenPort", "LIBRARY", "DATA_DIR", "PORT_FILE",
                    "RESCAN_INTERVAL", "LOG_LEVEL", "PUBLIC_URL", "BLACKLIST", "MAX_RANGES",
                    "IDLE_TIMEOUT", "HEADER_TIMEOUT", "THREADS", "HASH_THREADS", "PIECE_SIZE",
                    "SECRET", "JWT_PUBLIC_KEY", "AUTH_WEBHOOK", "AUTH_WEBHOOK_TTL", "ANNOUNCE_INTERVAL",
                    "signal1", "signal2", "SIGNAL1", "SIGNAL2", "WEB_DIR", "PEER_PORT", "RTC_PORT",
                    "RTC_ADDRESSES", "RTC_MAX_PEERS", "RTC_PENDING_PER_ADDRESS", "RTC_PENDING_PER_TORRENT",
                    "RTC_HANDSHAKE_TIMEOUT",
                    "ACCESS_TOKEN", "METADATA_TIMEOUT", "PIECE_TIMEOUT", "GATEWAY_LIFETIME",
                    "CACHE_MAX_BYTES", "DHT", "OPEN_GATEWAY", "accessToken", "SEED_MAX_CHANNELS",
                    "ALLOWED_DOMAINS", "ALLOWED_DOMAINS_FILE", "ALLOW_PRIVATE_ORIGINS",
                    "ORIGIN_MAX_BYTES", "ORIGIN_TIMEOUT", "ORIGIN_REVALIDATE",
                    "SEED_SLOTS", "WEBSEED_DEFER", "SEED_COPIES", "SEED_STARVE_MS", "SEED_URGENT_PIECES",
                    "SEED_BITRATE", "SEED_LEAD_MS", "WORKERS", "workers", "CHANNEL_WORKERS", "SEED_HOT",
                    "SHUTDOWN_TIMEOUT")

# servers started by the current test (conftest attaches their logs to failure reports)
ACTIVE_SERVERS: list = []


def _tail(path: Path, n: int = 60) -> str:
    try:
        lines = path.read_bytes().decode("utf-8", "replace").splitlines()
    except FileNotFoundError:
        return "(no output file)"
    return "\n".join(lines[-n:])


class Server:
    """One `seedcast serve` process. Use `with srv.running(): ...` (restartable).
    env: settings as environment variables (over the harness's defaults). dotenv: settings
    written to `<workdir>/.env`, which the server reads (its working directory); they are kept
    out of the environment, which would win over the file. args: more command-line arguments
    after `serve`."""

    def __init__(self, library: Path, data_dir: Path, workdir: Path, expected_torrents=None,
                 dotenv: dict | None = None, args=(), **env):
        self.library = Path(library)
        self.data_dir = Path(data_dir)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.expected_torrents = expected_torrents
        self.env_overrides = {k: str(v) for k, v in env.items() if v is not None}
        self.dotenv_keys = set(dotenv or {})
        self.args = [str(a) for a in args]
        if dotenv is not None:
            self.write_dotenv("".join(f"{k}={v}\n" for k, v in dotenv.items()))
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.runs = 0
        self.last_returncode = None
        self.log_paths: list = []

    # -- diagnostics ---------------------------------------------------------------
    def logs(self, n: int = 60) -> str:
        parts = []
        for p in self.log_paths[-4:]:
            parts.append(f"--- {p.name} (last {n} lines) ---\n{_tail(p, n)}")
        return "\n".join(parts) if parts else "(server never started)"

    def fail(self, msg: str):
        raise AssertionError(f"{msg}\n{self.logs()}")

    def stderr(self) -> str:
        """What the current (or last) run wrote to stderr: the log."""
        if not self.log_paths:
            return ""
        return self.log_paths[-1].read_bytes().decode("utf-8", "replace")

    def wait_log(self, pattern: str, timeout: float = 30.0, after: int = 0) -> re.Match:
        """The first match of regex `pattern` in the log from offset `after` on."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.compile(pattern).search(self.stderr(), after)
            if m:
                return m
            if time.monotonic() > deadline:
                self.fail(f"the log has no {pattern!r} after {timeout} s")
            time.sleep(0.05)

    def write_dotenv(self, text: str):
        """Writes `<workdir>/.env` (e.g. before a SIGHUP)."""
        tmp = self.workdir / ".env.tmp"
        tmp.write_text(text)
        tmp.replace(self.workdir / ".env")

    def signal(self, sig):
        assert self.alive(), "the server is not running"
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float) -> int:
        """Waits for the process to end on its own (after a signal the test sent); returns its
        exit status. Fails (and kills it) when it is still running after `timeout` s."""
        proc, self.proc = self.proc, None
        assert proc is not None, "the server is not running"
        if not self._ended(proc, timeout):
            self.fail(f"seedcast still ran {timeout} s after the signal")
        return proc.returncode

    def _ended(self, proc, timeout: float) -> bool:
        """Whether `proc` ends within `timeout` s; if not, it is killed. Keeps its status."""
        ended = True
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            ended = False
        self.last_returncode = proc.returncode
        return ended

    # -- lifecycle -----------------------------------------------------------------
    def start(self, wait_ready: bool = True, timeout: float = 30.0):
        if not SEEDCAST_BIN.exists():
            raise AssertionError(f"seedcast binary not found at {SEEDCAST_BIN} "
                                 f"(set SEEDCAST_BIN or build it)")
        assert self.proc is None, "server already running"
        self.runs += 1
        port_file = self.workdir / "port"
        with contextlib.suppress(FileNotFoundError):
            port_file.unlink()
        env = {k: v for k, v in os.environ.items() if k not in _SERVER_ENV_KEYS}
        env.update(HOST="127.0.0.1", PORT="0", LIBRARY=str(self.library),
                   DATA_DIR=str(self.data_dir), PORT_FILE=str(port_file),
                   RESCAN_INTERVAL="1", LOG_LEVEL="debug", PEER_PORT="0", RTC_PORT="0",
                   # an unknown info-hash is a 404 unless a test turns the open gateway on
                   OPEN_GATEWAY="0",
                   # stop() waits 15 s: a connection a test left open must not hold the exit
                   SHUTDOWN_TIMEOUT="5")
        env.update(self.env_overrides)
        for k in self.dotenv_keys:
            env.pop(k, None)
        out = self.workdir / f"stdout.{self.runs}.log"
        err = self.workdir / f"stderr.{self.runs}.log"
        self.log_paths += [out, err]
        with open(out, "wb") as fo, open(err, "wb") as fe:
            self.proc = subprocess.Popen([str(SEEDCAST_BIN), "serve", *self.args], env=env, stdout=fo,
                                         stderr=fe, stdin=subprocess.DEVNULL, cwd=self.workdir)
        ACTIVE_SERVERS.append(self)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                self.fail(f"seedcast exited with code {rc} before writing PORT_FILE")
            try:
                txt = port_file.read_text()
            except FileNotFoundError:
                txt = ""
            if re.fullmatch(r"\d+\n", txt):
                self.port = int(txt)
                break
            if time.monotonic() > deadline:
                self.fail(f"PORT_FILE {port_file} not written as '<digits>\\n' within 15 s "
                          f"(content: {txt!r})")
            time.sleep(0.05)
        assert 0 < self.port < 65536
        if wait_ready:
            self.wait_indexed(timeout=timeout)
        return self

    def stop(self, check: bool = True, timeout: float = 15.0):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is not None:
            self.last_returncode = proc.returncode
            if check:
                self.fail(f"seedcast exited on its own (status {proc.returncode}) while the "
                          f"test still needed it")
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            if not self._ended(proc, timeout):
                if check:
                    self.fail(f"seedcast did not exit within {timeout} s of SIGTERM")
                return
        self.last_returncode = proc.returncode
        if check and proc.returncode not in (0, -signal.SIGTERM, 128 + signal.SIGTERM):
            self.fail(f"seedcast exit status after SIGTERM: {proc.returncode} "
                      f"(expected 0 or terminated by SIGTERM)")

    @contextlib.contextmanager
    def running(self, wait_ready: bool = True, timeout: float = 30.0):
        self.start(wait_ready=wait_ready, timeout=timeout)
        try:
            yield self
        finally:
            self.stop()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- HTTP shortcuts --------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://{'[::1]' if self.host == '::1' else self.host}:{self.port}"

    @property
    def host(self) -> str:
        """The address tests reach the server on: 127.0.0.1, or ::1 when it listens there only."""
        return "::1" if self.env_overrides.get("HOST") == "::1" else "127.0.0.1"

    def req(self, method, path, headers=None, body=None, **kw) -> Resp:
        kw.setdefault("host", self.host)
        try:
            return request(self.port, method, path, headers, body, **kw)
        except ConnectionRefusedError:
            state = "still running" if self.alive() else \
                f"exited with status {self.proc.poll() if self.proc else self.last_returncode}"
            self.fail(f"{method} {path}: connection refused (seedcast process {state})")

    def get(self, path, headers=None, **kw) -> Resp:
        return self.req("GET", path, headers, **kw)

    def head(self, path, headers=None, **kw) -> Resp:
        return self.req("HEAD", path, headers, **kw)

    def healthz(self) -> dict:
        r = self.get("/healthz", timeout=10)
        if r.status != 200:
            self.fail(f"/healthz answered {r.describe()}")
        return r.json()

    def wait_health(self, pred, what: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while True:
            if not self.alive():
                self.fail(f"seedcast died while waiting for: {what}")
            try:
                last = self.healthz()
                if pred(last):
                    return last
            except (OSError, http.client.HTTPException, ValueError) as e:
                last = f"error {e!r}"
            if time.monotonic() > deadline:
                self.fail(f"timeout ({timeout} s) waiting for {what}; last /healthz: {last}")
            time.sleep(0.1)

    def wait_indexed(self, timeout: float = 30.0, torrents=None) -> dict:
        n = torrents if torrents is not None else self.expected_torrents

        def ok(h):
            return (h.get("status") == "ok" and h.get("indexing") is False
                    and (n is None or h.get("torrents") == n))
        return self.wait_health(ok, f"indexing done with torrents={n}", timeout)

    # -- catalog -------------------------------------------------------------------
    def info_hashes(self) -> list:
        r = self.get("/")
        if r.status != 200:
            self.fail(f"GET / answered {r.describe()}")
        return index_hashes(r.body)

    def catalog(self) -> dict:
        """{torrent name: JSON listing} for every torrent linked from the index."""
        cat = {}
        for ih in self.info_hashes():
            r = self.get(f"/file/{ih}?json=1")
            if r.status == 404:
                continue  # re-indexed away between the two requests
            if r.status != 200:
                self.fail(f"GET /file/{ih}?json=1 answered {r.describe()}")
            j = r.json()
            cat[j["name"]] = j
        return cat

    def ih(self, name: str) -> str:
        cat = self.catalog()
        if name not in cat:
            self.fail(f"torrent {name!r} not in catalog {sorted(cat)}")
        return cat[name]["infoHash"].lower()


def started_server(library, tmp_path_factory, name: str, expected_torrents=2, **env) -> Server:
    """A started server of `library` in a fresh folder named `name` (for module fixtures, which
    stop it at teardown)."""
    work = tmp_path_factory.mktemp(name)
    srv = Server(library, work / "data", work, expected_torrents=expected_torrents, **env)
    srv.start()
    return srv


# --------------------------------------------------------------------------------------
# Torrent helpers
# --------------------------------------------------------------------------------------


def bdecode(data: bytes):
    import libtorrent as lt
    d = lt.bdecode(data)
    if d is None:
        raise AssertionError(f"not bencoded: {data[:200]!r}")
    return d


def index_hashes(body: bytes) -> list:
    """The info-hashes linked from an index page (links may carry a token segment)."""
    found = re.findall(r"/file/(?:[^/\"]+/)?([0-9a-fA-F]{40})", body.decode("utf-8", "replace"))
    return sorted({h.lower() for h in found})


def mint_token(secret: str, user: str, ttl: str = "1h") -> str:
    """A token from `seedcast token`, signed with `secret` (HS256)."""
    out = subprocess.run([str(SEEDCAST_BIN), "token", "--user", user, "--ttl", ttl],
                         env={"SECRET": secret, "PATH": "/usr/bin:/bin"}, capture_output=True,
                         text=True, timeout=10)
    assert out.returncode == 0, f"seedcast token failed: {out.stderr}"
    return out.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def aria2c(torrent, out, timeout=60, peers=True):
    """aria2c downloads `torrent` into `out` (DHT, LPD and PEX off; with peers=True it listens
    on a free port for BitTorrent peers). Returns the CompletedProcess."""
    args = ["aria2c", "-q", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
            "--enable-peer-exchange=false", "--seed-time=0", "-d", str(out)]
    if peers:
        args += [f"--listen-port={free_port()}", f"--bt-stop-timeout={max(10, timeout - 15)}"]
    return subprocess.run(args + [str(torrent)], timeout=timeout, capture_output=True, text=True)


def bencode(value) -> bytes:
    import libtorrent as lt
    return lt.bencode(value)


def webseed_only(torrent: bytes) -> bytes:
    """The same .torrent without trackers: a client given it can only use the url-list."""
    meta = bdecode(torrent)
    for k in (b"announce", b"announce-list", "announce", "announce-list"):
        meta.pop(k, None)
    return bencode(meta)


def bkey(d: dict, key: str):
    """libtorrent.bdecode returns bytes keys; accept both."""
    if key.encode() in d:
        return d[key.encode()]
    return d.get(key)


def torrent_files(info: dict) -> list:
    """[(relpath, length)] in torrent order (relpath == name for single-file)."""
    name = bkey(info, "name").decode()
    files = bkey(info, "files")
    if files is None:
        return [(name, bkey(info, "length"))]
    out = []
    for f in files:
        parts = [p.decode() for p in bkey(f, "path")]
        out.append(("/".join(parts), bkey(f, "length")))
    return out


def verify_pieces(info: dict, read_file) -> None:
    """Check every v1 piece hash against the bytes read_file(relpath) returns."""
    plen = bkey(info, "piece length")
    pieces = bkey(info, "pieces")
    assert len(pieces) % 20 == 0
    blob = b"".join(read_file(rel) for rel, _ in torrent_files(info))
    n = (len(blob) + plen - 1) // plen
    assert len(pieces) == 20 * n, f"{len(pieces)//20} piece hashes for {n} pieces"
    for i in range(n):
        h = hashlib.sha1(blob[i * plen:(i + 1) * plen]).digest()
        assert h == pieces[20 * i:20 * i + 20], f"piece {i} hash mismatch"


def parse_multipart(body: bytes, content_type: str) -> list:
    """[(headers dict lower-case, data)] of a multipart/byteranges body."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    assert m, f"no boundary in Content-Type {content_type!r}"
    delim = b"--" + m.group(1).encode()
    idx = body.find(delim)
    assert idx >= 0, "boundary not in body"
    rest = body[idx + len(delim):]
    parts = []
    while True:
        if rest.startswith(b"--"):
            break  # closing delimiter
        assert rest.startswith(b"\r\n"), f"bad part start {rest[:40]!r}"
        end = rest.find(b"\r\n" + delim)
        assert end >= 0, "multipart body lacks a delimiter after a part"
        head_, sep, data = rest[2:end].partition(b"\r\n\r\n")
        assert sep, "part without header terminator"
        hdrs = {}
        for line in head_.decode("latin-1").split("\r\n"):
            if line:
                k, _, v = line.partition(":")
                hdrs[k.strip().lower()] = v.strip()
        parts.append((hdrs, data))
        rest = rest[end + 2 + len(delim):]
    return parts


def html_links(body: bytes) -> list:
    return [html.unescape(h) for h in
            re.findall(r'href\s*=\s*"([^"]*)"', body.decode("utf-8", "replace"), re.I)]


def read_tree(root: Path) -> dict:
    """{relative posix path: bytes} of all regular files below root."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def parse_raw_responses(data: bytes, head_only=()) -> list:
    """Split a byte stream of several (Content-Length framed) responses.
    head_only: indexes of responses to HEAD requests (no body). Returns
    [(status, headers, body)]; raises if the stream is truncated."""
    out = []
    i = 0
    while data:
        st, hdrs, rest = parse_raw_response(data)
        if i in head_only or st in (204, 304):
            n = 0
        else:
            assert "content-length" in hdrs, f"response {i} has no Content-Length: {hdrs}"
            n = int(hdrs["content-length"])
        assert len(rest) >= n, f"response {i} truncated: {len(rest)} of {n} body bytes"
        out.append((st, hdrs, rest[:n]))
        data = rest[n:]
        i += 1
    return out
