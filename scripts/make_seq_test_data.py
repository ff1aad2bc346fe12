#!/usr/bin/env python3
"""Generate glance-seq's small test inputs in test-data/seq/ (standard library only).

Sequences are cut from test-data/Kp1084_200kb.fa.gz (see test-data/README.md); reads
get pseudo-random qualities from random.Random(20261128). BGZF is written here by
hand (deflate blocks with the 'BC' extra field and the standard empty EOF block);
the .fai and .gzi beside the BGZF and plain files are then written by `samtools faidx`
(run `scripts/make_seq_test_data.py && samtools faidx ...` as below; samtools 1.x),
so that glance's own index builder is checked against samtools.

Usage: python3 scripts/make_seq_test_data.py   (from the repository root)
"""
import gzip
import random
import struct
import subprocess
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-data" / "seq"


def excerpt() -> str:
    with gzip.open(ROOT / "test-data" / "Kp1084_200kb.fa.gz", "rt") as f:
        return "".join(line.strip() for line in f if not line.startswith(">"))


def wrap(seq: str, width: int) -> str:
    return "".join(seq[i : i + width] + "\n" for i in range(0, len(seq), width))


def bgzf(data: bytes, block: int) -> bytes:
    out = bytearray()
    for i in range(0, len(data), block):
        chunk = data[i : i + block]
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        cdata = comp.compress(chunk) + comp.flush()
        bsize = 18 + len(cdata) + 8
        out += bytes([0x1F, 0x8B, 8, 4, 0, 0, 0, 0, 0, 0xFF])
        out += struct.pack("<HBBHH", 6, ord("B"), ord("C"), 2, bsize - 1)
        out += cdata
        out += struct.pack("<II", zlib.crc32(chunk) & 0xFFFFFFFF, len(chunk))
    out += bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
    return bytes(out)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    seq = excerpt()
    rng = random.Random(20261128)

    # Multi-record FASTA exercising the parser: CRLF, lower case, IUPAC, N, empty lines,
    # an empty record, a description, unequal line lengths.
    mixed = (
        b">chrA first record\r\n"
        + seq[:30].encode() + b"\r\n"
        + seq[30:50].lower().encode() + b"\r\n"
        + b"\r\n"
        + b"NNNNRYKM" + seq[50:60].encode() + b"\r\n"
        + b">empty\n"
        + b"\n"
        + b">chrB\tspaced  description\n"
        + seq[60:100].encode() + b"\n"
        + b"acgtnACGTN\n"
        + seq[100:113].encode()
    )
    (OUT / "mixed.fa").write_bytes(mixed)

    # An indexable FASTA: three records, 60 and 70 bases per line.
    small = (
        ">kp_a Kp1084 excerpt bases 1-5000\n" + wrap(seq[:5000], 60)
        + ">kp_b Kp1084 excerpt bases 5001-8001\n" + wrap(seq[5000:8001], 70)
        + ">kp_c soft-masked\n" + wrap(seq[8001:8041] + seq[8041:8081].lower() + seq[8081:8101], 60)
    ).encode()
    (OUT / "small.fa").write_bytes(small)
    (OUT / "small.fa.gz").write_bytes(bgzf(small, 3000))
    (OUT / "small_gzip.fa.gz").write_bytes(gzip.compress(small, mtime=0))

    # FASTQ: 4-line and the same reads wrapped every 17 characters.
    reads = []
    for i in range(12):
        start = rng.randrange(0, len(seq) - 200)
        length = rng.randrange(30, 120)
        bases = seq[start : start + length]
        qual = "".join(chr(33 + rng.randrange(2, 41)) for _ in bases)
        reads.append((f"read{i} pos={start + 1}", bases, qual))
    (OUT / "reads.fq").write_text("".join(f"@{n}\n{b}\n+\n{q}\n" for n, b, q in reads))
    wrapped = "".join(
        f"@{n}\n{wrap(b, 17)}+{n.split()[0]}\n{wrap(q, 17)}" for n, b, q in reads
    )
    (OUT / "reads_multiline.fq").write_text(wrapped)
    (OUT / "reads.fq.gz").write_bytes(gzip.compress((OUT / "reads.fq").read_bytes(), mtime=0))

    # Regions (BED, 0-based half-open) on small.fa.
    (OUT / "regions.bed").write_text(
        "# regions of small.fa\nkp_a\t0\t100\tfirst\nkp_b\t2990\t3001\tend\nkp_a\t4000\t4500\nkp_c\t30\t90\n"
    )

    for name in ["small.fa", "small.fa.gz"]:
        subprocess.run(["samtools", "faidx", str(OUT / name)], check=True)


if __name__ == "__main__":
    main()
