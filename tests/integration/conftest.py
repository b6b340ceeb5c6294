"""pytest fixtures for the seedcast integration suite.

Run: /usr/bin/python3 -m pytest tests/integration -q
Binary: $SEEDCAST_BIN or <repo>/build/seedcast.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import seedcast_harness as H  # noqa: E402

EXPECTED_TORRENTS = 2  # clip.mp4 + "My Show ünï"; hidden entries are skipped


@dataclass
class Library:
    root: Path
    spec: dict  # {torrent name: {relpath: bytes}}

    def data(self, tname: str, rel: str | None = None) -> bytes:
        return self.spec[tname][rel if rel is not None else tname]

    def path(self, tname: str, rel: str | None = None) -> Path:
        return H.source_path(self.root, tname, rel if rel is not None else tname)

    def files(self, tname: str) -> dict:
        return self.spec[tname]

    def downloaded(self, tname: str) -> dict:
        """What a BitTorrent client saves of torrent `tname`: {path below its folder: bytes}."""
        if tname == H.SINGLE_NAME:
            return {tname: self.spec[tname][tname]}
        return {f"{tname}/{k}": v for k, v in self.spec[tname].items()}


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Library:
    """Read-only library shared by a test module."""
    root = tmp_path_factory.mktemp("library")
    return Library(root, H.build_library(root))


@pytest.fixture
def fresh_library(tmp_path) -> Library:
    """A library private to one test (tests that modify files use this)."""
    root = tmp_path / "library"
    return Library(root, H.build_library(root))


@pytest.fixture
def server_factory(tmp_path):
    """make(library_root, data_dir=None, expected=2, **env) -> Server (not started).
    Every server made here is stopped (SIGTERM) at teardown."""
    made = []

    def make(library_root, data_dir=None, expected=EXPECTED_TORRENTS, **env):
        n = len(made)
        work = tmp_path / f"server{n}"
        srv = H.Server(library_root, data_dir or (work / "data"), work,
                       expected_torrents=expected, **env)
        made.append(srv)
        return srv

    yield make
    errors = []
    for srv in made:
        try:
            srv.stop()
        except AssertionError as e:  # report, but stop the others first
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors))


@pytest.fixture(scope="module")
def shared_server(library, tmp_path_factory):
    """One running server over the module's library, indexed, for read-only tests."""
    work = tmp_path_factory.mktemp("shared-server")
    srv = H.Server(library.root, work / "data", work, expected_torrents=EXPECTED_TORRENTS)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def catalog(shared_server) -> dict:
    """{torrent name: JSON listing} of the shared server."""
    cat = shared_server.catalog()
    assert set(cat) == {H.SINGLE_NAME, H.MULTI_NAME}, \
        f"catalog names {sorted(cat)} != expected {[H.SINGLE_NAME, H.MULTI_NAME]}"
    return cat


@pytest.fixture(scope="module")
def single_ih(catalog) -> str:
    return catalog[H.SINGLE_NAME]["infoHash"].lower()


@pytest.fixture(scope="module")
def multi_ih(catalog) -> str:
    return catalog[H.MULTI_NAME]["infoHash"].lower()


# ---- attach server logs to failure reports -------------------------------------------

def pytest_runtest_setup(item):
    item._seedcast_first_server = len(H.ACTIVE_SERVERS)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        first = getattr(item, "_seedcast_first_server", 0)
        servers = [s for i, s in enumerate(H.ACTIVE_SERVERS) if i >= first or s.alive()]
        for i, srv in enumerate(servers[-3:]):
            state = "running" if srv.alive() else \
                f"NOT running (exit status {srv.proc.returncode if srv.proc else srv.last_returncode})"
            rep.sections.append((f"seedcast server {i} (port {srv.port}, {state}) logs",
                                 srv.logs(40)))
