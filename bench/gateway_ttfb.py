#!/usr/bin/python3
"""Helper of bench/gateway_ttfb.sh (run with /usr/bin/python3: it has python3-libtorrent).

  torrent FILE OUT PIECE_BYTES TRACKER   make a v1 .torrent of FILE (announce TRACKER); prints
                                         the info-hash
  seed TORRENT SAVE_DIR                  one seeder of the swarm (python3-libtorrent)
  measure --kind seedcast|webtorrent ... one round against a running gateway; prints one JSON line
  report RESULTS                         the table: medians per gateway and the ratios

A round (measure): t0; POST /api/torrents with the magnet; at once GET the file with
Range: bytes=0-(R-1) -> cold TTFB (t0 to the first body byte) and cold completion; then a range
of R bytes at --seek (not fetched yet) -> seek TTFB and completion, timed from sending that
request. Every answer must be 206 with the right Content-Range and exactly the file's bytes;
otherwise the round is an error and prints no figure.
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import sys
import time
import urllib.parse

CLK_TCK = os.sysconf("SC_CLK_TCK")


def die(msg):
    print(json.dumps({"ok": False, "error": msg}), flush=True)
    sys.exit(1)


# ------------------------------------------------------------------------------ torrent
def cmd_torrent(a):
    import libtorrent as lt
    fs = lt.file_storage()
    lt.add_files(fs, a.file)
    ct = lt.create_torrent(fs, a.piece_bytes, flags=lt.create_torrent.v1_only)
    ct.add_tracker(a.tracker)
    ct.set_creator("seedcast bench/gateway_ttfb.py")
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(a.file)))
    data = lt.bencode(ct.generate())
    with open(a.out + ".tmp", "wb") as f:
        f.write(data)
    os.replace(a.out + ".tmp", a.out)
    print(str(lt.torrent_info(a.out).info_hashes().v1))


# ------------------------------------------------------------------------------ seed
def cmd_seed(a):
    """A swarm member: seeds TORRENT from SAVE_DIR until SIGTERM or --timeout. Like
    tests/integration/lt_seeder.py (127.0.0.1, TCP only, DHT/LSD/PEX/UPnP off: found through the
    tracker alone), plus allow_multiple_connections_per_ip: on loopback every peer is 127.0.0.1,
    and libtorrent's default would turn a gateway away while another peer is connected.
    Prints {"seeding": true, "port": N} once checked and announced."""
    import signal
    import libtorrent as lt
    ses = lt.session({
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "listen_interfaces": "127.0.0.1:0", "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert_category.error | lt.alert_category.status | lt.alert_category.tracker,
    })
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(a.torrent)
    atp.save_path = a.save_dir
    atp.flags = (atp.flags | lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd
                 | lt.torrent_flags.disable_pex) & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
    h = ses.add_torrent(atp)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    deadline = time.monotonic() + a.timeout
    announced = forced = False
    while time.monotonic() < deadline and not stop:
        time.sleep(0.2)  # not ses.wait_for_alert: its binding reads a freed alert
        for al in ses.pop_alerts():
            if isinstance(al, lt.tracker_reply_alert) and h.status().is_seeding and not announced:
                announced = True
                print(json.dumps({"seeding": True, "port": ses.listen_port()}), flush=True)
            elif isinstance(al, lt.tracker_error_alert):
                print(json.dumps({"tracker_error": al.message()}), flush=True)
        if h.status().is_seeding and not announced and not forced:
            forced = True  # the first announce may have gone out while the data was checked
            h.force_reannounce()
    print(json.dumps({"uploaded": h.status().all_time_upload}), flush=True)


# ------------------------------------------------------------------------------ HTTP
class Answer:
    def __init__(self):
        self.status = 0
        self.headers = {}
        self.body = b""
        self.t_sent = self.t_first = self.t_end = None


def fetch(port, method, target, headers=None, body=None, timeout=60.0):
    """One request over a fresh connection (http.client), timing the first body byte: t_sent
    once connected, just before the request goes out; t_first when the first body byte is read."""
    ans = Answer()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ans.t_sent = time.perf_counter()
        conn.request(method, target, body=body, headers=headers or {})
        r = conn.getresponse()
        ans.status = r.status
        ans.headers = {k.lower(): v for k, v in r.getheaders()}
        first = r.read(1)
        ans.t_first = time.perf_counter()
        ans.body = first + r.read()
        ans.t_end = time.perf_counter()
        return ans
    finally:
        conn.close()


def proc_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def machine_ticks():
    with open("/proc/stat") as f:
        v = f.readline().split()
    return int(v[1]) + int(v[2]) + int(v[3])  # user + nice + system (what processes are charged)


def self_ticks():
    t = os.times()
    return round((t.user + t.system) * CLK_TCK)


# ------------------------------------------------------------------------------ measure
def cmd_measure(a):
    with open(a.file, "rb") as f:
        f.seek(0, 2)
        size = f.tell()

        def want(off, n):
            f.seek(off)
            return f.read(n)

        rlen = a.range_bytes
        seek = a.seek
        if not (0 < rlen <= size and 0 <= seek and seek + rlen <= size):
            die(f"bad range/seek for a {size}-byte file")
        name_q = urllib.parse.quote(os.path.basename(a.file))
        target = (f"/file/{a.ih}/{name_q}" if a.kind == "seedcast" else f"/webtorrent/{a.ih}/{name_q}")
        pids = [int(p) for p in a.load_pids.split(",") if p]
        res = {"gateway": a.kind, "round": a.round, "ok": False}

        def check(ans, off, what):
            end = off + rlen - 1
            if ans.status != 206:
                raise AssertionError(f"{what}: status {ans.status} (want 206); body {ans.body[:200]!r}")
            cr = ans.headers.get("content-range", "")
            if cr != f"bytes {off}-{end}/{size}":
                raise AssertionError(f"{what}: Content-Range {cr!r}, want 'bytes {off}-{end}/{size}'")
            if ans.body != want(off, rlen):
                first_bad = next((i for i, (x, y) in enumerate(zip(ans.body, want(off, rlen))) if x != y), None)
                raise AssertionError(f"{what}: WRONG BYTES ({len(ans.body)} bytes, first difference at offset "
                                     f"{off + first_bad if first_bad is not None else off + min(len(ans.body), rlen)})")

        def status():
            if a.kind == "seedcast":
                h = json.loads(fetch(a.port, "GET", "/healthz", timeout=10).body)
                return {"downloaded": h.get("gateway", {}).get("downloaded")}
            first, last = seek // a.piece_bytes, (seek + rlen - 1) // a.piece_bytes
            return json.loads(fetch(a.port, "GET", f"/api/status/{a.ih}?first={first}&last={last}", timeout=10).body)

        g0, m0, s0 = proc_ticks(a.gw_pid), machine_ticks(), self_ticks()
        l0 = sum(proc_ticks(p) for p in pids)
        try:
            t0 = time.perf_counter()
            post = fetch(a.port, "POST", "/api/torrents", {"X-Access-Token": a.token}, a.magnet.encode(), timeout=10)
            if post.status != 202:
                raise AssertionError(f"POST /api/torrents: status {post.status}: {post.body[:200]!r}")
            if json.loads(post.body).get("infoHash", "").lower() != a.ih:
                raise AssertionError(f"POST /api/torrents answered {post.body[:200]!r}, want infoHash {a.ih}")
            cold = fetch(a.port, "GET", target, {"Range": f"bytes=0-{rlen - 1}"}, timeout=a.timeout)
            check(cold, 0, "cold range")
            res.update(post_ms=(post.t_end - t0) * 1e3, cold_ttfb_ms=(cold.t_first - t0) * 1e3,
                       cold_done_ms=(cold.t_end - t0) * 1e3)
            res["before_seek"] = status()
            seek_ans = fetch(a.port, "GET", target, {"Range": f"bytes={seek}-{seek + rlen - 1}"}, timeout=a.timeout)
            check(seek_ans, seek, f"seek range at {seek}")
            res.update(seek_ttfb_ms=(seek_ans.t_first - seek_ans.t_sent) * 1e3,
                       seek_done_ms=(seek_ans.t_end - seek_ans.t_sent) * 1e3)
            res["after"] = status()
            res["ok"] = True
        except Exception as e:  # noqa: BLE001 - any failure makes the round an error, reported
            res["error"] = f"{type(e).__name__}: {e}"
        g1, m1, s1 = proc_ticks(a.gw_pid), machine_ticks(), self_ticks()
        l1 = sum(proc_ticks(p) for p in pids)
        wall = time.perf_counter() - t0
        res["wall_s"] = wall
        res["gw_cpu_s"] = (g1 - g0) / CLK_TCK
        res["load_cpu_s"] = (l1 - l0 + s1 - s0) / CLK_TCK
        res["rest_pct"] = max(0.0, 100 * ((m1 - m0) - (g1 - g0) - (l1 - l0) - (s1 - s0)) / CLK_TCK / wall) if wall > 0 else 0
        print(json.dumps(res), flush=True)
        return 0 if res["ok"] else 1


# ------------------------------------------------------------------------------ report
METRICS = [("cold_ttfb_ms", "cold TTFB"), ("cold_done_ms", "cold 1st range done"),
           ("seek_ttfb_ms", "seek TTFB"), ("seek_done_ms", "seek range done")]


def fmt(x):
    """A ratio with 3 significant digits, at least 2 decimals below 10 (0.0042, 0.15, 1.05, 1137)."""
    return f"{x:.2f}" if 0.1 <= x < 10 else f"{x:.3g}" if x < 0.1 else f"{x:.0f}"


def cmd_report(a):
    rows = [json.loads(line) for line in open(a.results) if line.strip().startswith("{")]
    kinds = [k for k in ("webtorrent", "seedcast") if any(r.get("gateway") == k for r in rows)]
    rkb = a.range_bytes // 1024
    print(f"per round (ms; TTFB = first body byte; cold from POST /api/torrents, seek from its GET):")
    print(f"{'gateway':<11} {'round':>5} {'cold TTFB':>10} {'cold done':>10} {'seek TTFB':>10} {'seek done':>10}"
          f" {'fetched before seek':>20} {'gw CPU s':>9} {'rest':>5}")
    for r in sorted(rows, key=lambda r: (kinds.index(r["gateway"]) if r.get("gateway") in kinds else 9, r.get("round", 0))):
        if not r.get("ok"):
            print(f"{r.get('gateway', '?'):<11} {r.get('round', '?'):>5}  ERROR: {r.get('error')}")
            continue
        b = r.get("before_seek", {})
        fetched = b.get("downloaded")
        fetched = f"{fetched / 1048576:.1f} MiB" if isinstance(fetched, (int, float)) else "?"
        if "piecesHad" in b:
            fetched += f" ({b['piecesHad']}/{b['numPieces']} pc)"
        flag = " DISTURBED" if r["rest_pct"] > a.bg_limit else ""
        if b.get("rangeHad"):
            flag += f" NOT A SEEK ({b['rangeHad']} pieces of the seek range were fetched before it was asked)"
        print(f"{r['gateway']:<11} {r['round']:>5} {r['cold_ttfb_ms']:>10.1f} {r['cold_done_ms']:>10.1f}"
              f" {r['seek_ttfb_ms']:>10.1f} {r['seek_done_ms']:>10.1f} {fetched:>20} {r['gw_cpu_s']:>9.2f}"
              f" {r['rest_pct']:>4.0f}%{flag}")
    print()
    errors = sum(1 for r in rows if not r.get("ok"))
    med = {}
    for k in kinds:
        good = [r for r in rows if r.get("gateway") == k and r.get("ok")]
        if good:
            med[k] = {m: statistics.median(r[m] for r in good) for m, _ in METRICS + [("gw_cpu_s", "")]}
            med[k]["n"] = len(good)
    print(f"median of {a.rounds} round(s), ms ({rkb} KiB ranges; seek at byte {a.seek:,} of {a.size:,}):")
    print(f"{'gateway':<11} {'cold TTFB':>10} {'cold done':>10} {'seek TTFB':>10} {'seek done':>10} {'gw CPU s':>9} {'rounds':>7}")
    for k in kinds:
        if k not in med:
            print(f"{k:<11} {'FAILED':>10}")
            continue
        m = med[k]
        print(f"{k:<11} {m['cold_ttfb_ms']:>10.1f} {m['cold_done_ms']:>10.1f} {m['seek_ttfb_ms']:>10.1f}"
              f" {m['seek_done_ms']:>10.1f} {m['gw_cpu_s']:>9.2f} {m['n']:>7}")
    if "seedcast" in med and "webtorrent" in med:
        s, w = med["seedcast"], med["webtorrent"]
        print(f"{'ratio s/w':<11}" + "".join(f" {fmt(s[m] / w[m]):>10}" if w[m] else f" {'n/a':>10}" for m, _ in METRICS)
              + (f" {fmt(s['gw_cpu_s'] / w['gw_cpu_s']):>9}" if w["gw_cpu_s"] else f" {'n/a':>9}"))
        print("(ratio = seedcast time / webtorrent time: below 1 = seedcast faster)")
        print("speedup (webtorrent / seedcast, above 1 = seedcast faster): " + ", ".join(
            f"{label} {fmt(w[m] / s[m])}x" for m, label in METRICS if s[m]))
    elif kinds == ["webtorrent"]:
        print("ratio: n/a (baseline only)")
    for k, m in med.items():
        slow = [label for key, label in METRICS if key.endswith("ttfb_ms") and 55e3 <= m[key] <= 66e3]
        if slow:
            print(f"NOTE: {k}'s {' and '.join(slow)} {'is' if len(slow) == 1 else 'are'} about 60 s, libtorrent's min_reconnect_time: the gateway had"
                  " dropped its peers and waited to dial them again (see bench/README.md)")
    if errors:
        print(f"gateway_ttfb: {errors} round(s) with errors -- those rounds are not results")
    return 1 if errors or not med else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("torrent")
    t.add_argument("file")
    t.add_argument("out")
    t.add_argument("piece_bytes", type=int)
    t.add_argument("tracker")
    sd = sub.add_parser("seed")
    sd.add_argument("torrent")
    sd.add_argument("save_dir")
    sd.add_argument("--timeout", type=float, default=3600)
    m = sub.add_parser("measure")
    m.add_argument("--kind", choices=["seedcast", "webtorrent"], required=True)
    m.add_argument("--port", type=int, required=True)
    m.add_argument("--token", required=True)
    m.add_argument("--magnet", required=True)
    m.add_argument("--ih", required=True)
    m.add_argument("--file", required=True)
    m.add_argument("--piece-bytes", type=int, required=True)
    m.add_argument("--range-bytes", type=int, default=1 << 20)
    m.add_argument("--seek", type=int, required=True)
    m.add_argument("--timeout", type=float, default=60.0)
    m.add_argument("--round", type=int, default=1)
    m.add_argument("--gw-pid", type=int, required=True)
    m.add_argument("--load-pids", default="")
    r = sub.add_parser("report")
    r.add_argument("results")
    r.add_argument("--rounds", type=int, required=True)
    r.add_argument("--range-bytes", type=int, required=True)
    r.add_argument("--seek", type=int, required=True)
    r.add_argument("--size", type=int, required=True)
    r.add_argument("--bg-limit", type=float, default=15)
    a = ap.parse_args()
    return {"torrent": cmd_torrent, "seed": cmd_seed, "measure": cmd_measure, "report": cmd_report}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
