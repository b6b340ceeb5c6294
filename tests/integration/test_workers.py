"""The super peer with worker processes (WORKERS=N): the master starts `seedcast worker`
processes, hands them channels over their control sockets and restarts them when they die.
PEER_PORT=-1 turns the master's own BitTorrent engine off, so every byte a native client gets
over BitTorrent here comes from a worker process."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

import seedcast_harness as H
from test_gateway import info_hash, make_content, make_torrent, seeders  # noqa: F401 (seeders: a fixture)
from test_superpeer_api import TOKEN, api, b64, download_from_engine, error, ok, stats

FILES = {f"clip{i}.mp4": 1_000_000 + 333_333 * i for i in range(5)}  # five channels
BIG = "movie.mp4"


@pytest.fixture(scope="module")
def five(tmp_path_factory):
    """A library of five files (channels) plus a larger one for downloads under load."""
    root = tmp_path_factory.mktemp("five")
    data = {}
    for i, (name, size) in enumerate(sorted(FILES.items())):
        data[name] = os.urandom(size)
        (root / name).write_bytes(data[name])
    data[BIG] = os.urandom(24 * 1024 * 1024)
    (root / BIG).write_bytes(data[BIG])
    return root, data


def children(pid):
    """The live child processes of `pid` (the workers of a master), from /proc."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            out.append(int(d.name))
    return sorted(out)


def cmdline(pid):
    return (Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"))


def announce_peers(srv, ih):
    """An HTTP announce (compact) for `ih` as a leecher; the peers it gets as (ip, port)."""
    ihq = "".join(f"%{b:02x}" for b in bytes.fromhex(ih))
    r = srv.get(f"/announce?info_hash={ihq}&peer_id=-XX0001-abcdefghijkl&port=6999&left=1&compact=1")
    assert r.status == 200 and b"failure reason" not in r.body, r.describe()
    raw = H.bkey(H.bdecode(r.body), "peers")
    return [(".".join(str(b) for b in raw[i:i + 4]), int.from_bytes(raw[i + 4:i + 6], "big"))
            for i in range(0, len(raw), 6)]


def wait_stats(srv, pred, what, timeout=60):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = stats(srv)
        if pred(last):
            return last
        time.sleep(0.2)
    srv.fail(f"timeout waiting for {what}; last /stats: {json.dumps(last)[:3000]}")


def running(n, channels=0):
    """/stats predicate: n workers running, each reporting its port, `channels` channels seeded."""
    def pred(s):
        ws = s["workers"]
        return (len(ws) == n and all(w["state"] == "running" and w["peerPort"] > 0 for w in ws)
                and len(s["channels"]) == channels and all(c["state"] == "seeding" for c in s["channels"]))
    return pred


def server(factory, root, **env):
    env = {"ACCESS_TOKEN": TOKEN, "PEER_PORT": -1, "WORKERS": 2, **env}
    return factory(root, expected=len(FILES) + 1, **env)


def seed_all(srv, names):
    body = {"list": [{"channel": b64(srv.ih(n)), "label": n} for n in names]}
    return ok(api(srv, "POST", "/seed", body))


def test_five_channels_across_two_workers_and_a_client_downloads(five, server_factory, tmp_path):
    root, data = five
    srv = server(server_factory, root, CHANNEL_WORKERS=1)
    with srv.running():
        master = srv.proc.pid
        s = wait_stats(srv, running(2), "two workers running")
        pids = sorted(w["pid"] for w in s["workers"])
        assert pids == children(master) and master not in pids
        for p in pids:  # real worker processes of this binary
            assert cmdline(p)[1] == b"worker", cmdline(p)
        assert ok(api(srv, "POST", "/ping", {})) == {"workers": 2}

        names = sorted(FILES)
        seed_all(srv, names)
        s = wait_stats(srv, running(2, 5), "five channels seeding")
        # CHANNEL_WORKERS=1: every channel on exactly one worker, spread over both
        per = {w["pid"]: sorted(c["label"] for c in w["channels"]) for w in s["workers"]}
        assert sorted(len(v) for v in per.values()) == [2, 3], per
        assert sorted(sum(per.values(), [])) == names
        for c in s["channels"]:
            assert len(c["workers"]) == 1 and c["workers"][0] in pids, c

        # a native client with no webseed: only the worker seeding that channel can serve it
        name = names[4]
        ih = srv.ih(name)
        got = download_from_engine(srv, ih, tmp_path)
        assert got == {name: data[name]}
        owner = next(c["workers"][0] for c in s["channels"] if c["infoHash"] == ih)
        w = wait_stats(srv, lambda s: any(x["pid"] == owner and x["uploadedBytes"] >= len(data[name])
                                          for x in s["workers"]), "the worker's upload counted")
        assert ok(api(srv, "GET", f"/stats/{owner}"))["uploadedBytes"] >= len(data[name])
        h = srv.healthz()["workers"]  # the workers' seeds, summed
        assert h["running"] == 2 and h["uploaded"] >= len(data[name]), h
        c = ok(api(srv, "GET", "/stats/" + b64(ih)))
        assert c["uploadedBytes"] >= len(data[name]) and c["workers"] == [owner]
        other = next(p for p in pids if p != owner)
        assert ok(api(srv, "GET", f"/stats/{other}"))["uploadedBytes"] == 0

        # the tracker lists the workers' ports: an announce for the channel gets its worker
        port = next(x["peerPort"] for x in w["workers"] if x["pid"] == owner)
        peers = announce_peers(srv, ih)
        assert ("127.0.0.1", port) in peers, peers


def test_stop_restart_and_ping_change_the_workers(five, server_factory):
    root, data = five
    srv = server(server_factory, root, CHANNEL_WORKERS=1)
    with srv.running():
        master = srv.proc.pid
        seed_all(srv, sorted(FILES)[:2])
        s = wait_stats(srv, running(2, 2), "two channels on two workers")
        a, b = (w["pid"] for w in s["workers"])
        # stop: the process ends, its channels move to the other worker
        w = ok(api(srv, "POST", f"/stop/{a}"))
        assert w["pid"] == a and w["state"] == "stopped"
        s = wait_stats(srv, lambda s: {x["pid"]: x["state"] for x in s["workers"]} == {a: "stopped", b: "running"}
                       and all(c["state"] == "seeding" and c["workers"] == [b] for c in s["channels"])
                       and len(s["channels"]) == 2, "the channels on the live worker")
        deadline = time.monotonic() + 10
        while a in children(master) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert children(master) == [b]
        error(api(srv, "POST", "/stop/999999999"), 404, "pid")
        # restart: a new process (new pid) in the same place
        w = ok(api(srv, "POST", f"/restart/{a}"))
        new = w["pid"]
        assert new != a and w["state"] in ("starting", "running") and w["restarts"] == 1
        wait_stats(srv, lambda s: running(2, 2)(s) and {x["pid"] for x in s["workers"]} == {new, b}
                   and sorted(len(x["channels"]) for x in s["workers"]) == [1, 1], "the restarted worker seeding")
        assert children(master) == sorted([new, b])
        # /ping forces the worker count
        assert ok(api(srv, "POST", "/ping", {"workers": 3})) == {"workers": 3}
        s = wait_stats(srv, running(3, 2), "three workers")
        assert len(children(master)) == 3
        # bandwidth: an even share for each live worker's engine, 24 Mbit/s / 3 = 1,000,000
        # bytes/s, which each worker reads back from libtorrent (KB/s in /stats)
        assert all(w["uploadLimit"] == 0 for w in s["workers"])
        assert ok(api(srv, "POST", "/ping", {"bandwidth": 24})) == {"workers": 3}
        wait_stats(srv, lambda s: [w["uploadLimit"] for w in s["workers"]] == [976.5] * 3,
                   "24 Mbit/s shared by three workers")
        assert ok(api(srv, "POST", "/ping", {"workers": 1, "bandwidth": 100})) == {"workers": 1}
        s = wait_stats(srv, lambda s: running(1, 2)(s) and all(len(c["workers"]) == 1 for c in s["channels"]),
                       "one worker with both channels")
        deadline = time.monotonic() + 10
        while len(children(master)) > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert children(master) == [s["workers"][0]["pid"]]
        wait_stats(srv, lambda s: [w["uploadLimit"] for w in s["workers"]] == [12207.0],
                   "all of 100 Mbit/s (12,500,000 bytes/s) for the one worker")
        # restart_all: every worker gets a new pid, and the new process its share
        before = {x["pid"] for x in s["workers"]}
        ws = ok(api(srv, "POST", "/restart_all"))["workers"]
        assert len(ws) == 1 and not before & {x["pid"] for x in ws}
        wait_stats(srv, lambda s: [(w["pid"], w["uploadLimit"]) for w in s["workers"]] == [(ws[0]["pid"], 12207.0)],
                   "the new worker capped too")


def test_kill_9_a_worker_under_download_load(five, server_factory, tmp_path):
    """A worker killed mid-download: a new one (new pid) takes its place within seconds and
    seeds its channels again; the BitTorrent download finishes from the other worker; the
    master's HTTP downloads of complete content never fail."""
    root, data = five
    srv = server(server_factory, root)  # CHANNEL_WORKERS=0: every worker seeds every channel
    with srv.running():
        master = srv.proc.pid
        seed_all(srv, [BIG, "clip0.mp4"])
        s = wait_stats(srv, running(2, 2), "both workers seeding both channels")
        assert all(sorted(c["workers"]) == sorted(x["pid"] for x in s["workers"]) for c in s["channels"])
        ih = srv.ih(BIG)

        failures, done = [], threading.Event()
        count = [0]

        def http_load():
            while not done.is_set():
                for name in ("clip0.mp4", BIG):
                    try:
                        r = srv.get(H.file_url_path(srv.ih(name), name), timeout=60)
                        if r.status != 200 or r.body != data[name]:
                            failures.append(f"{name}: {r.status}, {len(r.body)} bytes")
                    except Exception as e:  # noqa: BLE001 — any failure is the finding
                        failures.append(f"{name}: {e!r}")
                    count[0] += 1
        t = threading.Thread(target=http_load, daemon=True)
        t.start()

        meta = H.bdecode(srv.get(f"/torrent/{ih}.torrent").body)
        assert meta.pop(b"url-list", None) is not None
        tor = tmp_path / "big.torrent"
        tor.write_bytes(H.bencode(meta))
        out = tmp_path / "big"
        aria = subprocess.Popen(
            ["aria2c", "-q", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
             "--enable-peer-exchange=false", "--seed-time=0", "--max-download-limit=3M",
             f"--listen-port={H.free_port()}", "--bt-stop-timeout=60", "-d", str(out), str(tor)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            # kill the worker once the client is getting bytes from the workers
            wait_stats(srv, lambda s: sum(x["uploadedBytes"] for x in s["workers"]) > 2 * 1024 * 1024,
                       "the download under way")
            victim = s["workers"][0]["pid"]
            survivor = s["workers"][1]["pid"]
            os.kill(victim, signal.SIGKILL)
            s = wait_stats(srv, lambda s: running(2, 2)(s) and victim not in {x["pid"] for x in s["workers"]}
                           and all(len(x["channels"]) == 2 for x in s["workers"]),
                           "a new worker seeding the channels again", timeout=30)
            new = next(x for x in s["workers"] if x["pid"] != survivor)
            assert new["restarts"] == 1 and survivor in {x["pid"] for x in s["workers"]}
            assert sorted(children(master)) == sorted([new["pid"], survivor])
            rc = aria.wait(timeout=120)
        finally:
            if aria.poll() is None:
                aria.kill()
            done.set()
            t.join(timeout=90)
        assert rc == 0, aria.stdout.read()
        assert (out / BIG).read_bytes() == data[BIG]
        assert count[0] >= 2 and not failures, failures
        # the new worker serves too: a second client with only the BitTorrent swarm
        got = download_from_engine(srv, srv.ih("clip0.mp4"), tmp_path, "after")
        assert got == {"clip0.mp4": data["clip0.mp4"]}


def test_sigterm_stops_the_workers_and_the_master(five, server_factory):
    root, data = five
    srv = server(server_factory, root)
    srv.start()
    master = srv.proc.pid
    wait_stats(srv, running(2), "two workers")
    workers = children(master)
    assert len(workers) == 2
    srv.proc.send_signal(signal.SIGTERM)
    rc = srv.proc.wait(timeout=30)
    srv.proc = None
    assert rc == 0
    for p in workers:
        assert not Path(f"/proc/{p}").exists() or "Z" in Path(f"/proc/{p}/stat").read_text().split()[2]
    log = srv.logs(200)
    assert "superpeer: workers stopped" in log


def test_a_worker_outlives_no_master(five, server_factory):
    """kill -9 of the master: its workers see the control socket close and end themselves."""
    root, data = five
    srv = server(server_factory, root)
    srv.start()
    wait_stats(srv, running(2), "two workers")
    workers = children(srv.proc.pid)
    srv.proc.kill()
    srv.proc.wait(timeout=10)
    srv.proc = None
    deadline = time.monotonic() + 20
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [p for p in workers if Path(f"/proc/{p}").exists()
                 and Path(f"/proc/{p}/stat").read_text().split(") ")[1][0] != "Z"]
        time.sleep(0.1)
    assert not alive, f"workers still running: {alive}"


def test_dashboard_shows_both_workers_and_restart_gives_a_new_pid(five, server_factory):
    sys.path.insert(0, str(H.REPO / "tests" / "webtorrent"))
    import wt_harness as W
    W.require_chromium()
    root, data = five
    srv = server(server_factory, root, CHANNEL_WORKERS=1)
    with srv.running():
        seed_all(srv, sorted(FILES)[:2])
        assert ok(api(srv, "POST", "/ping", {"bandwidth": 16})) == {"workers": 2}
        before = wait_stats(srv, lambda s: running(2, 2)(s) and all(w["uploadLimit"] == 976.5 for w in s["workers"]),
                            "two workers seeding, each capped at 8 Mbit/s")
        res = W.run_node("ui_check.mjs", ["--url", f"{srv.base}/ui?token={TOKEN}&interval=500", "--channels", 2,
                                          "--workers", 2, "--timeout", 60], timeout=90)
        assert res.get("ok") and res.get("returncode") == 0, f"dashboard check failed:\n{json.dumps(res, indent=1)}"
        # the upload-rate cell shows the cap: 1,000,000 bytes/s
        assert all(w["cells"][13].endswith(" of 976.5 KB/s") for w in res["before"]["workers"]), res["before"]
        old = {w["pid"] for w in before["workers"]}
        after = {w["pid"] for w in res["after"]["workers"]}
        assert len(after) == 2 and len(after - old) == 1 and res["restarted"]["pid"] in after - old
        assert sorted(after) == children(srv.proc.pid)


def test_hot_swarms_are_seeded_without_being_asked(five, server_factory):
    """SEED_HOT=1: the swarm with the most peers on the tracker goes to the workers, /seed or not."""
    root, data = five
    srv = server(server_factory, root, WORKERS=1, SEED_HOT=1)
    with srv.running():
        wait_stats(srv, running(1), "the worker")
        ih = srv.ih("clip3.mp4")
        for i in range(3):  # three viewers in that swarm, none elsewhere
            ihq = "".join(f"%{b:02x}" for b in bytes.fromhex(ih))
            r = srv.get(f"/announce?info_hash={ihq}&peer_id=-XX0001-abcdefghij{i:02d}&port={7000 + i}&left=1")
            assert r.status == 200, r.describe()
        s = wait_stats(srv, lambda s: [c["infoHash"] for c in s["channels"] if c["state"] == "seeding"] == [ih],
                       "the busiest swarm seeded", timeout=40)
        c = s["channels"][0]
        assert c["label"] == "hot: clip3.mp4" and len(c["workers"]) == 1
        # what /seed asks for is seeded as well
        seed_all(srv, ["clip1.mp4"])
        s = wait_stats(srv, running(1, 2), "the hot swarm and the /seed channel")
        assert {c["label"] for c in s["channels"]} == {"hot: clip3.mp4", "clip1.mp4"}


def test_a_channel_only_a_swarm_has_is_fetched_by_the_master_then_seeded_by_a_worker(
        tmp_path, server_factory, seeders):
    empty = tmp_path / "empty"
    empty.mkdir()
    srv = server_factory(empty, expected=0, ACCESS_TOKEN=TOKEN, WORKERS=1)  # the master's engine on
    content = tmp_path / "content"
    files = make_content(content, multi=False)
    with srv.running():
        announce = f"http://127.0.0.1:{srv.port}/announce"
        torrent = make_torrent(content, "gw-clip.mp4", announce)
        ih = info_hash(torrent)
        magnet = f"magnet:?xt=urn:btih:{ih}&tr={urllib.parse.quote(announce, safe='')}"
        ok(api(srv, "POST", "/seed", {"list": [{"channel": b64(magnet), "label": "gw"}]}))
        (tmp_path / "t.torrent").write_bytes(torrent)
        other = seeders(tmp_path / "t.torrent", content).wait()
        s = wait_stats(srv, running(1, 1), "the swarm's torrent fetched and handed to the worker", timeout=90)
        worker = s["workers"][0]
        assert [c["infoHash"] for c in worker["channels"]] == [ih]
        other.stop()
        got = download_from_engine(srv, ih, tmp_path)
        assert got == {"gw-clip.mp4": files["gw-clip.mp4"]}


@pytest.mark.parametrize("workers", [0, 1])
def test_the_channels_outlive_a_restart_of_the_server(five, server_factory, workers):
    root, data = five
    srv = server(server_factory, root, WORKERS=workers, PEER_PORT=0)
    names = sorted(FILES)[:2]
    with srv.running():
        seed_all(srv, names)
        want = {srv.ih(n) for n in names}
        wait_stats(srv, running(1, 2), "two channels seeding")
    with srv.running():  # the same DATA_DIR: nothing sent to /seed this time
        s = wait_stats(srv, running(1, 2), "the two channels seeding again")
        assert {c["infoHash"] for c in s["channels"]} == want
        assert {c["label"] for c in s["channels"]} == set(names)
        ok(api(srv, "POST", "/seed", {"list": []}))
    with srv.running():
        time.sleep(1)
        assert stats(srv)["channels"] == []


def test_sighup_applies_a_new_worker_count(five, server_factory):
    root, data = five
    srv = server_factory(root, expected=len(FILES) + 1, dotenv={"WORKERS": 1, "ACCESS_TOKEN": TOKEN}, PEER_PORT=-1)
    with srv.running():
        wait_stats(srv, running(1), "one worker")
        srv.write_dotenv(f"WORKERS=2\nACCESS_TOKEN={TOKEN}\n")
        srv.signal(signal.SIGHUP)
        wait_stats(srv, running(2), "two workers after SIGHUP")
        assert len(children(srv.proc.pid)) == 2
        srv.wait_log(r"reload: WORKERS changed: applied")


def test_workers_seed_swarm_first_with_the_masters_settings(five, server_factory):
    """SEED_COPIES and the other seed settings reach the workers: a worker's seed refuses (BEP 6)
    a piece another peer has and sends one nobody has, bytes identical."""
    from bt_wire import Wire
    root, data = five
    piece, block = 64 * 1024, 16 * 1024
    srv = server(server_factory, root, WORKERS=1, PIECE_SIZE=str(piece), SEED_COPIES=1,
                 SEED_STARVE_MS=600000)
    with srv.running():
        name = sorted(FILES)[0]
        ih = srv.ih(name)
        seed_all(srv, [name])
        s = wait_stats(srv, running(1, 1), "the channel seeding on the worker")
        w = s["workers"][0]
        args = cmdline(w["pid"])
        assert args[args.index(b"--seed-copies") + 1] == b"1", args
        assert args[args.index(b"--seed-starve-ms") + 1] == b"600000", args
        n = (len(data[name]) + piece - 1) // piece
        # beyond the first SEED_URGENT_PIECES (4) pieces, which the seed sends whoever lacks them
        x, y = 5, 9
        assert n > y
        a = Wire("127.0.0.1", w["peerPort"], bytes.fromhex(ih), n, peer_id=b"-TW0001-aaaaaaaaaaaa")
        c = Wire("127.0.0.1", w["peerPort"], bytes.fromhex(ih), n, peer_id=b"-TW0001-cccccccccccc")
        try:
            assert a.remote_fast and c.remote_fast
            a.send_bitfield({x})
            a.interested()
            a.wait_unchoke()  # the worker has read a's bitfield
            c.send_have_none()
            c.interested()
            c.wait_unchoke()
            c.request(x, 0, block)
            assert c.answer(x, 0, block) == ("reject", None)  # a has it: get it from a
            c.request(y, block, block)
            assert c.answer(y, block, block) == ("piece", data[name][y * piece + block:y * piece + 2 * block])
        finally:
            a.close()
            c.close()
