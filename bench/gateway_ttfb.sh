#!/usr/bin/env bash
# Gateway time to first byte: seedcast's gateway vs WebTorrent in Node (npm, its built-in HTTP
# server), both streaming a torrent they do not hold from a loopback swarm (opentracker +
# python3-libtorrent seeders, TCP), in the same run.  See bench/README.md ("gateway_ttfb.sh").
#
# Each round starts each gateway fresh (empty cache), adds the magnet (xt + dn + tr=opentracker)
# through POST /api/torrents and at once asks GET /file/... (seedcast) or /webtorrent/...
# (WebTorrent) for Range: bytes=0-(RANGE_KB KiB - 1): cold TTFB includes finding peers and the
# metadata.  Then a range of the same size at SEEK (fraction of the file), not fetched yet: seek
# TTFB and the time to complete it.  Every answer is checked (206, Content-Range, the file's
# exact bytes); a wrong one is an ERROR, never a figure.
#
# Environment (all optional):
#   ROUNDS=3               rounds; each starts both gateways fresh (order alternates); medians shown
#   SIZE_MB=200            size of the random test file (MiB)
#   PIECE_KB=256           piece size of its torrent
#   RANGE_KB=1024          size of both ranges
#   SEEK=0.5               where the seek range starts, as a fraction of the file (rounded down to 64 KiB)
#   SEEDERS=2              python3-libtorrent seeders in the swarm (TCP on 127.0.0.1, uTP off)
#   WT_SELECT=stream       WebTorrent adds the torrent with {deselect: true}, so it fetches what a
#                          request reads (like seedcast); "all" = its default, the whole torrent
#   WT_VERSION=3.0.21      webtorrent version from npm (installed under $BENCH_TMP/gateway/npm)
#   REQ_TIMEOUT=120        seconds a request may take before the round is an error
#   METADATA_TIMEOUT=60 PIECE_TIMEOUT=90  seedcast's gateway settings (above its defaults, 20 and 15: a slow
#                          start is measured rather than turned into a 504 / 503)
#   BASELINE_ONLY=1        WebTorrent only (automatic, with a message, when seedcast is missing)
#   SEEDCAST_BIN=build/seedcast  SERVER_CPU=0 LOAD_CPU=1  BENCH_TMP=/tmp/seedcast-bench  CLEAN=1
#   WAIT_QUIET=20 BG_LIMIT=15  before each round wait up to WAIT_QUIET s for a quiet second
#   WAIT_OTHERS=1800       wait this long for other benchmarks to finish before measuring
#   GATEWAYS="webtorrent seedcast"  which gateways to measure (one alone: no ratio)
#   KEEP=1                 keep the run's folder (logs, results.jsonl) instead of removing it
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tracker_lib.sh"
# tracker_lib.sh's process bookkeeping and clean-up, with this benchmark's own folder:
#   $BENCH_TMP/gateway/{data,npm} kept between runs; run.XXXXXX/ per run; CLEAN=1 removes all of it
TB_TMP=$BENCH_TMP/gateway

ROUNDS=${ROUNDS:-3}
SIZE_MB=${SIZE_MB:-200}
PIECE_KB=${PIECE_KB:-256}
RANGE_KB=${RANGE_KB:-1024}
SEEK=${SEEK:-0.5}
SEEDERS=${SEEDERS:-2}
WT_SELECT=${WT_SELECT:-stream}
WT_VERSION=${WT_VERSION:-3.0.21}
REQ_TIMEOUT=${REQ_TIMEOUT:-120}
METADATA_TIMEOUT=${METADATA_TIMEOUT:-60}
PIECE_TIMEOUT=${PIECE_TIMEOUT:-90}
WAIT_QUIET=${WAIT_QUIET:-20}
GATEWAYS=${GATEWAYS:-webtorrent seedcast}
KEEP=${KEEP:-0}
TOKEN=bench-gateway-token
HELPER=$TB_DIR/gateway_ttfb.py
case $WT_SELECT in stream|all) ;; *) die "WT_SELECT must be stream or all" ;; esac
(( RANGE_KB * 1024 <= SIZE_MB * 1048576 / 2 )) || die "RANGE_KB must be at most half the file"

for t in node npm opentracker curl taskset "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t (apt-get install nodejs npm opentracker curl python3-libtorrent)"
done
"$PY" -c 'import libtorrent' 2>/dev/null || die "python3-libtorrent missing (apt-get install python3-libtorrent)"

tb_init
wait_for_others

if [[ $BASELINE_ONLY == 1 ]]; then
    echo "NOTE: BASELINE_ONLY=1 -- measuring WebTorrent only (seedcast skipped)."
elif ! have_seedcast; then
    echo "NOTE: seedcast binary not found at $SEEDCAST_BIN -- measuring WebTorrent only" \
         "(build it, or set SEEDCAST_BIN; BASELINE_ONLY=1 silences this note)."
    BASELINE_ONLY=1
fi

# ------------------------------------------------------------------ webtorrent from npm
NPM_DIR=$TB_TMP/npm
have_wt=$(node -p "try { require('$NPM_DIR/node_modules/webtorrent/package.json').version } catch (e) { '' }" 2>/dev/null || true)
if [[ $have_wt != "$WT_VERSION" ]]; then
    log "installing webtorrent@$WT_VERSION from npm into $NPM_DIR"
    rm -rf -- "$NPM_DIR"
    mkdir -p "$NPM_DIR"
    # webrtc-polyfill (simple-peer's WebRTC) needs node-datachannel's binary from GitHub at install
    # time; the benchmark's peers are TCP, so a stub without WebRTC stands in (npm overrides).
    # --ignore-scripts: ip-set's preinstall insists on pnpm; the TCP client needs no native add-on.
    cp -r "$TB_DIR/gateway_webrtc_stub" "$NPM_DIR/webrtc-stub"
    cat > "$NPM_DIR/package.json" <<EOF
{ "name": "seedcast-bench-gateway", "private": true,
  "dependencies": { "webtorrent": "$WT_VERSION", "webrtc-polyfill": "file:./webrtc-stub" },
  "overrides": { "webrtc-polyfill": "\$webrtc-polyfill" } }
EOF
    npm install --prefix "$NPM_DIR" --no-audit --no-fund --ignore-scripts --loglevel=error >&2 \
        || die "npm install webtorrent@$WT_VERSION failed"
fi

# ------------------------------------------------------------------ the file and its torrent
DATA_DIR=$TB_TMP/data
FILE_NAME=ttfb-${SIZE_MB}MiB.bin
FILE=$DATA_DIR/$FILE_NAME
SIZE=$((SIZE_MB * 1048576))
mkdir -p "$DATA_DIR"
if [[ $(stat -c %s "$FILE" 2>/dev/null || echo 0) != "$SIZE" ]]; then
    avail_kb=$(df -Pk "$DATA_DIR" | awk 'NR==2{print $4}')
    (( avail_kb * 1024 > SIZE * 3 + 268435456 )) || die "not enough space in $DATA_DIR (the file and two gateway caches)"
    log "creating $FILE ($SIZE random bytes)"
    head -c "$SIZE" /dev/urandom > "$FILE.part"
    mv -- "$FILE.part" "$FILE"
fi

check_idle
OT_DIR=$TB_RUN/opentracker
mkdir -p "$OT_DIR"
OT_PORT=$(free_port)
ANNOUNCE=http://127.0.0.1:$OT_PORT/announce
TORRENT=$TB_RUN/$FILE_NAME.torrent
log "hashing $FILE_NAME (${PIECE_KB} KiB pieces)"
IH=$("$PY" "$HELPER" torrent "$FILE" "$TORRENT" $((PIECE_KB * 1024)) "$ANNOUNCE")
[[ $IH =~ ^[0-9a-f]{40}$ ]] || die "torrent creation failed: $IH"
MAGNET="magnet:?xt=urn:btih:$IH&dn=$FILE_NAME&tr=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$ANNOUNCE")"
SEEK_AT=$("$PY" -c "print(int($SIZE * $SEEK) // 65536 * 65536)")
RANGE=$((RANGE_KB * 1024))
(( SEEK_AT >= RANGE * 2 && SEEK_AT + RANGE <= SIZE )) || die "SEEK=$SEEK puts the seek range at $SEEK_AT: too near the start or the end"

# ------------------------------------------------------------------ the swarm (core LOAD_CPU)
echo "$IH" > "$OT_DIR/whitelist.txt"
# opentracker (Debian's is a whitelist build; -d: chroot folder, -w read inside it)
taskset -c "$LOAD_CPU" opentracker -i 127.0.0.1 -p "$OT_PORT" -P "$OT_PORT" -d "$OT_DIR" -w whitelist.txt \
    > "$OT_DIR/opentracker.log" 2>&1 &
OT_PID=$!
TB_PIDS+=("$OT_PID")
for _ in $(seq 100); do
    kill -0 "$OT_PID" 2>/dev/null || { cat "$OT_DIR/opentracker.log" >&2; die "opentracker exited"; }
    body=$(curl -sS --max-time 2 "http://127.0.0.1:$OT_PORT/scrape?info_hash=$(pct_hash "$IH")" 2>/dev/null | tr -d '\0' || true)
    [[ $body == d5:files* ]] && break
    sleep 0.1
done
[[ $body == d5:files* ]] || die "opentracker did not answer a scrape on port $OT_PORT"
log "opentracker pid $OT_PID on 127.0.0.1:$OT_PORT"

SEED_PIDS=()
for ((i = 1; i <= SEEDERS; i++)); do
    # listens on 127.0.0.1, TCP only (uTP off), DHT/LSD/PEX off: the tracker is the only way to
    # find it; several connections from 127.0.0.1 allowed.  It stops by itself after --timeout.
    taskset -c "$LOAD_CPU" "$PY" "$HELPER" seed "$TORRENT" "$DATA_DIR" --timeout 3600 > "$TB_RUN/seeder$i.log" 2>&1 &
    SEED_PIDS+=($!)
    TB_PIDS+=($!)
done
t0=$SECONDS
for ((i = 1; i <= SEEDERS; i++)); do
    until grep -q '"seeding": true' "$TB_RUN/seeder$i.log"; do
        kill -0 "${SEED_PIDS[i-1]}" 2>/dev/null || { cat "$TB_RUN/seeder$i.log" >&2; die "seeder $i exited"; }
        (( SECONDS - t0 < 120 )) || { cat "$TB_RUN/seeder$i.log" >&2; die "seeder $i did not announce within 120 s"; }
        sleep 0.2
    done
done
log "$SEEDERS seeder(s) announced (pids ${SEED_PIDS[*]}); magnet $MAGNET"
LOAD_PIDS=$(IFS=,; echo "$OT_PID,${SEED_PIDS[*]}")

# ------------------------------------------------------------------ gateways (core SERVER_CPU)
# start_gateway KIND DIR: sets GW_PID, GW_PORT, GW_LOG
start_gateway() {
    local kind=$1 d=$2
    mkdir -p "$d"
    GW_LOG=$d/log
    if [[ $kind == seedcast ]]; then
        mkdir -p "$d/library" "$d/data"
        # SEEDCAST_ENV: extra VAR=value settings for seedcast, split on spaces
        # shellcheck disable=SC2086
        env -u OPEN_GATEWAY -u DHT -u CACHE_MAX_BYTES -u GATEWAY_LIFETIME -u SECRET -u JWT_PUBLIC_KEY -u AUTH_WEBHOOK \
            HOST=127.0.0.1 PORT=0 PORT_FILE="$d/port" LIBRARY="$d/library" DATA_DIR="$d/data" THREADS=1 \
            LOG_LEVEL=info PEER_PORT=0 ACCESS_TOKEN="$TOKEN" METADATA_TIMEOUT="$METADATA_TIMEOUT" \
            PIECE_TIMEOUT="$PIECE_TIMEOUT" ${SEEDCAST_ENV:-} \
            taskset -c "$SERVER_CPU" env -C "$d" "$SEEDCAST_BIN" serve > "$GW_LOG" 2>&1 &
    else
        mkdir -p "$d/cache"
        taskset -c "$SERVER_CPU" node "$TB_DIR/gateway_ttfb_webtorrent.mjs" "$NPM_DIR" "$d/port" "$d/cache" "$TOKEN" "$WT_SELECT" \
            > "$GW_LOG" 2>&1 &
    fi
    GW_PID=$!
    TB_PIDS+=("$GW_PID")
    # WebTorrent's gateway has no /healthz: it is ready once it has written its port
    local ready=indexed
    [[ $kind == seedcast ]] || ready=true
    wait_ready "$kind" "$GW_PID" "$d/port" "$GW_LOG" 60 "$ready"
    GW_PORT=$READY_PORT
}

RESULTS=$TB_RUN/results.jsonl
: > "$RESULTS"
KINDS=()
for k in $GATEWAYS; do
    case $k in
        webtorrent) KINDS+=(webtorrent) ;;
        seedcast) [[ $BASELINE_ONLY != 1 ]] && KINDS+=(seedcast) ;;
        *) die "GATEWAYS: unknown gateway $k" ;;
    esac
done
(( ${#KINDS[@]} > 0 )) || die "nothing to measure (GATEWAYS=$GATEWAYS, BASELINE_ONLY=$BASELINE_ONLY)"
ERRORS=0
declare -A LAST_LOG
for ((round = 1; round <= ROUNDS; round++)); do
    order=("${KINDS[@]}")
    (( round % 2 == 0 )) && mapfile -t order < <(printf '%s\n' "${KINDS[@]}" | tac)
    for kind in "${order[@]}"; do
        wait_for_others
        wait_quiet
        d=$TB_RUN/$kind-$round
        start_gateway "$kind" "$d"
        log "$kind round $round: pid $GW_PID on port $GW_PORT"
        out=$(taskset -c "$LOAD_CPU" "$PY" "$HELPER" measure --kind "$kind" --port "$GW_PORT" --token "$TOKEN" \
            --magnet "$MAGNET" --ih "$IH" --file "$FILE" --piece-bytes $((PIECE_KB * 1024)) --range-bytes "$RANGE" \
            --seek "$SEEK_AT" --timeout "$REQ_TIMEOUT" --round "$round" --gw-pid "$GW_PID" --load-pids "$LOAD_PIDS" \
            2> "$d/measure.err") || true
        line=$(grep '^{' <<< "$out" | tail -1 || true)
        [[ -n $line ]] || line="{\"gateway\": \"$kind\", \"round\": $round, \"ok\": false, \"error\": \"the helper printed nothing: $(tail -n 3 "$d/measure.err" | tr -d '"\\' | tr '\n' ' ')\"}"
        echo "$line" >> "$RESULTS"
        if ! grep -q '"ok": true' <<< "$line"; then
            ERRORS=$((ERRORS + 1))
            echo "ERROR: $kind round $round: $(sed -n 's/.*"error": "\(.*\)".*/\1/p' <<< "$line")"
            echo "end of $kind's log:"; tail -n 15 "$GW_LOG" | cut -c1-300
        fi
        if ! kill -0 "$GW_PID" 2>/dev/null; then
            st=0; wait "$GW_PID" 2>/dev/null || st=$?
            echo "ERROR: $kind died during round $round (exit status $st); end of its log:"; tail -n 20 "$GW_LOG" | cut -c1-300
            ERRORS=$((ERRORS + 1))
        fi
        log "$kind round $round: $(sed -E 's/.*"cold_ttfb_ms": ([0-9.]+).*"seek_ttfb_ms": ([0-9.]+).*/cold TTFB \1 ms, seek TTFB \2 ms/' <<< "$line" | cut -c1-200)"
        stop_pid "$GW_PID"
        LAST_LOG[$kind]=$GW_LOG
        # the next round starts from an empty cache; keep the last log for the report
        rm -rf -- "$d/data" "$d/cache"
    done
done
for ((i = 1; i <= SEEDERS; i++)); do
    kill -0 "${SEED_PIDS[i-1]}" 2>/dev/null || { echo "ERROR: seeder $i died"; ERRORS=$((ERRORS + 1)); }
done

# ------------------------------------------------------------------ report
echo
echo "gateway time to first byte: a ${SIZE_MB} MiB file (${PIECE_KB} KiB pieces) in a swarm-only torrent: opentracker +" \
     "$SEEDERS python3-libtorrent seeder(s) (TCP, core $LOAD_CPU) on 127.0.0.1; gateway on core $SERVER_CPU, fresh with an empty cache each round"
echo "webtorrent: $WT_VERSION (node $(node --version)), client.createServer(), torrents added with $([[ $WT_SELECT == stream ]] && echo '{deselect: true} (fetches what is read)' || echo 'the default selection (the whole torrent)')," \
     "TCP only; seedcast: $([[ $BASELINE_ONLY == 1 ]] && echo 'not measured' || echo "serve THREADS=1 PEER_PORT=0, admin API, METADATA_TIMEOUT=$METADATA_TIMEOUT PIECE_TIMEOUT=$PIECE_TIMEOUT")"
rc=0
"$PY" "$HELPER" report "$RESULTS" --rounds "$ROUNDS" --range-bytes "$RANGE" --seek "$SEEK_AT" --size "$SIZE" --bg-limit "$BG_LIMIT" || rc=1
echo "(TTFB: first body byte of a 206; cold: from POST /api/torrents (magnet) to the first byte of bytes=0-$((RANGE - 1)), metadata included;"
echo " seek: from sending the GET of the range at byte $SEEK_AT; done: its last byte; fetched before seek: payload the gateway had"
echo " downloaded then (webtorrent: verified pieces); gw CPU: the gateway's CPU time over the round; rest: CPU of other"
echo " processes meanwhile, % of a core (above ${BG_LIMIT}% = disturbed))"
for kind in "${KINDS[@]}"; do
    if [[ $kind == seedcast && -s ${LAST_LOG[seedcast]:-} ]]; then
        w=$(grep -ciE 'warn|error' "${LAST_LOG[seedcast]}" || true)
        echo "seedcast's last log: $(wc -l < "${LAST_LOG[seedcast]}") lines, $w warn/error; its gateway lines:"
        grep -E 'engine: (metadata|cache)|warn|error' "${LAST_LOG[seedcast]}" | tail -n 4 | cut -c1-200
    fi
done
if [[ $KEEP == 1 ]]; then
    echo "KEEP=1: logs and results kept in $TB_RUN"
    TB_RUN=""   # tb_cleanup removes only what is named there
fi
if (( ERRORS > 0 )); then
    echo "gateway_ttfb: $ERRORS error(s) -- not a result"
    exit 1
fi
exit $rc
