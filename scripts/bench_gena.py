#!/usr/bin/env python3
"""BPE model families and BigBird: glance vs the Python references on the same weights.

    cargo build --release -p glance-cli
    /work/venv/bin/python scripts/bench_gena.py --glance target/release/glance \
        --genome ../shared/data/genomes/Kp1084.fna.gz --workdir /tmp/glance-gena
    # a smoke run at tiny sizes (checks that every part runs, times mean nothing):
    /work/venv/bin/python scripts/bench_gena.py --glance target/debug/glance \
        --workdir /tmp/glance-gena-smoke --smoke

A sibling of scripts/bench_models.py (same timing rules: each side in its own process
under /usr/bin/time -v, float32, `torch.no_grad()`, `torch.set_num_threads(--threads)`).
Parts (`--parts`, default all):

  attention   BigBird block-sparse attention alone at --bigbird-len tokens (4,096): glance
              `glance bench attention --pattern bigbird:b=64,random=3 --heads 12
              --head-dim 64` against transformers' `BigBirdBlockSparseAttention
              .bigbird_block_sparse_attention` on the same shape (eval mode, q/k/v given,
              the median of --runs calls; it also assembles the n x n probability matrix
              it returns, which is part of its cost).
  bigbird     the GENA-LM BigBird encoder (gena-lm-bigbird-base-t2t's shape: d 768, 12
              layers, 12 heads, FFN 3072, block 64, 3 random blocks, 4,096 positions,
              gelu_new), random init, on one window of 4,096 tokens: `glance embed` vs
              transformers' `BigBirdModel`.
  dnabert2    DNABERT-2-117M's shape (d 768, 12 layers, 12 heads, gated FFN 3072, ALiBi,
              512-token windows) over --bases bases (100 kb): `glance embed --bin 1000`
              vs the PyTorch reference of bert_layers.py in scripts/dnabert2_fixtures.py
              (DNABERT-2 is remote code; transformers has no class for it).
  gena_bert   gena-lm-bert-base-t2t's shape (d 768, 12 layers, 12 heads, FFN 3072,
              pre-LN, 512 positions) over --bases bases: `glance embed --bin 1000` vs the
              PyTorch reference of GENA-LM's modeling_bert.py in scripts/gena_fixtures.py.

The references in the fixture scripts read their sizes from module constants; this
script sets those constants to the benchmark's shape before building them. Tokenizers:
a BPE tokenizer.json trained here on the benchmark's bases (vocabulary --vocab, 4,096 by
default; DNABERT-2 uses 4,096, GENA-LM 32,000, which 100 kb cannot train), with the
`[CLS] $A [SEP]` post-processor. Both sides run exactly the same windows: the record's
token ids cut every `max_position_embeddings - 2` tokens, each wrapped in [CLS] ... [SEP].
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SEED = 20261206
# Shapes: (d, layers, heads, intermediate, positions); --smoke shrinks them.
FULL = {"d": 768, "layers": 12, "heads": 12, "inter": 3072, "bert_positions": 512,
        "bigbird_positions": 4096, "block": 64, "random": 3}
SMOKE = {"d": 32, "layers": 2, "heads": 4, "inter": 64, "bert_positions": 64,
         "bigbird_positions": 256, "block": 16, "random": 1}


def read_genome(path: str | None, n: int) -> str:
    if path is None:
        rng = random.Random(SEED)
        return "".join(rng.choice("ACGT") for _ in range(n))
    out, have = [], 0
    with gzip.open(path, "rt") as f:
        for line in f:
            if line.startswith(">"):
                continue
            out.append(line.strip().upper())
            have += len(out[-1])
            if have >= n:
                break
    return "".join(out)[:n]


def write_fasta(path: str, name: str, seq: str):
    with open(path, "w") as f:
        f.write(f">{name}\n")
        for i in range(0, len(seq), 80):
            f.write(seq[i : i + 80] + "\n")


def timed(cmd: list[str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MiB, stdout) of `cmd` under /usr/bin/time -v."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{p.stderr[-3000:]}")

    def field(name):
        return float(re.search(re.escape(name) + r": ([\d.]+)", p.stderr).group(1))

    return wall, field("User time (seconds)") + field("System time (seconds)"), \
        field("Maximum resident set size (kbytes)") / 1024.0, p.stdout


def train_tokenizer(seq: str, vocab: int, directory: str):
    """A BPE tokenizer.json trained on `seq` (1 kb lines), [PAD] [UNK] [CLS] [SEP] [MASK]."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=special,
                                  initial_alphabet=list("ACGT"), show_progress=False)
    tok.train_from_iterator([seq[i : i + 1000] for i in range(0, len(seq), 1000)], trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    os.makedirs(directory, exist_ok=True)
    tok.save(os.path.join(directory, "tokenizer.json"))
    return tok


def windows(tok, seq: str, positions: int) -> list[list[int]]:
    ids = tok.encode(seq, add_special_tokens=False).ids
    content = positions - 2
    return [[2] + ids[s : s + content] + [3] for s in range(0, len(ids), content)]


# ---------------------------------------------------------------- models


def set_shape(module, shape: dict, vocab: int, positions: int):
    """Sets a fixture script's size constants (its reference reads them when built)."""
    module.D, module.HEADS, module.LAYERS, module.INTER = shape["d"], shape["heads"], shape["layers"], shape["inter"]
    module.VOCAB = vocab
    if module.__name__ == "dnabert2_fixtures":
        module.WINDOW = positions
    else:
        module.BERT_WINDOW = positions


def reference(family: str, shape: dict, vocab: int):
    """The PyTorch reference of `family` at `shape` (random init, seeded) and its config."""
    import torch

    import dnabert2_fixtures
    import gena_fixtures

    positions = shape["bert_positions"]
    module = dnabert2_fixtures if family == "dnabert2" else gena_fixtures
    set_shape(module, shape, vocab, positions)
    torch.manual_seed(SEED)
    if family == "dnabert2":
        model, config = dnabert2_fixtures.Dnabert2Reference().eval(), dnabert2_fixtures.config()
    else:
        model, config = gena_fixtures.GenaBertReference().eval(), gena_fixtures.bert_config()
    return model, config


def bigbird_model(shape: dict, vocab: int):
    import torch
    from transformers import BigBirdConfig, BigBirdModel

    torch.manual_seed(SEED + 1)
    config = BigBirdConfig(
        vocab_size=vocab, hidden_size=shape["d"], num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"], intermediate_size=shape["inter"],
        hidden_act="gelu_new", max_position_embeddings=shape["bigbird_positions"],
        attention_type="block_sparse", block_size=shape["block"],
        num_random_blocks=shape["random"], pad_token_id=0, bos_token_id=2, eos_token_id=3,
        sep_token_id=3,
    )
    return BigBirdModel(config, add_pooling_layer=False).eval()


def build(family: str, directory: str, shape: dict, vocab: int):
    """Writes `family`'s checkpoint directory (the tokenizer is already there)."""
    from safetensors.torch import save_file

    if family == "bigbird":
        bigbird_model(shape, vocab).save_pretrained(directory)
        return
    model, config = reference(family, shape, vocab)
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)


def torch_side(family: str, directory: str, windows_path: str, threads: int, shape: dict):
    """The Python side, in its own process (--torch): loads the weights, then times the
    forward passes over the windows only."""
    import torch
    from safetensors.torch import load_file

    torch.set_num_threads(threads)
    with open(windows_path) as f:
        ws = json.load(f)
    vocab = json.load(open(os.path.join(directory, "config.json")))["vocab_size"]
    if family == "bigbird":
        from transformers import BigBirdModel

        model = BigBirdModel.from_pretrained(directory).eval()

        def run(w):
            model.set_attention_type("block_sparse")  # the switch to full is sticky
            model(input_ids=torch.tensor([w]))
    else:
        model, _ = reference(family, shape, vocab)
        model.load_state_dict(load_file(os.path.join(directory, "model.safetensors")))

        def run(w):
            model(torch.tensor(w))
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for w in ws:
            run(w)
    tokens = sum(len(w) for w in ws)
    print(f"tokens {tokens} wall {time.perf_counter() - t0:.3f} cpu {time.process_time() - c0:.3f}")


def attention_side(n: int, heads: int, head_dim: int, block: int, random_blocks: int,
                   threads: int, runs: int):
    """transformers' block-sparse attention alone (--torch-attention)."""
    import torch
    from transformers import BigBirdConfig
    from transformers.models.big_bird.modeling_big_bird import BigBirdBlockSparseAttention, BigBirdModel

    torch.set_num_threads(threads)
    config = BigBirdConfig(hidden_size=heads * head_dim, num_attention_heads=heads, block_size=block,
                           num_random_blocks=random_blocks, max_position_embeddings=max(n, 4096))
    layer = BigBirdBlockSparseAttention(config).eval()
    q, k, v = (torch.randn(1, heads, n, head_dim) for _ in range(3))
    mask = torch.ones(1, n)
    blocked, band, from_mask, to_mask = BigBirdModel.create_masks_for_block_sparse_attn(mask, block)

    def call():
        layer.bigbird_block_sparse_attention(
            q, k, v, band, from_mask, to_mask, blocked, blocked, heads, random_blocks, head_dim,
            block, block, 1, n, n, seed=None, plan_from_length=None, plan_num_rand_blocks=None)

    times = []
    with torch.no_grad():
        call()
        for _ in range(runs):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
    times.sort()
    print(f"median_s {times[len(times) // 2]:.6f}")


# ---------------------------------------------------------------- driver


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glance")
    ap.add_argument("--genome", help="gzipped FASTA (default: random DNA)")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--bases", type=int, default=100_000)
    ap.add_argument("--bigbird-len", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--parts", default="attention,bigbird,dnabert2,gena_bert")
    ap.add_argument("--precision", default="f32",
                    help="comma-separated `glance embed --precision` values to time (f32, bf16)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: checks that it runs")
    ap.add_argument("--torch", nargs=2, metavar=("FAMILY", "WINDOWS_JSON"), help="internal")
    ap.add_argument("--torch-attention", action="store_true", help="internal")
    a = ap.parse_args()
    shape = SMOKE if a.smoke else FULL
    if a.smoke:
        a.bases, a.bigbird_len, a.vocab, a.runs = min(a.bases, 4000), min(a.bigbird_len, 512), min(a.vocab, 200), 2
    heads, head_dim = shape["heads"], shape["d"] // shape["heads"]
    if a.torch:
        family, ws = a.torch
        torch_side(family, os.path.join(a.workdir, family), ws, a.threads, shape)
        return
    if a.torch_attention:
        attention_side(a.bigbird_len, heads, head_dim, shape["block"], shape["random"], a.threads, a.runs)
        return
    if not a.glance:
        ap.error("--glance is required")
    os.makedirs(a.workdir, exist_ok=True)
    me = [sys.executable, os.path.abspath(__file__), "--workdir", a.workdir, "--threads", str(a.threads),
          "--bigbird-len", str(a.bigbird_len), "--runs", str(a.runs)] + (["--smoke"] if a.smoke else [])
    print(f"{a.threads} threads; load average {os.getloadavg()}; shape {shape}")
    parts = a.parts.split(",")
    if "attention" in parts:
        spec = f"bigbird:b={shape['block']},random={shape['random']}"
        _, _, _, out = timed([a.glance, "bench", "attention", "--pattern", spec, "--len", str(a.bigbird_len),
                              "--heads", str(heads), "--head-dim", str(head_dim), "--threads", str(a.threads),
                              "--runs", str(a.runs), "--json"])
        g = json.loads(out.strip().splitlines()[-1])["median_s"]
        _, _, _, out = timed(me + ["--torch-attention"])
        t = float(re.search(r"median_s ([\d.]+)", out).group(1))
        print(f"attention {spec} n={a.bigbird_len} heads={heads} d_head={head_dim}: glance {g * 1e3:.2f} ms, "
              f"transformers {t * 1e3:.2f} ms, speed-up {t / g:.2f}x")
    genome = read_genome(a.genome, a.bases)
    for family in [p for p in parts if p != "attention"]:
        directory = os.path.join(a.workdir, family)
        tok = train_tokenizer(genome, a.vocab, directory)
        build(family, directory, shape, tok.get_vocab_size())
        positions = shape["bigbird_positions"] if family == "bigbird" else shape["bert_positions"]
        ws = windows(tok, genome, positions)
        seq = genome
        if family == "bigbird":
            # about one full window: the bases of its first content tokens but the last
            # (BPE is not local: the cut record is tokenized again, on both sides)
            ids = tok.encode(genome, add_special_tokens=False)
            seq = genome[: ids.offsets[min(len(ws[0]) - 4, len(ids.offsets) - 1)][1]]
            ws = windows(tok, seq, positions)
        fasta = os.path.join(a.workdir, f"{family}.fa")
        write_fasta(fasta, family, seq)
        ws_path = os.path.join(a.workdir, f"{family}.windows.json")
        with open(ws_path, "w") as f:
            json.dump(ws, f)
        _, _, trss, out = timed(me + ["--torch", family, ws_path])
        m = re.search(r"tokens (\d+) wall ([\d.]+) cpu ([\d.]+)", out)
        tokens, tw, tc = int(m.group(1)), float(m.group(2)), float(m.group(3))
        for precision in a.precision.split(","):
            gw, gc, grss, _ = timed([a.glance, "embed", "-q", "-t", str(a.threads), "--model", directory, fasta,
                                     "--precision", precision, "--bin", "1000",
                                     "-o", os.path.join(a.workdir, f"{family}_{precision}_out")])
            print(f"{family}: {len(seq):,} bases, {len(ws)} windows, {tokens:,} tokens; glance --precision "
                  f"{precision} {gw:.2f} s wall / {gc:.2f} s CPU (whole process), peak RSS {grss:.0f} MiB; "
                  f"reference (float32) {tw:.2f} s wall / {tc:.2f} s CPU (forward passes only), peak RSS "
                  f"{trss:.0f} MiB; speed-up {tw / gw:.2f}x wall, {tc / max(gc, 1e-3):.2f}x CPU; "
                  f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
