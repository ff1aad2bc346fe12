"""Writes the inputs of the embed peak-RSS comparison in docs/benchmarks.md (## Encoders):
OUT/mem1.fa, the first 1,000,000 bases of the first record of GENOME, and OUT/mem20.fa,
its first 5,000,000 bases as four records (20 Mb).

    python scripts/make_rss_inputs.py ../shared/data/genomes/Kp1084.fna.gz /tmp
"""

import gzip
import sys


def first_record(path):
    opener = gzip.open if path.endswith(".gz") else open
    parts = []
    with opener(path, "rt") as f:
        for line in f:
            if line.startswith(">"):
                if parts:
                    break
                continue
            parts.append(line.strip())
    return "".join(parts)


def write(path, records):
    with open(path, "w") as out:
        for name, seq in records:
            out.write(f">{name}\n")
            for i in range(0, len(seq), 80):
                out.write(seq[i : i + 80] + "\n")


def main():
    genome, outdir = sys.argv[1], sys.argv[2]
    seq = first_record(genome)
    write(f"{outdir}/mem1.fa", [("c1", seq[:1_000_000])])
    write(f"{outdir}/mem20.fa", [(f"c{i}", seq[:5_000_000]) for i in range(4)])


if __name__ == "__main__":
    main()
