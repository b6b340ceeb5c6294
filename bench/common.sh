# shellcheck shell=bash
# What every benchmark helper library needs (sourced by lib.sh and tracker_lib.sh): logging, and
# waiting for a server started in the background to be ready.

log()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { log "ERROR: $*"; exit 1; }

# wait_ready NAME PID PORT_FILE LOG TIMEOUT READY_FN
# Waits until the server NAME (process PID, which writes its HTTP port to PORT_FILE and its log to
# LOG) is ready: READY_FN, called with the body of its /healthz (empty when it does not answer),
# returns 0. Dies with the log's tail if the process exits or TIMEOUT seconds pass.
# Sets READY_PORT and READY_HEALTH.
wait_ready() {
    local name=$1 pid=$2 port_file=$3 logf=$4 timeout=$5 ready=$6 t0=$SECONDS
    READY_PORT="" READY_HEALTH=""
    while :; do
        kill -0 "$pid" 2>/dev/null || { tail -n 30 "$logf" >&2; die "$name exited during start-up"; }
        (( SECONDS - t0 < timeout )) ||
            { tail -n 30 "$logf" >&2; die "$name not ready after ${timeout}s (last healthz: $READY_HEALTH)"; }
        [[ -n $READY_PORT ]] || READY_PORT=$( { tr -dc 0-9 < "$port_file"; } 2>/dev/null || true)
        if [[ -n $READY_PORT ]]; then
            READY_HEALTH=$(curl -fsS --max-time 5 "http://127.0.0.1:$READY_PORT/healthz" 2>/dev/null || true)
            "$ready" "$READY_HEALTH" && return 0
        fi
        sleep 0.1
    done
}

# READY_FNs: seedcast has indexed its library; and it also seeds exactly one torrent.
indexed() { grep -Eq '"indexing" *: *false' <<< "$1"; }
seeding_one() { indexed "$1" && grep -Eq '"seed" *: *\{[^}]*"torrents" *: *1[,}]' <<< "$1"; }
