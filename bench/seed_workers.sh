#!/usr/bin/env bash
# Seeding capacity of the worker processes: the largest number of viewers (RATE_KBIT each, over
# the BitTorrent peer wire) that `seedcast serve` with WORKERS=2 serves on 2 cores, against
# WORKERS=1 on one core, same load generator (bench/peer_load.cpp), file, rate and pass
# criterion as seed_capacity.sh, same run. Target (super-peer issue): ratio >= 1.7.
# The machinery is bench/seed_lib.sh. See bench/README.md ("Worker processes").
#
# Placement (2 cores): WORKERS=1: the master and its worker on core 0, peer_load on core 1 (as
# seed_capacity.sh). WORKERS=2: the master and worker 0 on core 0, worker 1 on core 1, and
# peer_load unpinned on both, since no core is left for it: it takes its CPU from the workers.
# `workers1-shared` in SERVERS measures WORKERS=1 with peer_load unpinned too.
#
# Environment (all optional; the rest as in seed_capacity.sh: DURATION=15 WARMUP=5 RATE_KBIT=1000
# BUFFER=10 PREBUFFER=2 REBUFFER=1 PIPELINE=4 RAMP=200 START_TIMEOUT=30 VERIFY_EVERY=64 ROUNDS=1
# SEARCH=3 WAIT_QUIET=60 BG_LIMIT=15 SEEDCAST_BIN SEEDCAST_ENV BENCH_TMP CLEAN):
#   SERVERS="workers1 workers2"   what is measured, in order (workersK, workersK-shared, seedcast)
#   STEPS="1000 2000 4000 6000 8000 10000"   the first server's steps
#   REL_STEPS="1 1.3 1.5 1.7 2 2.3"   the other servers' steps, as multiples of the first one's
#                      largest N served (rounded to 50): the search spends its time near the ratio
#   SERVER_CPU=0 (the master) WORKER_CPUS="0 1" (worker i on the i-th) LOAD_CPU=1
#   SHARED_LOAD_CPUS=0-1  where an unpinned peer_load may run
#   TARGET=1.7
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STEPS=${STEPS:-"1000 2000 4000 6000 8000 10000"}
source "$BENCH_DIR/seed_lib.sh"

read -ra SERVERS <<< "${SERVERS:-workers1 workers2}"
REL_STEPS=${REL_STEPS:-"1 1.3 1.5 1.7 2 2.3"}
TARGET=${TARGET:-1.7}

have_seedcast || die "seedcast binary not found at $SEEDCAST_BIN (build it, or set SEEDCAST_BIN): its 1-worker run is the baseline"
for s in "${SERVERS[@]}"; do [[ $s =~ ^(workers[0-9]+(-shared)?|seedcast)$ ]] || die "SERVERS: unknown server $s"; done
seed_setup
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

echo "seed_workers: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average before: $load_before"
echo "  $RATE_KBIT kbit/s viewers, ${BUFFER}s read-ahead, $PIPELINE x 16 KiB pipeline, ramp $RAMP/s; warm-up ${WARMUP}s," \
     "measured ${DURATION}s; fd limit $FD_LIMIT"
for s in "${SERVERS[@]}"; do
    k=$(workers_of "$s")
    if (( k > 0 )); then
        cores=""; for ((i = 0; i < k; i++)); do cores+="${cores:+,}$(worker_cpu "$i")"; done
        echo "  $(label "$s"): master on core $SERVER_CPU, workers on cores $cores${QUOTA:+ with $QUOTA of a core each (CFS quota)}, peer_load on CPUs $(load_cpus "$s")"
    else
        echo "  $(label "$s"): one process on core $SERVER_CPU, peer_load on CPUs $(load_cpus "$s")"
    fi
done

first=${SERVERS[0]}
# shellcheck disable=SC2086
search "$first" $STEPS
for s in "${SERVERS[@]:1}"; do
    steps=$(for m in $REL_STEPS; do awk -v b="${BEST[$first]}" -v m="$m" 'BEGIN{ n = int(b * m / 50 + 0.5) * 50; if (n > 0) print n }'; done | uniq)
    [[ -n $steps ]] || steps=$STEPS   # the first served none
    # shellcheck disable=SC2086
    search "$s" $steps
done

echo
echo "Seeding capacity of worker processes at $RATE_KBIT kbit/s per viewer ('*' = served: no stall, drop or start-up failure);"
echo "srv CPU = master + workers, RSS = their sum (the file's shared pages count once per process)"
print_table "${SERVERS[@]}"
echo
print_best "${SERVERS[@]}"

# Where the CPU went, at each server's largest N served: per 1,000 viewers, the server's
# processes (master/worker...) and the generator's.
echo
echo "CPU per 1,000 viewers at the largest N served (% of one core):"
for s in "${SERVERS[@]}"; do
    n=${BEST[$s]}
    (( n > 0 )) || continue
    awk -v r="${OUT[$s,$n]}" -v n="$n" -v l="$(label "$s")" 'BEGIN{ m = split(r, kvs, " "); for (i = 1; i <= m; i++) { split(kvs[i], p, "="); v[p[1]] = p[2] }
        k = split(v["server_cpu_each"], e, "/"); each = ""
        for (i = 1; i <= k; i++) each = each (i > 1 ? " / " : "") sprintf("%.1f", e[i] * 1000 / n)
        printf "  %-17s server %5.1f (master / workers: %s), peer_load %5.1f, rest of the machine %s%% in all\n",
            l, v["server_cpu_pct"] * 1000 / n, each, v["gen_cpu_pct"] * 1000 / n, v["rest_pct"] }'
done

echo
for s in "${SERVERS[@]:1}"; do print_ratio "$s" "$first" "viewers served; target >= $TARGET"; done
# What the cores can hold when peer_load runs on them too. With WORKERS=1 on core 0 and peer_load
# on core 1, each core's busy time (softirq and all, /proc/stat) at N1 is what N1 viewers cost on
# the server's side and on the generator's: all cores hold at most N1 * 100 * cores / (both).
n1=${BEST[$first]}
if (( n1 > 0 )); then
    awk -v r="${OUT[$first,$n1]}" -v n="$n1" -v c="$(nproc)" -v l="$(label "$first")" -v t="$TARGET" -v k="$(workers_of "${SERVERS[1]:-}")" \
        -v sc="$SERVER_CPU" -v lc="$LOAD_CPU" 'BEGIN{
        m = split(r, kvs, " "); for (i = 1; i <= m; i++) { split(kvs[i], p, "="); v[p[1]] = p[2] }
        s = v["server_core_pct"]; g = v["load_core_pct"]
        if (s <= 0 || g <= 0) exit   # no core of its own (shared placement): nothing to read
        cap = 100 * c / (s + g)
        printf "ceiling: at %s %d, core %s was %.0f%% busy (server side) and core %s %.0f%% (peer_load side, softirq included);\n",
            l, n, sc, s, lc, g
        printf "  at that cost per viewer the %d cores hold at most %.2fx %d viewers", c, cap, n
        if (k > 1 && cap < k) printf ", whatever the workers do"
        printf "\n"
        if (cap < t) printf "  -> the %.1fx target cannot be reached on this machine with peer_load on the same cores (it needs a core of its own)\n", t
    }'
fi
for s in "${SERVERS[@]:1}"; do
    n1=${BEST[$first]} n2=${BEST[$s]}
    (( n1 > 0 && n2 > 0 )) || continue
    awk -v a="${OUT[$first,$n1]}" -v b="${OUT[$s,$n2]}" -v n1="$n1" -v n2="$n2" -v la="$(label "$first")" -v lb="$(label "$s")" 'BEGIN{
        split(a, x, " "); for (i in x) { split(x[i], p, "="); va[p[1]] = p[2] }
        split(b, y, " "); for (i in y) { split(y[i], p, "="); vb[p[1]] = p[2] }
        if (va["server_cpu_pct"] > 0 && vb["server_cpu_pct"] > 0)
            printf "viewers per core of server CPU: %s %.0f, %s %.0f (%.2fx: 1.00 = the workers scale linearly with the CPU they get)\n",
                la, n1 * 100 / va["server_cpu_pct"], lb, n2 * 100 / vb["server_cpu_pct"],
                (n2 / vb["server_cpu_pct"]) / (n1 / va["server_cpu_pct"]) }'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) (before: $load_before); a shared 2-core VM: absolute figures are noisy, check 'rest'."
seed_finish seed_workers
