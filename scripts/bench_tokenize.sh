#!/usr/bin/env bash
# Throughput of `glance tokenize` (read + tokenize + write .npy) on one genome, plain,
# gzip and BGZF, against `zcat FILE > /dev/null` measured in the same run.
#
# Usage: scripts/bench_tokenize.sh [GENOME.fa.gz] [RUNS] [COPIES]
#   GENOME  gzip FASTA (default ../shared/data/genomes/Kp1084.fna.gz)
#   RUNS    runs per case; medians are reported (default 7)
#   COPIES  the input is the genome repeated this many times, so that each run lasts
#           long enough to time (default 10: 54.5 MB of FASTA text for Kp1084)
#   GLANCE  env var: the glance binary (default target/release/glance)
#
# MB/s = uncompressed FASTA bytes / 1e6 / seconds. "wall" is elapsed time; "cpu" is the
# CPU time of the process (perf task-clock, all threads), "user" its user-space part:
# on a shared machine these say what one core delivers. The system part of glance's
# CPU time is mostly writing the output (4 bytes per token, about 4x the input) and
# fsync. Needs perf, and python3 (standard library) to write the BGZF copy.
set -euo pipefail
cd "$(dirname "$0")/.."
GENOME=${1:-../shared/data/genomes/Kp1084.fna.gz}
RUNS=${2:-7}
COPIES=${3:-10}
GLANCE=${GLANCE:-target/release/glance}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for _ in $(seq "$COPIES"); do zcat "$GENOME"; done > "$work/genome.fa"
gzip -6 -c "$work/genome.fa" > "$work/genome.fa.gz"
python3 - "$work/genome.fa" "$work/genome.bgzf.gz" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
out = open(sys.argv[2], "wb")
for i in range(0, len(data), 65280):
    chunk = data[i:i + 65280]
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    cdata = c.compress(chunk) + c.flush()
    out.write(bytes([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff]))
    out.write(struct.pack("<HBBHH", 6, 66, 67, 2, 18 + len(cdata) + 8 - 1))
    out.write(cdata)
    out.write(struct.pack("<II", zlib.crc32(chunk) & 0xffffffff, len(chunk)))
out.write(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000"))
PY
bytes=$(stat -c %s "$work/genome.fa")

echo "genome: $GENOME x $COPIES ($bytes bytes of FASTA text), $RUNS runs per case, $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "glance: $GLANCE ($("$GLANCE" --version))"
printf '%-30s %8s %9s %8s %9s %8s %9s\n' case wall_s MB/s_wall cpu_s MB/s_cpu user_s MB/s_user

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# One run: wall seconds, then CPU (task-clock) and user seconds from `perf stat`, which
# counts scheduled time exactly (tick-based `time` is unreliable on a loaded machine).
run_once() {
    local t0 t1
    t0=$(date +%s%N)
    perf stat -x, -o "$work/p" -e task-clock,user_time "$@" > /dev/null
    t1=$(date +%s%N)
    awk -F, -v w="$(( t1 - t0 ))" '
        $3 == "task-clock" { cpu = $1 / 1e3 }
        $3 == "user_time" { user = $1 / 1e9 }
        END { printf "%.4f %.4f %.4f\n", w / 1e9, cpu, user }' "$work/p"
}

measure() {
    local label=$1; shift
    : > "$work/runs"
    for _ in $(seq "$RUNS"); do run_once "$@" >> "$work/runs"; done
    local w c u
    w=$(cut -d' ' -f1 "$work/runs" | median)
    c=$(cut -d' ' -f2 "$work/runs" | median)
    u=$(cut -d' ' -f3 "$work/runs" | median)
    awk -v l="$label" -v w="$w" -v c="$c" -v u="$u" -v b="$bytes" 'BEGIN {
        printf "%-30s %8.3f %9.0f %8.3f %9.0f %8.3f %9.0f\n", l, w, b/1e6/w, c, b/1e6/c, u, b/1e6/u }'
}

measure "zcat genome.fa.gz > /dev/null" zcat "$work/genome.fa.gz"
measure "tokenize plain" "$GLANCE" tokenize -q -o "$work/out.npy" "$work/genome.fa"
measure "tokenize gzip" "$GLANCE" tokenize -q -o "$work/out.npy" "$work/genome.fa.gz"
measure "tokenize bgzf --threads 1" "$GLANCE" --threads 1 tokenize -q -o "$work/out.npy" "$work/genome.bgzf.gz"
measure "tokenize bgzf --threads 2" "$GLANCE" --threads 2 tokenize -q -o "$work/out.npy" "$work/genome.bgzf.gz"
