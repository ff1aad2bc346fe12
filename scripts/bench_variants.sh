#!/usr/bin/env bash
# Speed of `glance variants` (benchmark, not a test), 2 threads, on a real genome:
#
#   scripts/bench_variants.sh GLANCE_BINARY GENOME.fa.gz [N_MOTIF] [N_EMBED] [N_TORCH]
#
# - motif effects: N_MOTIF (default 100,000) random SNVs (seeded) x the bundled 1019
#   JASPAR motifs, --no-model: variants/s;
# - embedding + likelihood effects with the default model: N_EMBED (default 2,000)
#   SNVs, --no-motifs: variants/s and the encoder work glance reports (token-layers:
#   tokens through one layer, REF spans, ALT edits and masked passes), against the
#   encoder's own rate in the same invocation (`glance embed` on a 1 Mb stretch of the
#   genome, in token-layers/s);
# - the same SNVs (the first N_TORCH, default 100) through scripts/bench_variants_pytorch.py:
#   a fixed 2 kb window per allele in PyTorch (needs python3 with torch, safetensors and
#   numpy; PYTHON overrides the interpreter), with the largest differences from glance;
# - peak RSS of each (GNU time), for a check that memory does not grow with the count.
set -euo pipefail
glance=$(realpath "$1")
genome=$(realpath "$2")
n_motif=${3:-100000}
n_embed=${4:-2000}
n_torch=${5:-100}
python=${PYTHON:-python3}
scripts=$(dirname "$(realpath "$0")")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
python3 - "$genome" "$n_motif" "$n_embed" <<'PY'
import gzip, random, sys
path, n_motif, n_embed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
name, parts = None, []
with gzip.open(path, "rt") as f:
    for line in f:
        if line.startswith(">"):
            if name is not None:
                break
            name = line[1:].split()[0]
        else:
            parts.append(line.strip())
seq = "".join(parts).upper()
open("genome.fa", "w").write(f">{name}\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
open("stretch.fa", "w").write(f">{name}\n" + "\n".join(seq[i:i + 60] for i in range(1_000_000, 2_000_000, 60)) + "\n")
rng = random.Random(20261203)
for label, n in (("motif", n_motif), ("embed", n_embed)):
    positions = sorted(rng.sample(range(1000, len(seq) - 1000), n))
    with open(f"{label}.vcf", "w") as out:
        out.write("##fileformat=VCFv4.3\n")
        out.write(f"##contig=<ID={name},length={len(seq)}>\n")
        out.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for p in positions:
            ref = seq[p]
            alt = rng.choice([b for b in "ACGT" if b != ref])
            out.write(f"{name}\t{p + 1}\t.\t{ref}\t{alt}\t.\t.\t.\n")
PY
lscpu | grep -m1 "Model name"
timed() { /usr/bin/time -f "%e %M" -o time.txt "$@" >/dev/null 2>&1; read -r wall rss < time.txt; }
timed "$glance" -q --threads 2 variants --ref genome.fa --vcf motif.vcf --no-model -o m
echo "motif effects: $n_motif SNVs x 1019 motifs: ${wall} s, $(python3 -c "print(round($n_motif / $wall))") variants/s, peak RSS $((rss / 1024)) MiB"
/usr/bin/time -f "%e %M" -o time.txt "$glance" --threads 2 variants --ref genome.fa --vcf embed.vcf --no-motifs -o e 2>summary.txt >/dev/null
read -r wall rss < time.txt
work=$(grep -o 'encoder work [0-9]*' summary.txt | grep -o '[0-9]*$')
recomputed=$(awk -F'\t' 'NR > 1 { s += $10; n++ } END { print s / n }' e.variants.tsv)
echo "embedding + LLR: $n_embed SNVs: ${wall} s, $(python3 -c "print(round($n_embed / $wall, 1))") variants/s, encoder work $((work / n_embed)) token-layers per SNV ($recomputed tokens in each ALT receptive field), peak RSS $((rss / 1024)) MiB"
evar=$wall
timed "$glance" -q --threads 2 embed stretch.fa -o s
layers=$(python3 -c "import json; print(len(json.load(open('$scripts/../models/default/config.json'))['layers']))")
echo "encoder alone: 1 Mb: ${wall} s, $(python3 -c "print(round(1e6 / $wall))") tokens/s = $(python3 -c "print(round(1e6 * $layers / $wall))") token-layers/s"
python3 -c "
v = $work / $evar
e = 1e6 * $layers / $wall
print(f'glance variants: {v:.0f} token-layers/s = {v / e:.2f} x the encoder token-layer rate')"
if "$python" -c "import torch, safetensors, numpy" 2>/dev/null; then
    "$python" "$scripts/bench_variants_pytorch.py" genome.fa embed.vcf --n "$n_torch" --threads 2 --glance e.variants.tsv | tee torch.txt
    python3 -c "
import re
t = float(re.search(r'([0-9.]+) SNVs/s', open('torch.txt').read()).group(1))
print(f'glance variants / PyTorch 2 kb windows: {$n_embed / $evar / t:.1f} x')"
else
    echo "PyTorch comparison skipped: $python has no torch/safetensors/numpy"
fi
