#!/usr/bin/env python3
"""Read `glance variants`' PREFIX.vcf.gz back with the reference tools.

- pysam (htslib): VariantFile opens it; every record's GLANCE_* INFO fields parse with
  the types the header declares (Float, String) and Number=A fields have one value per
  ALT; a tabix fetch of a region (the .tbi glance wrote) returns exactly the records
  whose span (POS..END, as htslib computes it) overlaps the region.
- bcftools (when installed): `bcftools view -H` reads every record, and
  `bcftools query -i 'INFO/GLANCE_EMB_L2>=0'` parses a GLANCE_* field.

Usage: /work/venv/bin/python scripts/check_variants_vcf.py PREFIX.vcf.gz [CHROM:START-END]
(START-END 1-based, inclusive; default: the middle third of the first record's contig).
Exit status 0 when every check passes; each check prints one line.
"""
import math
import shutil
import subprocess
import sys

import pysam

GLANCE = {
    "GLANCE_MOTIF": (".", "String"),
    "GLANCE_EMB_L2": ("A", "Float"),
    "GLANCE_EMB_COS": ("A", "Float"),
    "GLANCE_LLR": ("A", "Float"),
}


def fail(msg):
    print(f"FAIL {msg}")
    sys.exit(1)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    vf = pysam.VariantFile(path)
    for key, (number, typ) in GLANCE.items():
        meta = vf.header.info.get(key)
        if meta is None:
            fail(f"{key} is not declared")
        if (str(meta.number), meta.type) != (number, typ):
            fail(f"{key} declared Number={meta.number},Type={meta.type}")
    print(f"ok   header declares {', '.join(GLANCE)} with their Number and Type")

    records = list(vf.fetch())
    counts = dict.fromkeys(GLANCE, 0)
    for rec in records:
        n_alt = len(rec.alts or ())
        for key in GLANCE:
            if key not in rec.info:
                continue
            counts[key] += 1
            value = rec.info[key]
            value = value if isinstance(value, tuple) else (value,)
            if GLANCE[key][0] == "A" and len(value) != n_alt:
                fail(f"{rec.chrom}:{rec.pos} {key} has {len(value)} values for {n_alt} ALT")
            for v in value:
                if v is None:
                    continue
                if GLANCE[key][1] == "Float" and not (isinstance(v, float) and math.isfinite(v)):
                    fail(f"{rec.chrom}:{rec.pos} {key} value {v!r}")
                if key == "GLANCE_MOTIF":
                    parts = v.split("|")
                    if len(parts) != 5 or parts[0] not in rec.alts:
                        fail(f"{rec.chrom}:{rec.pos} GLANCE_MOTIF entry {v!r}")
                    if parts[2] not in ("loss", "gain", "change"):
                        fail(f"{rec.chrom}:{rec.pos} GLANCE_MOTIF effect {v!r}")
                    for p in parts[3:]:
                        if p != "." and not 0 <= float(p) <= 1:
                            fail(f"{rec.chrom}:{rec.pos} GLANCE_MOTIF p-value {v!r}")
    print(
        f"ok   pysam {pysam.__version__} read {len(records)} records; INFO fields parse "
        f"(records with each: {', '.join(f'{k}={n}' for k, n in counts.items())})"
    )

    if len(sys.argv) > 2:
        chrom, span = sys.argv[2].rsplit(":", 1)
        start, end = (int(x) for x in span.split("-"))
    else:
        chrom = records[0].chrom
        length = vf.header.contigs[chrom].length
        start, end = length // 3 + 1, 2 * length // 3
    # pysam: 0-based half-open region; rec.start/rec.stop: htslib's span (END aware)
    got = [(r.chrom, r.pos, r.ref, r.alts) for r in vf.fetch(chrom, start - 1, end)]
    want = [
        (r.chrom, r.pos, r.ref, r.alts)
        for r in records
        if r.chrom == chrom and r.start < end and r.stop > start - 1
    ]
    if got != want:
        fail(f"tabix fetch {chrom}:{start}-{end}: {len(got)} records, expected {len(want)}")
    print(f"ok   tabix fetch {chrom}:{start}-{end} returned its {len(got)} records")

    if shutil.which("bcftools") is None:
        print("skip bcftools is not installed")
        return
    version = subprocess.run(["bcftools", "--version"], capture_output=True, text=True)
    version = version.stdout.splitlines()[0]
    view = subprocess.run(["bcftools", "view", "-H", path], capture_output=True, text=True)
    if view.returncode != 0 or view.stderr.strip():
        fail(f"bcftools view -H: {view.stderr.strip()}")
    n = len(view.stdout.splitlines())
    if n != len(records):
        fail(f"bcftools view -H read {n} records, pysam {len(records)}")
    query = subprocess.run(
        ["bcftools", "query", "-i", "INFO/GLANCE_EMB_L2>=0", "-f", "%POS\\n", path],
        capture_output=True,
        text=True,
    )
    if query.returncode != 0 or query.stderr.strip():
        fail(f"bcftools query: {query.stderr.strip()}")
    print(
        f"ok   {version}: view -H read {n} records; query on GLANCE_EMB_L2 selected "
        f"{len(query.stdout.splitlines())}"
    )


if __name__ == "__main__":
    main()
