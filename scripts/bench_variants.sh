#!/usr/bin/env bash
# Speed of `glance variants` (benchmark, not a test), 2 threads, on a real genome:
#
#   scripts/bench_variants.sh GLANCE_BINARY GENOME.fa.gz [N_MOTIF] [N_EMBED]
#
# - motif effects: N_MOTIF (default 100,000) random SNVs (seeded) x the bundled 1019
#   JASPAR motifs, --no-model: variants/s;
# - embedding + likelihood effects with the default model: N_EMBED (default 2,000)
#   SNVs, --no-motifs: variants/s, tokens recomputed per SNV, and the encoder's own
#   token rate in the same invocation (`glance embed` on a 1 Mb stretch of the genome),
#   so the two can be compared as the issue asks;
# - peak RSS of each (GNU time), for a check that memory does not grow with the count.
set -euo pipefail
glance=$(realpath "$1")
genome=$(realpath "$2")
n_motif=${3:-100000}
n_embed=${4:-2000}
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
timed "$glance" -q --threads 2 variants --ref genome.fa --vcf embed.vcf --no-motifs -o e
recomputed=$(awk -F'\t' 'NR > 1 { s += $10; n++ } END { print s / n }' e.variants.tsv)
echo "embedding + LLR: $n_embed SNVs: ${wall} s, $(python3 -c "print(round($n_embed / $wall, 1))") variants/s, $recomputed tokens recomputed per SNV, peak RSS $((rss / 1024)) MiB"
evar=$wall
timed "$glance" -q --threads 2 embed stretch.fa -o s
echo "encoder alone: 1 Mb: ${wall} s, $(python3 -c "print(round(1e6 / $wall))") tokens/s"
python3 -c "
v = $n_embed * $recomputed / $evar
print(f'recomputed tokens/s in glance variants: {v:.0f} = {v / (1e6 / $wall):.2f} x the encoder token rate')"
