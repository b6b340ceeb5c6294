#!/usr/bin/env bash
# Seeding capacity: how many viewers, each streaming at RATE_KBIT over the BitTorrent peer wire,
# one core serves without any of them falling behind. seedcast's libtorrent engine vs a stock
# libtorrent seed (python3-libtorrent 2.0, default settings) and libtorrent's own
# high_performance_seed preset, same 1 GiB file, same load (bench/peer_load.cpp), same run.
# See bench/README.md.
#
# Environment (all optional):
#   STEPS="10 100 1000 2000 4000 6000 8000 10000"  viewer counts tried in order for each
#                      server; after a server's first failed step the larger ones are skipped
#   SEARCH=3           then bisect between its largest served and smallest failed N up to this
#                      many times, until they are within 10% (0: steps only)
#   DURATION=15        seconds measured per step  WARMUP=5  seconds after every viewer plays
#   RATE_KBIT=1000     bit rate of a viewer (kbit/s)   BUFFER=10  read-ahead, seconds
#   PREBUFFER=2        seconds buffered before playback starts; REBUFFER=1 after a stall
#   PIPELINE=4         outstanding 16 KiB requests per viewer at most
#   RAMP=200           new connections per second   START_TIMEOUT=30  s for every viewer to play
#   VERIFY_EVERY=64    every Nth block received is compared with the file (0: off)
#   BASELINES="stock hps"   which baselines (stock = libtorrent defaults, hps =
#                      high_performance_seed); "" for none
#   LOCAL_PEERS=0      1: the baselines treat the generator's 127.x peers as libtorrent "local"
#                      peers (always unchoked, 2/3 of connections_limit); default: as Internet peers
#   BASELINE_ONLY=1    baselines only (automatic, with a message, when $SEEDCAST_BIN is missing)
#   SEEDCAST_BIN=build/seedcast   SEEDCAST_ENV="VAR=value ..." extra settings for seedcast
#   ROUNDS=1           run every step this many times; N counts as served only if every round is
#   SERVER_CPU=0 LOAD_CPU=1   BENCH_TMP=/tmp/seedcast-bench   CLEAN=1 (remove it at exit)
#   WAIT_QUIET=60      wait up to this many s for a quiet second before each step
#   BG_LIMIT=15        flag a step during which the rest of the machine used more than this % of a core
#   HEALTH_TIMEOUT=300 seconds to wait for seedcast's indexing
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STEPS=${STEPS:-"10 100 1000 2000 4000 6000 8000 10000"}
SEARCH=${SEARCH:-3}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-5}
RATE_KBIT=${RATE_KBIT:-1000}
BUFFER=${BUFFER:-10}
PREBUFFER=${PREBUFFER:-2}
REBUFFER=${REBUFFER:-1}
PIPELINE=${PIPELINE:-4}
RAMP=${RAMP:-200}
START_TIMEOUT=${START_TIMEOUT:-30}
VERIFY_EVERY=${VERIFY_EVERY:-64}
BASELINES=${BASELINES-"stock hps"}
BASELINE_ONLY=${BASELINE_ONLY:-0}
LOCAL_PEERS=${LOCAL_PEERS:-0}
ROUNDS=${ROUNDS:-1}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
WAIT_QUIET=${WAIT_QUIET:-60}
BG_LIMIT=${BG_LIMIT:-15}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-300}
PIECE_LENGTH=${PIECE_LENGTH:-1048576}   # used when seedcast does not tell (BASELINE_ONLY)
SEED_TMP=$BENCH_TMP/seed
GEN=$SEED_TMP/bin/peer_load

for t in g++ curl taskset "$PY"; do command -v "$t" >/dev/null || die "missing tool: $t"; done
"$PY" -c 'import libtorrent' 2>/dev/null || die "$PY has no libtorrent module (apt-get install python3-libtorrent)"

bench_init
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
mkdir -p "$SEED_TMP/bin" "$SEED_TMP/torrents" "$SEED_TMP/seedcast-data"

if [[ $BASELINE_ONLY != 1 ]] && ! have_seedcast; then
    echo "NOTE: seedcast binary not found at $SEEDCAST_BIN -- measuring the baselines only" \
         "(build it, or set SEEDCAST_BIN; BASELINE_ONLY=1 silences this note)."
    BASELINE_ONLY=1
fi
SERVERS=()
[[ $BASELINE_ONLY == 1 ]] || SERVERS+=(seedcast)
for b in $BASELINES; do
    case $b in stock|hps) SERVERS+=("$b") ;; *) die "BASELINES: unknown baseline $b (stock, hps)" ;; esac
done
((${#SERVERS[@]} > 0)) || die "nothing to measure (BASELINE_ONLY=1 and BASELINES empty)"

# the generator, rebuilt when its source changes
src=$BENCH_DIR/peer_load.cpp
key=$(cat "$src" "$BENCH_DIR/proc_stat.hpp" | sha1sum | cut -c1-12)
if [[ ! -x $GEN || $(cat "$GEN.key" 2>/dev/null) != "$key" ]]; then
    log "building $GEN"
    g++ -O2 -std=c++20 -o "$GEN.tmp" "$src" -pthread || die "cannot build peer_load.cpp (needs g++ and libboost-dev)"
    mv "$GEN.tmp" "$GEN"
    echo "$key" > "$GEN.key"
fi

ensure_data_file
warm_page_cache

# --- servers: each step starts a fresh one pinned to SERVER_CPU, sets SRV_PID, SRV_PORT, IH, PL, SIZE
start_seedcast_seed() {
    local d=$RUN_DIR/seedcast-$1 t0=$SECONDS port="" health="" ntor=0
    mkdir -p "$d"
    # shellcheck disable=SC2086
    env HOST=127.0.0.1 PORT=0 PORT_FILE="$d/port" PEER_PORT=0 LIBRARY="$LIB_DIR" \
        DATA_DIR="$SEED_TMP/seedcast-data" THREADS=1 LOG_LEVEL=warn ${SEEDCAST_ENV:-} \
        taskset -c "$SERVER_CPU" "$SEEDCAST_BIN" serve > "$d/log" 2>&1 &
    SRV_PID=$!
    BENCH_PIDS+=("$SRV_PID")
    SRV_LOG=$d/log
    while :; do
        kill -0 "$SRV_PID" 2>/dev/null || { tail -n 30 "$d/log" >&2; die "seedcast exited during start-up"; }
        (( SECONDS - t0 < HEALTH_TIMEOUT )) || { tail -n 30 "$d/log" >&2; die "seedcast not seeding after ${HEALTH_TIMEOUT}s (last healthz: $health)"; }
        [[ -n $port ]] || port=$( { tr -dc 0-9 < "$d/port"; } 2>/dev/null || true)
        if [[ -n $port ]]; then
            health=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/healthz" 2>/dev/null || true)
            read -r SRV_PORT ntor < <("$PY" -c '
import json, sys
try: h = json.loads(sys.argv[1])
except Exception: h = {}
s = h.get("seed") or {}
print(s.get("port") or 0, s.get("torrents") or 0) if h.get("indexing") is False else print(0, 0)' "$health")
            (( SRV_PORT > 0 && ntor == 1 )) && break
        fi
        sleep 0.2
    done
    local ih
    ih=$(curl -fsS --max-time 10 "http://127.0.0.1:$port/" | grep -oiE '/file/[0-9a-f]{40}' | head -1 | cut -d/ -f3 | tr 'A-F' 'a-f')
    [[ -n $ih ]] || die "seedcast's index page lists no torrent"
    read -r IH PL SIZE < <(curl -fsS --max-time 10 "http://127.0.0.1:$port/file/$ih?json=1" |
        "$PY" -c 'import json,sys; j=json.load(sys.stdin); print(j["infoHash"], j["pieceLength"], j["length"])')
    PIECE_LENGTH=$PL
    SRV_HTTP=http://127.0.0.1:$port
}
start_baseline() {   # $1 = stock | hps, $2 = tag
    local d=$RUN_DIR/$1-$2 t0=$SECONDS local=()
    mkdir -p "$d"
    [[ $LOCAL_PEERS == 1 ]] && local=(--local-peers)
    taskset -c "$SERVER_CPU" "$PY" "$BENCH_DIR/seed_baseline.py" --file "$DATA_FILE" --piece-length "$PIECE_LENGTH" \
        --cache "$SEED_TMP/torrents" --info-file "$d/info.json" --preset "$1" "${local[@]}" > "$d/log" 2>&1 &
    SRV_PID=$!
    BENCH_PIDS+=("$SRV_PID")
    SRV_LOG=$d/log
    SRV_HTTP=
    while [[ ! -s $d/info.json ]]; do
        kill -0 "$SRV_PID" 2>/dev/null || { cat "$d/log" >&2; die "seed_baseline.py ($1) exited during start-up"; }
        (( SECONDS - t0 < HEALTH_TIMEOUT )) || die "seed_baseline.py ($1) not ready after ${HEALTH_TIMEOUT}s"
        sleep 0.1
    done
    read -r IH PL SIZE SRV_PORT < <("$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["info_hash"], j["piece_length"], j["total_size"], j["port"])' "$d/info.json")
}
stop_server() {
    kill "$SRV_PID" 2>/dev/null || true
    for _ in $(seq 100); do
        [[ $(awk '{print $3}' "/proc/$SRV_PID/stat" 2>/dev/null) =~ ^(Z|X|)$ ]] && break
        sleep 0.1
    done
    kill -9 "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
}
kv() { tr ' ' '\n' <<< "$1" | awk -F= -v k="$2" '$1==k{print $2}'; }

# run_step SERVER N ROUND -> sets R (the RESULT line plus idle_rss_kb= idle_anon_kb=)
ERRORS=0
declare -A OUT SERVED
run_step() {
    local srv=$1 n=$2 round=$3 tag=$1-$2-$3
    if [[ $srv == seedcast ]]; then start_seedcast_seed "$tag"; else start_baseline "$srv" "$tag"; fi
    sleep 1   # let it settle before the idle RSS
    local idle idle_anon
    idle=$(rss_of "$SRV_PID" VmRSS | cut -d' ' -f1)
    idle_anon=$(rss_of "$SRV_PID" RssAnon | cut -d' ' -f1)
    wait_quiet
    log "$srv: $n viewers at $RATE_KBIT kbit/s (round $round; server pid $SRV_PID, peer port $SRV_PORT, idle RSS ${idle} kB)"
    local out=$RUN_DIR/$tag.out rc=0
    local verify=()
    (( VERIFY_EVERY > 0 )) && verify=(--verify-file "$DATA_FILE" --verify-every "$VERIFY_EVERY")
    taskset -c "$LOAD_CPU" "$GEN" --port "$SRV_PORT" --info-hash "$IH" --piece-length "$PL" --total-size "$SIZE" \
        --conns "$n" --rate-kbit "$RATE_KBIT" --buffer "$BUFFER" --prebuffer "$PREBUFFER" --rebuffer "$REBUFFER" \
        --pipeline "$PIPELINE" --ramp "$RAMP" --start-timeout "$START_TIMEOUT" --warmup "$WARMUP" \
        --duration "$DURATION" --seed "$round" "${verify[@]}" --server-pid "$SRV_PID" \
        --server-core "$SERVER_CPU" --load-core "$LOAD_CPU" > "$out" 2> "$out.err" || rc=$?
    grep -vE '^\[ *[0-9.]+s (ramp|startup|warmup|measure)' "$out.err" | head -12 >&2 || true
    grep -E '^\[ *[0-9.]+s measure' "$out.err" | tail -1 >&2 || true
    if ! kill -0 "$SRV_PID" 2>/dev/null; then
        tail -n 20 "$SRV_LOG" >&2
        log "ERROR: $srv died under $n viewers"
        R="died=1 served=0 conns=$n"
        ERRORS=$((ERRORS + 1))
        wait "$SRV_PID" 2>/dev/null || true
        return
    fi
    if [[ -n $SRV_HTTP ]]; then log "$srv healthz: $(curl -fsS --max-time 5 "$SRV_HTTP/healthz" 2>/dev/null || echo 'no answer')"; fi
    stop_server
    R=$(grep '^RESULT' "$out" || true)
    if [[ $rc == 2 ]]; then
        log "ERROR: $srv sent wrong data (see above) -- not a result"
        ERRORS=$((ERRORS + 1))
        R="$R served=0"
    elif [[ $rc != 0 || -z $R ]]; then
        tail -n 5 "$out.err" >&2
        log "ERROR: the load generator failed (exit $rc)"
        ERRORS=$((ERRORS + 1))
        R="served=0 conns=$n"
    fi
    R="$R idle_rss_kb=$idle idle_anon_kb=$idle_anon"
    log "$srv $n: $(awk '{$1=""; print}' <<< "$R" | cut -c1-400)"
}

# measure SERVER N: all rounds; stores OUT[server,N] (last round) and SERVED[server,N]
measure() {
    local srv=$1 n=$2 r ok=1
    for ((r = 1; r <= ROUNDS; r++)); do
        run_step "$srv" "$n" "$r"
        [[ $(kv "$R" served) == 1 ]] || ok=0
        OUT[$srv,$n]=$R
    done
    SERVED[$srv,$n]=$ok
}

declare -A BEST NS
echo "seed_capacity: $RATE_KBIT kbit/s viewers, ${BUFFER}s read-ahead, $PIPELINE x 16 KiB pipeline, ramp $RAMP/s;" \
     "warm-up ${WARMUP}s, measured ${DURATION}s; servers on core $SERVER_CPU, peer_load on core $LOAD_CPU; fd limit $FD_LIMIT"
for srv in "${SERVERS[@]}"; do
    lo=0 hi=0
    for n in $STEPS; do
        measure "$srv" "$n"
        NS[$srv]+=" $n"
        if [[ ${SERVED[$srv,$n]} == 1 ]]; then lo=$n; else hi=$n; break; fi
    done
    for ((s = 0; s < SEARCH && hi > 0 && hi - lo > hi / 10 && hi - lo > 1; s++)); do
        mid=$(( (lo + hi) / 2 ))
        (( mid > 100 )) && mid=$(( (mid + 25) / 50 * 50 ))
        (( mid > lo && mid < hi )) || break
        measure "$srv" "$mid"
        NS[$srv]+=" $mid"
        if [[ ${SERVED[$srv,$mid]} == 1 ]]; then lo=$mid; else hi=$mid; fi
    done
    BEST[$srv]=$lo
done

# --- table
label() {
    case $1 in
        seedcast) echo "seedcast" ;;
        stock) echo "libtorrent stock" ;;
        hps) echo "libtorrent hps" ;;
    esac
}
echo
echo "Seeding capacity at $RATE_KBIT kbit/s per viewer (1 core each; '*' = served: no stall, drop or start-up failure)"
printf '%-17s %6s %3s | %6s %7s %8s %7s | %7s %6s %6s | %8s %8s %8s %8s | %5s\n' \
    server viewers ok stalls stall_s dropped/nostart Gbit/s "p99 ms" "srv CPU" "gen CPU" "RSS MB" "anon MB" "kB/v RSS" "kB/v anon" rest
for srv in "${SERVERS[@]}"; do
    for n in $(tr ' ' '\n' <<< "${NS[$srv]}" | sort -n | uniq); do
        R=${OUT[$srv,$n]}
        if [[ $(kv "$R" died) == 1 ]]; then
            printf '%-17s %6s %3s | %s\n' "$(label "$srv")" "$n" "-" "server died"
            continue
        fi
        awk -v srv="$(label "$srv")" -v n="$n" -v ok="${SERVED[$srv,$n]}" -v r="$R" -v bg="$BG_LIMIT" 'BEGIN{
            m = split(r, kvs, " "); for (i = 1; i <= m; i++) { split(kvs[i], p, "="); v[p[1]] = p[2] }
            rss = v["rss_kb"]; anon = v["rss_anon_kb"]
            printf "%-17s %6s %3s | %6s %7s %8s %7s | %7s %5s%% %5s%% | %8.0f %8.0f %8.0f %8.0f | %4s%%%s\n", srv, n, ok == 1 ? "*" : "",
                v["stalls"], v["stall_s"], v["dropped"] "/" v["never_played"], v["gbit_s"], v["lat_p99_ms"],
                v["server_cpu_pct"], v["gen_cpu_pct"], rss / 1024, anon / 1024,
                (rss - v["idle_rss_kb"]) / n, (anon - v["idle_anon_kb"]) / n, v["rest_pct"],
                (v["rest_pct"] + 0 > bg ? " DISTURBED" : "") (v["gen_cpu_pct"] + 0 >= 90 ? " GEN-LIMIT" : "")
        }'
    done
done
echo
echo "largest N served (of those tried):"
for srv in "${SERVERS[@]}"; do
    printf '  %-17s %6s viewers' "$(label "$srv")" "${BEST[$srv]}"
    n=${BEST[$srv]}
    if (( n > 0 )); then
        R=${OUT[$srv,$n]}
        awk -v r="$R" -v n="$n" 'BEGIN{ m = split(r, kvs, " "); for (i = 1; i <= m; i++) { split(kvs[i], p, "="); v[p[1]] = p[2] }
            printf "  (%.2f Gbit/s, server CPU %s%%, RSS %.0f MB = %.0f kB/viewer over idle, anon %.0f kB/viewer)",
                v["gbit_s"], v["server_cpu_pct"], v["rss_kb"] / 1024, (v["rss_kb"] - v["idle_rss_kb"]) / n, (v["rss_anon_kb"] - v["idle_anon_kb"]) / n }'
    fi
    echo
done
if [[ -n ${BEST[seedcast]:-} ]]; then
    for b in stock hps; do
        [[ -n ${BEST[$b]:-} ]] || continue
        awk -v a="${BEST[seedcast]}" -v b="${BEST[$b]}" -v l="$(label "$b")" \
            'BEGIN{ if (b > 0) printf "ratio seedcast / %s: %.2f (viewers served)\n", l, a / b; else printf "ratio seedcast / %s: n/a (baseline served none)\n", l }'
    done
fi
echo "baselines: 'libtorrent stock' = python3-libtorrent $("$PY" -c 'import libtorrent; print(libtorrent.__version__)') session with default settings;" \
     "'libtorrent hps' = its high_performance_seed() preset + allow_multiple_connections_per_ip; both seed the same file in seed mode (bench/seed_baseline.py)," \
     "and $([[ $LOCAL_PEERS == 1 ]] && echo "treat the 127.x viewers as LAN peers (LOCAL_PEERS=1: always unchoked, 2/3 of connections_limit)" || echo "treat the 127.x viewers as Internet peers (global peer class)")."
echo "target (engine issue): >= 2,000 viewers per core and <= 0.2 MB RSS per viewer (SwarmCloud super peer: 200 viewers, 400 MB per core)."
if (( ERRORS > 0 )); then
    echo "seed_capacity: $ERRORS step(s) with errors -- see ERROR lines"
    exit 1
fi
