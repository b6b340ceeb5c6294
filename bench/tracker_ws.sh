#!/usr/bin/env bash
# WebSocket (WebTorrent) tracker announces: seedcast vs bittorrent-tracker's Server (npm, the
# tracker WebTorrent ships; only `ws: true`), one core each, same load from
# bench/tracker_ws_load.cpp in the same run.  Plain ws:// on loopback (no TLS).
# See bench/README.md ("Tracker benchmarks").
#
# Environment (all optional):
#   DURATION=10 WARMUP=3   seconds measured / warm-up (discarded) per run
#   CONNS=1000             WebSocket connections (aquatic_ws's published 1-core figure used ~1,020)
#   PEERS=10000            peer-id population (each peer in one of the LIB_FILES=100 swarms)
#   OFFERS=2 SDP_BYTES=300 offers per announce (numwant = OFFERS), size of each fake SDP
#   INFLIGHT=4             announces outstanding per connection (closed loop; 4 lets the generator
#                          batch several messages per syscall -- with 1 it tops out near 85k
#                          announces/s on this kind of machine, see bench/README.md)
#   ANSWER_PCT=0           share of relayed offers the generator answers (relayed back as answers)
#   CALIBRATE=1            also measure bench/tracker_ws_mock.cpp, a do-nothing WS server, to show
#                          the load generator's own ceiling (0 skips it)
#   ROUNDS=1               measure every server this many times (alternating); median shown
#   RETRIES=2              re-measure a run during which other processes used more than BG_LIMIT
#                          (15) % of a core, up to this many times (WAIT_QUIET=60: before each run,
#                          wait up to that many seconds for a quiet second)
#   BT_VERSION=11.2.3      bittorrent-tracker version from npm (installed under $BENCH_TMP/tracker/npm)
#   BASELINE_ONLY=1        bittorrent-tracker only (automatic, with a message, when seedcast or its
#                          WebSocket tracker is missing)
#   SEEDCAST_BIN=build/seedcast  SERVER_CPU=0 LOAD_CPU=1  BENCH_TMP=/tmp/seedcast-bench  CLEAN=1
#   WAIT_OTHERS=1800       wait this long for other benchmarks to finish before measuring
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tracker_lib.sh"

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONNS=${CONNS:-1000}
PEERS=${PEERS:-10000}
OFFERS=${OFFERS:-2}
SDP_BYTES=${SDP_BYTES:-300}
INFLIGHT=${INFLIGHT:-4}
ANSWER_PCT=${ANSWER_PCT:-0}
CALIBRATE=${CALIBRATE:-1}
ROUNDS=${ROUNDS:-1}
RETRIES=${RETRIES:-2}
BT_VERSION=${BT_VERSION:-11.2.3}
AQUATIC_WS_1CORE=120125

for t in g++ node npm curl taskset "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t (apt-get install g++ libboost-dev nodejs npm curl)"
done
[[ -f /usr/include/boost/asio.hpp ]] || die "Boost.Asio headers missing (apt-get install libboost-dev)"

tb_init
wait_for_others

# ------------------------------------------------------------------ tools
build_tool() {  # build_tool NAME -> path of the binary (rebuilt when the source changes)
    local src=$TB_DIR/$1.cpp sum bin
    sum=$(cat "$src" "$TB_DIR/ws_frame.hpp" "$TB_DIR/proc_stat.hpp" | sha1sum | cut -c1-12)
    bin=$TB_TMP/bin/$1-$sum
    if [[ ! -x $bin ]]; then
        mkdir -p "$TB_TMP/bin"
        log "building $1"
        g++ -O2 -std=c++20 -Wall -I"$TB_DIR" -o "$bin.tmp" "$src" -pthread || die "building $1 failed"
        mv "$bin.tmp" "$bin"
    fi
    echo "$bin"
}
LOADGEN=$(build_tool tracker_ws_load)
[[ $CALIBRATE == 1 ]] && MOCK=$(build_tool tracker_ws_mock)

NPM_DIR=$TB_TMP/npm
have_bt=$(node -p "try { require('$NPM_DIR/node_modules/bittorrent-tracker/package.json').version } catch (e) { '' }" 2>/dev/null || true)
if [[ $have_bt != "$BT_VERSION" ]]; then
    log "installing bittorrent-tracker@$BT_VERSION from npm into $NPM_DIR"
    mkdir -p "$NPM_DIR"
    # --ignore-scripts: the server needs no native add-on (the client's WebRTC one is not used)
    npm install --prefix "$NPM_DIR" --no-audit --no-fund --ignore-scripts --loglevel=error \
        "bittorrent-tracker@$BT_VERSION" >&2 || die "npm install bittorrent-tracker@$BT_VERSION failed"
fi

# ------------------------------------------------------------------ servers
check_idle
select_servers bittorrent-tracker ws seedcast_ws_tracker "WebSocket tracker (no 101 on an upgrade to /announce)"

start_bt() {
    local d=$TB_RUN/bittorrent-tracker
    mkdir -p "$d"
    rm -f "$d/port"
    taskset -c "$SERVER_CPU" node "$TB_DIR/tracker_ws_baseline.mjs" "$NPM_DIR" "$d/port" > "$d/log" 2>&1 &
    BT_PID=$!
    TB_PIDS+=("$BT_PID")
    for _ in $(seq 100); do
        kill -0 "$BT_PID" 2>/dev/null || { cat "$d/log" >&2; die "bittorrent-tracker exited"; }
        [[ -s $d/port ]] && break
        sleep 0.1
    done
    BT_PORT=$(tr -dc 0-9 < "$d/port")
    [[ -n $BT_PORT ]] || die "bittorrent-tracker did not start"
    BT_LOG=$d/log
    log "bittorrent-tracker $BT_VERSION (node $(node --version)) pid $BT_PID on port $BT_PORT"
}
start_mock() {
    local d=$TB_RUN/mock
    mkdir -p "$d"
    rm -f "$d/port"
    taskset -c "$SERVER_CPU" "$MOCK" "$d/port" > "$d/log" 2>&1 &
    MOCK_PID=$!
    TB_PIDS+=("$MOCK_PID")
    for _ in $(seq 50); do [[ -s $d/port ]] && break; sleep 0.1; done
    MOCK_PORT=$(tr -dc 0-9 < "$d/port")
    [[ -n $MOCK_PORT ]] || die "mock did not start"
}

# ------------------------------------------------------------------ runs
declare -A RES
ERRORS=0
field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<< "$1" | head -1; }

# run_load ROW PORT PID ROUND
run_load() {
    local row=$1 port=$2 pid=$3 round=$4 out=$TB_RUN/load-$1-$4 rc=0
    taskset -c "$LOAD_CPU" "$LOADGEN" --port "$port" --hashes "$HASHES" --conns "$CONNS" --peers "$PEERS" \
        --offers "$OFFERS" --sdp-bytes "$SDP_BYTES" --inflight "$INFLIGHT" --answer-pct "$ANSWER_PCT" \
        --warmup "$WARMUP" --duration "$DURATION" --seed "$round" --server-pid "$pid" \
        --server-core "$SERVER_CPU" --load-core "$LOAD_CPU" \
        > "$out" 2> "$out.err" || rc=$?
    local result
    result=$(grep '^RESULT ' "$out" || true)
    if [[ -z $result ]]; then
        echo "ERROR: $row: the load generator failed (exit $rc):"; tail -n 15 "$out.err"
        ERRORS=$((ERRORS + 1))
        RES[$row,$round]=""
        return
    fi
    RES[$row,$round]="$result rss_kb=$(rss_kb "$pid")"
    local bad
    bad=$(( $(field "$result" errors) + $(field "$result" other) + $(field "$result" mismatched) + $(field "$result" closed) ))
    if (( rc != 0 || bad > 0 )); then
        echo "ERROR: $row round $round: errors=$(field "$result" errors) other=$(field "$result" other)" \
             "mismatched=$(field "$result" mismatched) closed=$(field "$result" closed); samples:"
        grep -E '^SAMPLE|closed|failed' "$out.err" | head -n 12 | cut -c1-400
        ERRORS=$((ERRORS + 1))
    fi
    log "$row round $round: $(field "$result" announce_per_s) announces/s, $(field "$result" msgs_in_per_s) messages out/s," \
        "server $(field "$result" server_cpu_pct)% CPU, generator $(field "$result" gen_cpu_pct)%"
}

# disturbed ROW ROUND: 0 if other processes used more than BG_LIMIT % of a core during that run
disturbed() {
    local rp
    rp=$(field " ${RES[$1,$2]:-}" rest_pct)
    [[ -n $rp ]] && (( rp > BG_LIMIT ))
}

ROWS=()
[[ $CALIBRATE == 1 ]] && ROWS+=(mock)
ROWS+=(bittorrent-tracker)
[[ $BASELINE_ONLY != 1 ]] && ROWS+=(seedcast)

for ((round = 1; round <= ROUNDS; round++)); do
    order=("${ROWS[@]}")
    if (( round % 2 == 0 )); then order=(); for ((i = ${#ROWS[@]} - 1; i >= 0; i--)); do order+=("${ROWS[i]}"); done; fi
    for row in "${order[@]}"; do
        wait_for_others
        wait_quiet
        case $row in
            mock)
                for ((attempt = 0; attempt <= RETRIES; attempt++)); do
                    start_mock; run_load mock "$MOCK_PORT" "$MOCK_PID" "$round"; stop_pid "$MOCK_PID"
                    disturbed "$row" "$round" || break
                    (( attempt < RETRIES )) && { log "mock round $round was disturbed by other processes; measuring it again"; wait_quiet; }
                done ;;
            bittorrent-tracker)
                for ((attempt = 0; attempt <= RETRIES; attempt++)); do
                    start_bt; run_load "$row" "$BT_PORT" "$BT_PID" "$round"
                    kill -0 "$BT_PID" 2>/dev/null || { echo "ERROR: bittorrent-tracker died"; ERRORS=$((ERRORS + 1)); }
                    stop_pid "$BT_PID"
                    disturbed "$row" "$round" || break
                    (( attempt < RETRIES )) && { log "bittorrent-tracker round $round was disturbed by other processes; measuring it again"; wait_quiet; }
                done ;;
            seedcast)
                for ((attempt = 0; attempt <= RETRIES; attempt++)); do
                    run_load seedcast "$SC_PORT" "$SC_PID" "$round"
                    sleep 1   # the generator has just dropped its connections: seedcast must survive that too
                    if ! kill -0 "$SC_PID" 2>/dev/null; then
                        st=0; wait "$SC_PID" 2>/dev/null || st=$?
                        echo "ERROR: seedcast died during or right after the load (exit status $st$( ((st > 128)) && echo ", signal $((st - 128))"))" \
                             "-- the measured figures were taken before; end of its log:"
                        tail -n 20 "$SC_LOG" | cut -c1-300
                        ERRORS=$((ERRORS + 1))
                        SC_DEAD=1
                        break 3
                    fi
                    disturbed "$row" "$round" || break
                    (( attempt < RETRIES )) && { log "seedcast round $round was disturbed by other processes; measuring it again"; wait_quiet; }
                done ;;
        esac
    done
done

# ------------------------------------------------------------------ report
median_round() {
    local row=$1 r
    for ((r = 1; r <= ROUNDS; r++)); do echo "$(field " ${RES[$row,$r]:-}" announce_per_s) $r"; done |
        sort -n | awk '{a[NR]=$2} END{print a[int((NR+1)/2)]}'
}
get() { field " ${RES[$1,$(median_round "$1")]:-}" "$2"; }
num() { local v; v=$(get "$@"); printf "%'d" "${v:-0}"; }

echo
echo "WebSocket tracker announces (plain ws://, loopback, no TLS): $CONNS connections, $PEERS peer ids over $LIB_FILES swarms," \
     "$OFFERS offers of ~${SDP_BYTES} B SDP per announce (numwant=$OFFERS), $INFLIGHT in flight per connection" \
     "$( ((ANSWER_PCT > 0)) && echo ", ${ANSWER_PCT}% of relayed offers answered")"
echo "generator: bench/tracker_ws_load.cpp (1 thread, core $LOAD_CPU), ${DURATION}s after a ${WARMUP}s warm-up; server on core $SERVER_CPU$( ((ROUNDS > 1)) && echo "; median of $ROUNDS rounds")"
printf '%-20s %11s %12s %10s %11s %8s %7s %8s %7s %6s %6s %9s %5s\n' server "announces/s" "offers out/s" "answers/s" "msgs out/s" "srv CPU" "core $SERVER_CPU" "gen CPU" "core $LOAD_CPU" swarm errors "RSS KiB" rest
for row in "${ROWS[@]}"; do
    r=$(median_round "$row")
    [[ -n ${RES[$row,$r]:-} ]] || { printf '%-20s %11s\n' "$row" "FAILED"; continue; }
    name=$row; [[ $row == mock ]] && name="mock (gen. ceiling)"
    printf '%-20s %11s %12s %10s %11s %7s%% %6s%% %7s%% %6s%% %6s %6s %9s %4s%%\n' "$name" \
        "$(num "$row" announce_per_s)" "$(num "$row" offers_in_per_s)" "$(num "$row" answers_in_per_s)" "$(num "$row" msgs_in_per_s)" \
        "$(get "$row" server_cpu_pct)" "$(get "$row" server_core_pct)" "$(get "$row" gen_cpu_pct)" "$(get "$row" load_core_pct)" "$(get "$row" avg_swarm)" \
        "$(( $(get "$row" errors) + $(get "$row" other) + $(get "$row" mismatched) + $(get "$row" closed) ))" "$(get "$row" rss_kb)" "$(get "$row" rest_pct)"
done
for row in "${ROWS[@]}"; do
    rp=$(get "$row" rest_pct)
    if [[ -n $rp ]] && (( rp > BG_LIMIT )); then echo "DISTURBED: other processes used ${rp}% of a core during the $row run"; fi
done
echo "(announces/s: announce replies (with \"interval\") received; offers out/s: offers the server relayed to other peers;"
echo " msgs out/s: every message the server sent (replies + offers + answers), what aquatic's load test calls responses/s;"
echo " srv/gen CPU: the server's / generator's process CPU, % of one core; core N: how busy that core was, incl. the"
echo " kernel's softirq work for loopback TCP, charged to no process; swarm: complete+incomplete in the replies;"
echo " RSS: the server's after the run; rest: CPU of all other processes meanwhile (above ${BG_LIMIT}% = disturbed run);"
echo " mock: a do-nothing server that shows the generator's ceiling, see bench/README.md)"
if [[ $BASELINE_ONLY == 1 ]]; then
    echo "ratio: n/a (baseline only)"
else
    sc=$(get seedcast announce_per_s); bt=$(get bittorrent-tracker announce_per_s)
    echo "ratio seedcast / bittorrent-tracker announces/s: $(awk -v a="${sc:-0}" -v b="${bt:-0}" 'BEGIN{printf "%.2f", b ? a / b : 0}') (target >= 5)"
    echo "seedcast on one core: $(num seedcast msgs_in_per_s) messages out/s ($(num seedcast announce_per_s) announces/s) at $CONNS connections, plain ws://;" \
         "aquatic_ws published $(printf "%'d" $AQUATIC_WS_1CORE) responses/s on one core at ~1,020 connections over TLS (wss://), 48-vCPU EPYC," \
         "its own load test (10 offers per announce, answers) -- a different machine, load and transport: scale only."
    gc=$(get seedcast load_core_pct)
    if [[ -n $gc ]] && (( gc >= 90 )); then
        echo "NOTE: the load generator's core was ${gc}% busy during the seedcast run: seedcast's figure may be a lower bound" \
             "(compare the mock row, the generator's ceiling)."
    fi
fi
if [[ $BASELINE_ONLY != 1 && ${SC_DEAD:-0} != 1 ]]; then
    echo "seedcast after the run: RSS $(rss_kb "$SC_PID") KiB, threads $(status_kb "$SC_PID" Threads); log lines: $(wc -l < "$SC_LOG")"
    if [[ -s $SC_LOG ]]; then echo "end of seedcast's log:"; tail -n 5 "$SC_LOG" | cut -c1-300; fi
fi
if [[ -s ${BT_LOG:-} ]] && grep -q 'tracker warning' "$BT_LOG"; then
    echo "bittorrent-tracker (last run) logged $(sed -n 's/^warnings: //p' "$BT_LOG" | tail -1) warnings" \
         "(ECONNRESET ones come from the generator dropping its connections at the end); first: $(grep -m1 'tracker warning' "$BT_LOG" | cut -c1-160)"
fi
if (( ERRORS > 0 )); then
    echo "tracker_ws: $ERRORS run(s) with errors -- not a result"
    exit 1
fi
