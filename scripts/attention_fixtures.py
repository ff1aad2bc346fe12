#!/usr/bin/env python3
"""Parity fixtures for glance-attn from published attention implementations.

Writes small .npy files under test-data/attention/<case>/ (q, k, v [, gq, gk, gv],
out, all float32 [heads, n, d_head], plus key_padding.npy (bool [n], True = padding)
where used) and test-data/attention/provenance.json. The Rust test
crates/glance-attn/tests/attn/parity_fixtures.rs runs `attend` on the same q/k/v with the
glance pattern named in provenance.json and requires max abs error <= 1e-5.

Spec mapping (see docs/attention.md):
- Hugging Face transformers LongformerSelfAttention, attention_window = w (even):
  `sliding:r=<w/2>`; global tokens (attention_mask value 2 in LongformerModel, +10000 at
  the layer) -> `+global:tokens=...`, with query_global/key_global/value_global passed
  as AttendOptions::global_qkv. The fixture calls the layer directly (n a multiple of
  w, batch 1, no padding), exports q, k, v = query/key/value(hidden) (q NOT divided by
  sqrt(d): glance applies scale 1/sqrt(d)), gq, gk, gv = the *_global projections, and
  `out` = the layer's context output (before LongformerSelfOutput's dense layer).
- lucidrains local-attention LocalAttention(window_size=W, look_backward=1,
  look_forward=1): exact_windowsize=False -> `block:b=W,n=1`; exact_windowsize=True
  -> `sliding:r=W`; causal=True, look_forward=0, exact_windowsize=True ->
  `sliding:r=W,causal`. n is a multiple of W (autopad would attend to zero keys), no
  rotary embedding (dim not given), default scale d^-0.5. Its `mask` (True = keep)
  is glance's key_padding negated; every query keeps at least one key.

Usage: /work/venv/bin/python scripts/attention_fixtures.py [OUT_DIR]
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

SEED = 20260428


def save(case_dir: Path, arrays: dict) -> None:
    case_dir.mkdir(parents=True, exist_ok=True)
    for name, arr in arrays.items():
        np.save(case_dir / f"{name}.npy", np.ascontiguousarray(arr))


def longformer_case(out: Path, name: str, heads: int, d: int, n: int, window: int, global_tokens):
    from transformers import LongformerConfig
    from transformers.models.longformer.modeling_longformer import LongformerSelfAttention

    config = LongformerConfig(
        hidden_size=heads * d,
        num_attention_heads=heads,
        attention_window=[window],
        attention_probs_dropout_prob=0.0,
    )
    layer = LongformerSelfAttention(config, layer_id=0).eval()
    hidden = torch.randn(1, n, heads * d)
    attention_mask = torch.zeros(1, n)
    for t in global_tokens:
        attention_mask[0, t] = 10000.0
    is_index_masked = attention_mask < 0
    is_index_global_attn = attention_mask > 0
    is_global_attn = bool(is_index_global_attn.any())
    with torch.no_grad():
        ctx = layer(
            hidden,
            attention_mask=attention_mask,
            is_index_masked=is_index_masked,
            is_index_global_attn=is_index_global_attn,
            is_global_attn=is_global_attn,
        )[0]

        def heads_first(x):  # [1, n, heads*d] -> [heads, n, d]
            return x[0].reshape(n, heads, d).permute(1, 0, 2).numpy().astype(np.float32)

        arrays = {
            "q": heads_first(layer.query(hidden)),
            "k": heads_first(layer.key(hidden)),
            "v": heads_first(layer.value(hidden)),
            "out": heads_first(ctx),
        }
        if is_global_attn:
            arrays["gq"] = heads_first(layer.query_global(hidden))
            arrays["gk"] = heads_first(layer.key_global(hidden))
            arrays["gv"] = heads_first(layer.value_global(hidden))
    save(out / name, arrays)
    spec = f"sliding:r={window // 2}"
    if global_tokens:
        spec += "+global:tokens=" + ",".join(str(t) for t in sorted(global_tokens))
    return {
        "case": name,
        "reference": "transformers.LongformerSelfAttention",
        "reference_params": {
            "attention_window": window,
            "global_tokens": list(global_tokens),
            "hidden_size": heads * d,
            "num_attention_heads": heads,
        },
        "pattern": spec,
        "global_projections": is_global_attn,
        "key_padding": False,
        "shape": [heads, n, d],
    }


def local_attention_case(out: Path, name: str, heads: int, d: int, n: int, window: int,
                         exact: bool, causal: bool, padding: bool):
    from local_attention import LocalAttention

    attn = LocalAttention(
        window_size=window,
        causal=causal,
        look_backward=1,
        look_forward=0 if causal else 1,
        exact_windowsize=exact,
        dropout=0.0,
        autopad=False,
    ).eval()
    q, k, v = (torch.randn(1, heads, n, d) for _ in range(3))
    keep = None
    if padding:
        keep = torch.rand(1, n) > 0.3
        # Every query must keep a visible key (local-attention fills masked scores
        # with a finite minimum, so a fully masked row would be uniform there, zero in
        # glance): keep every 4th key.
        keep[0, ::4] = True
    with torch.no_grad():
        o = attn(q, k, v, mask=keep)
    arrays = {
        "q": q[0].numpy(),
        "k": k[0].numpy(),
        "v": v[0].numpy(),
        "out": o[0].numpy(),
    }
    if padding:
        arrays["key_padding"] = (~keep[0]).numpy()
    save(out / name, arrays)
    if exact:
        spec = f"sliding:r={window}" + (",causal" if causal else "")
    else:
        assert not causal, "block-causal has no glance spec"
        spec = f"block:b={window},n=1"
    return {
        "case": name,
        "reference": "local_attention.LocalAttention",
        "reference_params": {
            "window_size": window,
            "look_backward": 1,
            "look_forward": 0 if causal else 1,
            "exact_windowsize": exact,
            "causal": causal,
            "mask": padding,
        },
        "pattern": spec,
        "global_projections": False,
        "key_padding": padding,
        "shape": [heads, n, d],
    }


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "test-data" / "attention"
    torch.manual_seed(SEED)
    cases = [
        longformer_case(out, "longformer_local", heads=2, d=16, n=64, window=8, global_tokens=[]),
        longformer_case(out, "longformer_global", heads=2, d=16, n=64, window=8, global_tokens=[0, 17, 40]),
        local_attention_case(out, "local_attention_block", 2, 16, 60, 12, exact=False, causal=False, padding=False),
        local_attention_case(out, "local_attention_exact", 2, 16, 60, 12, exact=True, causal=False, padding=False),
        local_attention_case(out, "local_attention_exact_causal", 2, 16, 60, 12, exact=True, causal=True, padding=False),
        local_attention_case(out, "local_attention_block_padded", 2, 16, 60, 12, exact=False, causal=False, padding=True),
    ]
    import importlib.metadata as md
    provenance = {
        "script": "scripts/attention_fixtures.py",
        "seed": SEED,
        "versions": {
            pkg: md.version(pkg) for pkg in ["torch", "transformers", "local-attention", "numpy"]
        },
        "layout": "float32 [heads, n, d_head] C order; key_padding bool [n], True = padding",
        "cases": cases,
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
