#!/usr/bin/env python3
"""Parity fixtures for glance-attn's approximate patterns from their PyPI references.

Writes test-data/attn/lowrank/<case>/*.npy (float32; q, k, v, out as [heads, n, d_head],
plus the random matrices the reference drew) and test-data/attn/lowrank/provenance.json
(case -> glance spec, seed, package versions). The Rust test
crates/glance-attn/tests/attn/lowrank_parity.rs runs `attend_approx` with the exported
matrices as `ApproxWeights` and requires max abs error <= 1e-4.

- linformer 0.2.3 `LinformerSelfAttention(dim, seq_len, k, heads, share_kv)`: its own
  forward with to_q/to_k/to_v random and to_out set to the identity (zero bias), so
  `out` is the attention output with heads merged; q, k, v are to_q/to_k/to_v(x) split
  into heads. e.npy = proj_k ([seq_len, k], seq_len > n: the reference slices the first
  n rows), f.npy = proj_v (absent with share_kv). glance spec `linformer:k=K[,share_kv]`.
- performer-pytorch 1.1.4 `FastAttention(dim_heads, nb_features=m, causal)`, called on
  [1, heads, n, d] q, k, v; features.npy = its projection_matrix [m, d]. causal=True uses
  `causal_linear_attention_noncuda` (no fast_transformers installed).
  glance spec `performer:m=M[,causal]`.
- reformer-pytorch 1.4.4 `LSHAttention(bucket_size, n_hashes)` in eval mode (no
  dropout) called on qk, v of shape [heads, n, d] (heads as the batch, rotations shared
  across heads: random_rotations_per_head=False). The rotations are the reference's own
  torch.randn draw, reproduced by re-seeding torch before the call;
  rotations.npy is [1, hashes, d, n/bucket/2] (the reference's [1, d, hashes, nb/2]
  with axes 1 and 2 swapped). k.npy = q.npy (shared QK).
  glance spec `lsh:bucket=B,hashes=H`.

Usage: /work/venv/bin/python scripts/lowrank_fixtures.py [OUT_DIR]
"""

import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

SEED = 20261128


def save(case_dir: Path, arrays: dict) -> None:
    case_dir.mkdir(parents=True, exist_ok=True)
    for name, arr in arrays.items():
        np.save(case_dir / f"{name}.npy", np.ascontiguousarray(arr, dtype=np.float32))


def linformer_case(out: Path, name: str, heads: int, d: int, n: int, seq_len: int, k: int, share_kv: bool):
    from linformer import LinformerSelfAttention

    dim = heads * d
    layer = LinformerSelfAttention(dim=dim, seq_len=seq_len, k=k, heads=heads, share_kv=share_kv).eval()
    with torch.no_grad():
        layer.to_out.weight.copy_(torch.eye(dim))
        layer.to_out.bias.zero_()
        x = torch.randn(1, n, dim)
        y = layer(x)

        def heads_first(t):  # [1, n, heads*d] -> [heads, n, d]
            return t[0].reshape(n, heads, d).permute(1, 0, 2).numpy()

        keys = layer.to_k(x)
        values = keys if share_kv else layer.to_v(x)
        arrays = {
            "q": heads_first(layer.to_q(x)),
            "k": heads_first(keys),
            "v": heads_first(values),
            "out": heads_first(y),
            "e": layer.proj_k.numpy(),
        }
        if not share_kv:
            arrays["f"] = layer.proj_v.numpy()
    save(out / name, arrays)
    return f"linformer:k={k}" + (",share_kv" if share_kv else "")


def performer_case(out: Path, name: str, heads: int, d: int, n: int, m: int, causal: bool):
    from performer_pytorch.performer_pytorch import FastAttention

    attn = FastAttention(dim_heads=d, nb_features=m, causal=causal).eval()
    q, k, v = (torch.randn(1, heads, n, d) for _ in range(3))
    with torch.no_grad():
        y = attn(q, k, v)
    save(
        out / name,
        {
            "q": q[0].numpy(),
            "k": k[0].numpy(),
            "v": v[0].numpy(),
            "out": y[0].numpy(),
            "features": attn.projection_matrix.numpy(),
        },
    )
    return f"performer:m={m}" + (",causal" if causal else "")


def lsh_case(out: Path, name: str, heads: int, d: int, n: int, bucket: int, hashes: int):
    from reformer_pytorch.reformer_pytorch import LSHAttention

    attn = LSHAttention(bucket_size=bucket, n_hashes=hashes, causal=False).eval()
    qk = torch.randn(heads, n, d)
    v = torch.randn(heads, n, d)
    nb = n // bucket
    draw_seed = SEED + 7
    torch.manual_seed(draw_seed)
    rotations = torch.randn((1, d, hashes, nb // 2))
    torch.manual_seed(draw_seed)
    with torch.no_grad():
        y, _, buckets = attn(qk, v)
    # Check the reproduced draw: the buckets of head 0, round 0 from our rotations.
    rot = qk[0] @ rotations[0, :, 0, :]
    mine = torch.argmax(torch.cat([rot, -rot], dim=-1), dim=-1)
    assert torch.equal(mine, buckets[0, :n]), "rotations were not reproduced"
    save(
        out / name,
        {
            "q": qk.numpy(),
            "k": qk.numpy(),
            "v": v.numpy(),
            "out": y.numpy(),
            "rotations": rotations.permute(0, 2, 1, 3).numpy(),
        },
    )
    return f"lsh:bucket={bucket},hashes={hashes}"


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "test-data/attn/lowrank"
    torch.manual_seed(SEED)
    cases = {
        "linformer": linformer_case(out, "linformer", heads=2, d=16, n=96, seq_len=128, k=24, share_kv=False),
        "linformer_shared": linformer_case(out, "linformer_shared", heads=3, d=8, n=64, seq_len=64, k=16, share_kv=True),
        "performer": performer_case(out, "performer", heads=2, d=16, n=80, m=40, causal=False),
        "performer_causal": performer_case(out, "performer_causal", heads=2, d=16, n=72, m=24, causal=True),
        "lsh": lsh_case(out, "lsh", heads=2, d=16, n=128, bucket=8, hashes=3),
        "lsh_one_round": lsh_case(out, "lsh_one_round", heads=1, d=8, n=64, bucket=16, hashes=1),
    }
    provenance = {
        "script": "scripts/lowrank_fixtures.py",
        "seed": SEED,
        "versions": {p: version(p) for p in ["torch", "numpy", "linformer", "performer-pytorch", "reformer-pytorch"]},
        "cases": cases,
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(json.dumps(provenance, indent=2))


if __name__ == "__main__":
    main()
