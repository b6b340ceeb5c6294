# shellcheck shell=bash
# Shared part of the seeding-capacity benchmarks (sourced by seed_capacity.sh and
# seed_workers.sh after lib.sh): the load generator (peer_load.cpp), the servers, one measured
# step, the search for the largest N served, and the table. See bench/README.md.
#
# Servers (the names the scripts put in SERVERS):
#   seedcast           `seedcast serve`, its in-process engine (WORKERS=0), pinned to SERVER_CPU
#   stock, hps         seed_baseline.py (libtorrent defaults / high_performance_seed), SERVER_CPU
#   workersK           `seedcast serve` with WORKERS=K: the master on SERVER_CPU, worker i pinned
#                      to the i-th core of WORKER_CPUS; the torrent is seeded by every worker
#                      (POST /seed), and the load goes to the workers' ports only (round robin)
#   workersK-shared    the same, with the load generator unpinned (see load_cpus)
# QUOTA=F (e.g. 0.4) also limits each worker to F of a core (CFS bandwidth control: a cgroup
# per worker, QUOTA_PERIOD_US=10000; needs root and the cgroup cpu controller).
# Each step starts a fresh server and sets SRV_PIDS (the processes whose CPU and memory count as
# the server's: the master first, then its workers), SRV_PORTS, IH, PL, SIZE.
#
# Environment (all optional; the scripts document their own defaults):
#   STEPS   SEARCH=3   DURATION=15  WARMUP=5  RATE_KBIT=1000  BUFFER=10  PREBUFFER=2  REBUFFER=1
#   PIPELINE=4  RAMP=200  START_TIMEOUT=30  VERIFY_EVERY=64  LOCAL_PEERS=0  ROUNDS=1
#   SERVER_CPU=0 LOAD_CPU=1  WORKER_CPUS="0 1"  SHARED_LOAD_CPUS=0-(cores-1)  QUOTA=  QUOTA_PERIOD_US=10000
#   WAIT_QUIET=60  BG_LIMIT=15  RETRIES=1  HEALTH_TIMEOUT=300  SEEDCAST_ENV="VAR=value ..."

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
LOCAL_PEERS=${LOCAL_PEERS:-0}
ROUNDS=${ROUNDS:-1}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
WORKER_CPUS=${WORKER_CPUS:-"0 1"}
SHARED_LOAD_CPUS=${SHARED_LOAD_CPUS:-0-$(($(nproc) - 1))}
WAIT_QUIET=${WAIT_QUIET:-60}
BG_LIMIT=${BG_LIMIT:-15}
RETRIES=${RETRIES:-1}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-300}
PIECE_LENGTH=${PIECE_LENGTH:-1048576}   # used when seedcast does not tell (BASELINE_ONLY)
SEED_TMP=$BENCH_TMP/seed
GEN=$SEED_TMP/bin/peer_load

# seed_setup: tools, scratch folders, the generator (rebuilt when its source changes), the file
seed_setup() {
    local t
    for t in g++ curl taskset "$PY"; do command -v "$t" >/dev/null || die "missing tool: $t"; done
    "$PY" -c 'import libtorrent' 2>/dev/null || die "$PY has no libtorrent module (apt-get install python3-libtorrent)"
    bench_init
    [[ -z ${QUOTA:-} ]] || cpu_cgroup_setup
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    FD_LIMIT=$(ulimit -n)   # for the scripts' headers
    export FD_LIMIT
    mkdir -p "$SEED_TMP/bin" "$SEED_TMP/torrents" "$SEED_TMP/seedcast-data"
    local src=$BENCH_DIR/peer_load.cpp key
    key=$(cat "$src" "$BENCH_DIR/proc_stat.hpp" | sha1sum | cut -c1-12)
    if [[ ! -x $GEN || $(cat "$GEN.key" 2>/dev/null) != "$key" ]]; then
        log "building $GEN"
        g++ -O2 -std=c++20 -o "$GEN.tmp" "$src" -pthread || die "cannot build peer_load.cpp (needs g++ and libboost-dev)"
        mv "$GEN.tmp" "$GEN"
        echo "$key" > "$GEN.key"
    fi
    ensure_data_file
    warm_page_cache
}

workers_of() { [[ $1 =~ ^workers([0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo 0; }

# load_cpus SERVER -> the taskset CPU list of the generator. One core of its own (LOAD_CPU) when
# the server leaves it one; unpinned over all cores (SHARED_LOAD_CPUS) for `workersK-shared`
# and whenever the workers take every core (WORKERS=2 on 2 cores).
load_cpus() {
    local k
    k=$(workers_of "$1")
    if [[ $1 == *-shared ]] || (( k > 1 && k >= $(nproc) )); then echo "$SHARED_LOAD_CPUS"; else echo "$LOAD_CPU"; fi
}
# worker_cpu I -> the core worker I is pinned to
worker_cpu() { local c; read -ra c <<< "$WORKER_CPUS"; echo "${c[$1 % ${#c[@]}]}"; }

# --- QUOTA: a CPU budget per worker (CFS bandwidth control, cgroup v2 cpu.max or v1 cpu.cfs_*)
# cpu_cgroup_setup: finds the cpu controller and registers the clean-up; dies when there is none
CG_ROOT='' CG_V=''
CG_DIRS=()
cpu_cgroup_setup() {
    if [[ -f /sys/fs/cgroup/cgroup.controllers ]] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
        CG_ROOT=/sys/fs/cgroup CG_V=2
        grep -qw cpu "$CG_ROOT/cgroup.subtree_control" || echo +cpu > "$CG_ROOT/cgroup.subtree_control" ||
            die "QUOTA: cannot enable the cpu controller in $CG_ROOT"
    elif [[ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]]; then
        CG_ROOT=/sys/fs/cgroup/cpu CG_V=1
    else
        die "QUOTA needs the cgroup cpu controller (v2 cpu.max or v1 cpu.cfs_quota_us)"
    fi
    [[ -w $CG_ROOT ]] || die "QUOTA: $CG_ROOT is not writable (run as root)"
    BENCH_EXIT_HOOKS+=(cpu_cgroup_cleanup)
}
# cpu_cgroup_limit NAME PID: PID (all its threads) into cgroup NAME, QUOTA of a core over QUOTA_PERIOD_US
cpu_cgroup_limit() {
    local d=$CG_ROOT/seedcast-bench.$$.$1 period=${QUOTA_PERIOD_US:-10000} q
    q=$(awk -v q="$QUOTA" -v p="$period" 'BEGIN{ printf "%d", q * p }')
    if [[ ! -d $d ]]; then
        mkdir "$d" || die "QUOTA: cannot create $d"
        CG_DIRS+=("$d")
        if [[ $CG_V == 2 ]]; then
            echo "$q $period" > "$d/cpu.max"
        else
            echo "$period" > "$d/cpu.cfs_period_us" && echo "$q" > "$d/cpu.cfs_quota_us"
        fi || die "QUOTA: cannot set the quota of $d"
    fi
    echo "$2" > "$d/cgroup.procs" || die "QUOTA: cannot move $2 into $d"
}
# cpu_cgroup_cleanup: our cgroups go (any process still in one is ours: a worker; killed first)
cpu_cgroup_cleanup() {
    local d p
    for d in "${CG_DIRS[@]}"; do
        for _ in $(seq 50); do
            rmdir "$d" 2>/dev/null && break
            while read -r p; do kill -9 "$p" 2>/dev/null; done < "$d/cgroup.procs"
            sleep 0.1
        done
    done
}
# json_get JSON PYTHON-EXPRESSION-OF-j -> prints it (nothing when JSON does not parse or lacks a
# field); always succeeds
json_get() {
    "$PY" -c '
import json, sys
try: print(eval("(" + sys.argv[2] + ")", {"j": json.loads(sys.argv[1])}))
except Exception: pass' "$1" "$2"
}

# --- servers
# start_seedcast_seed TAG [WORKERS]
# wait_ready's test: common.sh's seeding_one, with a BitTorrent port (set in SRV_PORT)
seeding_one_on_port() {
    seeding_one "$1" || return 1
    SRV_PORT=$(json_get "$1" '(j.get("seed") or {}).get("port") or 0')
    (( ${SRV_PORT:-0} > 0 ))
}

start_seedcast_seed() {
    local d=$RUN_DIR/seedcast-$1 workers=${2:-0} port token=""
    mkdir -p "$d"
    local extra=()
    if (( workers > 0 )); then
        token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
        extra=(WORKERS="$workers" ACCESS_TOKEN="$token")
    fi
    # shellcheck disable=SC2086
    env HOST=127.0.0.1 PORT=0 PORT_FILE="$d/port" PEER_PORT=0 LIBRARY="$LIB_DIR" \
        DATA_DIR="$SEED_TMP/seedcast-data" THREADS=1 LOG_LEVEL=warn "${extra[@]}" ${SEEDCAST_ENV:-} \
        taskset -c "$SERVER_CPU" "$SEEDCAST_BIN" serve > "$d/log" 2>&1 &
    SRV_PID=$!
    BENCH_PIDS+=("$SRV_PID")
    SRV_PIDS=("$SRV_PID")
    SRV_LOG=$d/log
    wait_ready seedcast "$SRV_PID" "$d/port" "$d/log" "$HEALTH_TIMEOUT" seeding_one_on_port
    port=$READY_PORT
    SRV_PORTS=("$SRV_PORT")
    local ih
    ih=$(curl -fsS --max-time 10 "http://127.0.0.1:$port/" | grep -oiE '/file/[0-9a-f]{40}' | head -1 | cut -d/ -f3 | tr 'A-F' 'a-f')
    [[ -n $ih ]] || die "seedcast's index page lists no torrent"
    read -r IH PL SIZE < <(curl -fsS --max-time 10 "http://127.0.0.1:$port/file/$ih?json=1" |
        "$PY" -c 'import json,sys; j=json.load(sys.stdin); print(j["infoHash"], j["pieceLength"], j["length"])')
    PIECE_LENGTH=$PL
    SRV_HTTP=http://127.0.0.1:$port
    SRV_TOKEN=$token
    (( workers > 0 )) && seed_on_workers "$workers"
    return 0
}
# seed_on_workers K: POST /seed the torrent, wait until the K workers run and seed it, pin them,
# and aim the load at their ports (SRV_PORTS) with their pids in SRV_PIDS after the master's.
seed_on_workers() {
    local k=$1 t0=$SECONDS stats="" ready body
    body="{\"list\":[{\"channel\":\"$(printf %s "$IH" | base64 -w0)\"}]}"
    curl -fsS --max-time 10 -X POST -H "X-ACCESS-TOKEN: $SRV_TOKEN" -H 'Content-Type: application/json' \
        -d "$body" "$SRV_HTTP/seed" > /dev/null || die "POST /seed failed"
    while :; do
        kill -0 "$SRV_PID" 2>/dev/null || { tail -n 30 "$SRV_LOG" >&2; die "seedcast exited before its workers seeded"; }
        (( SECONDS - t0 < 60 )) || { tail -n 30 "$SRV_LOG" >&2; die "workers not seeding after 60 s (last /stats: ${stats:0:600})"; }
        stats=$(curl -fsS --max-time 5 -H "X-ACCESS-TOKEN: $SRV_TOKEN" "$SRV_HTTP/stats" 2>/dev/null || true)
        # "pid port" of each worker, once all K run, listen and seed the torrent
        ready=$(json_get "$stats" '"\n".join("%d %d" % (w["pid"], w["peerPort"]) for w in j["workers"])
            if len(j["workers"]) == '"$k"' and all(w["state"] == "running" and w.get("peerPort")
            and any(c.get("infoHash") == "'"$IH"'" for c in w.get("channels", [])) for w in j["workers"]) else ""')
        [[ -n $ready ]] && break
        sleep 0.2
    done
    SRV_PORTS=()
    local i=0 pid wport
    while read -r pid wport; do
        # the master spawned them on its core; -a: every thread of the worker
        taskset -a -p -c "$(worker_cpu "$i")" "$pid" > /dev/null || die "taskset on worker $pid failed"
        [[ -n ${QUOTA:-} ]] && cpu_cgroup_limit "w$i" "$pid"
        SRV_PIDS+=("$pid")
        SRV_PORTS+=("$wport")
        i=$((i + 1))
    done <<< "$ready"
}
start_baseline() {   # $1 = stock | hps, $2 = tag
    local d=$RUN_DIR/$1-$2 t0=$SECONDS local=()
    mkdir -p "$d"
    [[ $LOCAL_PEERS == 1 ]] && local=(--local-peers)
    taskset -c "$SERVER_CPU" "$PY" "$BENCH_DIR/seed_baseline.py" --file "$DATA_FILE" --piece-length "$PIECE_LENGTH" \
        --cache "$SEED_TMP/torrents" --info-file "$d/info.json" --preset "$1" "${local[@]}" > "$d/log" 2>&1 &
    SRV_PID=$!
    BENCH_PIDS+=("$SRV_PID")
    SRV_PIDS=("$SRV_PID")
    SRV_LOG=$d/log
    SRV_HTTP=
    while [[ ! -s $d/info.json ]]; do
        kill -0 "$SRV_PID" 2>/dev/null || { cat "$d/log" >&2; die "seed_baseline.py ($1) exited during start-up"; }
        (( SECONDS - t0 < HEALTH_TIMEOUT )) || die "seed_baseline.py ($1) not ready after ${HEALTH_TIMEOUT}s"
        sleep 0.1
    done
    read -r IH PL SIZE SRV_PORT < <("$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["info_hash"], j["piece_length"], j["total_size"], j["port"])' "$d/info.json")
    SRV_PORTS=("$SRV_PORT")
}
start_server() {   # SERVER TAG
    case $1 in
        seedcast) start_seedcast_seed "$2" ;;
        stock|hps) start_baseline "$1" "$2" ;;
        workers*) start_seedcast_seed "$2" "$(workers_of "$1")" ;;
        *) die "unknown server $1" ;;
    esac
}
gone() { [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) =~ ^(Z|X|)$ ]]; }
# stop_server: SIGTERM to the server (a master stops its workers), SIGKILL after 10 s; then any
# worker still there
stop_server() {
    local p
    kill "$SRV_PID" 2>/dev/null || true
    for _ in $(seq 100); do gone "$SRV_PID" && break; sleep 0.1; done
    kill -9 "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
    for p in "${SRV_PIDS[@]:1}"; do
        for _ in $(seq 50); do gone "$p" && break; sleep 0.1; done
        gone "$p" || { log "worker $p outlived its master: killing it"; kill -9 "$p" 2>/dev/null || true; }
    done
}
# server_alive: every process of the server is still there
server_alive() { local p; for p in "${SRV_PIDS[@]}"; do gone "$p" && return 1; done; return 0; }
kv() { tr ' ' '\n' <<< "$1" | awk -F= -v k="$2" '$1==k{print $2}'; }

# run_step SERVER N ROUND -> sets R (the RESULT line plus idle_rss_kb= idle_anon_kb=)
ERRORS=0
declare -A OUT SERVED BEST NS
STEP_NO=0
run_step() {
    STEP_NO=$((STEP_NO + 1))
    local srv=$1 n=$2 round=$3 tag=$1-$2-$3-$STEP_NO p   # a fresh folder each time, retries too
    start_server "$srv" "$tag"
    sleep 1   # let it settle before the idle RSS
    local idle=0 idle_anon=0
    for p in "${SRV_PIDS[@]}"; do
        idle=$((idle + $(rss_of "$p" VmRSS | cut -d' ' -f1)))
        idle_anon=$((idle_anon + $(rss_of "$p" RssAnon | cut -d' ' -f1)))
    done
    wait_quiet
    local gen_cpus srv_core=$SERVER_CPU load_core
    gen_cpus=$(load_cpus "$srv")
    [[ $gen_cpus =~ ^[0-9]+$ ]] && load_core=$gen_cpus || load_core=-1
    (( $(workers_of "$srv") > 1 )) && srv_core=-1   # the server has several cores
    log "$srv: $n viewers at $RATE_KBIT kbit/s (round $round; pids ${SRV_PIDS[*]}, peer ports ${SRV_PORTS[*]}, load on CPUs $gen_cpus, idle RSS ${idle} kB)"
    local out=$RUN_DIR/$tag.out rc=0
    local verify=()
    (( VERIFY_EVERY > 0 )) && verify=(--verify-file "$DATA_FILE" --verify-every "$VERIFY_EVERY")
    taskset -c "$gen_cpus" "$GEN" --ports "$(IFS=,; echo "${SRV_PORTS[*]}")" --info-hash "$IH" --piece-length "$PL" --total-size "$SIZE" \
        --conns "$n" --rate-kbit "$RATE_KBIT" --buffer "$BUFFER" --prebuffer "$PREBUFFER" --rebuffer "$REBUFFER" \
        --pipeline "$PIPELINE" --ramp "$RAMP" --start-timeout "$START_TIMEOUT" --warmup "$WARMUP" \
        --duration "$DURATION" --seed "$round" "${verify[@]}" --server-pid "$(IFS=,; echo "${SRV_PIDS[*]}")" \
        --server-core "$srv_core" --load-core "$load_core" > "$out" 2> "$out.err" || rc=$?
    grep -vE '^\[ *[0-9.]+s (ramp|startup|warmup|measure)' "$out.err" | head -12 >&2 || true
    grep -E '^\[ *[0-9.]+s measure' "$out.err" | tail -1 >&2 || true
    if ! server_alive; then
        tail -n 20 "$SRV_LOG" >&2
        log "ERROR: $srv died under $n viewers (a process of ${SRV_PIDS[*]} is gone)"
        R="died=1 served=0 conns=$n"
        ERRORS=$((ERRORS + 1))
        stop_server
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

# disturbed: the last step's rest of the machine used more than BG_LIMIT % of a core
disturbed() { awk -v r="$(kv "$R" rest_pct)" -v l="$BG_LIMIT" 'BEGIN{ exit !(r + 0 > l) }'; }
# measure SERVER N: all rounds, each measured again up to RETRIES times while disturbed; stores
# OUT[server,N] (last round) and SERVED[server,N]
measure() {
    local srv=$1 n=$2 r t ok=1
    for ((r = 1; r <= ROUNDS; r++)); do
        run_step "$srv" "$n" "$r"
        for ((t = 1; t <= RETRIES; t++)); do
            if [[ $(kv "$R" died) == 1 ]] || ! disturbed; then break; fi
            log "$srv $n: disturbed (rest $(kv "$R" rest_pct)% > $BG_LIMIT%): measuring again ($t/$RETRIES)"
            run_step "$srv" "$n" "$r"
        done
        [[ $(kv "$R" served) == 1 ]] || ok=0
        OUT[$srv,$n]=$R
    done
    SERVED[$srv,$n]=$ok
}

# search SERVER STEP...: the steps in order until the first one not served, then up to SEARCH
# bisections until the largest served and the smallest failed N are within 10%.
# Sets BEST[server] (0: none served) and NS[server] (the N tried).
search() {
    local srv=$1 lo=0 hi=0 n s mid
    shift
    for n in "$@"; do
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
}

# --- output
label() {
    case $1 in
        seedcast) echo "seedcast" ;;
        stock) echo "libtorrent stock" ;;
        hps) echo "libtorrent hps" ;;
        workers*-shared) echo "WORKERS=$(workers_of "$1") shared" ;;
        workers*) echo "WORKERS=$(workers_of "$1")" ;;
        *) echo "$1" ;;
    esac
}
# print_table SERVER...: one row per N tried
print_table() {
    local srv n
    printf '%-17s %6s %3s | %6s %7s %8s %7s | %7s %6s %6s | %8s %8s %8s %8s | %5s\n' \
        server viewers ok stalls stall_s dropped/nostart Gbit/s "p99 ms" "srv CPU" "gen CPU" "RSS MB" "anon MB" "kB/v RSS" "kB/v anon" rest
    for srv in "$@"; do
        for n in $(tr ' ' '\n' <<< "${NS[$srv]:-}" | sort -n | uniq); do
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
}
# print_best SERVER...: the largest N served by each, with its figures
print_best() {
    local srv n
    echo "largest N served (of those tried):"
    for srv in "$@"; do
        printf '  %-17s %6s viewers' "$(label "$srv")" "${BEST[$srv]}"
        n=${BEST[$srv]}
        if (( n > 0 )); then
            (( n == $(tr ' ' '\n' <<< "${NS[$srv]}" | sort -n | tail -1) )) && printf ' (no larger N tried)'
            awk -v r="${OUT[$srv,$n]}" -v n="$n" 'BEGIN{ m = split(r, kvs, " "); for (i = 1; i <= m; i++) { split(kvs[i], p, "="); v[p[1]] = p[2] }
                printf "  (%.2f Gbit/s, server CPU %s%%, RSS %.0f MB = %.0f kB/viewer over idle, anon %.0f kB/viewer)",
                    v["gbit_s"], v["server_cpu_pct"], v["rss_kb"] / 1024, (v["rss_kb"] - v["idle_rss_kb"]) / n, (v["rss_anon_kb"] - v["idle_anon_kb"]) / n }'
        fi
        echo
    done
}
# print_ratio A B WHAT: "ratio A / B: x.xx (WHAT)" of the largest N served
# (">=" when A served the largest N it tried: its limit is higher)
print_ratio() {
    [[ -n ${BEST[$1]:-} && -n ${BEST[$2]:-} ]] || return 0
    local ge=""
    (( BEST[$1] > 0 && BEST[$1] == $(tr ' ' '\n' <<< "${NS[$1]}" | sort -n | tail -1) )) && ge=">= "
    awk -v a="${BEST[$1]}" -v b="${BEST[$2]}" -v la="$(label "$1")" -v lb="$(label "$2")" -v what="$3" -v ge="$ge" \
        'BEGIN{ if (b > 0) printf "ratio %s / %s: %s%.2f (%s)\n", la, lb, ge, a / b, what; else printf "ratio %s / %s: n/a (%s served none)\n", la, lb, lb }'
}
seed_finish() {
    if (( ERRORS > 0 )); then
        echo "$1: $ERRORS step(s) with errors -- see ERROR lines"
        exit 1
    fi
}
