#!/usr/bin/python3
"""Download one torrent through its web seeds only, with python3-libtorrent 2.0.8.

usage: /usr/bin/python3 lt_client.py TORRENT SAVE_DIR [--timeout 60]

DHT, LSD, UPnP, NAT-PMP, PEX are off and the torrent has no trackers, so the only
source is the torrent's url-list. Prints one JSON line on stdout:
  {"ok": bool, "elapsed": s, "state": ..., "progress": ..., "hash_failures": n,
   "url_seed_errors": [...], "errors": [...]}
Exit status 0 when the download completed (torrent is seeding), 1 otherwise.
"""
import argparse
import json
import sys
import time

import libtorrent as lt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("torrent")
    ap.add_argument("save_dir")
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()

    settings = {
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "listen_interfaces": "127.0.0.1:0",
        "outgoing_interfaces": "",
        "alert_mask": (lt.alert_category.error | lt.alert_category.status
                       | lt.alert_category.storage | lt.alert_category.peer),
        # ssrf_mitigation stays at its default (on); our webseed URLs have no query string
    }
    ses = lt.session(settings)
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(args.torrent)
    atp.save_path = args.save_dir
    atp.flags = (atp.flags | lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd
                 | lt.torrent_flags.disable_pex) & ~lt.torrent_flags.auto_managed \
        & ~lt.torrent_flags.paused
    h = ses.add_torrent(atp)

    t0 = time.monotonic()
    deadline = t0 + args.timeout
    url_seed_errors, errors, hash_failures = [], [], 0
    done = False
    st = h.status()
    while time.monotonic() < deadline:
        # Not ses.wait_for_alert(): the binding wraps the alert it returns after libtorrent's
        # lock is released, and the network thread may by then have grown (moved) the queue
        # that alert lives in; under load the client crashed with SIGSEGV there.
        time.sleep(0.25)
        for a in ses.pop_alerts():
            if isinstance(a, lt.url_seed_alert):
                url_seed_errors.append(f"{a.server_url()}: {a.message()}")
            elif isinstance(a, lt.hash_failed_alert):
                hash_failures += 1
                errors.append(a.message())
            elif isinstance(a, (lt.file_error_alert, lt.torrent_error_alert,
                                lt.peer_error_alert)):
                errors.append(a.message())
        st = h.status()
        if st.is_seeding or st.state == lt.torrent_status.seeding:
            done = True
            break
    elapsed = time.monotonic() - t0
    # make sure everything is on disk (closes files) before the caller compares bytes
    ses.remove_torrent(h)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        time.sleep(0.1)
        if any(isinstance(a, lt.torrent_removed_alert) for a in ses.pop_alerts()):
            break
    del ses
    print(json.dumps({
        "ok": done, "elapsed": round(elapsed, 3), "state": str(st.state),
        "progress": st.progress, "total_done": st.total_done,
        "hash_failures": hash_failures, "url_seed_errors": url_seed_errors[:50],
        "errors": errors[:50],
    }))
    sys.stdout.flush()
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
