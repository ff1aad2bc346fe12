#!/usr/bin/env python3
"""Make the VCF/BCF fixtures of `glance variants` in test-data/variants/.

The reference is test-data/hts/ref.fa (+ .fai; two contigs cut from the Kp1084 excerpt,
made by scripts/make_hts_fixtures.sh). Every REF below is read from it, so the valid
records match the reference by construction; ALT bases are chosen by fixed rules (no
randomness). Re-running gives the same bytes with the same bcftools version.

Needs: python3 (standard library) and bcftools (Debian: apt-get install bcftools; the
committed files were made with bcftools 1.16 / htslib 1.16).

Outputs (test-data/variants/):
  valid.vcf, valid.vcf.gz (BGZF), valid.bcf
      the same sorted records, written by `bcftools view --no-version` in each format
      (so all three have bcftools' header): SNVs (one at each contig end), an MNV, a
      complex substitution-indel, insertions (one of exactly 50 bp), deletions (one at a
      contig end), a multi-allelic record (two SNVs and an insertion), a record with a
      scored SNV and a symbolic <*>, a symbolic <DEL>, a 60 bp deletion (skipped: over
      50 bp); INFO DP, one sample with GT
  valid.vcf.gz.tbi, valid.bcf.csi
                      their indexes (`bcftools index`)
  region_queries.tsv  region sets and the IDs `bcftools view -r` returns for each
  unsorted.vcf        valid.vcf's records with two of them swapped (no tabix index)
  ref_mismatch.vcf    one record (ID bad_ref) whose REF differs from the reference
  unknown_contig.vcf  a record on contig `C`, declared in the header but not in ref.fa
  bad_alt.vcf         one record (ID bad_alt) whose ALT holds an IUPAC code (R)
  bad_pos.vcf         one line (ID bad_pos) whose POS is not a number
  few_columns.vcf     one line (ID few_cols) with five columns
  no_contigs.vcf      valid records under a header without ##contig lines
  empty.vcf           zero bytes
  not_bcf.bcf         valid.bcf's content with the magic `BCF` changed to `BCX`,
                      gzip-compressed again (a .bcf name over bytes that are not BCF)
  truncated.bcf       valid.bcf's decompressed content cut in the middle of its 5th
                      record, BGZF-compressed by bgzip-like blocks (BCF record error)
  gt_int32.bcf        valid.bcf with the type byte of the first record's GT values
                      changed from int8 to int32 (noodles-bcf 0.94 panics on a GT of
                      any type but int8)
  huge_record.bcf     valid.bcf's header and first record, whose two lengths claim
                      0xFFFFFFF0 bytes each (about 8 GiB) in a file of a few hundred
  many_samples.bcf    valid.bcf whose first record claims 2^24 - 1 samples (the header
                      names one; noodles allocated by the claim: found by fuzzing)
  huge_idx.bcf        valid.bcf with the header's INFO DP line at IDX=10400000000000000
                      (noodles sizes its string maps by IDX: found by fuzzing)

Usage: python3 scripts/make_variant_fixtures.py   (from anywhere)
"""
import gzip
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / "test-data" / "hts" / "ref.fa"
OUT = ROOT / "test-data" / "variants"

A = "Kp1084_1000001_1003000"
B = "Kp1084_1100001_1102000"


def read_fasta(path: Path) -> dict:
    seqs, name = {}, None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            seqs[name] = []
        elif name is not None:
            seqs[name].append(line.strip())
    return {k: "".join(v).upper() for k, v in seqs.items()}


GENOME = read_fasta(REF)


def ref(chrom: str, pos: int, n: int = 1) -> str:
    """n reference bases from 1-based pos."""
    return GENOME[chrom][pos - 1 : pos - 1 + n]


def other(base: str, k: int = 1) -> str:
    """The base k steps after `base` in ACGT (never `base` itself for k in 1..3)."""
    return "ACGT"[("ACGT".index(base) + k) % 4]


def record(chrom, pos, vid, r, alts, dp, gt="0/1", info_extra=""):
    info = f"DP={dp}" + (f";{info_extra}" if info_extra else "")
    return "\t".join(
        [chrom, str(pos), vid, r, ",".join(alts), "50", "PASS", info, "GT", gt]
    )


def header(contigs=True, extra_contigs=()) -> str:
    lines = ["##fileformat=VCFv4.2"]
    if contigs:
        for name, length in [(A, len(GENOME[A])), (B, len(GENOME[B]))] + list(
            extra_contigs
        ):
            lines.append(f"##contig=<ID={name},length={length}>")
    lines += [
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##ALT=<ID=DEL,Description="Deletion">',
        '##ALT=<ID=*,Description="Represents allele(s) other than observed.">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">',
        '##INFO=<ID=SVLEN,Number=A,Type=Integer,Description="Length difference of the structural variant">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position of the structural variant">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1",
    ]
    return "\n".join(lines) + "\n"


def valid_records() -> list:
    recs = []
    # contig A (3000 bp)
    b = ref(A, 3)
    recs.append(record(A, 3, "snv_start", b, [other(b)], 10))
    b = ref(A, 120)
    recs.append(record(A, 120, "rs1", b, [other(b, 2)], 11))
    r = ref(A, 300, 2)
    recs.append(record(A, 300, "mnv1", r, [other(r[0]) + other(r[1], 3)], 12))
    b = ref(A, 500)
    recs.append(record(A, 500, "ins1", b, [b + "TTGAC"], 13))
    r = ref(A, 700, 4)
    recs.append(record(A, 700, "del1", r, [r[0]], 14))
    b = ref(A, 900)
    recs.append(
        record(A, 900, "multi1", b, [other(b), other(b, 2), b + "AC"], 15, gt="1/2")
    )
    r = ref(A, 1100)
    recs.append(
        record(A, 1100, "sv1", r, ["<DEL>"], 16,
               info_extra="SVTYPE=DEL;SVLEN=-200;END=1300")
    )
    r = ref(A, 1400, 61)
    recs.append(record(A, 1400, "longdel", r, [r[0]], 17))
    b = ref(A, 1600)
    recs.append(record(A, 1600, "mixed1", b, [other(b), "<*>"], 18))
    b = ref(A, 2998)
    recs.append(record(A, 2998, "snv_end", b, [other(b, 3)], 19))
    # contig B (2000 bp)
    b = ref(B, 50)
    recs.append(record(B, 50, "snv_b", b, [other(b)], 20))
    r = ref(B, 800, 3)
    recs.append(record(B, 800, "complex1", r, [other(r[0], 2) + other(r[2], 2)], 21))
    b = ref(B, 1500)
    ins50 = "".join("ACGGT"[(i * 7) % 5] for i in range(50))
    recs.append(record(B, 1500, "ins50", b, [b + ins50], 22))
    r = ref(B, 1995, 6)
    recs.append(record(B, 1995, "del_end", r, [r[0]], 23))
    return recs


# Region queries (`glance variants --region`) checked against `bcftools view -r`: one
# region, the tail of a deletion (overlap by the REF span), two regions out of file
# order, overlapping regions (each record once), a symbolic allele, a contig end.
REGION_QUERIES = [
    [f"{A}:250-800"],
    [f"{A}:702-710"],
    [f"{B}:1-100", f"{A}:100-130"],
    [f"{A}:100-1000", f"{A}:600-950"],
    [f"{A}:1050-1150"],
    [f"{B}:1990-2000"],
]


def bcftools(*args):
    subprocess.run(["bcftools", *args], check=True)


def bgzf(data: bytes) -> bytes:
    """BGZF blocks of at most 64 KiB input each, plus the empty EOF block."""
    out = bytearray()
    for i in range(0, max(len(data), 1), 0xFF00):
        chunk = data[i : i + 0xFF00]
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = c.compress(chunk) + c.flush()
        out += b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
        out += struct.pack("<H", len(body) + 25)
        out += body + struct.pack("<II", zlib.crc32(chunk), len(chunk))
    out += bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
    return out


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    recs = valid_records()
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.vcf"
        raw.write_text(header() + "\n".join(recs) + "\n")
        # every REF must match (symbolic alleles are ignored by the check)
        bcftools("norm", "--no-version", "--check-ref", "e", "-f", str(REF),
                 "-Ou", "-o", "/dev/null", str(raw))
        bcftools("view", "--no-version", "-Ov", "-o", str(OUT / "valid.vcf"), str(raw))
    bcftools("view", "--no-version", "-Oz", "-o", str(OUT / "valid.vcf.gz"),
             str(OUT / "valid.vcf"))
    bcftools("view", "--no-version", "-Ob", "-o", str(OUT / "valid.bcf"),
             str(OUT / "valid.vcf"))
    # indexes for region queries, and what `bcftools view -r` returns for each query
    bcftools("index", "--force", "--tbi", str(OUT / "valid.vcf.gz"))
    bcftools("index", "--force", "--csi", str(OUT / "valid.bcf"))
    with open(OUT / "region_queries.tsv", "w") as f:
        f.write("# regions (1-based inclusive, as given to bcftools view -r)\tIDs returned\n")
        for regions in REGION_QUERIES:
            out = subprocess.run(
                ["bcftools", "view", "-H", "-r", ",".join(regions), str(OUT / "valid.vcf.gz")],
                check=True, capture_output=True, text=True).stdout
            ids = [line.split("\t")[2] for line in out.splitlines()]
            f.write(" ".join(regions) + "\t" + ",".join(ids) + "\n")

    head = header()
    swapped = recs[:3] + [recs[4], recs[3]] + recs[5:]
    (OUT / "unsorted.vcf").write_text(head + "\n".join(swapped) + "\n")

    b = ref(A, 200)
    wrong = other(b)
    bad = record(A, 200, "bad_ref", wrong, [other(b, 2)], 30)
    (OUT / "ref_mismatch.vcf").write_text(head + "\n".join(recs[:2] + [bad] + recs[2:4]) + "\n")

    c_head = header(extra_contigs=[("C", 1000)])
    c_rec = record("C", 10, "on_c", "A", ["G"], 30)
    (OUT / "unknown_contig.vcf").write_text(c_head + "\n".join(recs[:2] + [c_rec]) + "\n")

    b = ref(A, 200)
    alt = record(A, 200, "bad_alt", b, ["R"], 30)
    (OUT / "bad_alt.vcf").write_text(head + "\n".join(recs[:2] + [alt] + recs[2:4]) + "\n")

    b = ref(A, 200)
    pos = record(A, 200, "bad_pos", b, [other(b)], 30).replace("\t200\t", "\t2O0\t", 1)
    (OUT / "bad_pos.vcf").write_text(head + "\n".join(recs[:2] + [pos] + recs[2:4]) + "\n")

    few = "\t".join([A, "200", "few_cols", b, other(b)])
    (OUT / "few_columns.vcf").write_text(head + "\n".join(recs[:2] + [few] + recs[2:4]) + "\n")

    (OUT / "no_contigs.vcf").write_text(header(contigs=False) + "\n".join(recs[:3]) + "\n")
    (OUT / "empty.vcf").write_bytes(b"")

    bcf = gzip.decompress((OUT / "valid.bcf").read_bytes())
    assert bcf[:3] == b"BCF"
    (OUT / "not_bcf.bcf").write_bytes(gzip.compress(b"BCX" + bcf[3:], mtime=0))

    # BCF: magic (5 bytes), header length (4) and text, then records each led by
    # l_shared and l_indiv (u32 each)
    at = 5 + 4 + struct.unpack("<I", bcf[5:9])[0]
    for _ in range(4):
        l_shared, l_indiv = struct.unpack("<II", bcf[at : at + 8])
        at += 8 + l_shared + l_indiv
    l_shared, _ = struct.unpack("<II", bcf[at : at + 8])
    (OUT / "truncated.bcf").write_bytes(bgzf(bcf[: at + 8 + l_shared // 2]))

    # the first record: its lengths, and its sample part (FORMAT key GT as a typed int8
    # 0x11 + index, then the type byte of the values: count 2 << 4 | int8 = 0x21)
    first = 5 + 4 + struct.unpack("<I", bcf[5:9])[0]
    l_shared, l_indiv = struct.unpack("<II", bcf[first : first + 8])
    indiv = first + 8 + l_shared
    assert bcf[indiv] == 0x11 and bcf[indiv + 2] == 0x21, bcf[indiv : indiv + 3]
    gt32 = bytearray(bcf)
    gt32[indiv + 2] = 0x23  # GT values typed int32: noodles-bcf 0.94 reaches a todo!()
    (OUT / "gt_int32.bcf").write_bytes(bgzf(bytes(gt32)))
    huge = bytearray(bcf[: first + 8 + l_shared + l_indiv])
    huge[first : first + 8] = struct.pack("<II", 0xFFFFFFF0, 0xFFFFFFF0)
    (OUT / "huge_record.bcf").write_bytes(bgzf(bytes(huge)))

    many = bytearray(bcf)
    many[first + 8 + 20 : first + 8 + 24] = struct.pack("<I", 0x01FFFFFF)  # n_fmt 1, n_sample 2^24-1
    (OUT / "many_samples.bcf").write_bytes(bgzf(bytes(many)))

    text = bcf[9 : 9 + struct.unpack("<I", bcf[5:9])[0]]
    line = b'Description="Read depth",IDX=1>'
    assert text.count(line) == 1
    text = text.replace(line, line.replace(b"IDX=1", b"IDX=10400000000000000"))
    huge_idx = bcf[:5] + struct.pack("<I", len(text)) + text + bcf[first:]
    (OUT / "huge_idx.bcf").write_bytes(bgzf(huge_idx))
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
