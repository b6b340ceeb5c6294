#!/usr/bin/python3
"""Seed one torrent with python3-libtorrent until killed (or --timeout).

usage: /usr/bin/python3 lt_seeder.py TORRENT SAVE_DIR [--timeout 120]

Listens on 127.0.0.1, DHT/LSD/PEX/UPnP off, so the only way to find it is the torrent's
tracker. Prints one JSON line once the data is checked and the first announce succeeded:
  {"seeding": true, "port": N}
then keeps seeding; prints {"uploaded": bytes} when it ends.
"""
import argparse
import json
import signal
import sys
import time

import libtorrent as lt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("torrent")
    ap.add_argument("save_dir")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()
    ses = lt.session({
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "listen_interfaces": "127.0.0.1:0", "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "alert_mask": lt.alert_category.error | lt.alert_category.status | lt.alert_category.tracker,
    })
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(args.torrent)
    atp.save_path = args.save_dir
    atp.flags = (atp.flags | lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd
                 | lt.torrent_flags.disable_pex) & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
    h = ses.add_torrent(atp)
    deadline = time.monotonic() + args.timeout
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    announced = forced = False
    while time.monotonic() < deadline and not stop:
        time.sleep(0.2)  # not ses.wait_for_alert: see lt_client.py
        for a in ses.pop_alerts():
            if isinstance(a, lt.tracker_reply_alert) and h.status().is_seeding and not announced:
                announced = True
                print(json.dumps({"seeding": True, "port": ses.listen_port()}), flush=True)
            elif isinstance(a, lt.tracker_error_alert):
                print(json.dumps({"tracker_error": a.message()}), flush=True)
        st = h.status()
        if st.is_seeding and not announced and not forced:
            forced = True  # the first announce may have gone out while the data was checked
            h.force_reannounce()
    print(json.dumps({"uploaded": h.status().all_time_upload}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
