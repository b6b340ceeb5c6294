#!/usr/bin/env bash
# Range serving: seedcast vs nginx 1.22 (1 worker, sendfile), random aligned ranges of a 1 GiB
# file over loopback, measured with wrk in the same run.  See bench/README.md.
#
# Environment (all optional):
#   DURATION=10        seconds measured per run        WARMUP=2   seconds of warm-up before each
#   RUNS="16384:64 1048576:16"   range_size:connections pairs
#   BASELINE_ONLY=1    nginx only (automatic, with a message, when $SEEDCAST_BIN is missing)
#   SEEDCAST_BIN=build/seedcast
#   CHECK=warmup      where wrk checks every response (206, Content-Range, body length; see
#                     range.lua): warmup (default) = during the warm-up only, all = also in the
#                     measured runs (slows wrk a lot: it then copies every body into Lua), off.
#                     Measured runs always check bytes/response and wrk's status/socket errors.
#   SERVER_CPU=0 WRK_CPU=1  cores to pin to   SEED=12345  wrk offset sequence seed
#   BENCH_TMP=/tmp/seedcast-bench  CLEAN=1 (remove BENCH_TMP, incl. the 1 GiB file, at exit)
#   HEALTH_TIMEOUT=300 seconds to wait for seedcast's indexing
#   BG_LIMIT=15        flag a run during which the rest of the machine used more than this % of a core
#   WAIT_QUIET=0       wait up to this many seconds for a quiet machine before each measured run
#   RETRIES=0          re-measure a run disturbed by other processes up to this many times
#   ORDER=nginx-first  or seedcast-first: which server is measured first (alternates each round)
#   ROUNDS=1           measure each server this many times per size; the median round is shown
#   NGINX_TCP_NOPUSH=on  nginx's tcp_nopush (TCP_CORK while sending a file); off for comparison
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
RUNS=${RUNS:-"16384:64 1048576:16"}
BASELINE_ONLY=${BASELINE_ONLY:-0}
CHECK=${CHECK:-warmup}
case $CHECK in warmup|all|off) ;; *) die "CHECK must be warmup, all or off" ;; esac
if [[ $CHECK == warmup ]] && (( WARMUP < 1 )); then WARMUP=1; fi   # the check needs a warm-up run
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
SEED=${SEED:-12345}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-300}
BG_LIMIT=${BG_LIMIT:-15}
WAIT_QUIET=${WAIT_QUIET:-0}
RETRIES=${RETRIES:-0}
ORDER=${ORDER:-nginx-first}
ROUNDS=${ROUNDS:-1}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
WRK_BIN=${WRK_BIN:-/usr/bin/wrk}
LUA=$BENCH_DIR/range.lua
CLK_TCK=$(getconf CLK_TCK)

for t in "$NGINX_BIN" "$WRK_BIN" curl taskset sha1sum dd "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done

bench_init
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [[ $BASELINE_ONLY != 1 ]] && ! have_seedcast; then
    echo "NOTE: seedcast binary not found at $SEEDCAST_BIN -- running the nginx baseline only" \
         "(build it, or set SEEDCAST_BIN; BASELINE_ONLY=1 silences this note)."
    BASELINE_ONLY=1
fi

ensure_data_file
log "warming the page cache"
warm_page_cache
check_idle

# ---------------------------------------------------------------- nginx
start_nginx() {
    local p=$RUN_DIR/nginx
    mkdir -p "$p/logs" "$p/tmp"
    NGINX_PORT=$(free_port)
    cat > "$p/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $p/nginx.pid;
error_log $p/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush ${NGINX_TCP_NOPUSH:-on};
    keepalive_timeout 65;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path $p/tmp/body;
    proxy_temp_path $p/tmp/proxy;
    fastcgi_temp_path $p/tmp/fastcgi;
    uwsgi_temp_path $p/tmp/uwsgi;
    scgi_temp_path $p/tmp/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $LIB_DIR;
        location / { }
    }
}
CONF
    taskset -c "$SERVER_CPU" "$NGINX_BIN" -p "$p/" -e "$p/logs/error.log" -c "$p/nginx.conf" \
        > "$p/logs/stdout.log" 2>&1 &
    NGINX_PID=$!
    BENCH_PIDS+=("$NGINX_PID")
    NGINX_URL=http://127.0.0.1:$NGINX_PORT/$DATA_FILE_NAME
    for _ in $(seq 100); do
        kill -0 "$NGINX_PID" 2>/dev/null || { cat "$p/logs/"*.log >&2; die "nginx exited"; }
        curl -fsS -o /dev/null -r 0-0 "$NGINX_URL" 2>/dev/null && { log "nginx pid $NGINX_PID on port $NGINX_PORT"; return; }
        sleep 0.1
    done
    die "nginx did not answer on port $NGINX_PORT"
}

# ---------------------------------------------------------------- seedcast
start_seedcast() {
    local d=$RUN_DIR/seedcast
    mkdir -p "$d" "$BENCH_TMP/seedcast-data"
    SEEDCAST_LOG=$d/seedcast.log
    local port_file=$d/port
    env HOST=127.0.0.1 PORT=0 PORT_FILE="$port_file" LIBRARY="$LIB_DIR" \
        DATA_DIR="$BENCH_TMP/seedcast-data" THREADS=1 LOG_LEVEL=warn \
        taskset -c "$SERVER_CPU" env -C "$d" "$SEEDCAST_BIN" serve > "$SEEDCAST_LOG" 2>&1 &
    SEEDCAST_PID=$!
    BENCH_PIDS+=("$SEEDCAST_PID")
    local t0=$SECONDS
    wait_ready seedcast "$SEEDCAST_PID" "$port_file" "$SEEDCAST_LOG" "$HEALTH_TIMEOUT" indexed
    SEEDCAST_PORT=$READY_PORT
    log "seedcast pid $SEEDCAST_PID on port $SEEDCAST_PORT ready after $((SECONDS - t0)) s: $READY_HEALTH"
    local base=http://127.0.0.1:$SEEDCAST_PORT ih hashes
    hashes=$(curl -fsS "$base/" | grep -oiE '/file/[0-9a-f]{40}' | cut -d/ -f3 | sort -u || true)
    for ih in $hashes; do
        if curl -fsS "$base/file/$ih?json=1" | grep -Eq "\"name\" *: *\"$DATA_FILE_NAME\""; then
            SEEDCAST_URL=$base/file/$ih/$DATA_FILE_NAME
            log "seedcast file URL: $SEEDCAST_URL"
            return
        fi
    done
    if [[ $(wc -w <<< "$hashes") == 1 ]]; then
        SEEDCAST_URL=$base/file/$hashes/$DATA_FILE_NAME
        log "seedcast: the only torrent's JSON listing does not name $DATA_FILE_NAME; using it anyway: $SEEDCAST_URL"
        return
    fi
    curl -sS "$base/" | head -c 2000 >&2
    die "no torrent named $DATA_FILE_NAME in seedcast's index page"
}

# ---------------------------------------------------------------- correctness check
# fetch_range URL a b -> prints "<http_code> <content-range> <sha1>"
fetch_range() {
    local out=$RUN_DIR/range.bin hdr=$RUN_DIR/range.hdr code cr
    code=$(curl -sS --max-time 30 -D "$hdr" -o "$out" -H "Range: bytes=$2-$3" -w '%{http_code}' "$1" || echo 000)
    cr=$(grep -i '^content-range:' "$hdr" | tr -d '\r' | sed 's/^[^:]*: *//' || true)
    echo "$code ${cr:-none} $(sha1sum < "$out" | cut -c1-40)"
}
verify_ranges() {
    local ok=1 spec size a b want got name url
    for spec in $RUNS; do
        size=${spec%%:*}
        local n=$((DATA_FILE_SIZE / size))
        for a in 0 $(( (SEED * 2654435761 % n) * size )) $(( (n - 1) * size )); do
            b=$((a + size - 1))
            want="206 bytes $a-$b/$DATA_FILE_SIZE $(dd if="$DATA_FILE" bs="$size" skip=$((a / size)) count=1 status=none | sha1sum | cut -c1-40)"
            for name in nginx seedcast; do
                [[ $name == seedcast && $BASELINE_ONLY == 1 ]] && continue
                if [[ $name == nginx ]]; then url=$NGINX_URL; else url=$SEEDCAST_URL; fi
                got=$(fetch_range "$url" "$a" "$b")
                if [[ $got != "$want" ]]; then
                    echo "VERIFY FAILED: $name bytes=$a-$b: got '$got', want '$want'"
                    ok=0
                fi
            done
        done
    done
    if [[ $ok == 1 ]]; then
        if [[ $BASELINE_ONLY == 1 ]]; then
            echo "verify: nginx returns 206 + the right bytes (sha1 vs the file) for 3 ranges of each size"
        else
            echo "verify: nginx and seedcast return identical bytes (206, same Content-Range, sha1 equal to the file) for 3 ranges of each size"
        fi
    fi
    [[ $ok == 1 ]]
}

# ---------------------------------------------------------------- one wrk run
# run_wrk NAME URL SIZE CONNS SECONDS OUTFILE CHECK(0|1)  (server pid in SRV_PID, other server pid in OTHER_PID)
run_wrk() {
    local name=$1 url=$2 size=$3 conns=$4 secs=$5 out=$6 check=$7
    local c0 o0 c1 o1 t0 t1 m0 m1
    c0=$(cpu_ticks "$SRV_PID"); o0=$(cpu_ticks "${OTHER_PID:-$SRV_PID}"); m0=$(stat_busy)
    t0=$(date +%s%N)
    echo "CHECKED_RUN=$check" > "$out.check"
    CHECK=$check /usr/bin/time -f 'WRKTIME user=%U sys=%S' -o "$out.time" \
        taskset -c "$WRK_CPU" "$WRK_BIN" -t1 -c"$conns" -d"${secs}s" --timeout 5s -s "$LUA" "$url" \
        -- "$size" "$DATA_FILE_SIZE" "$SEED" > "$out" 2>&1 || true
    t1=$(date +%s%N)
    c1=$(cpu_ticks "$SRV_PID"); o1=$(cpu_ticks "${OTHER_PID:-$SRV_PID}"); m1=$(stat_busy)
    [[ -n ${OTHER_PID:-} ]] || { o0=0; o1=0; }
    cat "$out.time" >> "$out"
    # machine CPU not used by the server under test, the idle other server or wrk (other processes,
    # plus softirq work not charged to any process): > 15% of a core means a disturbed run
    awk -v m="$((m1 - m0))" -v c="$((c1 - c0))" -v o="$((o1 - o0))" -v hz="$CLK_TCK" -v ns="$((t1 - t0))" \
        '/^WRKTIME/{split($2,u,"=");split($3,s,"="); w=u[2]+s[2]} END{printf "BGCPU pct=%.0f\n", 100*((m-c-o)/hz-w)/(ns/1e9)}' "$out.time" >> "$out"
    cat "$out.check" >> "$out"
    awk -v c="$((c1 - c0))" -v o="$((o1 - o0))" -v hz="$CLK_TCK" -v ns="$((t1 - t0))" \
        'BEGIN{printf "SRVCPU pct=%.0f other_pct=%.0f wall=%.2f cpu_s=%.3f\n", 100*c/hz/(ns/1e9), 100*o/hz/(ns/1e9), ns/1e9, c/hz}' >> "$out"
    kill -0 "$SRV_PID" 2>/dev/null || echo "SERVER_DIED" >> "$out"
}

# parse OUTFILE SIZE -> sets R_* variables; R_ERR non-empty if the run is not a valid result
parse_run() {
    local out=$1 size=$2 line
    line=$(grep '^RESULT ' "$out" | tail -1 || true)
    R_ERR=""
    if [[ -z $line ]]; then
        R_ERR="wrk printed no RESULT line: $(head -c 300 "$out" | tr '\n' ' ')"
        R_RPS=0 R_MIBS=0 R_LAT=0 R_P99=0 R_SRVCPU=0 R_WRKCPU=0 R_OTHERCPU=0
        return
    fi
    local kv
    for kv in $line; do
        case $kv in
            requests=*) R_REQ=${kv#*=} ;; duration_us=*) R_DUR=${kv#*=} ;; bytes=*) R_BYTES=${kv#*=} ;;
            lat_mean_us=*) R_LATUS=${kv#*=} ;; lat_p99_us=*) R_P99US=${kv#*=} ;;
            err_connect=*) R_EC=${kv#*=} ;; err_read=*) R_ER=${kv#*=} ;; err_write=*) R_EW=${kv#*=} ;;
            err_status=*) R_ES=${kv#*=} ;; err_timeout=*) R_ET=${kv#*=} ;;
            checked=*) R_CHECKED=${kv#*=} ;; bad=*) R_BAD=${kv#*=} ;;
        esac
    done
    R_FIRSTBAD=$(sed -n 's/^RESULT .*first_bad=//p' "$out" | tail -1)
    read -r R_RPS R_MIBS R_LAT R_P99 R_BPR < <(awk -v r="$R_REQ" -v d="$R_DUR" -v b="$R_BYTES" -v l="$R_LATUS" -v p="$R_P99US" \
        'BEGIN{ if (r==0) r=1e-9; printf "%.0f %.1f %.2f %.2f %.0f\n", r/(d/1e6), b/(d/1e6)/1048576, l/1000, p/1000, b/r }')
    R_SRVCPU=$(sed -n 's/^SRVCPU pct=\([0-9]*\).*/\1/p' "$out")
    R_USREQ=$(awk -v r="$R_REQ" '/^SRVCPU/{split($5,c,"="); if (r>0) printf "%.1f", c[2]*1e6/r; else print "-"}' "$out")
    local checked_run; checked_run=$(sed -n 's/^CHECKED_RUN=//p' "$out")
    R_OTHERCPU=$(sed -n 's/^SRVCPU .*other_pct=\([0-9]*\).*/\1/p' "$out")
    R_BGCPU=$(sed -n 's/^BGCPU pct=\(-*[0-9]*\).*/\1/p' "$out")
    R_WRKCPU=$(awk -v d="$R_DUR" '/^WRKTIME/{split($2,u,"=");split($3,s,"="); printf "%.0f", 100*(u[2]+s[2])/(d/1e6)}' "$out")
    local errs=()
    (( R_REQ > 0 )) || errs+=("no requests completed")
    (( R_EC + R_ER + R_EW + R_ET > 0 )) && errs+=("socket errors connect=$R_EC read=$R_ER write=$R_EW timeout=$R_ET")
    (( R_ES > 0 )) && errs+=("$R_ES responses with status >= 400")
    [[ $checked_run == 1 && ${R_BAD:-0} -gt 0 ]] && errs+=("$R_BAD of $R_CHECKED responses wrong (first: $R_FIRSTBAD)")
    [[ $checked_run == 1 && ${R_CHECKED:-0} -eq 0 && $R_REQ -gt 0 ]] && errs+=("response check did not run")
    # bytes per response must be the range plus a header (catches 200-with-whole-file even with CHECK=0)
    (( R_REQ > 0 && (R_BPR < size || R_BPR > size + 4096) )) && errs+=("$R_BPR bytes per response for a $size-byte range")
    grep -q '^SERVER_DIED' "$out" && errs+=("server process died")
    if ((${#errs[@]})); then R_ERR=$(IFS=';'; echo "${errs[*]}"); fi
    return 0
}

# ---------------------------------------------------------------- main
start_nginx
NGINX_RSS0=$(rss_of "$NGINX_PID" VmRSS)
if [[ $BASELINE_ONLY != 1 ]]; then
    start_seedcast
    SEEDCAST_RSS0=$(rss_of "$SEEDCAST_PID" VmRSS)
fi

echo "== webseed_ranges: ${DATA_FILE_SIZE}-byte file, random aligned ranges; servers on core $SERVER_CPU, wrk -t1 on core $WRK_CPU; ${WARMUP}s warm-up + ${DURATION}s per run; CHECK=$CHECK"
echo "   nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*nginx\///') (1 worker, sendfile on, tcp_nopush ${NGINX_TCP_NOPUSH:-on}, keepalive) $NGINX_URL"
[[ $BASELINE_ONLY == 1 ]] || echo "   seedcast $SEEDCAST_BIN (THREADS=1) $SEEDCAST_URL"
VERIFY_OK=1
verify_ranges || VERIFY_OK=0

ERRORS=()
ROWS=()
ROWS2=()
SPREAD=()
cell() { if [[ -n ${BAD[$1]:-} ]]; then echo "ERROR"; else echo "$2"; fi; }

# measure_one NAME SIZE CONNS ROUND: warm-up (checked) + measured run; appends one line
# "rps mibs lat p99 bg usreq srvcpu wrkcpu|error" to $RUN_DIR/res-SIZE-NAME
measure_one() {
    local name=$1 size=$2 conns=$3 round=$4 url out warm_bad=0 attempt
    if [[ $name == nginx ]]; then
        url=$NGINX_URL SRV_PID=$NGINX_PID OTHER_PID=${SEEDCAST_PID:-}
    else
        url=$SEEDCAST_URL SRV_PID=$SEEDCAST_PID OTHER_PID=$NGINX_PID
    fi
    out=$RUN_DIR/wrk-$name-$size-$round
    if (( WARMUP > 0 )); then
        run_wrk "$name" "$url" "$size" "$conns" "$WARMUP" "$out.warmup" "$([[ $CHECK == off ]] && echo 0 || echo 1)"
        parse_run "$out.warmup" "$size"
        if [[ -n $R_ERR ]]; then
            ERRORS+=("$name $size B warm-up: $R_ERR"); warm_bad=1
        else
            [[ $CHECK == off ]] || log "  $name warm-up: all $R_CHECKED responses checked OK (206, Content-Range, body length)"
        fi
    fi
    for ((attempt = 0; ; attempt++)); do
        wait_quiet
        log "measuring $name: ${size}-byte ranges, $conns connections, ${DURATION}s${ROUNDS_LABEL:+ ($ROUNDS_LABEL)}"
        run_wrk "$name" "$url" "$size" "$conns" "$DURATION" "$out" "$([[ $CHECK == all ]] && echo 1 || echo 0)"
        parse_run "$out" "$size"
        (( R_BGCPU > BG_LIMIT && attempt < RETRIES )) || break
        log "  disturbed run (rest of machine ${R_BGCPU}%): $R_RPS req/s discarded, retrying"
    done
    [[ $warm_bad == 1 && -z $R_ERR ]] && R_ERR="wrong answers during the checked warm-up"
    log "  $name: $R_RPS req/s, $R_MIBS MiB/s, avg $R_LAT ms, p99 $R_P99 ms, server CPU $R_SRVCPU%, wrk CPU $R_WRKCPU%, rest of machine $R_BGCPU%${R_ERR:+  ERROR: $R_ERR}"
    echo "$R_RPS $R_MIBS $R_LAT $R_P99 $R_BGCPU $R_USREQ $R_SRVCPU $R_WRKCPU|$R_ERR" >> "$RUN_DIR/res-$size-$name"
    if (( R_BGCPU > BG_LIMIT )); then
        ERRORS+=("note: other processes used ~${R_BGCPU}% of a core during the $name $size B run (limit $BG_LIMIT%): that number is disturbed, re-run on a quiet machine")
    fi
    [[ -z $R_ERR ]] || ERRORS+=("$name $size B: $R_ERR")
    if [[ $BASELINE_ONLY != 1 && ${R_OTHERCPU:-0} -gt 5 ]]; then
        ERRORS+=("note: the idle other server used ${R_OTHERCPU}% CPU during the $name $size B run")
    fi
    if [[ $name == seedcast ]] && ! kill -0 "$SEEDCAST_PID" 2>/dev/null; then
        ERRORS+=("seedcast died during the $size B run; last log lines: $(tail -n 5 "$SEEDCAST_LOG" | tr '\n' '|')")
        SEEDCAST_DEAD=1
    fi
}

SEEDCAST_DEAD=0
for spec in $RUNS; do
    size=${spec%%:*}; conns=${spec##*:}
    if [[ $BASELINE_ONLY == 1 ]]; then servers=(nginx); else servers=(nginx seedcast); fi
    for ((round = 1; round <= ROUNDS; round++)); do
        (( ROUNDS > 1 )) && ROUNDS_LABEL="round $round/$ROUNDS" || ROUNDS_LABEL=
        order=("${servers[@]}")
        # the first server alternates between rounds, so neither always runs first
        first_sc=0
        [[ $ORDER == seedcast-first ]] && first_sc=1
        (( round % 2 == 0 )) && first_sc=$((1 - first_sc))
        (( ${#servers[@]} == 2 && first_sc == 1 )) && order=(seedcast nginx)
        for name in "${order[@]}"; do
            measure_one "$name" "$size" "$conns" "$round"
            (( SEEDCAST_DEAD == 0 )) || break 3
        done
    done
    # the round with the median req/s stands for each server
    declare -A BG=() USREQ=() RPS=() MIBS=() LAT=() P99=() SCPU=() WCPU=() BAD=()
    for name in "${servers[@]}"; do
        f=$RUN_DIR/res-$size-$name
        line=$(sort -g "$f" | awk '{a[NR]=$0} END{print a[int((NR+1)/2)]}')
        read -r RPS[$name] MIBS[$name] LAT[$name] P99[$name] BG[$name] USREQ[$name] SCPU[$name] WCPU[$name] <<< "${line%%|*}"
        BAD[$name]=$(cut -d'|' -f2- "$f" | grep -v '^$' | head -1 || true)
        if (( ROUNDS > 1 )); then
            SPREAD+=("$name $size B req/s over $ROUNDS rounds: $(cut -d' ' -f1 "$f" | tr '\n' ' ')(median shown)")
        fi
    done
    if (( size >= 1048576 )); then label="$((size / 1048576)) MiB"; else label="$((size / 1024)) KiB"; fi
    if [[ $BASELINE_ONLY == 1 ]]; then
        ROWS+=("$(printf '%-7s %5s | %12s %12s %8s | %9s %9s | %8s %8s' "$label" "$conns" \
            "$(cell nginx "${RPS[nginx]}")" "-" "-" "${MIBS[nginx]}" "-" "${LAT[nginx]}" "-")")
        ROWS2+=("$(printf '%-7s | %8s %8s | %9s %9s | %9s %9s | %7s %7s | %5s %5s' "$label" "${P99[nginx]}" "-" "${SCPU[nginx]}%" "-" "${USREQ[nginx]}" "-" "${WCPU[nginx]}%" "-" "${BG[nginx]}%" "-")")
    else
        if [[ -z ${BAD[nginx]} && -z ${BAD[seedcast]} ]]; then
            ratio=$(awk -v a="${RPS[seedcast]}" -v b="${RPS[nginx]}" 'BEGIN{printf "%.2f", (b>0)?a/b:0}')
        else
            ratio=ERROR
        fi
        ROWS+=("$(printf '%-7s %5s | %12s %12s %8s | %9s %9s | %8s %8s' "$label" "$conns" \
            "$(cell nginx "${RPS[nginx]}")" "$(cell seedcast "${RPS[seedcast]}")" "$ratio" \
            "${MIBS[nginx]}" "${MIBS[seedcast]}" "${LAT[nginx]}" "${LAT[seedcast]}")")
        ROWS2+=("$(printf '%-7s | %8s %8s | %9s %9s | %9s %9s | %7s %7s | %5s %5s' "$label" "${P99[nginx]}" "${P99[seedcast]}" \
            "${SCPU[nginx]}%" "${SCPU[seedcast]}%" "${USREQ[nginx]}" "${USREQ[seedcast]}" "${WCPU[nginx]}%" "${WCPU[seedcast]}%" "${BG[nginx]}%" "${BG[seedcast]}%")")
    fi
    unset BG USREQ RPS MIBS LAT P99 SCPU WCPU BAD
done

echo
printf '%-7s %5s | %12s %12s %8s | %9s %9s | %8s %8s\n' "range" "conns" "nginx req/s" "seedcast r/s" "ratio" "nginx" "seedcast" "nginx" "seedcast"
printf '%-7s %5s | %12s %12s %8s | %9s %9s | %8s %8s\n' "" "" "" "" "sc/ngx" "MiB/s" "MiB/s" "avg ms" "avg ms"
printf '%s\n' "${ROWS[@]}"
echo
printf '%-7s | %8s %8s | %9s %9s | %9s %9s | %7s %7s | %5s %5s\n' "range" "nginx" "seedcast" "nginx" "seedcast" "nginx" "seedcast" "wrk" "wrk" "rest" "rest"
printf '%-7s | %8s %8s | %9s %9s | %9s %9s | %7s %7s | %5s %5s\n' "" "p99 ms" "p99 ms" "CPU" "CPU" "CPU us/r" "CPU us/r" "(ngx)" "(sc)" "(ngx)" "(sc)"
printf '%s\n' "${ROWS2[@]}"
echo "(CPU = share of one core used by the server / by wrk during the measured run; CPU us/r = server CPU time per"
echo " request.  wrk at ~100% means the load generator, not the server, set the req/s: compare CPU us/r then."
echo " rest = CPU used by everything else on the machine during the run (other processes, uncharged softirq);"
echo " above $BG_LIMIT% the run was disturbed.)"
((${#SPREAD[@]} == 0)) || printf '%s\n' "${SPREAD[@]}"
echo
echo "nginx RSS: start $NGINX_RSS0, after runs $(rss_of "$NGINX_PID" VmRSS), peak $(rss_of "$NGINX_PID" VmHWM)"
if [[ $BASELINE_ONLY != 1 ]]; then
    if kill -0 "$SEEDCAST_PID" 2>/dev/null; then
        echo "seedcast RSS: start $SEEDCAST_RSS0, after runs $(rss_of "$SEEDCAST_PID" VmRSS), peak $(rss_of "$SEEDCAST_PID" VmHWM)"
        echo "seedcast healthz after runs: $(curl -fsS --max-time 5 "http://127.0.0.1:$SEEDCAST_PORT/healthz" || echo 'no answer')"
    else
        echo "seedcast RSS: process is gone (crashed?)"
    fi
    if [[ -s $SEEDCAST_LOG ]]; then
        echo "seedcast log (LOG_LEVEL=warn), $(wc -l < "$SEEDCAST_LOG") lines; last 10:"
        tail -n 10 "$SEEDCAST_LOG" | sed 's/^/  | /'
    fi
else
    echo "seedcast: skipped (baseline only)"
fi
[[ -s $RUN_DIR/nginx/logs/error.log ]] && { echo "nginx error.log:"; tail -n 5 "$RUN_DIR/nginx/logs/error.log" | sed 's/^/  | /'; }

status=0
if [[ $VERIFY_OK != 1 ]]; then status=1; fi
if ((${#ERRORS[@]})); then
    echo
    for e in "${ERRORS[@]}"; do
        if [[ $e == note:* ]]; then echo "NOTE: ${e#note: }"; else echo "ERROR: $e"; status=1; fi
    done
fi
exit $status
