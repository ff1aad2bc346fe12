#!/usr/bin/env bash
# Checks workflows/nextflow: `-stub-run` always (wiring, emit names, versions.yml; needs
# only Nextflow and java), then, with a glance binary on PATH, a real run on the test
# data whose merged outputs must equal one unsharded `glance run`.
#
#   scripts/test_nextflow.sh
#
# Nextflow is not installable offline: PyPI's `nextflow` (26.10.3) is a launcher that
# downloads the Nextflow jar from www.nextflow.io on first use. The script skips (exit 0
# with a message) when `nextflow -version` does not work.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if ! nextflow -version >/dev/null 2>&1; then
    echo "SKIP: nextflow is not available (it needs its jar from www.nextflow.io)"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
nextflow run workflows/nextflow -profile test,local -stub-run --outdir "$work/stub" -w "$work/work-stub"
test -s "$work/stub/pipeline_info/versions.yml"
test -e "$work/stub/multi/manifest.json"
if command -v glance >/dev/null; then
    nextflow run workflows/nextflow -profile test,local --outdir "$work/real" -w "$work/work"
    extra="--motifs test-data/motifs/subset10.meme --model test-data/models/native_alibi"
    # shellcheck disable=SC2086
    glance -q run test-data/workflow/multi.fa.gz $extra --outdir "$work/single"
    for f in regions.bed embeddings.npy motif_scores.npy motif_scores.tsv hits.tsv; do
        cmp "$work/single/$f" "$work/real/multi/$f"
    done
fi
echo "nextflow workflow: ok"
