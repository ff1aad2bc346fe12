#!/usr/bin/env bash
# Byte-for-byte comparison of two glance binaries on the bundled data: every output of
# tokenize, scan (TSV, --text, BED, GFF3), score (bins, BED regions), embed (bins, BED
# regions, per token), run (one run, and 3 shards + merge) must be identical. Use it
# around a refactoring that must not change behaviour:
#
#   cp target/release/glance /tmp/glance-before     # before the change
#   ...change, rebuild...
#   scripts/compare_outputs.sh /tmp/glance-before target/release/glance
#
# manifest.json is left out (it holds timings); everything else is compared with cmp.
# Exits 1 on the first difference set, naming every file that differs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[[ $# -eq 2 ]] || { echo "usage: $0 OLD_GLANCE NEW_GLANCE" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Each binary runs as `glance` from PATH, so the command line recorded in the scan
# TSV's trailer is the same for both.
run_all() {
    local bin=$1 out=$2
    mkdir -p "$out/bin"
    cp "$bin" "$out/bin/glance"
    (
        export PATH="$out/bin:$PATH"
        # Outputs relative to $out, inputs absolute: command lines recorded in outputs
        # are the same for both binaries.
        cd "$out"
        local t=$root/test-data
        local g=$t/Kp1084_200kb.fa.gz
        local motifs=$t/motifs/subset10.meme
        local model=$t/models/native_mixed
        glance -q tokenize "$t/seq/small.fa.gz" -k 6 -o "tokens.npy"
        glance -q scan "$g" -o "scan.tsv"
        glance -q scan "$g" --text -o "scan_text.tsv"
        glance -q scan "$g" --motifs "$motifs" --bed -o "scan.bed"
        glance -q scan "$g" --motifs "$motifs" --gff3 -o "scan.gff3"
        glance -q scan "$t/seq/small.fa" --motifs "$motifs" --thresh 1e-3 -o "scan_small.tsv"
        glance -q score "$g" --bin 1000 --step 500 -o "score_bins"
        glance -q score "$t/seq/small.fa" --motifs "$motifs" --regions "$t/seq/regions.bed" -o "score_bed"
        glance -q embed "$g" -o "embed_default"
        glance -q embed "$g" --model "$model" --bin 700 --step 300 --pool max -o "embed_bins"
        glance -q embed "$t/seq/small.fa" --model "$model" --regions "$t/seq/regions.bed" -o "embed_bed"
        glance -q embed "$t/seq/small.fa" --model "$model" --per-token -o "embed_tokens"
        glance -q run "$g" --outdir "run"
        for i in 1 2 3; do
            glance -q run "$t/workflow/multi.fa.gz" --motifs "$motifs" --model "$t/models/native_alibi" \
                --bin 700 --step 500 --shard-span 20000 --shard "$i/3" --outdir "shard$i"
        done
        glance -q merge "shard1" "shard2" "shard3" --outdir "merged"
    )
    rm -rf "$out/bin"
}

run_all "$1" "$work/old"
run_all "$2" "$work/new"

status=0
count=0
while IFS= read -r -d '' f; do
    rel=${f#"$work/old/"}
    [[ $(basename "$rel") == manifest.json ]] && continue
    count=$((count + 1))
    if [[ ! -f "$work/new/$rel" ]]; then
        echo "missing in new: $rel"
        status=1
    elif ! cmp -s "$f" "$work/new/$rel"; then
        echo "differs: $rel"
        status=1
    fi
done < <(find "$work/old" -type f -print0 | sort -z)
extra=$(cd "$work/new" && find . -type f ! -name manifest.json | wc -l)
if [[ $extra -ne $count ]]; then
    echo "the new binary wrote $extra files, the old one $count"
    status=1
fi
[[ $status -eq 0 ]] && echo "identical: $count files"
exit $status
