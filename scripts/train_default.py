#!/usr/bin/env python3
"""Trains glance's default model (models/default/) by masked k-mer modelling (issue 7).

    python scripts/train_default.py fetch --data /tmp/glance-data      # apt-get download + dpkg-deb -x
    python scripts/train_default.py train --data /tmp/glance-data --ckpt /tmp/glance-default.pt
    python scripts/train_default.py export --data /tmp/glance-data --ckpt /tmp/glance-default.pt \
        --out models/default
    python scripts/train_default.py evaluate --data /tmp/glance-data --out models/default

The encoder is scripts/native_reference.py's `NativeEncoder` (the parameters are its
parameters, so the tensor names are glance's); training runs a batched forward over the
same modules (`batched_forward`), with the same RoPE tables, the same attention masks
(as a boolean mask for torch's scaled_dot_product_attention) and the same layers.
`export` checks that the unbatched reference gives the same hidden states, then writes
config.json + model.safetensors (the encoder, glance's native format) and
mlm_head.safetensors (the masked-k-mer head, used only by the evaluation).

Objective: spans of 11 masked tokens (see default_model_data.py), 4 spans per 256-token
window (17.2% of tokens), cross-entropy over the 4096 k-mers at masked positions only.
(The held-out evaluation uses 512-token windows with 6 spans, 12.9%.)
Windows start at a multiple of 64 tokens (so `block:b=64` boundaries are those of the
record), from a training genome chosen in proportion to its length, reverse-complemented
with probability 1/2. Seeded (torch, numpy): the same command gives the same model on the
same machine and torch version. Single process, `--threads 2`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import default_model_data as dm  # noqa: E402
from native_reference import NativeEncoder, apply_rope, load_native, rope_tables, save_native  # noqa: E402

CONFIG = {
    "format": "glance-encoder",
    "version": 1,
    "vocab_size": dm.SPECIALS + dm.NKMER,
    "d_model": 128,
    "heads": 4,
    "ffn": {"hidden": 512, "activation": "gelu"},
    "norm": "pre",
    "norm_eps": 1e-5,
    "final_norm": True,
    "positions": {"kind": "rope", "theta": 10000.0},
    "layers": [
        {"attention": "sliding:r=16"},
        {"attention": "dilated:r=16,d=4"},
        {"attention": "block:b=64,n=1"},
        {"attention": "sliding:r=32"},
    ],
    "tokenizer": {"k": dm.K, "stride": 1, "canonical": False},
    "pooling_query": False,
}
N_TOKENS = 256
N_SPANS = 4
EVAL_TOKENS = 512


def kmer_bases() -> torch.Tensor:
    """[4^k, 4k] one-hot of each k-mer's bases (vocabulary order, first base first)."""
    idx = torch.arange(dm.NKMER)
    onehot = torch.zeros(dm.NKMER, dm.K, 4)
    for j in range(dm.K):
        onehot[idx, j, (idx // 4 ** (dm.K - 1 - j)) % 4] = 1.0
    return onehot.reshape(dm.NKMER, 4 * dm.K)


class MlmHead(nn.Module):
    """Training-only head: dense + GELU + LayerNorm, then k-mer logits = a full 4^k-way
    projection plus a per-base part (4 logits for each of the k bases, summed over the
    k-mer's bases through a fixed indicator matrix), so that what is learned about a base
    is shared by every k-mer that holds it."""

    def __init__(self, d: int):
        super().__init__()
        self.dense = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, dm.NKMER)
        self.base = nn.Linear(d, 4 * dm.K)
        self.register_buffer("kmer_bases", kmer_bases(), persistent=True)

    def forward(self, h):
        z = self.norm(F.gelu(self.dense(h)))
        return self.out(z) + self.base(z) @ self.kmer_bases.T


def pattern_masks(enc: NativeEncoder, n: int) -> list[torch.Tensor]:
    return [p.mask(n, 0) for p in enc.patterns]


def batched_forward(enc: NativeEncoder, ids: torch.Tensor, masks) -> torch.Tensor:
    """ids [B, n] (window start at a multiple of every block size) -> hidden [B, n, d];
    the same computation as NativeEncoder.forward(ids[b], offset=0) for each b."""
    cfg = enc.config
    b, n = ids.shape
    d, h = cfg["d_model"], cfg["heads"]
    dh = d // h
    cos, sin = rope_tables(n, 0, dh, cfg["positions"].get("theta", 10000.0))
    x = enc.embed.tokens(ids)
    for layer, m in zip(enc.layers, masks):
        a = layer.attn
        y = layer.norm1(x)

        def split(t):
            return t.view(b, n, h, dh).transpose(1, 2)

        q, k, v = split(a.q(y)), split(a.k(y)), split(a.v(y))
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
        x = x + a.o(ctx.transpose(1, 2).reshape(b, n, d))
        x = x + layer.ffn(layer.norm2(x))
    return enc.final_norm(x)


class Sampler:
    """Random training windows with masked spans (numpy Generator, seeded)."""

    def __init__(self, data_dir: str, seed: int):
        self.recs = [c for g in dm.TRAIN for _, c in dm.load_genome(data_dir, g)]
        lens = np.array([len(c) for c in self.recs], dtype=np.float64)
        self.p = lens / lens.sum()
        self.rng = np.random.default_rng(seed)

    def window(self):
        while True:
            c = self.recs[int(self.rng.choice(len(self.recs), p=self.p))]
            nb = N_TOKENS + dm.K - 1
            t0 = int(self.rng.integers(0, (len(c) - nb) // 64)) * 64
            b = c[t0 : t0 + nb]
            if self.rng.random() < 0.5:
                b = dm.revcomp(b)
            t = dm.tokenize(b)
            if (t == dm.UNK).mean() < 0.01:
                return t

    def batch(self, size: int):
        ids = np.stack([self.window() for _ in range(size)])
        masked = np.zeros_like(ids, dtype=bool)
        for i in range(size):
            for s in dm.span_starts(N_TOKENS, N_SPANS, self.rng):
                masked[i, s : s + dm.SPAN] = True
        targets = np.where(masked & (ids >= dm.SPECIALS), ids - dm.SPECIALS, -100)
        inp = np.where(masked, dm.MASK, ids)
        return torch.from_numpy(inp), torch.from_numpy(targets)


def eval_tensors(es: dict):
    ids = es["ids"]
    masked = np.zeros_like(ids, dtype=bool)
    for i, st in enumerate(es["starts"]):
        for s in st:
            masked[i, s : s + dm.SPAN] = True
    return torch.from_numpy(np.where(masked, dm.MASK, ids)), torch.from_numpy(ids - dm.SPECIALS), masked


@torch.no_grad()
def evaluate(enc, head, es, masks, batch=20):
    """Masked-token top-1 and perplexity (exp of mean NLL per masked k-mer token)."""
    enc.eval()
    head.eval()
    inp, tgt, masked = eval_tensors(es)
    nll, hit, cnt = 0.0, 0, 0
    for i in range(0, len(inp), batch):
        hdn = batched_forward(enc, inp[i : i + batch], masks)
        m = torch.from_numpy(masked[i : i + batch])
        logits = head(hdn[m]).float()
        t = tgt[i : i + batch][m]
        nll += F.cross_entropy(logits, t, reduction="sum").item()
        hit += (logits.argmax(-1) == t).sum().item()
        cnt += len(t)
    enc.train()
    head.train()
    return {"top1": hit / cnt, "ppl": math.exp(nll / cnt), "nll": nll / cnt, "tokens": cnt}


def build(seed: int):
    torch.manual_seed(seed)
    enc = NativeEncoder(CONFIG)
    for name, p in enc.named_parameters():  # BERT-style init
        if p.dim() == 2:
            nn.init.normal_(p, std=0.02)
        elif name.endswith("bias"):
            nn.init.zeros_(p)
    with torch.no_grad():  # k-mer embeddings start as a random projection of their bases
        proj = torch.randn(4 * dm.K, CONFIG["d_model"]) * 0.1
        enc.embed.tokens.weight[dm.SPECIALS :] += kmer_bases() @ proj
    head = MlmHead(CONFIG["d_model"])
    return enc, head


def lr_at(step, total, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def train(args):
    torch.set_num_threads(args.threads)
    enc, head = build(args.seed)
    params = list(enc.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01, betas=(0.9, 0.98))
    sampler = Sampler(args.data, args.seed)
    step, elapsed, log = 0, 0.0, []
    if os.path.exists(args.ckpt):
        ck = torch.load(args.ckpt, weights_only=False)
        enc.load_state_dict(ck["enc"])
        head.load_state_dict(ck["head"])
        opt.load_state_dict(ck["opt"])
        sampler.rng.bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
        step, elapsed, log = ck["step"], ck["elapsed"], ck["log"]
        print(f"resumed at step {step}", flush=True)
    masks = pattern_masks(enc, N_TOKENS)
    eval_masks = pattern_masks(enc, EVAL_TOKENS)
    es = dm.eval_set(args.data, windows=40)  # monitoring only (first 40 held-out windows)
    t_last = time.time()
    run_loss = 0.0

    def save():
        ck = {"enc": enc.state_dict(), "head": head.state_dict(), "opt": opt.state_dict(),
              "rng": sampler.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
              "step": step, "elapsed": elapsed, "log": log, "args": vars(args)}
        torch.save(ck, args.ckpt + ".tmp")
        os.replace(args.ckpt + ".tmp", args.ckpt)

    stop = min(args.steps, args.stop_at or args.steps)
    while step < stop:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
        inp, tgt = sampler.batch(args.batch)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            hdn = batched_forward(enc, inp, masks)
            m = tgt >= 0
            logits = head(hdn[m])
        loss = F.cross_entropy(logits.float(), tgt[m])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        run_loss += loss.item()
        now = time.time()
        elapsed += now - t_last
        t_last = now
        if step % args.log_every == 0:
            entry = {"step": step, "loss": run_loss / args.log_every, "elapsed_s": round(elapsed, 1)}
            run_loss = 0.0
            if step % (args.log_every * 5) == 0 or step == stop:
                entry["heldout40"] = evaluate(enc, head, es, eval_masks)
            log.append(entry)
            print(json.dumps(entry), flush=True)
            save()
            t_last = time.time()
    save()


def export(args):
    torch.set_num_threads(args.threads)
    enc, head = build(args.seed)
    ck = torch.load(args.ckpt, weights_only=False)
    enc.load_state_dict(ck["enc"])
    head.load_state_dict(ck["head"])
    enc.eval()
    save_native(enc, args.out)
    from safetensors.torch import save_file

    save_file({k: v.detach().float().contiguous() for k, v in head.state_dict().items()},
              os.path.join(args.out, "mlm_head.safetensors"))
    # the batched training forward equals the unbatched reference on a held-out window
    ref = load_native(args.out)
    es = dm.eval_set(args.data, windows=2)
    ids = torch.from_numpy(es["ids"])
    with torch.no_grad():
        a = batched_forward(enc, ids, pattern_masks(enc, ids.shape[1]))
        b = torch.stack([ref(ids[i], offset=0, dense=True) for i in range(len(ids))])
    diff = (a - b).abs().max().item()
    print(f"batched vs reference max |diff| = {diff:.2e}")
    assert diff < 1e-4, diff
    info = {k: ck[k] for k in ("step", "elapsed", "log", "args")}
    with open(os.path.join(args.out, "training_log.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print(f"exported step {ck['step']} ({ck['elapsed']:.0f} s) to {args.out}")


def evaluate_shipped(args):
    """Held-out masked top-1 / perplexity of an exported model (encoder + mlm_head)."""
    from safetensors.torch import load_file

    torch.set_num_threads(args.threads)
    enc = load_native(args.out)
    head = MlmHead(enc.config["d_model"])
    head.load_state_dict(load_file(os.path.join(args.out, "mlm_head.safetensors")))
    es = dm.eval_set(args.data)
    res = evaluate(enc, head, es, pattern_masks(enc, es["ids"].shape[1]))
    print(json.dumps(res))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["fetch", "train", "export", "evaluate"])
    ap.add_argument("--data", required=True, help="directory with the extracted Debian packages")
    ap.add_argument("--ckpt", default="/tmp/glance-default.pt")
    ap.add_argument("--out", default="models/default")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--stop-at", type=int, help="stop (with a checkpoint) after this step; "
                    "a later `train` resumes exactly, under its own --steps schedule")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--json", help="evaluate: write the result here")
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True,
                    help="bfloat16 autocast for the training forward (export is f32)")
    args = ap.parse_args()
    if args.cmd == "fetch":
        dm.fetch(args.data)
    elif args.cmd == "train":
        train(args)
    elif args.cmd == "export":
        export(args)
    else:
        evaluate_shipped(args)


if __name__ == "__main__":
    main()
