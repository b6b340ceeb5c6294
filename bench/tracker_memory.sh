#!/usr/bin/env bash
# Tracker memory per peer: RSS of seedcast and of opentracker (Debian package) before and after
# PEERS (100,000) distinct peers announce over HTTP (compact, numwant=0) across the LIB_FILES
# (100) torrents, then after the same peers announce a second time (must not grow).
# See bench/README.md ("Tracker benchmarks").
#
# Environment (all optional):
#   PEERS=100000           distinct peers (peer k: torrent k % 100, port 1025 + k / 100, own peer_id)
#   CONNS=64               wrk connections; every answer is checked (status 200, no "failure reason")
#   MAX_SECONDS=120        give up a pass that has not announced every peer by then
#   BASELINE_ONLY=1        opentracker only (automatic, with a message, when seedcast or its tracker
#                          is missing)
#   SEEDCAST_BIN=build/seedcast  SERVER_CPU=0 LOAD_CPU=1  BENCH_TMP=/tmp/seedcast-bench  CLEAN=1
#   WAIT_OTHERS=1800       wait this long for other benchmarks to finish before measuring
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tracker_lib.sh"

PEERS=${PEERS:-100000}
CONNS=${CONNS:-64}
MAX_SECONDS=${MAX_SECONDS:-120}
WRK_BIN=${WRK_BIN:-/usr/bin/wrk}
LUA=$TB_DIR/tracker_announce.lua

for t in "$WRK_BIN" opentracker curl taskset "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t (apt-get install wrk opentracker curl python3)"
done

tb_init
wait_for_others

select_servers opentracker mem seedcast_http_tracker "HTTP tracker (GET /announce does not answer a bencoded dict)"
field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" "$1" | head -1; }
ERRORS=0

# sweep NAME BASE TAG: every peer announces at least once (wrk runs of 2 s, in order, each
# continuing where the last stopped); every answer checked.
sweep() {
    local name=$1 base=$2 tag=$3 start=0 t0=$SECONDS i=0 out req bad
    while (( start < PEERS )); do
        (( SECONDS - t0 < MAX_SECONDS )) || { echo "ERROR: $name $tag: only $start of $PEERS peers announced in ${MAX_SECONDS}s"; return 1; }
        i=$((i + 1)); out=$TB_RUN/mem-$name-$tag-$i
        CHECK=1 CLOSE=0 taskset -c "$LOAD_CPU" "$WRK_BIN" -t1 -c"$CONNS" -d2s --timeout 5s -s "$LUA" "$base" \
            -- "$HASHES" "$PEERS" 0 seq "$start" > "$out" 2>&1 || true
        grep -q '^RESULT ' "$out" || { cat "$out" >&2; echo "ERROR: wrk printed no RESULT line"; return 1; }
        req=$(field "$out" requests)
        bad=$(( $(field "$out" bad_status) + $(field "$out" failures) + $(field "$out" not_dict) + $(field "$out" err_status) + $(field "$out" err_timeout) + $(field "$out" err_connect) ))
        if (( bad > 0 )); then
            echo "ERROR: $name $tag: $bad wrong answers or errors; first: $(field "$out" first_bad)"
            return 1
        fi
        start=$((start + req))
    done
    log "$name $tag: $start announces for $PEERS peers in $((SECONDS - t0)) s"
}
# fill NAME BASE: sweeps until a scrape counts all PEERS peers (at most 3 sweeps: with a server
# that closes the connection after each answer, as opentracker does, wrk drops the request it
# had just written into the closing socket, so a sweep can miss a few peers)
# (SCRAPE0[NAME]: peers a scrape counts before any announce -- seedcast counts its own seed)
fill() {
    local name=$1 base=$2 k seen comp inc want
    want=$(( PEERS + ${SCRAPE0[$name]:-0} ))
    for k in 1 2 3; do
        sweep "$name" "$base" "pass1-sweep$k" || return 1
        read -r seen comp inc <<< "$(scrape_totals "$base" "$HASHES")"
        R[$name,scrape]="$seen torrents, $((comp + inc)) peers"
        [[ $seen == "$LIB_FILES" && $((comp + inc)) == "$want" ]] && return 0
        log "$name: scrape counts $((comp + inc)) peers after sweep $k (want $want); sweeping again"
    done
    echo "ERROR: $name: scrape shows $seen torrents and $((comp + inc)) peers (complete $comp, incomplete $inc); expected $LIB_FILES and $want"
    return 1
}

declare -A R SCRAPE0
# measure NAME BASE PID
measure() {
    local name=$1 base=$2 pid=$3 seen comp inc
    read -r seen comp inc <<< "$(scrape_totals "$base" "$HASHES")"
    SCRAPE0[$name]=$(( ${comp:-0} + ${inc:-0} ))
    (( SCRAPE0[$name] > 0 )) && log "$name: a scrape counts ${SCRAPE0[$name]} peers before any announce (the server's own seed)"
    sleep 1
    R[$name,before]=$(rss_kb "$pid")
    R[$name,anon0]=$(status_kb "$pid" RssAnon)
    fill "$name" "$base" || { ERRORS=$((ERRORS + 1)); return; }
    sleep 1
    R[$name,after]=$(rss_kb "$pid")
    R[$name,anon1]=$(status_kb "$pid" RssAnon)
    sweep "$name" "$base" pass2 || { ERRORS=$((ERRORS + 1)); return; }
    sleep 1
    R[$name,again]=$(rss_kb "$pid")
    R[$name,hwm]=$(status_kb "$pid" VmHWM)
    read -r seen comp inc <<< "$(scrape_totals "$base" "$HASHES")"
    if [[ $((comp + inc)) != $(( PEERS + SCRAPE0[$name] )) ]]; then
        echo "ERROR: $name: scrape after pass 2 shows $((comp + inc)) peers, expected $(( PEERS + SCRAPE0[$name] ))"
        ERRORS=$((ERRORS + 1))
    fi
    log "$name: RSS ${R[$name,before]} -> ${R[$name,after]} -> ${R[$name,again]} KiB"
}

start_opentracker mem
measure opentracker "$OT_BASE" "$OT_PID"
stop_pid "$OT_PID"
if [[ $BASELINE_ONLY != 1 ]]; then
    wait_for_others
    measure seedcast "$SC_BASE" "$SC_PID"
    kill -0 "$SC_PID" 2>/dev/null || { echo "ERROR: seedcast died; end of its log:"; tail -n 20 "$SC_LOG"; ERRORS=$((ERRORS + 1)); }
fi

echo
echo "Tracker memory: $PEERS distinct peers announce over HTTP (compact, numwant=0) across $LIB_FILES torrents" \
     "($((PEERS / LIB_FILES)) a swarm), then all announce again; VmRSS from /proc/PID/status"
printf '%-12s %12s %14s %16s %12s %12s %12s  %s\n' server "RSS before" "RSS +${PEERS} peers" "RSS 2nd pass" "bytes/peer" "anon B/peer" "2nd pass" "scrape after the 1st pass"
names=(opentracker); [[ $BASELINE_ONLY != 1 ]] && names+=(seedcast)
for n in "${names[@]}"; do
    [[ -n ${R[$n,again]:-} ]] || { printf '%-12s %12s\n' "$n" FAILED; continue; }
    printf '%-12s %9s KiB %10s KiB %12s KiB %12s %12s %9s KiB  %s\n' "$n" "${R[$n,before]}" "${R[$n,after]}" "${R[$n,again]}" \
        "$(awk -v a="${R[$n,after]}" -v b="${R[$n,before]}" -v p="$PEERS" 'BEGIN{printf "%.1f", (a - b) * 1024 / p}')" \
        "$(awk -v a="${R[$n,anon1]}" -v b="${R[$n,anon0]}" -v p="$PEERS" 'BEGIN{printf "%.1f", (a - b) * 1024 / p}')" \
        "$(awk -v a="${R[$n,again]}" -v b="${R[$n,after]}" 'BEGIN{printf "%+d", a - b}')" "${R[$n,scrape]}"
done
echo "(bytes/peer = (RSS after - RSS before) / peers; anon: the same with RssAnon; 2nd pass: RSS change when the same"
echo " peers announce again, which should be ~0; opentracker stores 8 bytes per IPv4 peer, no peer_id)"
if [[ $BASELINE_ONLY != 1 ]]; then
    echo "seedcast /healthz after the run: $(curl -fsS --max-time 5 "$SC_BASE/healthz" 2>/dev/null || echo unreachable)"
fi
if [[ $BASELINE_ONLY != 1 && -n ${R[seedcast,again]:-} && -n ${R[opentracker,again]:-} ]]; then
    echo "ratio seedcast / opentracker bytes per peer: $(awk -v a="${R[seedcast,after]}" -v b="${R[seedcast,before]}" \
        -v c="${R[opentracker,after]}" -v d="${R[opentracker,before]}" 'BEGIN{x = c - d; printf "%.1f", (x > 0 ? (a - b) / x : 0)}')" \
        "(lower is better; seedcast also keeps peer ids); seedcast peak RSS (VmHWM) ${R[seedcast,hwm]} KiB"
fi
if (( ERRORS > 0 )); then
    echo "tracker_memory: $ERRORS error(s) -- not a result"
    exit 1
fi
