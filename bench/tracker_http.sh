#!/usr/bin/env bash
# HTTP tracker announce throughput: seedcast vs opentracker (Debian package), one core each,
# measured with wrk in the same run.  See bench/README.md ("Tracker benchmarks").
#
# Environment (all optional):
#   DURATION=10 WARMUP=3   seconds measured / warm-up per run (the warm-up must announce every
#                          peer at least once; it is repeated, up to 3 times, until it has)
#   PEERS=10000            peer population, spread evenly over the LIB_FILES (100) torrents
#   CONNS=64 NUMWANT=50    wrk connections; numwant of every announce
#   CHECK=all              check every answer in the measured runs too (status 200, no
#                          "failure reason", bencoded dict, peers counted); "warmup" checks
#                          only the warm-ups and compares bytes/answer of the measured run
#   SEEDCAST_CLOSE=1       also measure seedcast with "Connection: close" (like-for-like with
#                          opentracker, which closes the connection after every answer)
#   ROUNDS=1               measure every row this many times (alternating); the median is shown
#   RETRIES=2              re-measure a run during which other processes used more than BG_LIMIT
#                          (15) % of a core, up to this many times (WAIT_QUIET=60: before each run,
#                          wait up to that many seconds for a quiet second)
#   BASELINE_ONLY=1        opentracker only (automatic, with a message, when seedcast or its
#                          tracker is missing)
#   SEEDCAST_BIN=build/seedcast  SERVER_CPU=0 LOAD_CPU=1  BENCH_TMP=/tmp/seedcast-bench  CLEAN=1
#   WAIT_OTHERS=1800       wait this long for other benchmarks to finish before measuring
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tracker_lib.sh"

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
PEERS=${PEERS:-10000}
CONNS=${CONNS:-64}
NUMWANT=${NUMWANT:-50}
CHECK=${CHECK:-all}
SEEDCAST_CLOSE=${SEEDCAST_CLOSE:-1}
ROUNDS=${ROUNDS:-1}
RETRIES=${RETRIES:-2}
WRK_BIN=${WRK_BIN:-/usr/bin/wrk}
LUA=$TB_DIR/tracker_announce.lua
case $CHECK in all|warmup) ;; *) die "CHECK must be all or warmup" ;; esac

for t in "$WRK_BIN" opentracker curl taskset "$PY" /usr/bin/time; do
    command -v "$t" >/dev/null || die "missing tool: $t (apt-get install wrk opentracker curl python3 time)"
done

tb_init
wait_for_others
check_idle

SWARM=$(( PEERS / LIB_FILES ))
select_servers opentracker http seedcast_http_tracker "HTTP tracker (GET /announce does not answer a bencoded dict)"

# ------------------------------------------------------------------ one wrk run
# run_wrk OUT SECONDS BASE CHECK(0|1) CLOSE(0|1) ORDER START SRV_PID
# -> $OUT (wrk output incl. RESULT line), $OUT.time (wrk CPU), $OUT.cpu (server process ticks,
#    all processes' ticks, server core busy ticks, load core busy ticks incl. softirq)
run_wrk() {
    local out=$1 secs=$2 base=$3 check=$4 close=$5 order=$6 start=$7 pid=$8
    local c0 c1 m0 m1 s0 s1 l0 l1
    c0=$(cpu_ticks "$pid"); m0=$(stat_tasks); s0=$(core_busy "$SERVER_CPU"); l0=$(core_busy "$LOAD_CPU")
    CHECK=$check CLOSE=$close /usr/bin/time -f 'WRKTIME user=%U sys=%S' -o "$out.time" \
        taskset -c "$LOAD_CPU" "$WRK_BIN" -t1 -c"$CONNS" -d"${secs}s" --timeout 5s -s "$LUA" "$base" \
        -- "$HASHES" "$PEERS" "$NUMWANT" "$order" "$start" > "$out" 2>&1 || true
    c1=$(cpu_ticks "$pid"); m1=$(stat_tasks); s1=$(core_busy "$SERVER_CPU"); l1=$(core_busy "$LOAD_CPU")
    echo "$((c1 - c0)) $((m1 - m0)) $((s1 - s0)) $((l1 - l0))" > "$out.cpu"
    grep -q '^RESULT ' "$out" || { cat "$out" >&2; die "wrk printed no RESULT line ($out)"; }
}
field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" "$1" | head -1; }

# warm_up NAME BASE PID CLOSE: announce every peer at least once (checked), then probe a swarm
warm_up() {
    local name=$1 base=$2 pid=$3 close=$4 out=$TB_RUN/warm-$1 covered=0 start=0 try req
    # peers an announce counts besides the population: seedcast counts its own BitTorrent seed
    # in the answers' complete (not in scrapes).  Peer 0 announces alone first: its answer counts
    # peer 0 itself plus any such extra.
    local base0 probe0 t0hash
    t0hash=$(head -1 "$HASHES")
    probe0=$(swarm_probe "$base" "$t0hash" 1025 -WR0001-000000000000) || { echo "ERROR: $name: swarm probe failed: $probe0"; return 1; }
    base0=$(awk '{print $1 + $2 - 1}' <<< "$probe0")
    for try in 1 2 3; do
        run_wrk "$out.$try" "$WARMUP" "$base" 1 "$close" shuffle "$start" "$pid"
        req=$(field "$out.$try" requests)
        covered=$((covered + req)); start=$((start + req))
        local bad
        bad=$(( $(field "$out.$try" bad_status) + $(field "$out.$try" failures) + $(field "$out.$try" not_dict) ))
        if (( bad > 0 )); then
            echo "ERROR: $name warm-up: $bad wrong answers; first: $(field "$out.$try" first_bad)"
            return 1
        fi
        (( covered >= PEERS )) && break
    done
    (( covered >= PEERS )) || { echo "ERROR: $name warm-up announced only $covered of $PEERS peers"; return 1; }
    # bytes per answer in a checked run (compared with the measured runs under CHECK=warmup)
    WARM_BPR[$name]=$(awk -v b="$(field "$out.1" bytes)" -v r="$(field "$out.1" requests)" 'BEGIN{printf "%.1f", r ? b / r : 0}')
    local probe
    # peer k=0 of the population: torrent 0, port 1025 (already in the swarm, so the swarm keeps its size)
    probe=$(swarm_probe "$base" "$t0hash" 1025 -WR0001-000000000000) || { echo "ERROR: $name: swarm probe failed: $probe"; return 1; }
    read -r pc pi pn <<< "$probe"
    log "$name: warm-up announced $covered times (population $PEERS); torrent 0 swarm: complete=$pc incomplete=$pi" \
        "(of which $base0 not announced by the population), numwant=200 gave $pn peers"
    if (( pc + pi != SWARM + base0 )); then
        echo "ERROR: $name: torrent 0 has $((pc + pi)) peers after the warm-up, expected $SWARM (+ $base0 counted before any announce)"
        return 1
    fi
}

declare -A WARM_BPR
declare -A RPS CPUPCT USPR WRKPCT PEERSAVG SWARMAVG ERRS NOTE REST SCORE LCORE
ROWS=()
ERRORS=0

# measure ROW BASE PID CLOSE ROUND
measure() {
    local row=$1 base=$2 pid=$3 close=$4 round=$5 out=$TB_RUN/run-$1-$5
    local check=1
    [[ $CHECK == warmup ]] && check=0
    wait_quiet
    run_wrk "$out" "$DURATION" "$base" "$check" "$close" shuffle $(( (round * 7919) % PEERS )) "$pid"
    local req dur rps srv rest score lcore wrk_u wrk_s errs readerr note=""
    req=$(field "$out" requests); dur=$(field "$out" duration_us)
    read -r srv rest score lcore < "$out.cpu"
    wrk_u=$(sed -n 's/.*user=\([0-9.]*\).*/\1/p' "$out.time"); wrk_s=$(sed -n 's/.*sys=\([0-9.]*\).*/\1/p' "$out.time")
    rps=$(awk -v r="$req" -v d="$dur" 'BEGIN{printf "%.0f", d ? r * 1e6 / d : 0}')
    readerr=$(field "$out" err_read)
    errs=$(( $(field "$out" err_connect) + $(field "$out" err_write) + $(field "$out" err_timeout) + $(field "$out" err_status) ))
    errs=$(( errs + $(field "$out" bad_status) + $(field "$out" failures) + $(field "$out" not_dict) ))
    if [[ $close == 1 ]]; then
        # the server closes after each answer without "Connection: close"; wrk then writes its
        # next request into the closed socket and counts a read error before reconnecting
        if (( readerr > req + CONNS )); then errs=$((errs + readerr - req)); fi
        (( readerr > 0 )) && note="closes w/o Connection: close hdr ($readerr wrk read errs = reconnects)"
    else
        errs=$((errs + readerr))
    fi
    if [[ $check == 0 ]]; then
        local bpr
        bpr=$(awk -v b="$(field "$out" bytes)" -v r="$req" 'BEGIN{printf "%.1f", r ? b / r : 0}')
        if awk -v a="$bpr" -v w="${WARM_BPR[$row%%-*]:-0}" 'BEGIN{exit !(w > 0 && (a < 0.95 * w || a > 1.05 * w))}'; then
            errs=$((errs + 1)); note+=" bytes/answer $bpr vs $row warm-up ${WARM_BPR[$row%%-*]}"
        fi
    fi
    if (( errs > 0 )); then
        echo "ERROR: $row round $round: $errs errors; first bad answer: $(field "$out" first_bad); wrk: $(grep -E 'Socket errors|Non-2xx' "$out" | tr '\n' ' ')"
        ERRORS=$((ERRORS + 1))
    fi
    RPS[$row,$round]=$rps
    CPUPCT[$row,$round]=$(awk -v t="$srv" -v d="$dur" -v hz="$CLK_TCK" 'BEGIN{printf "%.0f", d ? 100 * t / hz / (d / 1e6) : 0}')
    # server cost per answer: busy time of the server's core (its process + the kernel's network
    # work on that core) per answer
    USPR[$row,$round]=$(awk -v t="$score" -v r="$req" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", r ? t / hz * 1e6 / r : 0}')
    WRKPCT[$row,$round]=$(awk -v u="$wrk_u" -v s="$wrk_s" -v d="$dur" 'BEGIN{printf "%.0f", d ? 100 * (u + s) / (d / 1e6) : 0}')
    SCORE[$row,$round]=$(awk -v t="$score" -v d="$dur" -v hz="$CLK_TCK" 'BEGIN{printf "%.0f", d ? 100 * t / hz / (d / 1e6) : 0}')
    LCORE[$row,$round]=$(awk -v t="$lcore" -v d="$dur" -v hz="$CLK_TCK" 'BEGIN{printf "%.0f", d ? 100 * t / hz / (d / 1e6) : 0}')
    REST[$row,$round]=$(awk -v m="$rest" -v t="$srv" -v u="$wrk_u" -v s="$wrk_s" -v d="$dur" -v hz="$CLK_TCK" \
        'BEGIN{r = 100 * ((m - t) / hz - u - s) / (d / 1e6); if (r < 0) r = 0; printf "%.0f", r}')
    (( ${REST[$row,$round]} > BG_LIMIT )) && note="DISTURBED (other processes used ${REST[$row,$round]}% of a core) $note"
    if [[ $check == 1 ]]; then
        PEERSAVG[$row,$round]=$(field "$out" avg_peers); SWARMAVG[$row,$round]=$(field "$out" avg_swarm)
    else
        PEERSAVG[$row,$round]="-"; SWARMAVG[$row,$round]="-"
    fi
    ERRS[$row,$round]=$errs
    NOTE[$row,$round]=$note
    log "$row round $round: $rps req/s, server ${CPUPCT[$row,$round]}% CPU, wrk ${WRKPCT[$row,$round]}%, errors $errs"
}

# ------------------------------------------------------------------ run
start_opentracker http
wait_for_others
warm_up opentracker "$OT_BASE" "$OT_PID" 1 || ERRORS=$((ERRORS + 1))
ROWS+=(opentracker)
if [[ $BASELINE_ONLY != 1 ]]; then
    wait_for_others
    warm_up seedcast "$SC_BASE" "$SC_PID" 0 || ERRORS=$((ERRORS + 1))
    ROWS+=(seedcast-keepalive)
    [[ $SEEDCAST_CLOSE == 1 ]] && ROWS+=(seedcast-close)
fi

for ((round = 1; round <= ROUNDS; round++)); do
    wait_for_others
    # alternate the order every round
    order=("${ROWS[@]}")
    if (( round % 2 == 0 )); then order=(); for ((i = ${#ROWS[@]} - 1; i >= 0; i--)); do order+=("${ROWS[i]}"); done; fi
    for row in "${order[@]}"; do
        for ((attempt = 0; attempt <= RETRIES; attempt++)); do
            case $row in
                opentracker)        measure "$row" "$OT_BASE" "$OT_PID" 1 "$round" ;;
                seedcast-keepalive) measure "$row" "$SC_BASE" "$SC_PID" 0 "$round" ;;
                seedcast-close)     measure "$row" "$SC_BASE" "$SC_PID" 1 "$round" ;;
            esac
            (( ${REST[$row,$round]} <= BG_LIMIT )) && break
            (( attempt < RETRIES )) && log "$row round $round was disturbed by other processes; measuring it again"
        done
    done
done

# liveness after the load
kill -0 "$OT_PID" 2>/dev/null || { echo "ERROR: opentracker died"; ERRORS=$((ERRORS + 1)); }
if [[ $BASELINE_ONLY != 1 ]]; then
    if ! kill -0 "$SC_PID" 2>/dev/null; then
        st=0; wait "$SC_PID" 2>/dev/null || st=$?
        echo "ERROR: seedcast died during the benchmark (exit status $st); end of its log:"; tail -n 20 "$SC_LOG" | cut -c1-300
        ERRORS=$((ERRORS + 1))
    fi
fi

# ------------------------------------------------------------------ report
# median_round ROW -> the round whose req/s is the median
median_round() {
    local row=$1 r
    for ((r = 1; r <= ROUNDS; r++)); do echo "${RPS[$row,$r]} $r"; done | sort -n | awk '{a[NR]=$2} END{print a[int((NR+1)/2)]}'
}
label() {
    case $1 in
        opentracker)        echo "opentracker|closes after each answer" ;;
        seedcast-keepalive) echo "seedcast|keep-alive" ;;
        seedcast-close)     echo "seedcast|Connection: close" ;;
    esac
}
echo
echo "HTTP tracker announces: $PEERS peers over $LIB_FILES torrents ($SWARM a swarm), compact=1, numwant=$NUMWANT, event=started,"
echo "wrk -t1 -c$CONNS (core $LOAD_CPU), ${DURATION}s after a ${WARMUP}s warm-up; server on core $SERVER_CPU (seedcast THREADS=1);" \
     "answers checked: $([[ $CHECK == all ]] && echo every answer || echo 'warm-up only, bytes/answer in measured runs')$( ((ROUNDS > 1)) && echo "; median of $ROUNDS rounds")"
printf '%-12s %-24s %9s %8s %7s %8s %8s %8s %9s %6s %6s %5s  %s\n' server connection "req/s" "srv CPU" "us/req" "core $SERVER_CPU" "wrk CPU" "core $LOAD_CPU" "peers/ans" swarm errors rest note
for row in "${ROWS[@]}"; do
    r=$(median_round "$row")
    IFS='|' read -r s c <<< "$(label "$row")"
    printf '%-12s %-24s %9s %7s%% %7s %7s%% %7s%% %7s%% %9s %6s %6s %4s%%  %s\n' "$s" "$c" \
        "$(printf "%'d" "${RPS[$row,$r]}")" "${CPUPCT[$row,$r]}" "${USPR[$row,$r]}" "${SCORE[$row,$r]}" "${WRKPCT[$row,$r]}" "${LCORE[$row,$r]}" \
        "${PEERSAVG[$row,$r]}" "${SWARMAVG[$row,$r]}" "${ERRS[$row,$r]}" "${REST[$row,$r]}" "${NOTE[$row,$r]}"
done
echo "(srv CPU: the server process's CPU time, % of one core; core N: how busy the server's / wrk's core was,"
echo " including the kernel's softirq work for loopback TCP, which is charged to no process; us/req: busy time of"
echo " the server's core per answer (lower = cheaper); wrk CPU: wrk's process; rest: CPU time of all other"
echo " processes (above ${BG_LIMIT}% = disturbed run); peers/ans: peers per answer; swarm: complete+incomplete in the answers)"
ot=$(median_round opentracker)
if [[ $BASELINE_ONLY == 1 ]]; then
    echo "ratio: n/a (baseline only)"
else
    ka=$(median_round seedcast-keepalive)
    echo "ratio seedcast (keep-alive) / opentracker req/s: $(awk -v a="${RPS[seedcast-keepalive,$ka]}" -v b="${RPS[opentracker,$ot]}" 'BEGIN{printf "%.2f", b ? a / b : 0}') (target >= 1.0)"
    if [[ $SEEDCAST_CLOSE == 1 ]]; then
        cl=$(median_round seedcast-close)
        echo "ratio seedcast (Connection: close) / opentracker req/s, like for like: $(awk -v a="${RPS[seedcast-close,$cl]}" -v b="${RPS[opentracker,$ot]}" 'BEGIN{printf "%.2f", b ? a / b : 0}')"
    fi
    us_ot=${USPR[opentracker,$ot]}; us_ka=${USPR[seedcast-keepalive,$ka]}
    echo "server core time per answer: opentracker $us_ot us, seedcast keep-alive $us_ka us" \
         "-> opentracker / seedcast = $(awk -v a="$us_ka" -v b="$us_ot" 'BEGIN{printf "%.2f", (a > 0 ? b / a : 0)}')$(
         [[ $SEEDCAST_CLOSE == 1 ]] && echo "; seedcast Connection: close ${USPR[seedcast-close,$cl]} us -> $(awk -v a="${USPR[seedcast-close,$cl]}" -v b="$us_ot" 'BEGIN{printf "%.2f", (a > 0 ? b / a : 0)}')")"
    echo "  (above 1 = seedcast needs less CPU per answer; this, not req/s, compares the servers when wrk's core is the limit)"
fi
if [[ $BASELINE_ONLY != 1 ]]; then
    echo "seedcast after the run: RSS $(rss_kb "$SC_PID") KiB, threads $(status_kb "$SC_PID" Threads); log lines: $(wc -l < "$SC_LOG")"
    if [[ -s $SC_LOG ]]; then echo "end of seedcast's log:"; tail -n 5 "$SC_LOG" | cut -c1-300; fi
fi
echo "opentracker after the run: RSS $(rss_kb "$OT_PID") KiB"
if (( ERRORS > 0 )); then
    echo "tracker_http: $ERRORS run(s) with errors -- not a result"
    exit 1
fi
