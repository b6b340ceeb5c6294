# shellcheck shell=bash
# Shared helpers for the seedcast benchmarks (sourced, not executed).
#
# Layout under $BENCH_TMP (default /tmp/seedcast-bench):
#   data/random-1GiB.bin   the 1 GiB test file, kept between runs (reused if its size is right)
#   seedcast-data/         seedcast's DATA_DIR (catalog), kept so a second run re-hashes nothing
#   run.XXXXXX/            per-run scratch (configs, logs, torrents), removed on exit
# CLEAN=1 also removes data/ and seedcast-data/ on exit (and $BENCH_TMP if then empty).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
BENCH_TMP=${BENCH_TMP:-/tmp/seedcast-bench}
DATA_FILE_NAME=${DATA_FILE_NAME:-random-1GiB.bin}
DATA_FILE_SIZE=${DATA_FILE_SIZE:-1073741824}
LIB_DIR=$BENCH_TMP/data
DATA_FILE=$LIB_DIR/$DATA_FILE_NAME
SEEDCAST_BIN=${SEEDCAST_BIN:-$REPO_DIR/build/seedcast}
PY=/usr/bin/python3           # python3 on PATH may be a pyenv shim without libtorrent

# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh"

# --- process bookkeeping: every background process we start is killed on EXIT ---
BENCH_PIDS=()
BENCH_EXIT_HOOKS=()   # functions run on EXIT after BENCH_PIDS are gone (e.g. remove a cgroup)
RUN_DIR=
bench_cleanup() {
    local rc=$?
    local p
    for p in "${BENCH_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${BENCH_PIDS[@]}"; do
        # give each a moment, then force
        for _ in $(seq 50); do
            # gone, or a zombie waiting for `wait` below
            [[ $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) =~ ^(Z|X|)$ ]] && break
            sleep 0.1
        done
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    for p in "${BENCH_EXIT_HOOKS[@]}"; do "$p" || true; done
    [[ -n $RUN_DIR && -d $RUN_DIR ]] && rm -rf -- "$RUN_DIR"
    if [[ ${CLEAN:-0} == 1 ]]; then
        # only what these scripts own; other benchmarks may share $BENCH_TMP
        rm -rf -- "$LIB_DIR" "$BENCH_TMP/seedcast-data"
        rmdir -- "$BENCH_TMP" 2>/dev/null || true
    fi
    exit "$rc"
}
bench_init() {
    mkdir -p "$BENCH_TMP" "$LIB_DIR"
    RUN_DIR=$(mktemp -d "$BENCH_TMP/run.XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

# --- the test file ---
ensure_data_file() {
    local sz
    sz=$(stat -c %s "$DATA_FILE" 2>/dev/null || echo 0)
    if [[ $sz == "$DATA_FILE_SIZE" ]]; then
        log "reusing $DATA_FILE"
    else
        local avail_kb
        avail_kb=$(df -Pk "$LIB_DIR" | awk 'NR==2{print $4}')
        (( avail_kb * 1024 > DATA_FILE_SIZE + 268435456 )) || die "not enough space in $LIB_DIR for $DATA_FILE_SIZE bytes"
        log "creating $DATA_FILE ($DATA_FILE_SIZE random bytes)"
        rm -f -- "$DATA_FILE" "$DATA_FILE.part"
        head -c "$DATA_FILE_SIZE" /dev/urandom > "$DATA_FILE.part"
        mv -- "$DATA_FILE.part" "$DATA_FILE"   # atomic: a half-written file is never reused
    fi
    # Nothing but the test file may live in the library directory (seedcast indexes all of it).
    local extra
    extra=$(find "$LIB_DIR" -mindepth 1 ! -name "$DATA_FILE_NAME" -print -quit)
    [[ -z $extra ]] || die "$LIB_DIR must contain only $DATA_FILE_NAME (found $extra)"
}
warm_page_cache() { cat -- "$DATA_FILE" > /dev/null; }

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

have_seedcast() { [[ -x $SEEDCAST_BIN ]]; }

# cpu_ticks PID -> utime+stime in clock ticks
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_of()    { awk -v k="$2:" '$1==k{print $2" "$3}' "/proc/$1/status" 2>/dev/null; }

median3() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
best_of() { printf '%s\n' "$@" | sort -g | head -1; }

# check_idle: sample /proc/stat for 1 s and warn when other processes keep the CPUs busy
# (a compiler or test run in the background makes every number here unreliable).
check_idle() {
    local a b
    a=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
    sleep 1
    b=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
    local busy
    busy=$(awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN{split(a,x," "); split(b,y," "); t=y[2]-x[2]; if (t<=0) t=1; printf "%.0f", 100*n*(y[1]-x[1])/t}')
    if (( busy > 15 )); then
        echo "WARNING: the machine is busy before the benchmark (${busy}% of one core used by other processes over 1 s); numbers will be noisy:"
        ps -eo pcpu,comm --sort=-pcpu | awk 'NR>1 && NR<=4 {printf "   %s%% %s\n", $1, $2}'
    fi
}

# stat_busy -> busy jiffies of the whole machine (user+nice+system+irq+softirq+steal, all CPUs)
stat_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }

# busy_pct_1s -> % of one core the whole machine kept busy over the next second
busy_pct_1s() {
    local a b
    a=$(stat_busy); sleep 1; b=$(stat_busy)
    awk -v d="$((b - a))" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.0f", 100*d/hz}'
}
# wait_quiet: with WAIT_QUIET=N (seconds) > 0, wait up to N s for a second in which the machine
# uses less than BG_LIMIT % of a core (our idle servers included); logs what it waited for.
wait_quiet() {
    local limit=${WAIT_QUIET:-0} t0=$SECONDS p
    (( limit > 0 )) || return 0
    while :; do
        p=$(busy_pct_1s)
        (( p < ${BG_LIMIT:-15} )) && break
        if (( SECONDS - t0 >= limit )); then log "machine still busy (${p}%) after ${limit}s; measuring anyway"; return 0; fi
    done
    (( SECONDS - t0 > 1 )) && log "waited $((SECONDS - t0)) s for a quiet machine"
    return 0
}
