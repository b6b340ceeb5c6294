#!/usr/bin/python3
"""Baseline seed for bench/seed_capacity.sh: one python3-libtorrent 2.0 session (Debian's
python3-libtorrent) seeding one file in seed mode on 127.0.0.1, like seedcast's engine does.

--preset stock: libtorrent's default settings (what a stock client gets).
--preset hps:   libtorrent's own high_performance_seed() preset (the maintainer's seed-box tuning),
                plus allow_multiple_connections_per_ip.
Both: the generator's loopback peers count as Internet peers (global peer class only; without
--local-peers), DHT, local service discovery, UPnP and NAT-PMP off (no traffic beyond the benchmark) and
listen on HOST:0 (TCP and uTP). Nothing else is changed.

The .torrent (v1, --piece-length, no trackers) is made once and cached in --cache. When ready it
writes {"info_hash", "piece_length", "total_size", "port", "settings"} to --info-file, then runs
until SIGTERM/SIGINT."""
import argparse
import json
import os
import signal
import sys
import time

import libtorrent as lt


def make_torrent(path, piece_length, cache):
    st = os.stat(path)
    name = f"{os.path.basename(path)}.{st.st_size}.{int(st.st_mtime)}.{piece_length}.torrent"
    cached = os.path.join(cache, name)
    if not os.path.exists(cached):
        fs = lt.file_storage()
        lt.add_files(fs, path)
        ct = lt.create_torrent(fs, piece_length, flags=lt.create_torrent.v1_only)
        lt.set_piece_hashes(ct, os.path.dirname(path))
        data = lt.bencode(ct.generate())
        with open(cached + ".part", "wb") as f:
            f.write(data)
        os.replace(cached + ".part", cached)
    return lt.torrent_info(cached)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", required=True)
    ap.add_argument("--piece-length", type=int, required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--info-file", required=True)
    ap.add_argument("--preset", choices=["stock", "hps"], default="stock")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--local-peers", action="store_true",
                    help="leave loopback peers in libtorrent's local peer class (see below)")
    a = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    ti = make_torrent(os.path.abspath(a.file), a.piece_length, a.cache)
    s = lt.high_performance_seed() if a.preset == "hps" else lt.default_settings()
    if a.preset == "hps":
        s["allow_multiple_connections_per_ip"] = True
    s.update({"listen_interfaces": f"{a.host}:0", "enable_dht": False, "enable_lsd": False,
              "enable_upnp": False, "enable_natpmp": False,
              "alert_mask": lt.alert_category.error | lt.alert_category.status})
    ses = lt.session(s)
    if not a.local_peers:
        # The load generator's peers come from 127.x.y.z. libtorrent puts loopback and LAN peers in
        # its "local" peer class, which is always unchoked (ignoring unchoke_slots_limit) and, in
        # 2.0.8, gets only 2/3 of connections_limit. Viewers come from the Internet: put every
        # address in the global class only, as an Internet peer would be.
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << int(lt.session.global_peer_class_id))
        ses.set_peer_class_filter(f)
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = os.path.dirname(os.path.abspath(a.file))
    atp.flags = lt.torrent_flags.seed_mode
    h = ses.add_torrent(atp)

    t0 = time.time()
    while not (ses.is_listening() and ses.listen_port() and h.status().is_seeding):
        if time.time() - t0 > 60:
            sys.exit("seed_baseline: not listening/seeding after 60 s")
        time.sleep(0.05)
    info = {"info_hash": str(ti.info_hashes().v1), "piece_length": ti.piece_length(),
            "total_size": ti.total_size(), "port": ses.listen_port(),
            "settings": {k: s[k] for k in ("connections_limit", "unchoke_slots_limit", "send_buffer_watermark")
                         if k in s} or {k: ses.get_settings()[k] for k in
                                        ("connections_limit", "unchoke_slots_limit", "send_buffer_watermark")}}
    with open(a.info_file + ".part", "w") as f:
        json.dump(info, f)
    os.replace(a.info_file + ".part", a.info_file)
    while not stop:
        for al in ses.pop_alerts():
            if al.category() & lt.alert_category.error:
                print("seed_baseline:", al.message(), file=sys.stderr, flush=True)
        time.sleep(0.5)


if __name__ == "__main__":
    main()
