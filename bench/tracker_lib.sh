# shellcheck shell=bash
# Shared helpers for the tracker benchmarks (bench/tracker_*.sh; sourced, not executed).
#
# Layout under $BENCH_TMP/tracker (BENCH_TMP default /tmp/seedcast-bench):
#   library/            LIB_FILES small random files (each one torrent), kept between runs
#   seedcast-data/      seedcast's DATA_DIR (catalog), kept so a second run re-hashes nothing
#   npm/                bittorrent-tracker from npm (tracker_ws.sh), kept
#   bin/                the compiled load generator (tracker_ws.sh), rebuilt when its source changes
#   run.XXXXXX/         per-run scratch (logs, whitelist, port files), removed on exit
# CLEAN=1 removes $BENCH_TMP/tracker on exit instead.

TB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TB_REPO=$(cd "$TB_DIR/.." && pwd)
BENCH_TMP=${BENCH_TMP:-/tmp/seedcast-bench}
TB_TMP=$BENCH_TMP/tracker
TB_LIB=$TB_TMP/library
LIB_FILES=${LIB_FILES:-100}
LIB_FILE_SIZE=${LIB_FILE_SIZE:-16384}
SEEDCAST_BIN=${SEEDCAST_BIN:-$TB_REPO/build/seedcast}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-300}
WAIT_OTHERS=${WAIT_OTHERS:-1800}   # seconds to wait for other benchmarks to finish
BASELINE_ONLY=${BASELINE_ONLY:-0}
PY=/usr/bin/python3                 # python3 on PATH may be a pyenv shim
CLK_TCK=$(getconf CLK_TCK)

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# --- every background process we start is recorded here and killed on EXIT (by pid) ---
TB_PIDS=()
TB_RUN=
tb_cleanup() {
    local rc=$? p
    for p in "${TB_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${TB_PIDS[@]}"; do
        for _ in $(seq 50); do
            [[ $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) =~ ^(Z|X|)$ ]] && break
            sleep 0.1
        done
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    [[ -n $TB_RUN && -d $TB_RUN ]] && rm -rf -- "$TB_RUN"
    if [[ ${CLEAN:-0} == 1 && -d $TB_TMP ]]; then rm -rf -- "$TB_TMP"; fi
    exit "$rc"
}
tb_init() {
    mkdir -p "$TB_TMP"
    TB_RUN=$(mktemp -d "$TB_TMP/run.XXXXXX")
    trap tb_cleanup EXIT
    trap 'exit 130' INT TERM
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}
# stop_pid PID: stop one process we started (TERM, then KILL after 5 s)
stop_pid() {
    local p=$1
    kill "$p" 2>/dev/null || return 0
    for _ in $(seq 50); do
        [[ $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) =~ ^(Z|X|)$ ]] && break
        sleep 0.1
    done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb()    { awk '$1=="VmRSS:"{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
status_kb() { awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# --- other benchmarks: two at once on 2 cores make both wrong ---
# other_benchmarks: prints the processes of other benchmarks (not this script, its ancestors or
# the processes it started).
other_benchmarks() {
    local mine=" $$ $BASHPID " p=$$
    while [[ $p -gt 1 ]]; do
        p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null || echo 1)
        mine+="$p "
    done
    local q
    for q in "${TB_PIDS[@]}"; do mine+="$q "; done
    pgrep -af 'wrk|webseed_ranges|create_vs_mktorrent|tracker_(http|ws|memory)\.sh|tracker_ws_load|seed_(capacity|workers)\.sh|peer_load|gateway_ttfb\.sh|p2p_offload\.sh' 2>/dev/null |
        while read -r pid args; do
            [[ $mine == *" $pid "* ]] && continue
            # children of ours (e.g. a wrk we started) are ours too
            [[ $mine == *" $(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null) "* ]] && continue
            echo "$pid ${args:0:120}"
        done
}
# wait_for_others: wait (up to WAIT_OTHERS s) until no other benchmark runs; die after that.
wait_for_others() {
    local t0=$SECONDS others
    while others=$(other_benchmarks) && [[ -n $others ]]; do
        if (( SECONDS - t0 >= WAIT_OTHERS )); then
            die "another benchmark is still running after ${WAIT_OTHERS}s; not measuring:"$'\n'"$others"
        fi
        if (( (SECONDS - t0) % 60 == 0 )); then
            log "waiting for another benchmark to finish (up to ${WAIT_OTHERS}s):"
            printf '    %s\n' "$others" >&2
        fi
        sleep 5
    done
    (( SECONDS - t0 > 1 )) && log "waited $((SECONDS - t0)) s for other benchmarks"
    return 0
}
# wait_quiet: wait up to WAIT_QUIET s (default 60) for a second in which all processes together
# use less than BG_LIMIT % (default 15) of a core -- tests or builds running beside a benchmark
# make its numbers wrong.  Measures anyway after that, and says so.
WAIT_QUIET=${WAIT_QUIET:-60}
BG_LIMIT=${BG_LIMIT:-15}
wait_quiet() {
    local t0=$SECONDS a b p
    (( WAIT_QUIET > 0 )) || return 0
    while :; do
        a=$(stat_tasks); sleep 1; b=$(stat_tasks)
        p=$(( (b - a) * 100 / CLK_TCK ))
        (( p < BG_LIMIT )) && break
        if (( SECONDS - t0 >= WAIT_QUIET )); then
            log "machine still busy (${p}% of a core) after ${WAIT_QUIET}s; measuring anyway:"
            ps -eo pcpu,comm --sort=-pcpu | awk 'NR>1 && NR<=4 {printf "    %s%% %s\n", $1, $2}' >&2
            return 0
        fi
    done
    (( SECONDS - t0 > 2 )) && log "waited $((SECONDS - t0)) s for a quiet machine"
    return 0
}
# check_idle: warn when other processes keep the CPUs busy for a second before a run
stat_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
# stat_tasks: user+nice+system jiffies of the whole machine (what processes are charged; the
# kernel's softirq work for loopback traffic is not in it)
stat_tasks() { awk '/^cpu /{print $2+$3+$4}' /proc/stat; }
# core_busy N: busy jiffies of core N (user+nice+system+irq+softirq+steal)
core_busy() { awk -v c="cpu$1" '$1==c{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
check_idle() {
    local a b busy
    a=$(stat_busy); sleep 1; b=$(stat_busy)
    busy=$(( (b - a) * 100 / CLK_TCK ))
    if (( busy > 15 )); then
        echo "WARNING: the machine is busy before the benchmark (${busy}% of one core used by other processes over 1 s); numbers will be noisy:"
        ps -eo pcpu,comm --sort=-pcpu | awk 'NR>1 && NR<=4 {printf "   %s%% %s\n", $1, $2}'
    fi
}

# --- the library: LIB_FILES small random files, each a torrent in seedcast ---
ensure_library() {
    mkdir -p "$TB_LIB"
    local have
    have=$(find "$TB_LIB" -mindepth 1 -maxdepth 1 -type f -name 'clip*.bin' -size "${LIB_FILE_SIZE}c" | wc -l)
    local extra
    extra=$(find "$TB_LIB" -mindepth 1 -maxdepth 1 ! -name 'clip*.bin' -print -quit)
    [[ -z $extra ]] || die "$TB_LIB must contain only clip*.bin files (found $extra)"
    if [[ $have != "$LIB_FILES" ]]; then
        log "creating $LIB_FILES files of $LIB_FILE_SIZE random bytes in $TB_LIB"
        rm -f -- "$TB_LIB"/clip*.bin
        local i
        for ((i = 0; i < LIB_FILES; i++)); do
            head -c "$LIB_FILE_SIZE" /dev/urandom > "$TB_LIB/$(printf 'clip%04d.bin' "$i")"
        done
    fi
}

# --- seedcast ---
have_seedcast() { [[ -x $SEEDCAST_BIN ]]; }
# start_seedcast NAME: starts `seedcast serve` pinned to SERVER_CPU, waits for indexing, sets
# SC_PID, SC_PORT, SC_BASE, SC_LOG, and writes the catalog's info-hashes to $TB_RUN/hashes.txt.
start_seedcast() {
    local d=$TB_RUN/seedcast-$1
    mkdir -p "$d" "$TB_TMP/seedcast-data"
    SC_LOG=$d/seedcast.log
    local port_file=$d/port
    # SEEDCAST_ENV: extra VAR=value settings for seedcast, split on spaces
    # shellcheck disable=SC2086
    env HOST=127.0.0.1 PORT=0 PORT_FILE="$port_file" LIBRARY="$TB_LIB" \
        DATA_DIR="$TB_TMP/seedcast-data" THREADS=1 LOG_LEVEL=warn ${SEEDCAST_ENV:-} \
        taskset -c "$SERVER_CPU" env -C "$d" "$SEEDCAST_BIN" serve > "$SC_LOG" 2>&1 &
    SC_PID=$!
    TB_PIDS+=("$SC_PID")
    wait_ready seedcast "$SC_PID" "$port_file" "$SC_LOG" "$HEALTH_TIMEOUT" indexed
    SC_PORT=$READY_PORT
    local health=$READY_HEALTH
    SC_BASE=http://127.0.0.1:$SC_PORT
    curl -fsS --max-time 10 "$SC_BASE/" | grep -oiE '/file/[0-9a-f]{40}' | cut -d/ -f3 | tr 'A-F' 'a-f' | sort -u > "$TB_RUN/hashes.txt" || true
    local n
    n=$(wc -l < "$TB_RUN/hashes.txt")
    [[ $n == "$LIB_FILES" ]] || die "seedcast's index page lists $n info-hashes, expected $LIB_FILES (healthz: $health)"
    log "seedcast pid $SC_PID on port $SC_PORT, $n torrents (healthz: $health)"
}
# fake_hashes: LIB_FILES made-up info-hashes (baseline only, when there is no seedcast)
fake_hashes() {
    local i
    for ((i = 0; i < LIB_FILES; i++)); do printf 'seedcast-bench-%d' "$i" | sha1sum | cut -c1-40; done | sort > "$TB_RUN/hashes.txt"
}
# pct_hash HEX40 -> %XX-encoded 20 bytes
pct_hash() { local h=$1 o="" i; for ((i = 0; i < 40; i += 2)); do o+="%${h:i:2}"; done; echo "$o"; }

# seedcast_http_tracker: 0 if GET /announce answers a bencoded dict (the tracker exists)
seedcast_http_tracker() {
    local ih body
    ih=$(head -1 "$TB_RUN/hashes.txt")
    body=$(curl -sS --max-time 5 "$SC_BASE/announce?info_hash=$(pct_hash "$ih")&peer_id=-WR0001-999999999999&port=1&uploaded=0&downloaded=0&left=0&compact=1&numwant=0&event=stopped" 2>/dev/null | head -c 300 | tr -d '\0')
    [[ $body == d* ]]
}

# --- opentracker (Debian package; whitelist build) ---
# start_opentracker NAME: opentracker pinned to SERVER_CPU on 127.0.0.1:<free port>, whitelist =
# $TB_RUN/hashes.txt, chrooted into its own scratch folder.  Sets OT_PID, OT_PORT, OT_BASE.
# seedcast answers a WebSocket upgrade on /announce.
seedcast_ws_tracker() {
    local code
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
        -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$SC_BASE/announce" 2>/dev/null || true)
    [[ $code == 101 ]]
}

# select_servers BASELINE TAG PROBE WHAT: decides whether seedcast is measured (BASELINE_ONLY),
# prepares the library, starts seedcast (log tag TAG) and keeps it only when PROBE succeeds.
# Sets HASHES.
select_servers() {
    local baseline=$1 tag=$2 probe=$3 what=$4
    if [[ $BASELINE_ONLY == 1 ]]; then
        echo "NOTE: BASELINE_ONLY=1 -- measuring $baseline only (seedcast skipped)."
    elif ! have_seedcast; then
        echo "NOTE: seedcast binary not found at $SEEDCAST_BIN -- measuring $baseline only" \
             "(build it, or set SEEDCAST_BIN; BASELINE_ONLY=1 silences this note)."
        BASELINE_ONLY=1
    fi
    ensure_library
    if [[ $BASELINE_ONLY == 1 ]]; then
        fake_hashes
    else
        start_seedcast "$tag"
        if ! "$probe"; then
            echo "NOTE: seedcast has no $what yet -- measuring $baseline only."
            BASELINE_ONLY=1
            stop_pid "$SC_PID"
        fi
    fi
    HASHES=$TB_RUN/hashes.txt
}

start_opentracker() {
    local d=$TB_RUN/opentracker-$1
    mkdir -p "$d"
    cp "$TB_RUN/hashes.txt" "$d/whitelist.txt"
    OT_PORT=$(free_port)
    # -d: chroot folder (opentracker chroots when run as root, and then runs as "nobody");
    # -w is read inside it.  -P binds its UDP tracker to the same port on 127.0.0.1 (unused).
    taskset -c "$SERVER_CPU" opentracker -i 127.0.0.1 -p "$OT_PORT" -P "$OT_PORT" -d "$d" -w whitelist.txt \
        > "$d/opentracker.log" 2>&1 &
    OT_PID=$!
    TB_PIDS+=("$OT_PID")
    OT_BASE=http://127.0.0.1:$OT_PORT
    local ih body
    ih=$(head -1 "$TB_RUN/hashes.txt")
    for _ in $(seq 100); do
        kill -0 "$OT_PID" 2>/dev/null || { cat "$d/opentracker.log" >&2; die "opentracker exited"; }
        body=$(curl -sS --max-time 2 "$OT_BASE/scrape?info_hash=$(pct_hash "$ih")" 2>/dev/null | tr -d '\0' || true)
        if [[ $body == d5:files* ]]; then
            log "opentracker pid $OT_PID on port $OT_PORT ($(wc -l < "$d/whitelist.txt") whitelisted info-hashes)"
            return
        fi
        sleep 0.1
    done
    cat "$d/opentracker.log" >&2
    die "opentracker did not answer a scrape on port $OT_PORT (last: ${body:0:100})"
}

# scrape_totals BASE HASHFILE -> "<torrents seen> <complete sum> <incomplete sum>" (64 a request)
scrape_totals() {
    "$PY" - "$1" "$2" <<'PY'
import sys, urllib.request
base, hf = sys.argv[1], sys.argv[2]
hashes = [l.strip() for l in open(hf) if len(l.strip()) == 40]
def bdec(b, i=0):
    c = b[i:i+1]
    if c == b'i':
        j = b.index(b'e', i); return int(b[i+1:j]), j + 1
    if c == b'l':
        i += 1; out = []
        while b[i:i+1] != b'e':
            v, i = bdec(b, i); out.append(v)
        return out, i + 1
    if c == b'd':
        i += 1; out = {}
        while b[i:i+1] != b'e':
            k, i = bdec(b, i); v, i = bdec(b, i); out[k] = v
        return out, i + 1
    j = b.index(b':', i); n = int(b[i:j]); return b[j+1:j+1+n], j + 1 + n
seen = comp = inc = 0
for k in range(0, len(hashes), 64):
    chunk = hashes[k:k+64]
    q = '&'.join('info_hash=' + ''.join('%' + h[2*x:2*x+2] for x in range(20)) for h in chunk)
    body = urllib.request.urlopen(base + '/scrape?' + q, timeout=10).read()
    d, _ = bdec(body)
    if b'failure reason' in d:
        print('FAIL', d[b'failure reason'].decode('latin1')); sys.exit(1)
    for h, st in d.get(b'files', {}).items():
        seen += 1; comp += st.get(b'complete', 0); inc += st.get(b'incomplete', 0)
print(seen, comp, inc)
PY
}

# swarm_probe BASE HEX40 PORT PEERID -> "<complete> <incomplete> <peers in answer>" for an
# announce (numwant=200) by that peer
swarm_probe() {
    curl -sS --max-time 5 "$1/announce?info_hash=$(pct_hash "$2")&peer_id=$4&port=$3&uploaded=0&downloaded=0&left=1048576&compact=1&numwant=200" |
        "$PY" -c '
import sys, re
b = sys.stdin.buffer.read()
c = re.search(rb"8:completei(\d+)e", b); i = re.search(rb"10:incompletei(\d+)e", b)
p4 = re.search(rb"5:peers(\d+):", b); p6 = re.search(rb"6:peers6(\d+):", b)
n = (int(p4.group(1)) // 6 if p4 else 0) + (int(p6.group(1)) // 18 if p6 else 0)
if not c or not i: print("bad-answer", b[:120]); sys.exit(1)
print(c.group(1).decode(), i.group(1).decode(), n)'
}
