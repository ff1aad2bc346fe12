"""Cuts test-data/Kp1084_200kb.fa.gz into a multi-record FASTA for the glance run /
glance merge tests (sharding is by record): test-data/workflow/multi.fa.gz.

Records (0-based half-open slices of the 200 kb excerpt): a 0-60000, b 60000-95000,
c 95000-145000, d 145000-150000 (lower-cased, soft-masked), e 150000-150300, f 150300-200000.
Deterministic; only the Python standard library. Run: python3 scripts/make_workflow_fixture.py
"""
import gzip
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
lines = gzip.open(root / "test-data/Kp1084_200kb.fa.gz", "rt").read().split("\n")
seq = "".join(l.strip() for l in lines if l and not l.startswith(">"))
cuts = [("a", 0, 60000), ("b", 60000, 95000), ("c", 95000, 145000), ("d", 145000, 150000),
        ("e", 150000, 150300), ("f", 150300, 200000)]
out = root / "test-data/workflow/multi.fa.gz"
out.parent.mkdir(parents=True, exist_ok=True)
with gzip.GzipFile(out, "wb", mtime=0) as f:
    for name, a, b in cuts:
        s = seq[a:b]
        if name == "d":
            s = s.lower()
        f.write(f">{name} Kp1084 excerpt {a + 1}-{b}\n".encode())
        for i in range(0, len(s), 80):
            f.write((s[i:i + 80] + "\n").encode())
print(out, len(seq))
