#!/usr/bin/env bash
# A self-contained install: `cargo install --path crates/glance-cli` into a temporary
# root, the binary then copied elsewhere, and README's main job run with it from an empty
# directory with an empty environment (no HOME, no GLANCE_MODEL, no CARGO_*): the default
# model and the JASPAR motifs are compiled into the binary.
#
#   scripts/test_install.sh                    # profile `test` (CI: reuses cargo test's build)
#   PROFILE=release scripts/test_install.sh    # what a user's `cargo install` builds
#
# CARGO_TARGET_DIR (default: target/) is reused, so an earlier build is not redone. The
# `test` profile is optimised (opt-level 2): the run takes ~30 s on 2 cores, against
# ~3.5 min for an unoptimised `--debug` build.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mode=(--profile "${PROFILE:-test}")
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
cargo install --quiet --locked --path crates/glance-cli --root "$tmp/root" "${mode[@]}"

# a copy somewhere else, as on another machine
mkdir -p "$tmp/elsewhere" "$tmp/empty"
cp "$tmp/root/bin/glance" "$tmp/elsewhere/glance"
rm -rf "$tmp/root"
input="$repo/test-data/Kp1084_200kb.fa.gz"
(cd "$tmp/empty" && env -i "$tmp/elsewhere/glance" run "$input" --outdir out -q)

out="$tmp/empty/out"
fail() { echo "test_install: $*" >&2; exit 1; }
for f in regions.bed embeddings.npy motif_scores.npy motif_scores.tsv hits.tsv manifest.json; do
    [ -s "$out/$f" ] || fail "$f missing"
done
regions=$(wc -l < "$out/regions.bed")
[ "$regions" -eq 200 ] || fail "regions.bed has $regions lines, expected 200"
# embeddings.npy: a 128-byte header, then 200 x 128 f32
grep -a -q "'shape': (200, 128)" "$out/embeddings.npy" || fail "embeddings.npy is not 200 x 128"
bytes=$(stat -c %s "$out/embeddings.npy")
[ "$bytes" -eq $((128 + 200 * 128 * 4)) ] || fail "embeddings.npy has $bytes bytes"
grep -a -q "'shape': (200, 1019, 2)" "$out/motif_scores.npy" || fail "motif_scores.npy is not 200 x 1019 x 2"
grep -q '"model:bundled:models/default/model.safetensors"' "$out/manifest.json" \
    || fail "the manifest does not name the compiled-in model"
hits=$(grep -c '^MA' "$out/hits.tsv")
[ "$hits" -gt 100 ] || fail "only $hits hits"
[ "$(ls -A "$tmp/empty")" = out ] || fail "files written outside --outdir: $(ls -A "$tmp/empty")"
echo "test_install: ok: $regions regions x 128-d embeddings, 1019 motifs, $hits hits, from an empty directory"
