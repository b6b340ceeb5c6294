#!/usr/bin/env bash
# Seeding capacity: how many viewers, each streaming at RATE_KBIT over the BitTorrent peer wire,
# one core serves without any of them falling behind. seedcast's libtorrent engine vs a stock
# libtorrent seed (python3-libtorrent 2.0, default settings) and libtorrent's own
# high_performance_seed preset, same 1 GiB file, same load (bench/peer_load.cpp), same run.
# The machinery is bench/seed_lib.sh (shared with seed_workers.sh). See bench/README.md.
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
source "$BENCH_DIR/seed_lib.sh"

BASELINES=${BASELINES-"stock hps"}
BASELINE_ONLY=${BASELINE_ONLY:-0}

seed_setup
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

echo "seed_capacity: $RATE_KBIT kbit/s viewers, ${BUFFER}s read-ahead, $PIPELINE x 16 KiB pipeline, ramp $RAMP/s;" \
     "warm-up ${WARMUP}s, measured ${DURATION}s; servers on core $SERVER_CPU, peer_load on core $LOAD_CPU; fd limit $FD_LIMIT"
for srv in "${SERVERS[@]}"; do
    # shellcheck disable=SC2086
    search "$srv" $STEPS
done

echo
echo "Seeding capacity at $RATE_KBIT kbit/s per viewer (1 core each; '*' = served: no stall, drop or start-up failure)"
print_table "${SERVERS[@]}"
echo
print_best "${SERVERS[@]}"
for b in stock hps; do print_ratio seedcast "$b" "viewers served"; done
echo "baselines: 'libtorrent stock' = python3-libtorrent $("$PY" -c 'import libtorrent; print(libtorrent.__version__)') session with default settings;" \
     "'libtorrent hps' = its high_performance_seed() preset + allow_multiple_connections_per_ip; both seed the same file in seed mode (bench/seed_baseline.py)," \
     "and $([[ $LOCAL_PEERS == 1 ]] && echo "treat the 127.x viewers as LAN peers (LOCAL_PEERS=1: always unchoked, 2/3 of connections_limit)" || echo "treat the 127.x viewers as Internet peers (global peer class)")."
echo "target (engine issue): >= 2,000 viewers per core and <= 0.2 MB RSS per viewer (SwarmCloud super peer: 200 viewers, 400 MB per core)."
seed_finish seed_capacity
