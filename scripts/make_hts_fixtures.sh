#!/usr/bin/env bash
# Makes the SAM/BAM/CRAM fixtures in test-data/hts/ for glance-seq's optional `htslib`
# feature, from two slices of test-data/Kp1084_200kb.fa.gz. Deterministic: the reads come
# from Python's random.Random(SEED) and samtools runs with --no-PG, so re-running gives
# the same bytes with the same samtools version.
#
# Needs: python3 (standard library only) and samtools (Debian: apt-get install samtools;
# the committed fixtures were made with samtools 1.16.1 / htslib 1.16).
#
# Outputs (all small):
#   ref.fa, ref.fa.fai            two contigs cut from the Kp1084 excerpt (CRAM reference)
#   hifi.unaligned.bam            PacBio HiFi-like unaligned BAM (flag 4, rq/np tags, @RG PL:PACBIO)
#   hifi.unaligned.fastq          `samtools fastq` of it: the expected records
#   aligned.sam                   coordinate-sorted SAM: single-end reads on both strands,
#                                 soft clips, an insertion, a deletion, one read without
#                                 qualities, a secondary, a supplementary, an unmapped read
#   aligned.bam, aligned.bam.bai  the same, BAM, indexed
#   aligned.cram, aligned.cram.crai  the same, CRAM against ref.fa, indexed
#   aligned.as_sequenced.fa       `samtools fasta` of aligned.bam (reverse-strand reads
#                                 reverse-complemented back, secondary/supplementary dropped)
#   aligned.region1.tsv           `samtools view -F 0x900` of REGION1: name, flag, seq, qual
#   aligned.region2.tsv           the same for REGION2
set -euo pipefail
cd "$(dirname "$0")/.."

SEED=20261128
REGION1="Kp1084_1000001_1003000:1001-1300"
REGION2="Kp1084_1100001_1102000:1-2000"
OUT=test-data/hts
mkdir -p "$OUT"

python3 - "$SEED" "$OUT" <<'PY'
import gzip, random, sys

seed, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(seed)

# The excerpt is one record: CP003785.1 bases 1,000,001-1,200,000.
with gzip.open("test-data/Kp1084_200kb.fa.gz", "rt") as f:
    seq = "".join(line.strip() for line in f if not line.startswith(">")).upper()

# Two contigs, named after their CP003785.1 coordinates (1-based inclusive).
contigs = {
    "Kp1084_1000001_1003000": seq[0:3000],
    "Kp1084_1100001_1102000": seq[100000:102000],
}
with open(f"{out}/ref.fa", "w") as f:
    for name, s in contigs.items():
        f.write(f">{name}\n")
        for i in range(0, len(s), 60):
            f.write(s[i:i + 60] + "\n")

COMP = str.maketrans("ACGTN", "TGCAN")
def revcomp(s):
    return s.translate(COMP)[::-1]

def quals(n, lo, hi):
    return "".join(chr(33 + rng.randint(lo, hi)) for _ in range(n))

def mutate(s, n):
    s = list(s)
    for _ in range(n):
        i = rng.randrange(len(s))
        s[i] = rng.choice([b for b in "ACGT" if b != s[i]])
    return "".join(s)

names = list(contigs)

# --- PacBio HiFi-like unaligned BAM: reads as sequenced, flag 4, no alignment.
movie = "m84011_261128_041000_s3"
rows = []
zmw = 0
for i in range(6):
    name = rng.choice(names)
    ref = contigs[name]
    n = rng.randint(400, 1200)
    start = rng.randrange(0, len(ref) - n)
    s = mutate(ref[start:start + n], 2)
    if rng.random() < 0.5:
        s = revcomp(s)
    if i == 3:  # one ambiguous base, as CCS may leave
        s = s[:100] + "N" + s[101:]
    # HiFi qualities: mostly Q93, some lower.
    q = "".join(chr(33 + (93 if rng.random() < 0.7 else rng.randint(15, 60))) for _ in s)
    zmw += rng.randint(1000, 90000)
    rq = 0.999 + rng.randint(0, 9) / 10000
    np_ = rng.randint(5, 30)
    rows.append(f"{movie}/{zmw}/ccs\t4\t*\t0\t255\t*\t*\t0\t0\t{s}\t{q}\tRG:Z:hifi1\trq:f:{rq:.4f}\tnp:i:{np_}")
with open(f"{out}/hifi.unaligned.sam", "w") as f:
    f.write("@HD\tVN:1.6\tSO:unknown\tpb:5.0.0\n")
    f.write(f"@RG\tID:hifi1\tPL:PACBIO\tDS:READTYPE=CCS\tPU:{movie}\tSM:Kp1084\tPM:REVIO\n")
    f.write("\n".join(rows) + "\n")

# --- Aligned single-end reads (perfect placements with a few edits).
rows = []
for i in range(24):
    name = names[i % 2]
    ref = contigs[name]
    kind = ["plain", "plain", "softclip", "ins", "del", "plain"][i % 6]
    if i < 6:
        # Make sure REGION1 (contig 1, 1001-1300) is hit, including reads that only
        # overlap its ends.
        name = names[0]
        ref = contigs[name]
        pos0 = [900, 960, 1100, 1250, 1290, 1299][i]
    else:
        pos0 = rng.randrange(0, len(ref) - 260)
    if kind == "plain":
        s = mutate(ref[pos0:pos0 + 150], 1)
        cigar = "150M"
    elif kind == "softclip":
        clip = "".join(rng.choice("ACGT") for _ in range(8))
        s = clip + ref[pos0:pos0 + 142]
        cigar = "8S142M"
    elif kind == "ins":
        s = ref[pos0:pos0 + 70] + "".join(rng.choice("ACGT") for _ in range(2)) + ref[pos0 + 70:pos0 + 148]
        cigar = "70M2I78M"
    else:
        s = ref[pos0:pos0 + 60] + ref[pos0 + 63:pos0 + 153]
        cigar = "60M3D90M"
    flag = 16 if rng.random() < 0.5 else 0
    q = quals(len(s), 2, 41)
    if i == 7:
        q = "*"
    rows.append(f"read{i:02d}\t{flag}\t{name}\t{pos0 + 1}\t60\t{cigar}\t*\t0\t0\t{s}\t{q}")
# A secondary alignment (no SEQ/QUAL) and a supplementary piece of read05; glance skips both.
rows.append(f"read05\t256\t{names[1]}\t501\t0\t150M\t*\t0\t0\t*\t*")
sup = contigs[names[1]][700:760]
rows.append(f"read05\t2048\t{names[1]}\t701\t60\t90H60M\t*\t0\t0\t{sup}\t{quals(60, 2, 41)}")
# An unmapped read, kept when reading the whole file.
s = "".join(rng.choice("ACGT") for _ in range(120))
rows.append(f"read24\t4\t*\t0\t0\t*\t*\t0\t0\t{s}\t{quals(120, 2, 41)}")
with open(f"{out}/aligned.unsorted.sam", "w") as f:
    f.write("@HD\tVN:1.6\tSO:unsorted\n")
    for name, s in contigs.items():
        f.write(f"@SQ\tSN:{name}\tLN:{len(s)}\n")
    f.write("@RG\tID:sr1\tPL:ILLUMINA\tSM:Kp1084\n")
    f.write("\n".join(rows) + "\n")
PY

cd "$OUT"
samtools faidx ref.fa
samtools view --no-PG -b -o hifi.unaligned.bam hifi.unaligned.sam
samtools fastq hifi.unaligned.bam > hifi.unaligned.fastq 2>/dev/null
samtools sort --no-PG -o aligned.bam aligned.unsorted.sam
samtools index aligned.bam
samtools view --no-PG -h -o aligned.sam aligned.bam
samtools view --no-PG -C -T ref.fa -o aligned.cram aligned.bam
samtools index aligned.cram
samtools fasta aligned.bam > aligned.as_sequenced.fa 2>/dev/null
samtools view -F 0x900 aligned.bam "$REGION1" | cut -f1,2,10,11 > aligned.region1.tsv
samtools view -F 0x900 aligned.bam "$REGION2" | cut -f1,2,10,11 > aligned.region2.tsv
rm hifi.unaligned.sam aligned.unsorted.sam
ls -l
