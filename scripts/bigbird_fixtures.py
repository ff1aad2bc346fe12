#!/usr/bin/env python3
"""BigBird block-sparse attention fixtures for glance-attn's `bigbird:b=B,random=R`.

Runs transformers' `BigBirdBlockSparseAttention` in eval mode on random hidden states
and writes, per case, test-data/attention/bigbird/<case>/{q,k,v,out}.npy (float32
[heads, n, d_head], C order) plus test-data/attention/bigbird/provenance.json. The
Rust test crates/glance-attn/tests/attn/parity_fixtures.rs runs `attend` with the pattern
named there on every instruction set and requires max abs error <= 1e-5.

What is exported: q, k, v = the layer's query/key/value(hidden) (q not divided by
sqrt(d): glance applies 1/sqrt(d)), `out` = the context layer (before
BigBirdSelfOutput's dense layer), rows 0..n only.

Eval-mode facts this checks (transformers 5.24, models/big_bird/modeling_big_bird.py):
- `_bigbird_block_rand_mask` and `_bigbird_block_rand_mask_with_head` return all-zero
  adjacency lists when `not self.training`: every random block is block 0, so block 0's
  keys enter each non-global query's softmax 1 + num_random_blocks times. The case at
  n = 1024 takes the first helper (lengths 1024/3072/4096), the others the second.
- A length that is not a multiple of block_size is padded as `BigBirdModel` pads it
  (`_pad_to_block_size`: attention_mask 0 on the padding, masks from
  `create_masks_for_block_sparse_attn`); glance runs the n real rows with no padding
  option: its last block is simply short.

Usage: /work/venv/bin/python scripts/bigbird_fixtures.py [OUT_DIR]
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

SEED = 20261203


def case(out: Path, name: str, heads: int, d: int, n: int, block: int, random_blocks: int):
    from transformers import BigBirdConfig
    from transformers.models.big_bird.modeling_big_bird import (
        BigBirdBlockSparseAttention,
        BigBirdModel,
    )

    config = BigBirdConfig(
        hidden_size=heads * d,
        num_attention_heads=heads,
        attention_type="block_sparse",
        block_size=block,
        num_random_blocks=random_blocks,
        max_position_embeddings=max(n, 1024),
    )
    layer = BigBirdBlockSparseAttention(config, seed=0).eval()
    padded = -(-n // block) * block
    hidden = torch.randn(1, padded, heads * d)
    mask = torch.zeros(1, padded)
    mask[0, :n] = 1.0
    blocked, band, from_mask, to_mask = BigBirdModel.create_masks_for_block_sparse_attn(mask, block)
    with torch.no_grad():
        ctx = layer(
            hidden,
            band_mask=band,
            from_mask=from_mask,
            to_mask=to_mask,
            from_blocked_mask=blocked,
            to_blocked_mask=blocked,
        )[0]

        def heads_first(x):  # [1, padded, heads*d] -> [heads, n, d]
            return x[0, :n].reshape(n, heads, d).permute(1, 0, 2).contiguous().numpy().astype(np.float32)

        arrays = {
            "q": heads_first(layer.query(hidden)),
            "k": heads_first(layer.key(hidden)),
            "v": heads_first(layer.value(hidden)),
            "out": heads_first(ctx),
        }
    (out / name).mkdir(parents=True, exist_ok=True)
    for key, arr in arrays.items():
        np.save(out / name / f"{key}.npy", np.ascontiguousarray(arr))
    return {
        "case": name,
        "reference": "transformers.BigBirdBlockSparseAttention (eval)",
        "reference_params": {
            "block_size": block,
            "num_random_blocks": random_blocks,
            "padded_to": padded,
            "hidden_size": heads * d,
            "num_attention_heads": heads,
        },
        "pattern": f"bigbird:b={block},random={random_blocks}",
        "global_projections": False,
        "key_padding": False,
        "shape": [heads, n, d],
    }


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "test-data" / "attention" / "bigbird"
    torch.manual_seed(SEED)
    cases = [
        case(out, "bigbird_b8_r3", heads=2, d=16, n=128, block=8, random_blocks=3),
        case(out, "bigbird_b8_r2_padded", heads=2, d=16, n=101, block=8, random_blocks=2),
        case(out, "bigbird_b16_r1_n1024", heads=1, d=8, n=1024, block=16, random_blocks=1),
    ]
    import importlib.metadata as md

    provenance = {
        "script": "scripts/bigbird_fixtures.py",
        "seed": SEED,
        "versions": {pkg: md.version(pkg) for pkg in ["torch", "transformers", "numpy"]},
        "layout": "float32 [heads, n, d_head] C order",
        "cases": cases,
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
