#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a time budget and summarises the results.
#
#   scripts/fuzz.sh [SECONDS] [JOBS] [TARGET...]
#
# SECONDS per target (default 60), JOBS targets at a time (default 2), all targets unless
# some are named. Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Seed corpora are built in fuzz/corpus/<target>/ from test-data/ and fuzz/seeds/<target>/
# (the corpus keeps what libFuzzer adds across runs). Logs go to fuzz/logs/<target>.log,
# crashing inputs to fuzz/artifacts/<target>/, and one line per target to
# fuzz/logs/summary.tsv: target, seconds, executions, cov, ft, corpus size, crashes.
# Runs under `nice -n 19`; each fuzzer is capped at 2 GiB RSS and 10 s per input.
set -euo pipefail

SECONDS_PER_TARGET=${1:-60}
JOBS=${2:-2}
shift $(( $# > 2 ? 2 : $# )) || true
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ=$ROOT/fuzz
TD=$ROOT/test-data

ALL=(seq_reader manifest_merge safetensors indexed_fetch fai gzi model_config hf_config
     seq_compressed region_bed motif_meme motif_jaspar motif_pfm motif_transfac motif_homer
     motif_background attn_pattern workflow_config vocab vcf_reader vcf_query torch_bin
     tokenizer_json scan_tallies)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi

# seeds TARGET FILE...: copies existing seed files into the target's corpus.
seeds() {
    local t=$1; shift
    mkdir -p "$FUZZ/corpus/$t"
    local f
    for f in "$@"; do
        [ -f "$f" ] && cp "$f" "$FUZZ/corpus/$t/seed_$(basename "$f")"
    done
    if [ -d "$FUZZ/seeds/$t" ]; then
        cp "$FUZZ/seeds/$t"/* "$FUZZ/corpus/$t/"
    fi
}

build_corpora() {
    seeds seq_reader "$TD"/seq/*.fa "$TD"/seq/*.fq "$TD"/hts/ref.fa "$TD"/hts/hifi.unaligned.fastq \
        "$TD"/models/sequences.fa "$TD"/fimo/synthetic.fa
    seeds seq_compressed "$TD"/seq/*.gz "$TD"/workflow/multi.fa.gz
    seeds fai "$TD"/seq/*.fai "$TD"/hts/ref.fa.fai "$TD"/seq/mixed.fa
    seeds indexed_fetch
    seeds gzi "$TD"/seq/small.fa.gz "$TD"/seq/reads.fq.gz
    seeds region_bed "$TD"/seq/regions.bed
    seeds motif_meme "$TD"/motifs/subset10.meme "$TD"/motifs/formats/*.meme
    seeds motif_jaspar "$TD"/motifs/subset10.jaspar "$TD"/motifs/formats/*.jaspar
    seeds motif_pfm "$TD"/motifs/formats/*.pfm
    seeds motif_transfac "$TD"/motifs/formats/*.transfac
    seeds motif_homer "$TD"/motifs/formats/*.motif
    seeds motif_background "$TD"/fimo/asymmetric.bg
    seeds attn_pattern
    seeds model_config "$TD"/models/native_*/config.json
    # distinct names: every checkpoint's file is called config.json
    local d
    for d in "$TD"/models/native_*; do
        cp "$d/config.json" "$FUZZ/corpus/model_config/seed_$(basename "$d").json"
    done
    mkdir -p "$FUZZ/corpus/hf_config"
    for d in bert_k3 bert_k6_mlm longformer_k3; do
        cp "$TD/models/$d/config.json" "$FUZZ/corpus/hf_config/seed_$d.json"
    done
    seeds safetensors "$TD"/models/native_alibi/model.safetensors
    seeds workflow_config
    seeds manifest_merge
    seeds scan_tallies
    seeds tokenizer_json "$TD"/models/dnabert2_bpe/tokenizer.json "$TD"/models/modernbert_mixed/tokenizer.json
    seeds vocab "$TD"/seq/dnabert_vocab_k3.txt "$TD"/seq/dnabert_vocab_k6.txt
    seeds vcf_reader "$TD"/variants/*.vcf "$TD"/variants/*.vcf.gz "$TD"/variants/*.bcf
    # a pick byte (even: tabix index of valid.vcf.gz, odd: CSI of valid.bcf), then the index
    seeds vcf_query
    mkdir -p "$FUZZ/corpus/torch_bin"
    cp "$TD/models/bert_k3_bin/pytorch_model.bin" "$FUZZ/corpus/torch_bin/seed_bert_k3.bin"
    cp "$TD/models/evil_bin/pytorch_model.bin" "$FUZZ/corpus/torch_bin/seed_evil.bin"
}

build_corpora
cd "$FUZZ"
# GLANCE_FUZZ_NO_BUILD=1 runs the binaries already in fuzz/target (e.g. built from a
# snapshot of the tree with CARGO_TARGET_DIR=fuzz/target).
if [ -z "${GLANCE_FUZZ_NO_BUILD:-}" ]; then
    cargo +nightly fuzz build -O --debug-assertions
fi
mkdir -p "$FUZZ/logs"
BIN=$FUZZ/target/x86_64-unknown-linux-gnu/release

run_one() {
    local t=$1
    mkdir -p "$FUZZ/artifacts/$t"
    local start=$(date +%s)
    nice -n 19 "$BIN/$t" "$FUZZ/corpus/$t" \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$FUZZ/artifacts/$t/" \
        >"$FUZZ/logs/$t.log" 2>&1 || true
    local took=$(( $(date +%s) - start ))
    local execs cov ft
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$FUZZ/logs/$t.log" | grep -o '[0-9]*$' | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$FUZZ/logs/$t.log" | tail -1 | grep -o '[0-9]*')
    ft=$(grep -o 'ft: [0-9]*' "$FUZZ/logs/$t.log" | tail -1 | grep -o '[0-9]*')
    local corpus crashes
    corpus=$(ls "$FUZZ/corpus/$t" | wc -l)
    crashes=$(ls "$FUZZ/artifacts/$t" | wc -l)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$took" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
        "$corpus" "$crashes" >>"$FUZZ/logs/summary.tsv"
    echo "$t: ${took}s, ${execs:-?} execs, cov ${cov:-?}, ft ${ft:-?}, corpus $corpus, crashes $crashes"
}

printf 'target\tseconds\texecs\tcov\tft\tcorpus\tcrashes\n' >>"$FUZZ/logs/summary.tsv"
running=0
for t in "${TARGETS[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait
