#!/usr/bin/env bash
# End-to-end check of workflows/snakemake: scatter `glance run --shard I/4` over the
# test genome with Snakemake, gather with `glance merge`, and compare every output with
# one unsharded `glance run` (byte for byte).
#
#   scripts/test_snakemake.sh [GLANCE_BINARY]
#
# Needs snakemake on PATH or in $VENV (default /work/venv; `pip install snakemake`,
# version in scripts/requirements.txt). GLANCE_BINARY defaults to a release build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
glance=${1:-}
if [[ -z "$glance" ]]; then
    cargo build --release -q -p glance-cli
    glance="${CARGO_TARGET_DIR:-$root/target}/release/glance"
fi
glance=$(realpath "$glance")
snakemake=$(command -v snakemake || echo "${VENV:-/work/venv}/bin/snakemake")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# 20 kb pieces: the 60 kb record is split over the shards too. Run from an empty
# directory with only this sample (nothing of the repository's config is needed).
extra="--motifs $root/test-data/motifs/subset10.meme --model $root/test-data/models/native_alibi --bin 700 --step 500 --shard-span 20000"
(cd "$work" && "$snakemake" -s "$root/workflows/snakemake/Snakefile" --cores 2 --quiet rules \
    --config glance="$glance" shards=4 extra="$extra" \
    samples="{kp: $root/test-data/workflow/multi.fa.gz}")
# shellcheck disable=SC2086
"$glance" -q run "$root/test-data/workflow/multi.fa.gz" $extra --outdir "$work/single"
status=0
for f in regions.bed embeddings.npy motif_scores.npy motif_scores.tsv hits.tsv records.tsv scan_tallies.tsv scan_hits.tsv; do
    if cmp -s "$work/single/$f" "$work/results/kp/merged/$f"; then
        echo "ok   $f"
    else
        echo "FAIL $f differs between snakemake merge and a single glance run"
        status=1
    fi
done
exit $status
