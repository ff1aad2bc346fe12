#!/usr/bin/env python3
"""Parity fixture of the shipped default model (issue 7).

    python scripts/default_model_fixture.py --data /tmp/glance-data [--model models/default] \
        [--out test-data/models/default_fixture]

Cuts a 600 bp fragment of the held-out genome (V. cholerae O395 chromosome I, bases
1,000,001-1,000,600, 1-based; the model never saw this genome), tokenizes it as glance
does (k=6, stride 1) and runs scripts/native_reference.py's encoder in float64 (dense
attention over the whole fragment) on the shipped weights. Writes `fragment.fa` and
`expected.safetensors` (`fragment.ids` [n] f32, `fragment.hidden` [n, d_model] f32).
crates/glance-model/tests/model/default_model.rs compares glance's output to it within 1e-4.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import default_model_data as dm  # noqa: E402
from native_reference import load_native  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START, LENGTH = 1_000_000, 600


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "default"))
    ap.add_argument("--out", default=os.path.join(ROOT, "test-data", "models", "default_fixture"))
    args = ap.parse_args()
    name, codes = dm.load_genome(args.data, "O395")[0]
    frag = codes[START : START + LENGTH]
    text = "".join("ATCGN"[c] for c in frag)
    ids = dm.tokenize(frag)
    model = load_native(args.model).double()
    with torch.no_grad():
        hidden = model(torch.from_numpy(ids), offset=0, dense=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "fragment.fa"), "w") as f:
        f.write(f">fragment {name}:{START + 1}-{START + LENGTH}\n")
        for i in range(0, len(text), 60):
            f.write(text[i : i + 60] + "\n")
    from safetensors.torch import save_file

    save_file({"fragment.ids": torch.from_numpy(ids).float(), "fragment.hidden": hidden.float().contiguous()},
              os.path.join(args.out, "expected.safetensors"))
    print(f"{len(ids)} tokens, hidden {tuple(hidden.shape)} -> {args.out}")


if __name__ == "__main__":
    main()
