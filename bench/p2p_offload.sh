#!/usr/bin/env bash
# P2P offload: a swarm of streaming python3-libtorrent viewers on one video, served by
#   baseline: nginx (web seed) + opentracker + a stock libtorrent seed (default settings)
#   seedcast: `seedcast serve` (its web seed, tracker and BitTorrent seed)
# in the same run. Prints the share of bytes the viewers got from each other (offload), per viewer
# and overall, the bytes the server sent, stalls, and the ratio of server bytes. See bench/README.md.
#
# Environment (all optional):
#   VIEWERS=30         viewers               SPREAD=2      seconds between two viewers joining
#   SIZE_MB=64         video size, MiB       BITRATE=4000000  playback rate, bit/s (64 MiB = 134 s)
#   DL_FACTOR=3        download limit per viewer = DL_FACTOR x BITRATE
#   UL_FACTOR=1.5      upload limit per viewer = UL_FACTOR x BITRATE
#   PIECE_SIZE=262144  piece size of both torrents (0 = seedcast's own choice, ~1500 pieces a file;
#                      a 4 Mbit/s film of 2 hours gets 2 MiB pieces = 4 s of video, so the default
#                      keeps a piece at 0.5 s of video rather than seedcast's 0.13 s for 64 MiB)
#   BUFFER=2           seconds downloaded before playback starts
#   WINDOW=8           seconds ahead of the playback head that get piece deadlines
#   LT_TICK_MS=100     the viewers' libtorrent tick_interval, which paces their rate limiters
#                      (libtorrent's default, 500, holds a web-seed request's quota up to 10 s:
#                      see bench/README.md)
#   MAX_TIME=          seconds a swarm may run (default: (VIEWERS-1) x SPREAD + 2 x video + 60)
#   SETUPS="baseline seedcast"   which setups to run, in this order
#   BASELINE_ONLY=1    baseline only (automatic, with a message, when $SEEDCAST_BIN is missing)
#   SEEDCAST_ENV="K=V ...[;K=V ...]"  environment for seedcast; several configurations separated by
#                      ';' run one after the other, each against the same baseline (default:
#                      "SEED_SLOTS=4 WEBSEED_DEFER=30;SEED_COPIES=2 WEBSEED_DEFER=30;
#                       SEED_COPIES=1 SEED_BITRATE=<BITRATE> WEBSEED_DEFER=30")
#   SEED_SETTINGS='{"unchoke_slots_limit": 4}'  settings_pack overrides for the baseline's seed,
#   SEED_ARGS="--super-seeding --preset high_performance_seed"  and its flags (experiments only:
#                      the baseline proper is a stock seed)
#   VIEWER_ARGS="--no-webseed"  extra arguments for the viewers (see p2p_offload.py swarm --help)
#   SERVER_CPU=0 LOAD_CPU=1  cores for the servers / for the viewers
#   BENCH_TMP=/tmp/seedcast-bench  CLEAN=1 (remove $BENCH_TMP/p2p, incl. the video, at exit)
#   HEALTH_TIMEOUT=120 seconds to wait for seedcast's indexing and seed
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VIEWERS=${VIEWERS:-30}
SPREAD=${SPREAD:-2}
SIZE_MB=${SIZE_MB:-64}
BITRATE=${BITRATE:-4000000}
DL_FACTOR=${DL_FACTOR:-3}
UL_FACTOR=${UL_FACTOR:-1.5}
PIECE_SIZE=${PIECE_SIZE:-262144}
BUFFER=${BUFFER:-2}
WINDOW=${WINDOW:-8}
LT_TICK_MS=${LT_TICK_MS:-100}
VIDEO_S=$(awk -v m="$SIZE_MB" -v b="$BITRATE" 'BEGIN{printf "%d", m * 1048576 * 8 / b}')
MAX_TIME=${MAX_TIME:-$(awk -v n="$VIEWERS" -v s="$SPREAD" -v v="$VIDEO_S" 'BEGIN{printf "%d", (n - 1) * s + 2 * v + 60}')}
SETUPS=${SETUPS:-"baseline seedcast"}
BASELINE_ONLY=${BASELINE_ONLY:-0}
# seedcast runs in its P2P-first configurations (these settings default to 0, which favours
# viewers over offload; SEEDCAST_ENV="SEED_COPIES=0 WEBSEED_DEFER=0" measures the defaults):
# swarm-first seeding alone, and with the bit rate given to the seed.
SEEDCAST_ENV=${SEEDCAST_ENV-SEED_SLOTS=4 WEBSEED_DEFER=30;SEED_COPIES=2 WEBSEED_DEFER=30;SEED_COPIES=1 SEED_BITRATE=$BITRATE WEBSEED_DEFER=30}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-120}
SEED_SETTINGS=${SEED_SETTINGS:-"{}"}
SEED_ARGS=${SEED_ARGS:-}
VIEWER_ARGS=${VIEWER_ARGS:-}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
P2P_DIR=$BENCH_TMP/p2p
VIDEO_NAME=video.mp4
VIDEO=$P2P_DIR/library/$VIDEO_NAME
PYTOOL=$BENCH_DIR/p2p_offload.py

for t in "$NGINX_BIN" opentracker curl taskset "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t (apt-get install nginx opentracker curl python3-libtorrent)"
done
"$PY" -c 'import libtorrent' 2>/dev/null || die "$PY cannot import libtorrent (apt-get install python3-libtorrent)"

bench_init
# CLEAN=1: remove only what this benchmark owns (lib.sh's cleanup handles data/ and seedcast-data/),
# as one of lib.sh's exit hooks (its own EXIT trap would hand bench_cleanup the status of its test)
p2p_clean() { [[ ${CLEAN:-0} != 1 ]] || rm -rf -- "$P2P_DIR"; }
BENCH_EXIT_HOOKS+=(p2p_clean)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [[ $BASELINE_ONLY != 1 ]] && ! have_seedcast; then
    echo "NOTE: seedcast binary not found at $SEEDCAST_BIN -- running the baseline only" \
         "(build it, or set SEEDCAST_BIN; BASELINE_ONLY=1 silences this note)."
    BASELINE_ONLY=1
fi
[[ $BASELINE_ONLY == 1 ]] && SETUPS=baseline

# --- the video: SIZE_MB random bytes (BitTorrent does not care what is inside), kept between runs
mkdir -p "$P2P_DIR/library"
if [[ $(stat -c %s "$VIDEO" 2>/dev/null || echo 0) != $((SIZE_MB * 1048576)) ]]; then
    log "creating $VIDEO ($SIZE_MB MiB random)"
    rm -f -- "$P2P_DIR/library/"*
    head -c $((SIZE_MB * 1048576)) /dev/urandom > "$RUN_DIR/video.part"
    mv -- "$RUN_DIR/video.part" "$VIDEO"
    rm -rf -- "$P2P_DIR/seedcast-data-"*
fi
cat -- "$VIDEO" > /dev/null
check_idle

# stop_pid PID: SIGTERM, wait up to 10 s, then SIGKILL (only processes this script started)
stop_pid() {
    local p=$1
    kill "$p" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

# run_swarm LABEL TORRENT OUT: the viewers, pinned to LOAD_CPU
run_swarm() {
    log "swarm: $VIEWERS viewers against $1"
    mkdir -p "$RUN_DIR/viewers-$1"
    taskset -c "$LOAD_CPU" "$PY" "$PYTOOL" swarm --label "$1" --torrent "$2" --out "$3" \
        --workdir "$RUN_DIR/viewers-$1" --viewers "$VIEWERS" --spread "$SPREAD" --bitrate "$BITRATE" \
        --dl-factor "$DL_FACTOR" --ul-factor "$UL_FACTOR" --buffer "$BUFFER" --window "$WINDOW" \
        --max-time "$MAX_TIME" --lt-tick-ms "$LT_TICK_MS" $VIEWER_ARGS
    rm -rf -- "$RUN_DIR/viewers-$1"
}

RESULTS=()
SERVER_BYTES=()

# ---------------------------------------------------------------- baseline
run_baseline() {
    local d=$RUN_DIR/baseline
    mkdir -p "$d/nginx/logs" "$d/nginx/tmp" "$d/ot"
    local nginx_port ot_port seed_port piece
    nginx_port=$(free_port); ot_port=$(free_port); seed_port=$(free_port)
    # the piece size of seedcast's torrent of this file when it ran first (PIECE_SIZE=0)
    piece=${PIECE_LENGTH:-$PIECE_SIZE}
    (( piece > 0 )) || piece=262144
    "$PY" "$PYTOOL" make --file "$VIDEO" --piece-length "$piece" \
        --announce "http://127.0.0.1:$ot_port/announce" --url-seed "http://127.0.0.1:$nginx_port/" \
        --out "$d/video.torrent" > "$d/ih"
    cat > "$d/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx/nginx.pid;
error_log $d/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    log_format bytes '\$body_bytes_sent';
    access_log $d/nginx/logs/access.log bytes;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path $d/nginx/tmp/body;
    proxy_temp_path $d/nginx/tmp/proxy;
    fastcgi_temp_path $d/nginx/tmp/fastcgi;
    uwsgi_temp_path $d/nginx/tmp/uwsgi;
    scgi_temp_path $d/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        root $P2P_DIR/library;
        location / { }
    }
}
CONF
    taskset -c "$SERVER_CPU" "$NGINX_BIN" -p "$d/nginx/" -e "$d/nginx/logs/error.log" -c "$d/nginx/nginx.conf" \
        > "$d/nginx/logs/stdout.log" 2>&1 &
    local nginx_pid=$!
    BENCH_PIDS+=("$nginx_pid")
    # opentracker from Debian is a whitelist build: the info-hash goes in -w (read inside the -d chroot)
    cp "$d/ih" "$d/ot/whitelist.txt"
    taskset -c "$SERVER_CPU" opentracker -i 127.0.0.1 -p "$ot_port" -P "$ot_port" -d "$d/ot" -w whitelist.txt \
        > "$d/opentracker.log" 2>&1 &
    local ot_pid=$!
    BENCH_PIDS+=("$ot_pid")
    taskset -c "$SERVER_CPU" "$PY" "$PYTOOL" seed --torrent "$d/video.torrent" --save-path "$P2P_DIR/library" \
        --port "$seed_port" --stats "$d/seed.json" --settings "$SEED_SETTINGS" $SEED_ARGS > "$d/seed.log" 2>&1 &
    local seed_pid=$!
    BENCH_PIDS+=("$seed_pid")
    local ok=0
    for _ in $(seq 300); do
        kill -0 "$nginx_pid" 2>/dev/null || { cat "$d/nginx/logs/"*.log >&2; die "nginx exited"; }
        kill -0 "$ot_pid" 2>/dev/null || { cat "$d/opentracker.log" >&2; die "opentracker exited"; }
        kill -0 "$seed_pid" 2>/dev/null || { cat "$d/seed.log" >&2; die "the libtorrent seed exited"; }
        if curl -fsS -o /dev/null -r 0-0 "http://127.0.0.1:$nginx_port/$VIDEO_NAME" 2>/dev/null \
            && curl -fsS -o /dev/null "http://127.0.0.1:$ot_port/scrape" 2>/dev/null \
            && grep -q '"seeding": true' "$d/seed.json" 2>/dev/null; then ok=1; break; fi
        sleep 0.1
    done
    (( ok )) || die "baseline servers not ready"
    : > "$d/nginx/logs/access.log"   # the readiness probe is not a viewer
    log "baseline: nginx :$nginx_port, opentracker :$ot_port, libtorrent seed :$seed_port, ih $(cat "$d/ih")"
    run_swarm "baseline (nginx+opentracker+lt seed)" "$d/video.torrent" "$d/result.json"
    local web seed
    web=$(awk '{s += $1} END {print s + 0}' "$d/nginx/logs/access.log")
    seed=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["uploaded"])' "$d/seed.json")
    stop_pid "$seed_pid"; stop_pid "$ot_pid"; stop_pid "$nginx_pid"
    RESULTS+=("$d/result.json")
    SERVER_BYTES+=("{\"web\": $web, \"seed\": $seed}")
}

# ---------------------------------------------------------------- seedcast
metric() { curl -fsS --max-time 5 "$1/metrics" | awk -v k="$2" '$1 == k {printf "%.0f", $2}'; }
run_seedcast() {  # run_seedcast N ENV: configuration N
    local n=$1 SEEDCAST_ENV=$2
    local d=$RUN_DIR/seedcast-$n
    local data=$P2P_DIR/seedcast-data-$PIECE_SIZE   # seedcast keeps a torrent's piece size once hashed
    mkdir -p "$d" "$data"
    local peer_port
    peer_port=$(free_port)
    # shellcheck disable=SC2086
    env HOST=127.0.0.1 PORT=0 PORT_FILE="$d/port" PEER_PORT="$peer_port" LIBRARY="$P2P_DIR/library" \
        DATA_DIR="$data" PIECE_SIZE="$PIECE_SIZE" LOG_LEVEL=warn $SEEDCAST_ENV \
        taskset -c "$SERVER_CPU" env -C "$d" "$SEEDCAST_BIN" serve > "$d/seedcast.log" 2>&1 &
    local sc_pid=$!
    BENCH_PIDS+=("$sc_pid")
    wait_ready seedcast "$sc_pid" "$d/port" "$d/seedcast.log" "$HEALTH_TIMEOUT" seeding_one
    local port=$READY_PORT
    local base=http://127.0.0.1:$port ih
    ih=$(curl -fsS "$base/" | grep -oiE '/file/[0-9a-f]{40}' | cut -d/ -f3 | sort -u)
    [[ $(wc -w <<< "$ih") == 1 ]] || die "expected one torrent in seedcast's index, got: $ih"
    curl -fsS -o "$d/video.torrent" "$base/torrent/$ih.torrent" || die "GET /torrent/$ih.torrent failed"
    PIECE_LENGTH=$("$PY" -c 'import libtorrent as lt,sys; print(lt.torrent_info(sys.argv[1]).piece_length())' "$d/video.torrent")
    log "seedcast pid $sc_pid on :$port, engine :$peer_port, ih $ih, piece $((PIECE_LENGTH / 1024)) KiB ($SEEDCAST_ENV)"
    local up0 up1 http0 http1
    up0=$(metric "$base" seedcast_seed_uploaded_bytes_total)
    http0=$(metric "$base" seedcast_http_sent_bytes_total)
    run_swarm "seedcast: $SEEDCAST_ENV" "$d/video.torrent" "$d/result.json"
    up1=$(metric "$base" seedcast_seed_uploaded_bytes_total)
    http1=$(metric "$base" seedcast_http_sent_bytes_total)
    kill -0 "$sc_pid" 2>/dev/null || die "seedcast died during the run"
    stop_pid "$sc_pid"
    RESULTS+=("$d/result.json")
    # http: every HTTP response (web seed, tracker announces, .torrent), heads included
    SERVER_BYTES+=("{\"http\": $((http1 - http0)), \"seed\": $((up1 - up0))}")
}

# seedcast first when it runs: the baseline then uses the piece size seedcast chose for the file
IFS=';' read -r -a CONFIGS <<< "$SEEDCAST_ENV"
(( ${#CONFIGS[@]} > 0 )) || CONFIGS=("")
for s in $(tr ' ' '\n' <<< "$SETUPS" | sort -r); do
    case $s in
        seedcast) for i in "${!CONFIGS[@]}"; do run_seedcast "$i" "$(xargs <<< "${CONFIGS[$i]}")"; done ;;
        baseline) run_baseline ;;
        *) die "unknown setup $s" ;;
    esac
done
# report the baseline first
if [[ $SETUPS == *baseline* && ${#RESULTS[@]} -gt 1 ]]; then
    RESULTS=("${RESULTS[-1]}" "${RESULTS[@]:0:${#RESULTS[@]}-1}")
    SERVER_BYTES=("${SERVER_BYTES[-1]}" "${SERVER_BYTES[@]:0:${#SERVER_BYTES[@]}-1}")
fi
"$PY" "$PYTOOL" report --results "${RESULTS[@]}" --server-bytes "${SERVER_BYTES[@]}"
