#!/usr/bin/env python3
"""Side-by-side timings: PyTorch attention implementations vs `glance bench attention`.

For one shape (heads, d_head, n) and a sliding window of radius R (keys |i-j| <= R):
- Hugging Face transformers LongformerSelfAttention, attention_window = 2R, hidden size
  heads*d_head, batch 1: timed INCLUDING its q/k/v projections (the layer has no entry
  point without them), as `longformer (+proj)`;
- lucidrains local-attention LocalAttention(window_size=R, look_backward=1,
  look_forward=1, exact_windowsize=True) on q, k, v [1, heads, n, d] (same pairs);
- hand-blocked SDPA: query blocks of B=128, each with its key window [start-R, end+R)
  gathered by unfold, one torch.nn.functional.scaled_dot_product_attention call with a
  boolean band mask (same pairs);
- glance: `glance bench attention --pattern sliding:r=R --json` run as a subprocess in
  the same invocation (its own median).

Prints a markdown table (median seconds of --runs, tokens/s, useful GFLOP/s with
useful = 4 * P * d_head * heads, P the allowed pairs per head), torch threads = --threads.

Usage: /work/venv/bin/python scripts/bench_attention_pytorch.py --len 65536 \
          [--radius 128] [--heads 4] [--head-dim 64] [--threads 2] [--runs 3] \
          [--glance target/release/glance] [--skip longformer,...]
"""

import argparse
import json
import statistics
import subprocess
import time

import torch
import torch.nn.functional as F


def pairs_per_head(n: int, r: int) -> int:
    return sum(min(n - 1, i + r) - max(0, i - r) + 1 for i in range(n))


def timeit(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def longformer(n, r, heads, d):
    from transformers import LongformerConfig
    from transformers.models.longformer.modeling_longformer import LongformerSelfAttention

    config = LongformerConfig(hidden_size=heads * d, num_attention_heads=heads,
                              attention_window=[2 * r], attention_probs_dropout_prob=0.0)
    layer = LongformerSelfAttention(config, layer_id=0).eval()
    hidden = torch.randn(1, n, heads * d)
    mask = torch.zeros(1, n)
    masked = mask < 0

    def run():
        with torch.no_grad():
            layer(hidden, attention_mask=mask, is_index_masked=masked,
                  is_index_global_attn=masked, is_global_attn=False)
    return run


def local_attention(n, r, heads, d):
    from local_attention import LocalAttention

    attn = LocalAttention(window_size=r, look_backward=1, look_forward=1,
                          exact_windowsize=True, autopad=True).eval()
    q, k, v = (torch.randn(1, heads, n, d) for _ in range(3))

    def run():
        with torch.no_grad():
            attn(q, k, v)
    return run


def blocked_sdpa(n, r, heads, d, block=128):
    q, k, v = (torch.randn(heads, n, d) for _ in range(3))
    nb = -(-n // block)
    pad_q = nb * block - n
    span = block + 2 * r
    i = torch.arange(block)[:, None]
    j = torch.arange(span)[None, :] - r
    band = (j - i).abs() <= r  # [block, span], relative to the block start
    starts = torch.arange(nb) * block
    keypos = starts[:, None] + torch.arange(span)[None, :] - r  # [nb, span]
    valid = (keypos >= 0) & (keypos < n)
    mask = band[None] & valid[:, None, :]  # [nb, block, span]

    def run():
        with torch.no_grad():
            qb = F.pad(q, (0, 0, 0, pad_q)).view(heads, nb, block, d)
            kp = F.pad(k, (0, 0, r, r + pad_q))
            vp = F.pad(v, (0, 0, r, r + pad_q))
            kw = kp.unfold(1, span, block).transpose(-1, -2)  # [heads, nb, span, d]
            vw = vp.unfold(1, span, block).transpose(-1, -2)
            out = F.scaled_dot_product_attention(qb, kw, vw, attn_mask=mask[None])
            return out.reshape(heads, nb * block, d)[:, :n]
    return run


def glance(binary, n, r, heads, d, threads, runs):
    cmd = [binary, "--threads", str(threads), "bench", "attention", "--pattern",
           f"sliding:r={r}", "--len", str(n), "--heads", str(heads), "--head-dim", str(d),
           "--runs", str(runs), "--json"]
    report = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return report["median_s"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--len", type=int, required=True)
    ap.add_argument("--radius", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--glance", default="target/release/glance")
    ap.add_argument("--skip", default="")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    n, r, h, d = a.len, a.radius, a.heads, a.head_dim
    useful = 4 * pairs_per_head(n, r) * d * h
    skip = set(a.skip.split(",")) - {""}
    rows = []
    if "glance" not in skip:
        rows.append(("glance (sliding:r=%d)" % r, glance(a.glance, n, r, h, d, a.threads, a.runs)))
    for name, make in [("longformer (+proj)", longformer), ("local-attention", local_attention),
                       ("blocked SDPA", blocked_sdpa)]:
        if name.split()[0] in skip:
            continue
        rows.append((name, timeit(make(n, r, h, d), a.runs)))
    print(f"n={n} heads={h} d_head={d} radius={r} threads={a.threads} runs={a.runs} "
          f"torch={torch.__version__}")
    print("| implementation | median s | tokens/s | useful GFLOP/s |")
    print("| --- | ---: | ---: | ---: |")
    for name, s in rows:
        print(f"| {name} | {s:.4f} | {n / s:,.0f} | {useful / s / 1e9:.1f} |")


if __name__ == "__main__":
    main()
