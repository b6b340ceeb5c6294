#!/usr/bin/env bash
# Torrent creation: `seedcast create` vs mktorrent 1.1 on the same 1 GiB file (page cache warm),
# 1 MiB pieces, T=1 and T=2 hashing threads, interleaved timed runs.  See bench/README.md.
#
# Both tools run with the per-run temp dir as working directory (seedcast reads a .env there).
# Environment (all optional):
#   THREAD_COUNTS="1 2"   REPS=3   PIECE_LOG2=20 (1 MiB pieces)
#   BASELINE_ONLY=1  mktorrent only (automatic, with a message, when $SEEDCAST_BIN is missing)
#   SEEDCAST_BIN=build/seedcast  BENCH_TMP=/tmp/seedcast-bench  CLEAN=1
#   BG_LIMIT=15  note runs during which other processes used more than this % of a core
#   WAIT_QUIET=0 wait up to this many seconds for a quiet machine before each timed run
#   RETRIES=0    repeat a timed run disturbed by other processes up to this many times
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

THREAD_COUNTS=${THREAD_COUNTS:-"1 2"}
REPS=${REPS:-3}
PIECE_LOG2=${PIECE_LOG2:-20}
PIECE_SIZE=$((1 << PIECE_LOG2))
BG_LIMIT=${BG_LIMIT:-15}
WAIT_QUIET=${WAIT_QUIET:-0}
RETRIES=${RETRIES:-0}
BASELINE_ONLY=${BASELINE_ONLY:-0}
MKTORRENT_BIN=${MKTORRENT_BIN:-/usr/bin/mktorrent}
for t in "$MKTORRENT_BIN" "$PY" /usr/bin/time; do command -v "$t" >/dev/null || die "missing tool: $t"; done
"$PY" -c 'import libtorrent' 2>/dev/null || die "$PY has no libtorrent module (apt-get install python3-libtorrent)"

bench_init
if [[ $BASELINE_ONLY != 1 ]] && ! have_seedcast; then
    echo "NOTE: seedcast binary not found at $SEEDCAST_BIN -- running the mktorrent baseline only" \
         "(build it, or set SEEDCAST_BIN; BASELINE_ONLY=1 silences this note)."
    BASELINE_ONLY=1
fi
ensure_data_file
log "warming the page cache (untimed read)"
warm_page_cache
check_idle

# torrent_summary FILE -> "v1=<hex> | <info dict without pieces> | pieces=<sha1 of pieces>"
torrent_summary() {
    "$PY" - "$1" <<'PYEOF'
import sys, hashlib, libtorrent as lt
path = sys.argv[1]
ti = lt.torrent_info(path)
ih = ti.info_hashes()
v1 = str(ih.v1) if ih.has_v1() else "none(v2-only)"
info = lt.bdecode(open(path, "rb").read())[b"info"]
def show(v):
    if isinstance(v, bytes):
        try: return v.decode()
        except UnicodeDecodeError: return "<%d bytes>" % len(v)
    if isinstance(v, (dict, list)): return "<%s>" % type(v).__name__
    return str(v)
fields = " ".join("%s=%s" % (k.decode(), show(v)) for k, v in sorted(info.items()) if k != b"pieces")
print("v1=%s | %s | pieces_sha1=%s" % (v1, fields, hashlib.sha1(info.get(b"pieces", b"")).hexdigest()[:12]))
PYEOF
}

# time_cmd OUTFILE LOG cmd... -> prints wall seconds; the command's exit status is checked;
# its user+sys CPU seconds are appended to $LAST_CPU_FILE and the CPU the rest of the machine
# used meanwhile (% of one core) to $LAST_CPU_FILE.rest.  A run disturbed by other processes
# (rest > BG_LIMIT) is repeated up to RETRIES times.
time_cmd() {
    local out=$1 logf=$2; shift 2
    local attempt t0 t1 m0 m1 cpu rest
    for ((attempt = 0; ; attempt++)); do
        rm -f -- "$out"
        wait_quiet
        t0=$EPOCHREALTIME; m0=$(stat_busy)
        if ! /usr/bin/time -f 'CPUTIME %U %S' -o "$logf.time" "$@" > "$logf" 2>&1; then
            echo "FAILED"; return
        fi
        t1=$EPOCHREALTIME; m1=$(stat_busy)
        [[ -s $out ]] || { echo "NOOUTPUT"; return; }
        cpu=$(awk '/^CPUTIME/{printf "%.2f", $2+$3}' "$logf.time")
        rest=$(awk -v m="$((m1 - m0))" -v hz="$(getconf CLK_TCK)" -v a="$t0" -v b="$t1" -v c="$cpu" \
            'BEGIN{printf "%.0f", 100*(m/hz-c)/(b-a)}')
        (( rest > BG_LIMIT && attempt < RETRIES )) || break
        log "  disturbed run of $(basename "$4") (rest of machine ${rest}%), repeating"
    done
    echo "$cpu" >> "$LAST_CPU_FILE"
    echo "$rest" >> "$LAST_CPU_FILE.rest"
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", b-a}'
}

echo "== create_vs_mktorrent: ${DATA_FILE_SIZE}-byte file (page cache warm), piece size $PIECE_SIZE, $REPS timed runs each, interleaved"
echo "   mktorrent: $MKTORRENT_BIN -t T -l $PIECE_LOG2 -o out.torrent FILE ($("$MKTORRENT_BIN" -h 2>&1 | head -1 | cut -d'(' -f1 | xargs))"
[[ $BASELINE_ONLY == 1 ]] || echo "   seedcast:  $SEEDCAST_BIN create FILE -o out2.torrent --piece-size $PIECE_SIZE --threads T"
ERRORS=()
ROWS=()
CPUNOTE=()
NOTES=()
MIB=$(awk -v s="$DATA_FILE_SIZE" 'BEGIN{print s/1048576}')
for T in $THREAD_COUNTS; do
    MK=() SC=()
    : > "$RUN_DIR/mk.cpu"; : > "$RUN_DIR/sc.cpu"; : > "$RUN_DIR/mk.cpu.rest"; : > "$RUN_DIR/sc.cpu.rest"
    mk_out=$RUN_DIR/mk-$T.torrent sc_out=$RUN_DIR/sc-$T.torrent
    for ((i = 1; i <= REPS; i++)); do
        t=$(LAST_CPU_FILE=$RUN_DIR/mk.cpu time_cmd "$mk_out" "$RUN_DIR/mk.log" env -C "$RUN_DIR" "$MKTORRENT_BIN" -t "$T" -l "$PIECE_LOG2" -o "$mk_out" "$DATA_FILE")
        [[ $t =~ ^[0-9.]+$ ]] || { cat "$RUN_DIR/mk.log" >&2; die "mktorrent $t"; }
        MK+=("$t")
        if [[ $BASELINE_ONLY != 1 ]]; then
            t=$(LAST_CPU_FILE=$RUN_DIR/sc.cpu time_cmd "$sc_out" "$RUN_DIR/sc.log" env -C "$RUN_DIR" "$SEEDCAST_BIN" create "$DATA_FILE" -o "$sc_out" \
                    --piece-size "$PIECE_SIZE" --threads "$T")
            if [[ ! $t =~ ^[0-9.]+$ ]]; then
                ERRORS+=("seedcast create --threads $T run $i: $t; output: $(head -c 400 "$RUN_DIR/sc.log" | tr '\n' ' ')")
                SC=(); break
            fi
            SC+=("$t")
        fi
        log "T=$T run $i: mktorrent ${MK[-1]} s (cpu $(tail -1 "$RUN_DIR/mk.cpu") s)${SC:+, seedcast ${SC[-1]} s (cpu $(tail -1 "$RUN_DIR/sc.cpu") s)}"
    done
    mk_best=$(best_of "${MK[@]}"); mk_med=$(median3 "${MK[@]}")
    mk_rate=$(awk -v m="$MIB" -v t="$mk_best" 'BEGIN{printf "%.0f", m/t}')
    mk_sum=$(torrent_summary "$mk_out")
    worst=$(cat "$RUN_DIR/mk.cpu.rest" "$RUN_DIR/sc.cpu.rest" | sort -g | tail -1)
    if (( worst > BG_LIMIT )); then
        NOTES+=("T=$T: other processes used up to ${worst}% of a core during these timed runs (limit $BG_LIMIT%): disturbed, re-run on a quiet machine")
    fi
    mapfile -t cpus < "$RUN_DIR/mk.cpu"
    note="T=$T median CPU time (user+sys): mktorrent $(median3 "${cpus[@]}") s"
    if [[ -s $RUN_DIR/sc.cpu ]]; then mapfile -t cpus < "$RUN_DIR/sc.cpu"; note+=", seedcast $(median3 "${cpus[@]}") s"; fi
    CPUNOTE+=("$note")
    if [[ $BASELINE_ONLY == 1 ]]; then
        ROWS+=("$(printf '%3s | %8s %8s %8s | %8s %8s %8s | %6s %6s | %s' "$T" "$mk_best" "$mk_med" "$mk_rate" - - - - - -)")
        echo "T=$T mktorrent info: $mk_sum"
        continue
    fi
    if ((${#SC[@]} == 0)); then
        ROWS+=("$(printf '%3s | %8s %8s %8s | %8s %8s %8s | %6s %6s | %s' "$T" "$mk_best" "$mk_med" "$mk_rate" ERROR - - - - -)")
        continue
    fi
    sc_best=$(best_of "${SC[@]}"); sc_med=$(median3 "${SC[@]}")
    sc_rate=$(awk -v m="$MIB" -v t="$sc_best" 'BEGIN{printf "%.0f", m/t}')
    r_best=$(awk -v a="$mk_best" -v b="$sc_best" 'BEGIN{printf "%.2f", a/b}')
    r_med=$(awk -v a="$mk_med" -v b="$sc_med" 'BEGIN{printf "%.2f", a/b}')
    sc_sum=$(torrent_summary "$sc_out" 2>&1 || true)
    if [[ ${mk_sum%% |*} == "${sc_sum%% |*}" ]]; then
        same=yes
    else
        same=NO
        ERRORS+=("T=$T: v1 info-hashes differ -- mktorrent: $mk_sum -- seedcast: $sc_sum")
    fi
    ROWS+=("$(printf '%3s | %8s %8s %8s | %8s %8s %8s | %6s %6s | %s' "$T" "$mk_best" "$mk_med" "$mk_rate" \
        "$sc_best" "$sc_med" "$sc_rate" "$r_best" "$r_med" "$same")")
    echo "T=$T mktorrent info: $mk_sum"
    echo "T=$T seedcast  info: $sc_sum"
done
echo
printf '%3s | %8s %8s %8s | %8s %8s %8s | %6s %6s | %s\n' "T" "mktorr." "mktorr." "mktorr." "seedcast" "seedcast" "seedcast" "ratio" "ratio" "same v1"
printf '%3s | %8s %8s %8s | %8s %8s %8s | %6s %6s | %s\n' "" "best s" "median s" "MiB/s" "best s" "median s" "MiB/s" "best" "median" "info-hash"
printf '%s\n' "${ROWS[@]}"
echo "(MiB/s from the best time; ratio = mktorrent time / seedcast time, > 1 means seedcast is faster)"
printf '%s\n' "${CPUNOTE[@]}"
echo "(mktorrent -t T runs T hashing threads plus its reading main thread)"
[[ $BASELINE_ONLY == 1 ]] && echo "seedcast: skipped (baseline only)"
for n in "${NOTES[@]}"; do echo "NOTE: $n"; done
status=0
for e in "${ERRORS[@]}"; do echo "ERROR: $e"; status=1; done
exit $status
