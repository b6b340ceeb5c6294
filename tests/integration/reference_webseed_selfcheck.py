#!/usr/bin/python3
"""SCAFFOLDING, not part of the pytest suite (no test_ prefix).

Proves the aria2c / libtorrent client invocations in webseed_clients.py work against a
known-good web seed: nginx serving the reference library, v1 torrents made by mktorrent
whose url-list uses the same URL shapes seedcast promises (exact file URL for single-file,
folder URL ending in "/" for multi-file).

usage: /usr/bin/python3 tests/integration/reference_webseed_selfcheck.py
"""
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seedcast_harness import MULTI_NAME, SINGLE_NAME, build_library, read_tree  # noqa: E402
from webseed_clients import run_aria2, run_libtorrent  # noqa: E402


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="refwebseed-"))
    tmp.chmod(0o755)  # nginx workers run as an unprivileged user
    lib = tmp / "lib"
    spec = build_library(lib)
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
daemon off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/error.log info;
events {{ worker_connections 64; }}
http {{
  access_log {tmp}/access.log;
  client_body_temp_path {tmp}/cb; proxy_temp_path {tmp}/px; fastcgi_temp_path {tmp}/fc;
  uwsgi_temp_path {tmp}/uw; scgi_temp_path {tmp}/sc;
  server {{ listen 127.0.0.1:{port}; root {lib}; location / {{ }} }}
}}
""")
    ng = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(tmp)], stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        t_single = tmp / "single.torrent"
        t_multi = tmp / "multi.torrent"
        subprocess.run(["mktorrent", "-l", "18", "-w",
                        f"{base}/{urllib.parse.quote(SINGLE_NAME)}", "-o", str(t_single),
                        str(lib / SINGLE_NAME)], check=True, capture_output=True)
        subprocess.run(["mktorrent", "-l", "18", "-w", f"{base}/", "-o", str(t_multi),
                        str(lib / MULTI_NAME)], check=True, capture_output=True)
        ok = True
        for client, fn in (("aria2c", run_aria2), ("libtorrent", run_libtorrent)):
            for tname, tfile in ((SINGLE_NAME, t_single), (MULTI_NAME, t_multi)):
                out = tmp / f"out-{client}-{tfile.stem}"
                t0 = time.monotonic()
                res = fn(tfile, out, timeout=60)
                got = read_tree(out)
                want = ({tname: spec[tname][tname]} if tname == SINGLE_NAME else
                        {f"{tname}/{k}": v for k, v in spec[tname].items()})
                same = got == want
                print(f"{client:10s} {tname:14s} ok={res['ok']} identical={same} "
                      f"{time.monotonic() - t0:.1f}s")
                if client == "libtorrent":
                    print("  url_seed_errors:", res.get("url_seed_errors"), "hash_failures:", res.get("hash_failures"))
                if not (res["ok"] and same):
                    ok = False
                    print("  result:", {k: v for k, v in res.items() if k != 'log'})
                    print("  log:", res.get("log", "")[-1500:])
                    print("  missing:", sorted(set(want) - set(got)),
                          "extra:", sorted(set(got) - set(want)),
                          "differ:", [k for k in want if k in got and got[k] != want[k]])
        print("access log:\n" + (tmp / "access.log").read_text()[-3000:])
        return 0 if ok else 1
    finally:
        ng.terminate()
        ng.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
