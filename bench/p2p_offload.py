#!/usr/bin/python3
"""P2P offload benchmark helpers (python3-libtorrent 2.0); driven by bench/p2p_offload.sh.

Subcommands:
  swarm   N streaming viewers on one torrent; writes a JSON result, prints a per-viewer table
  seed    a stock libtorrent seed (default settings) for the baseline; writes its stats to a file
  make    a .torrent for the baseline (same file and piece size as seedcast's, nginx url-list,
          opentracker announce)
  report  the side-by-side table of two swarm results (baseline vs seedcast) and their ratios

A viewer is one lt.session on its own loopback address 127.0.1.x (DHT, LSD, UPnP, NAT-PMP off),
with download and upload rate limits that also apply to loopback peers. It streams: sequential download, plus piece deadlines for the pieces the playback
head reaches in the next WINDOW seconds. Playback starts once BUFFER seconds are downloaded; the
head then advances at BITRATE, and a stall is counted when it reaches a missing piece. A viewer
leaves (remove_torrent: stopped announce, connections closed) when its head reaches the end.

Bytes are attributed per connection from get_peer_info() every SAMPLE seconds (per-connection
deltas of total_download, so closed connections keep what they delivered up to the last sample):
  web   web-seed (url-list) connections
  seed  BitTorrent connections whose peer id is not a viewer's (the server's seed)
  peer  connections to other viewers (peer id starts with VIEWER_FP)
  lost  total_payload_download minus the three above (bytes of connections that closed between
        two samples); reported, never counted as offload.
offload share = peer / (web + seed + peer + lost).
"""
import argparse
import json
import os
import shutil
import signal
import sys
import threading
import time

import libtorrent as lt

VIEWER_FP = "-VW0100-"


def base_settings(listen="127.0.0.1:0"):
    return {
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "listen_interfaces": listen,
        "allow_multiple_connections_per_ip": True,  # every peer here is 127.0.0.1
        "alert_mask": lt.alert_category.error,
    }


def loopback_as_internet(ses):
    """libtorrent puts local-network peers (127.0.0.1 included) in its local peer class, which
    ignores rate limits and unchoke slots; put every address in the global class instead, so
    limits and choking act as they would between hosts on the Internet."""
    f = lt.ip_filter()
    f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
    f.add_rule("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 << lt.session.global_peer_class_id)
    ses.set_peer_class_filter(f)


# ---------------------------------------------------------------------------------- swarm
class Viewer:
    def __init__(self, idx, args, ti, workdir):
        self.idx = idx
        self.args = args
        self.ti = ti
        self.dir = os.path.join(workdir, f"viewer-{idx:03d}")
        self.ses = None
        self.h = None
        self.state = "waiting"  # waiting -> buffering -> playing -> left
        self.t_join = self.t_play = self.t_left = None
        self.pos = 0.0  # playback head, bytes
        self.stalled = False
        self.stalls = 0
        self.stall_time = 0.0
        self.stall_events = []  # (swarm time, piece) of each stall
        self.deadlined = set()
        self.conns = {}  # connection key -> last total_download
        self.bytes = {"web": 0, "seed": 0, "peer": 0}
        self.uploaded = 0
        self.total = 0
        self.redundant = 0
        self.kinds_seen = set()

    def join(self, now):
        a = self.args
        os.makedirs(self.dir, exist_ok=True)
        # each viewer has its own address (127.0.1.x), as viewers on the Internet do: the server
        # sees its tracker announces, BitTorrent and web-seed connections come from one host
        ip = f"127.0.{1 + self.idx // 250}.{1 + self.idx % 250}"
        s = base_settings(f"{ip}:0")
        s.update({
            "outgoing_interfaces": ip,
            "download_rate_limit": int(a.bitrate / 8 * a.dl_factor),
            "upload_rate_limit": int(a.bitrate / 8 * a.ul_factor),
            "peer_fingerprint": VIEWER_FP,
            "aio_threads": 2,
            "alert_queue_size": 100,
        })
        if a.lt_tick_ms:
            s["tick_interval"] = a.lt_tick_ms
        self.ses = lt.session(s)
        loopback_as_internet(self.ses)
        atp = lt.add_torrent_params()
        atp.ti = self.ti
        atp.save_path = self.dir
        atp.flags = ((atp.flags | lt.torrent_flags.sequential_download | lt.torrent_flags.disable_dht
                      | lt.torrent_flags.disable_lsd) & ~lt.torrent_flags.auto_managed
                     & ~lt.torrent_flags.paused)
        if a.no_pex:
            atp.flags |= lt.torrent_flags.disable_pex
        self.h = self.ses.add_torrent(atp)
        self.t_join = now
        self.state = "buffering"

    def have(self, p):
        return self.h.have_piece(p)

    def sample(self):
        try:
            peers = self.h.get_peer_info()
        except RuntimeError:
            return
        for p in peers:
            web = p.connection_type != lt.peer_info.standard_bittorrent
            pid = p.pid.to_bytes()
            if web:
                kind = "web"
            elif pid.startswith(VIEWER_FP.encode()):
                kind = "peer"
            else:
                kind = "seed"
            self.kinds_seen.add((kind, p.connection_type, p.client if isinstance(p.client, str) else repr(p.client)))
            key = (p.ip, pid, web, kind)
            got = p.total_download
            last = self.conns.get(key, 0)
            delta = got - last if got >= last else got  # a new connection under the same key
            self.conns[key] = got
            self.bytes[kind] += delta
        st = self.h.status()
        self.total = st.total_payload_download
        self.uploaded = st.total_payload_upload
        self.redundant = st.total_redundant_bytes

    def tick(self, now, dt):
        """Advance playback and set deadlines. Returns True when the viewer leaves."""
        a = self.args
        pl = self.ti.piece_length()
        size = self.ti.total_size()
        rate = a.bitrate / 8.0
        if self.state == "buffering":
            need = min(size, rate * a.buffer)
            last = int(max(0, need - 1) // pl)
            if all(self.have(p) for p in range(0, last + 1)):
                self.state = "playing"
                self.t_play = now
        elif self.state == "playing":
            p = int(self.pos // pl)
            if self.have(p):
                if self.stalled:
                    self.stalled = False
                new = min(size, self.pos + rate * dt)
                # never skip over a missing piece: stop at its start and stall there
                q = p + 1
                while q * pl < new and q < self.ti.num_pieces():
                    if not self.have(q):
                        new = q * pl
                        break
                    q += 1
                self.pos = new
            else:
                if not self.stalled:
                    self.stalls += 1
                    self.stalled = True
                    self.stall_events.append((round(now, 1), p))
                    if a.trace_stalls:
                        self.trace_stall(now, p)
                self.stall_time += dt
            if self.pos >= size:
                return True
        # deadlines for what the head reaches within WINDOW seconds (from the buffer target while
        # buffering)
        start = int(self.pos // pl)
        end = min(self.ti.num_pieces() - 1, int((self.pos + rate * a.window) // pl))
        for p in range(start, end + 1):
            if p in self.deadlined:
                continue
            self.deadlined.add(p)
            if self.have(p):
                continue
            # due when the head gets there (while buffering: as if playback started now)
            ms = int(max(0.0, (p * pl - self.pos) / rate) * 1000)
            self.h.set_piece_deadline(p, ms)
        return False

    def trace_stall(self, now, piece):
        """One JSON line about a stall (--trace-stalls): who has the missing piece, who unchokes
        us, and what the download queue says of it."""
        peers = []
        for pi in self.h.get_peer_info():
            has = bool(pi.pieces[piece]) if len(pi.pieces) > piece else False
            if not has:
                continue
            pid = pi.pid.to_bytes()
            kind = "web" if pi.connection_type != lt.peer_info.standard_bittorrent else (
                "peer" if pid.startswith(VIEWER_FP.encode()) else "seed")
            peers.append({"ip": pi.ip[0], "kind": kind, "choked_us": bool(pi.flags & lt.peer_info.remote_choked),
                          "down": pi.payload_down_speed, "dlq": pi.download_queue_length,
                          "piece": pi.downloading_piece_index})
        blocks = []
        for dp in self.h.get_download_queue():
            if dp["piece_index"] == piece:
                blocks = [(b["state"], b["peer"][0] if b.get("peer") else "") for b in dp["blocks"]]
        line = {"t": round(now, 1), "viewer": self.idx, "piece": piece, "pos": int(self.pos),
                "holders": len(peers), "unchoking": sum(not x["choked_us"] for x in peers),
                "blocks": blocks, "peers": peers}
        with open(self.args.trace_stalls, "a") as f:
            f.write(json.dumps(line) + "\n")

    @staticmethod
    def kind_of(key):
        return key[3]

    def leave(self, now):
        self.sample()
        self.state = "left"
        self.t_left = now
        self.ses.remove_torrent(self.h)
        shutil.rmtree(self.dir, ignore_errors=True)

    def result(self):
        attributed = sum(self.bytes.values())
        lost = max(0, self.total - attributed)
        return {
            "viewer": self.idx,
            "joined": round(self.t_join, 2) if self.t_join is not None else None,
            "startup": round(self.t_play - self.t_join, 2) if self.t_play is not None else None,
            "left": round(self.t_left, 2) if self.t_left is not None else None,
            "finished": self.state == "left" and self.pos >= self.ti.total_size(),
            "stalls": self.stalls,
            "stall_time": round(self.stall_time, 2),
            "stall_events": self.stall_events,
            "total": self.total,
            "web": self.bytes["web"],
            "seed": self.bytes["seed"],
            "peer": self.bytes["peer"],
            "lost": lost,
            "uploaded": self.uploaded,
            "redundant": self.redundant,
            "connections": {k: sum(1 for key in self.conns if self.kind_of(key) == k) for k in ("web", "seed", "peer")},
            "sources": sorted({f"{k}:{t}:{c}" for k, t, c in self.kinds_seen}),
        }


def close_sessions(sessions):
    """Session destructors block on their network threads; end them in parallel."""
    def drop(s):
        try:
            s.pause()
        except RuntimeError:
            pass
    ts = [threading.Thread(target=drop, args=(s,)) for s in sessions]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)


def cmd_swarm(a):
    ti = lt.torrent_info(a.torrent)
    if a.no_webseed:
        meta = lt.bdecode(open(a.torrent, "rb").read())
        meta.pop(b"url-list", None)
        ti = lt.torrent_info(meta)
    size = ti.total_size()
    duration = size * 8 / a.bitrate
    viewers = [Viewer(i, a, ti, a.workdir) for i in range(a.viewers)]
    print(f"swarm {a.label}: {a.viewers} viewers, one every {a.spread:g} s; video {size / 2**20:.1f} MiB "
          f"({ti.num_pieces()} pieces of {ti.piece_length() // 1024} KiB) = {duration:.0f} s at "
          f"{a.bitrate / 1e6:g} Mbit/s; limits down {a.dl_factor:g}x, up {a.ul_factor:g}x the bitrate; "
          f"time limit {a.max_time:.0f} s", flush=True)
    t0 = time.monotonic()
    last = t0
    last_sample = 0.0
    last_progress = 0.0
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True
    signal.signal(signal.SIGTERM, on_term)
    while not stop:
        now = time.monotonic() - t0
        dt = now - (last - t0)
        last = t0 + now
        if now > a.max_time:
            print(f"swarm {a.label}: time limit reached ({a.max_time:.0f} s)", flush=True)
            break
        for v in viewers:
            if v.state == "waiting" and now >= v.idx * a.spread:
                v.join(now)
        do_sample = now - last_sample >= a.sample
        if do_sample:
            last_sample = now
        active = [v for v in viewers if v.state in ("buffering", "playing")]
        for v in active:
            v.ses.pop_alerts()
            if do_sample:
                v.sample()
            if v.tick(now, dt):
                v.leave(now)
        if all(v.state == "left" for v in viewers):
            break
        if now - last_progress >= a.progress:
            last_progress = now
            tot = {k: sum(v.bytes[k] for v in viewers) for k in ("web", "seed", "peer")}
            s = sum(tot.values()) or 1
            print(f"  t={now:5.0f}s active={len(active):3d} left={sum(v.state == 'left' for v in viewers):3d} "
                  f"got {s / 2**20:7.1f} MiB: peers {100 * tot['peer'] / s:5.1f}%  web {100 * tot['web'] / s:5.1f}%  "
                  f"seed {100 * tot['seed'] / s:5.1f}%  stalls {sum(v.stalls for v in viewers)}", flush=True)
        time.sleep(max(0.0, a.tick - (time.monotonic() - last)))
    end = time.monotonic() - t0
    for v in viewers:
        if v.state in ("buffering", "playing"):
            v.leave(end)
    results = [v.result() for v in viewers]
    out = {"label": a.label, "viewers": a.viewers, "spread": a.spread, "bitrate": a.bitrate,
           "dl_factor": a.dl_factor, "ul_factor": a.ul_factor, "size": size,
           "piece_length": ti.piece_length(), "duration": duration, "elapsed": round(end, 1),
           "results": results}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    print_viewers(out)
    close_sessions([v.ses for v in viewers if v.ses is not None])
    return 0


def share(r):
    tot = r["web"] + r["seed"] + r["peer"] + r["lost"]
    return r["peer"] / tot if tot else 0.0


def totals(out):
    t = {k: sum(r[k] for r in out["results"]) for k in ("web", "seed", "peer", "lost", "total")}
    t["server"] = t["web"] + t["seed"]
    t["all"] = t["server"] + t["peer"] + t["lost"]
    t["share"] = t["peer"] / t["all"] if t["all"] else 0.0
    t["stalls"] = sum(r["stalls"] for r in out["results"])
    t["stall_time"] = sum(r["stall_time"] for r in out["results"])
    t["finished"] = sum(1 for r in out["results"] if r["finished"])
    st = sorted(r["startup"] for r in out["results"] if r["startup"] is not None)
    t["startup_median"] = st[len(st) // 2] if st else None
    t["startup_max"] = st[-1] if st else None
    return t


def mib(x):
    return x / 2**20


def print_viewers(out):
    print(f"\nper viewer ({out['label']}): MiB received from web seed / BitTorrent seed / other viewers "
          f"/ unattributed; offload = share from other viewers")
    print(f"{'viewer':>6} {'join s':>6} {'start s':>7} {'web':>7} {'seed':>7} {'peers':>7} {'lost':>6} "
          f"{'offload':>7} {'stalls':>6} {'stall s':>7} {'up MiB':>7} {'redund':>6} {'conns w/s/p':>11}  done")
    for r in out["results"]:
        print(f"{r['viewer']:6d} {r['joined'] if r['joined'] is not None else '-':>6} "
              f"{r['startup'] if r['startup'] is not None else '-':>7} {mib(r['web']):7.1f} {mib(r['seed']):7.1f} "
              f"{mib(r['peer']):7.1f} {mib(r['lost']):6.2f} {100 * share(r):6.1f}% {r['stalls']:6d} "
              f"{r['stall_time']:7.1f} {mib(r['uploaded']):7.1f} {mib(r['redundant']):6.1f} "
              f"{'/'.join(str(r['connections'][k]) for k in ('web', 'seed', 'peer')):>11}  {'yes' if r['finished'] else 'NO'}")
    t = totals(out)
    print(f"{'all':>6} {'':>6} {'':>7} {mib(t['web']):7.1f} {mib(t['seed']):7.1f} {mib(t['peer']):7.1f} "
          f"{mib(t['lost']):6.2f} {100 * t['share']:6.1f}% {t['stalls']:6d} {t['stall_time']:7.1f}")
    print(f"sources seen: {sorted({s for r in out['results'] for s in r['sources']})}", flush=True)



# ---------------------------------------------------------------------------------- seed
def cmd_seed(a):
    s = lt.high_performance_seed() if a.preset == "high_performance_seed" else {}
    s.update(base_settings(f"127.0.0.1:{a.port}"))
    s.update(json.loads(a.settings))
    ses = lt.session(s)
    loopback_as_internet(ses)
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(a.torrent)
    atp.save_path = a.save_path
    atp.flags = (atp.flags | lt.torrent_flags.seed_mode) & ~lt.torrent_flags.auto_managed \
        & ~lt.torrent_flags.paused
    if a.super_seeding:
        atp.flags |= lt.torrent_flags.super_seeding
    h = ses.add_torrent(atp)
    if a.upload_limit:
        h.set_upload_limit(a.upload_limit)
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    while not stop:
        time.sleep(0.5)  # not ses.wait_for_alert: its binding reads a freed alert
        ses.pop_alerts()
        st = h.status()
        tmp = a.stats + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"uploaded": st.total_payload_upload, "peers": st.num_peers,
                       "seeding": bool(st.is_seeding), "port": ses.listen_port()}, f)
        os.replace(tmp, a.stats)
    return 0


# ---------------------------------------------------------------------------------- make
def cmd_make(a):
    fs = lt.file_storage()
    lt.add_files(fs, a.file)
    ct = lt.create_torrent(fs, a.piece_length, flags=lt.create_torrent.v1_only)
    ct.add_tracker(a.announce)
    ct.add_url_seed(a.url_seed)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(a.file)))
    with open(a.out, "wb") as f:
        f.write(lt.bencode(ct.generate()))
    print(str(lt.torrent_info(a.out).info_hash()))
    return 0


# ---------------------------------------------------------------------------------- report
def cmd_report(a):
    runs = []
    for path, server in zip(a.results, a.server_bytes):
        with open(path) as f:
            out = json.load(f)
        runs.append((out, totals(out), json.loads(server)))
    width = max(34, max(len(out["label"]) for out, _, _ in runs))
    print("\nP2P offload: share of the bytes the viewers got from each other (higher is better)")
    hdr = f"{'setup':<{width}} {'offload':>7} {'web MiB':>8} {'seed MiB':>8} {'peer MiB':>8} {'lost':>6} " \
          f"{'server MiB':>10} {'srv-side MiB':>12} {'stalls':>6} {'stall s':>7} {'start s p50/max':>15} {'done':>5}"
    print(hdr)
    for out, t, srv in runs:
        side = sum(v for v in srv.values() if v is not None)
        print(f"{out['label']:<{width}} {100 * t['share']:6.1f}% {mib(t['web']):8.1f} {mib(t['seed']):8.1f} "
              f"{mib(t['peer']):8.1f} {mib(t['lost']):6.1f} {mib(t['server']):10.1f} "
              f"{mib(side):12.1f} {t['stalls']:6d} {t['stall_time']:7.1f} "
              f"{t['startup_median']!s:>7}/{t['startup_max']!s:<7} {t['finished']:>2}/{out['viewers']}")
    for out, t, srv in runs:
        parts = ", ".join(f"{k} {mib(v):.1f} MiB" for k, v in srv.items() if v is not None)
        print(f"  server side, {out['label']}: {parts}")
    for out, t, srv in runs:
        events = [e for r in out["results"] for e in r.get("stall_events", [])]
        if events:
            buckets = {}
            for tm, _ in events:
                buckets[int(tm // 20) * 20] = buckets.get(int(tm // 20) * 20, 0) + 1
            print(f"  stalls by swarm time, {out['label']}: "
                  + ", ".join(f"{b}-{b + 20} s: {n}" for b, n in sorted(buckets.items())))
    base = [(out, t) for out, t, _ in runs if out["label"].startswith("baseline")]
    if base and len(runs) > 1:
        b, bt = base[0]
        n = b["viewers"]
        print(f"ceiling 1 - 1/N = {100 * (1 - 1 / n):.1f}% (N={n}); target >= 90%; Seedess claims 70%")
        for s, st, _ in runs:
            if s is b:
                continue
            ratio = st["server"] / bt["server"] if bt["server"] else float("nan")
            print(f"ratio: server bytes {s['label']} / baseline = {ratio:.2f} (lower is better); offload "
                  f"{100 * st['share']:.1f}% vs {100 * bt['share']:.1f}%; stalls {st['stalls']} vs {bt['stalls']}")
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("swarm")
    w.add_argument("--torrent", required=True)
    w.add_argument("--out", required=True)
    w.add_argument("--workdir", required=True)
    w.add_argument("--label", default="swarm")
    w.add_argument("--viewers", type=int, default=30)
    w.add_argument("--spread", type=float, default=2.0, help="seconds between two joins")
    w.add_argument("--bitrate", type=float, default=4e6, help="video bitrate, bit/s")
    w.add_argument("--dl-factor", type=float, default=3.0, help="download limit / bitrate")
    w.add_argument("--ul-factor", type=float, default=1.5, help="upload limit / bitrate")
    w.add_argument("--buffer", type=float, default=2.0, help="seconds buffered before playing")
    w.add_argument("--window", type=float, default=8.0, help="seconds ahead of the head with deadlines")
    w.add_argument("--max-time", type=float, default=600.0)
    w.add_argument("--tick", type=float, default=0.1)
    w.add_argument("--sample", type=float, default=0.5)
    w.add_argument("--progress", type=float, default=10.0)
    w.add_argument("--no-pex", action="store_true")
    w.add_argument("--lt-tick-ms", type=int, default=0,
                   help="libtorrent tick_interval of the viewers (0: libtorrent's 500 ms)")
    w.add_argument("--trace-stalls", default="", help="append a JSON line per stall to this file")
    w.add_argument("--no-webseed", action="store_true",
                   help="drop the url-list (what viewers do when the server refuses them its web seed)")
    s = sub.add_parser("seed")
    s.add_argument("--torrent", required=True)
    s.add_argument("--save-path", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--stats", required=True)
    s.add_argument("--settings", default="{}", help="settings_pack overrides, JSON")
    s.add_argument("--preset", default="", help="high_performance_seed: seedcast's engine preset")
    s.add_argument("--super-seeding", action="store_true")
    s.add_argument("--upload-limit", type=int, default=0, help="torrent upload limit, bytes/s")
    m = sub.add_parser("make")
    m.add_argument("--file", required=True)
    m.add_argument("--piece-length", type=int, required=True)
    m.add_argument("--announce", required=True)
    m.add_argument("--url-seed", required=True)
    m.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("--results", nargs="+", required=True)
    r.add_argument("--server-bytes", nargs="+", required=True, help="JSON per result: {web or http, seed}")
    a = ap.parse_args()
    return {"swarm": cmd_swarm, "seed": cmd_seed, "make": cmd_make, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
