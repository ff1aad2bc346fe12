#!/usr/bin/env python3
"""MLM-head and variant-likelihood fixtures, from the reference implementations.

    python scripts/mlm_fixtures.py [--out test-data/variants]

Needs torch, transformers and safetensors (versions in scripts/requirements.txt).

1. BERT (transformers `BertForMaskedLM`, the random-init checkpoint
   test-data/models/bert_k6_mlm made by scripts/model_fixtures.py): one window
   `[CLS] ids [SEP]` of the fixture's `short` tokens; writes the log-softmax of the MLM
   logits (`bert.ids`, `bert.log_probs` [n, vocab]).
2. The default model (models/default: scripts/native_reference.py's encoder, float64,
   dense attention over the whole fragment, and scripts/train_default.py's `MlmHead`
   with mlm_head.safetensors) on test-data/models/default_fixture/fragment.fa:
   - `default.log_probs` [len(POSITIONS), vocab]: log-probabilities at a few positions
     of the unmasked fragment;
   - the masked-marginal log-likelihood ratio of each variant in VARIANTS, as
     docs/variants.md defines it: the tokens overlapping the changed bases are replaced
     by [MASK] in the reference sequence, the encoder and head run once, and
     LLR = sum over those tokens of log P(alt k-mer) - log P(ref k-mer)
     (`default.llr` [len(VARIANTS)], f64; the variants themselves, 0-based position,
     REF and ALT, are in the file's metadata under `variants`, as JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import default_model_data as dm  # noqa: E402
from native_reference import load_native  # noqa: E402
from train_default import MlmHead  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Positions of the unmasked fragment whose log-probabilities are compared.
POSITIONS = [0, 1, 57, 300, 594]

# Substitutions on the fragment: (0-based position, ALT); REF is the fragment's bases.
# Near both ends, an MNV, neighbouring SNVs. An ALT equal to REF is replaced below.
VARIANTS = [(2, "A"), (100, "C"), (101, "G"), (301, "T"), (200, "TG"), (455, "A"), (597, "C"), (599, "G")]


def read_fragment() -> str:
    path = os.path.join(ROOT, "test-data", "models", "default_fixture", "fragment.fa")
    with open(path) as f:
        return "".join(line.strip() for line in f if not line.startswith(">"))


def codes_of(text: str) -> np.ndarray:
    table = {"A": 0, "T": 1, "C": 2, "G": 3}
    return np.array([table.get(c, 4) for c in text.upper()], dtype=np.uint8)


def head_log_probs(head: MlmHead, hidden: torch.Tensor, vocab: int) -> torch.Tensor:
    """Log-probabilities over the whole vocabulary (specials -inf), as glance reports them."""
    logits = head(hidden)
    out = torch.full((hidden.shape[0], vocab), float("-inf"), dtype=torch.float64)
    out[:, dm.SPECIALS : dm.SPECIALS + dm.NKMER] = torch.log_softmax(logits.double(), dim=-1)
    return out


def llr(model, head, ref: str, pos: int, ref_bases: str, alt_bases: str) -> float:
    alt = ref[:pos] + alt_bases + ref[pos + len(ref_bases) :]
    changed = [i for i in range(len(ref_bases)) if ref_bases[i] != alt_bases[i]]
    p0, p1 = pos + changed[0], pos + changed[-1] + 1
    ref_ids = dm.tokenize(codes_of(ref))
    alt_ids = dm.tokenize(codes_of(alt))
    n = len(ref_ids)
    masked_tokens = [t for t in range(n) if t < p1 and t + dm.K > p0]
    inp = ref_ids.copy()
    inp[masked_tokens] = dm.MASK
    with torch.no_grad():
        hidden = model(torch.from_numpy(inp), offset=0, dense=True)
        lp = torch.log_softmax(head(hidden[masked_tokens]).double(), dim=-1)
    total = 0.0
    for row, t in enumerate(masked_tokens):
        if ref_ids[t] == dm.UNK or alt_ids[t] == dm.UNK:
            return float("nan")
        total += float(lp[row, alt_ids[t] - dm.SPECIALS] - lp[row, ref_ids[t] - dm.SPECIALS])
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "test-data", "variants"))
    args = ap.parse_args()
    from safetensors.torch import load_file, save_file
    from transformers import BertForMaskedLM

    tensors = {}
    # 1. transformers BertForMaskedLM
    bert_dir = os.path.join(ROOT, "test-data", "models", "bert_k6_mlm")
    bert = BertForMaskedLM.from_pretrained(bert_dir).eval()
    short = load_file(os.path.join(bert_dir, "expected.safetensors"))["short.ids"].long()[:12]
    ids = torch.cat([torch.tensor([2]), short, torch.tensor([3])])
    with torch.no_grad():
        logits = bert(input_ids=ids[None]).logits[0]
    tensors["bert.ids"] = ids.float()
    tensors["bert.log_probs"] = torch.log_softmax(logits.double(), dim=-1).float().contiguous()

    # 2. the default model and its k-mer head
    model_dir = os.path.join(ROOT, "models", "default")
    model = load_native(model_dir).double().eval()
    head = MlmHead(model.config["d_model"])
    head.load_state_dict(load_file(os.path.join(model_dir, "mlm_head.safetensors")))
    head = head.double().eval()
    fragment = read_fragment()
    ids = dm.tokenize(codes_of(fragment))
    with torch.no_grad():
        hidden = model(torch.from_numpy(ids), offset=0, dense=True)
        lp = head_log_probs(head, hidden[POSITIONS], model.config["vocab_size"])
    tensors["default.positions"] = torch.tensor(POSITIONS, dtype=torch.float32)
    tensors["default.log_probs"] = lp.float().contiguous()
    variants = []
    for pos, alt in VARIANTS:
        ref = fragment[pos : pos + len(alt)]
        # a real change at every base: the next base in A,C,G,T order where ALT equals REF
        alt = "".join(a if a != r else "ACGT"[("ACGT".index(r) + 1) % 4] for a, r in zip(alt, ref))
        variants.append({"pos": pos, "ref": ref, "alt": alt, "llr": llr(model, head, fragment, pos, ref, alt)})
    tensors["default.llr"] = torch.tensor([v["llr"] for v in variants], dtype=torch.float64)
    os.makedirs(args.out, exist_ok=True)
    save_file(tensors, os.path.join(args.out, "mlm_expected.safetensors"),
              metadata={"variants": json.dumps(variants)})
    for v in variants:
        print(v)


if __name__ == "__main__":
    main()
