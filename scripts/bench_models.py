#!/usr/bin/env python3
"""Imported model families: glance vs Hugging Face transformers on the same weights.

    cargo build --release -p glance-cli
    /work/venv/bin/python scripts/bench_models.py --glance target/release/glance \
        --genome ../shared/data/genomes/Kp1084.fna.gz --workdir /tmp/glance-models

For each family a random-init checkpoint (seed fixed) is written in the family's real
layout, in the configuration shape named below, and the first --bases bases of the genome
(100 kb by default) are embedded by both:

  nt_v2     Nucleotide Transformer v2, the shape of nucleotide-transformer-v2-50m-multi-
            species (d 512, 12 layers, 16 heads, SwiGLU FFN 2048 without biases, rotary,
            6-mers, windows of 2048 tokens); transformers' rotary `EsmForMaskedLM` with
            the v2 feed-forward block swapped in (as scripts/nt_fixtures.py checks it
            against the published code), `.esm` run.
  nt_v1     Nucleotide Transformer v1 layout (learned positions from pad + 1, GELU FFN
            with biases, windows of 1000 tokens, <eos> appended), same width and depth
            as nt_v2 so that the two are comparable.
  modernbert ModernBERT (d 256, 8 layers, 4 heads, GeGLU 384, global attention every
            3rd layer, sliding window 128 elsewhere, single-nucleotide tokenizer.json):
            records of 8,192 bases (the model's context), each encoded whole.

transformers runs in float32 under `torch.no_grad()` with `torch.set_num_threads
(--threads)`, on exactly the windows glance runs (NT: the record's tokens cut into
windows of the model's length, each wrapped in <cls> [... <eos>]; ModernBERT: each
8,192-base record), in batches of 1 and of 4 windows; the faster of the two is reported.
glance runs `glance embed --bin 1000` on the same FASTA. Each side runs in its own
process under /usr/bin/time -v: wall seconds, CPU seconds (user + sys), peak RSS.

Useful FLOPs per token (no recomputation): per layer 8 d^2 (q, k, v, o) + 4 d f (GELU
FFN) or 6 d f (gated FFN) + 4 n d for full attention over a window of n tokens, or
4 (2r + 1) d for a sliding window of radius r. The same invocation measures the sgemm
rate of numpy (OpenBLAS) and of torch at the same thread count on a [4096, 512] x
[512, 2048] product, the shape of these models' FFN, as the ceiling to compare with.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import re
import subprocess
import sys
import time

SEED = 20261203
PAD, MASK, CLS, EOS = 1, 2, 3, 4


def nt_vocab(k: int) -> list[str]:
    specials = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>"]
    return specials + ["".join(p) for p in itertools.product("ATCG", repeat=k)] + list("ATCGN")


def read_genome(path: str, n: int) -> str:
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


def write_fasta(path: str, records: list[tuple[str, str]]):
    with open(path, "w") as f:
        for name, seq in records:
            f.write(f">{name}\n")
            for i in range(0, len(seq), 80):
                f.write(seq[i : i + 80] + "\n")


# ---------------------------------------------------------------- model building


def nt_model(v2: bool):
    """The NT model of the benchmark (random init, seeded) and its config."""
    import torch
    from transformers import EsmConfig, EsmForMaskedLM

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from nt_fixtures import BiasFreeOutput, GatedIntermediate  # noqa: E402

    torch.manual_seed(SEED + v2)
    d, layers, heads, inter = 512, 12, 16, 2048
    max_pos = 2050 if v2 else 1002
    cfg = EsmConfig(
        vocab_size=len(nt_vocab(6)), hidden_size=d, num_hidden_layers=layers,
        num_attention_heads=heads, intermediate_size=inter, max_position_embeddings=max_pos,
        position_embedding_type="rotary" if v2 else "absolute", emb_layer_norm_before=False,
        token_dropout=False, pad_token_id=PAD, mask_token_id=MASK, layer_norm_eps=1e-12,
        tie_word_embeddings=False, hidden_act="gelu",
    )
    model = EsmForMaskedLM(cfg).eval()
    if v2:
        for layer in model.esm.encoder.layer:
            layer.intermediate = GatedIntermediate(d, inter, bias=False)
            layer.output = BiasFreeOutput(d, inter, bias=False)
    return model, cfg


def build_nt(directory: str, v2: bool):
    """Writes the NT model as its hub directory lays it out."""
    import torch
    from transformers import EsmTokenizer

    os.makedirs(directory, exist_ok=True)
    model, cfg = nt_model(v2)
    d, max_pos = cfg.hidden_size, cfg.max_position_embeddings
    with open(os.path.join(directory, "vocab.txt"), "w") as f:
        f.write("\n".join(nt_vocab(6)) + "\n")
    EsmTokenizer(os.path.join(directory, "vocab.txt"), **({"eos_token": None} if v2 else {})).save_pretrained(directory)
    from safetensors.torch import save_file

    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()
          if "inv_freq" not in k and "position_ids" not in k}
    if v2:
        sd["esm.embeddings.position_embeddings.weight"] = torch.zeros(max_pos, d)
    save_file(sd, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})
    config = cfg.to_dict()
    config.pop("transformers_version", None)
    config["architectures"] = ["EsmForMaskedLM"]
    if v2:
        config.pop("model_type", None)
        config["add_bias_fnn"] = False
        config["auto_map"] = {"AutoModelForMaskedLM": "modeling_esm.EsmForMaskedLM"}
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)


def build_modernbert(directory: str):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import ModernBertConfig, ModernBertModel, PreTrainedTokenizerFast

    os.makedirs(directory, exist_ok=True)
    torch.manual_seed(SEED + 7)
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "A", "C", "G", "T", "N"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(pattern=tokenizers_regex("."), behavior="isolated")
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                            cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]").save_pretrained(directory)
    layers = 8
    cfg = ModernBertConfig(
        vocab_size=len(vocab), hidden_size=256, num_hidden_layers=layers, num_attention_heads=4,
        intermediate_size=384, max_position_embeddings=8192, local_attention=128,
        layer_types=["full_attention" if i % 3 == 0 else "sliding_attention" for i in range(layers)],
        pad_token_id=0, cls_token_id=2, sep_token_id=3, bos_token_id=2, eos_token_id=3,
    )
    model = ModernBertModel(cfg).eval()
    model.save_pretrained(directory)


def tokenizers_regex(p: str):
    from tokenizers import Regex

    return Regex(p)


# ---------------------------------------------------------------- timed runs


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


def torch_run(family: str, directory: str, fasta: str, threads: int, batch: int):
    """The transformers side, in this process (called through --torch): loads the
    directory's weights, then times the forward passes only."""
    import torch
    from safetensors.torch import load_file

    torch.set_num_threads(threads)
    records = []
    for line in open(fasta):
        if line.startswith(">"):
            records.append("")
        else:
            records[-1] += line.strip()
    if family.startswith("nt"):
        from transformers import EsmTokenizer

        v2 = family == "nt_v2"
        model, _ = nt_model(v2)
        model.load_state_dict(load_file(os.path.join(directory, "model.safetensors")), strict=False)
        model = model.esm
        tok = EsmTokenizer(os.path.join(directory, "vocab.txt"), **({"eos_token": None} if v2 else {}))
        window = (2050 if v2 else 1002) - 2
        content = window - 1 - (0 if v2 else 1)
        windows = []
        for seq in records:
            ids = tok(seq, add_special_tokens=False)["input_ids"]
            for s in range(0, len(ids), content):
                windows.append([CLS] + ids[s : s + content] + ([] if v2 else [EOS]))
        tokens = sum(len(w) for w in windows)
        lengths = [len(w) for w in windows]
        t0, c0 = time.perf_counter(), time.process_time()
        with torch.no_grad():
            for b in range(0, len(windows), batch):
                group = windows[b : b + batch]
                n = max(len(w) for w in group)
                ids = torch.full((len(group), n), PAD)
                mask = torch.zeros((len(group), n), dtype=torch.long)
                for i, w in enumerate(group):
                    ids[i, : len(w)] = torch.tensor(w)
                    mask[i, : len(w)] = 1
                model(input_ids=ids, attention_mask=mask)
    else:
        from transformers import ModernBertModel

        model = ModernBertModel.from_pretrained(directory, attn_implementation="sdpa").eval()
        vocab = {"A": 5, "C": 6, "G": 7, "T": 8, "N": 9}
        tokens = 0
        lengths = [len(r) for r in records]
        t0, c0 = time.perf_counter(), time.process_time()
        with torch.no_grad():
            for b in range(0, len(records), batch):
                group = [[vocab.get(c, 1) for c in s] for s in records[b : b + batch]]
                n = max(len(w) for w in group)
                ids = torch.zeros((len(group), n), dtype=torch.long)
                mask = torch.zeros((len(group), n), dtype=torch.long)
                for i, w in enumerate(group):
                    ids[i, : len(w)] = torch.tensor(w)
                    mask[i, : len(w)] = 1
                tokens += sum(len(w) for w in group)
                model(input_ids=ids, attention_mask=mask)
    print(f"tokens {tokens} wall {time.perf_counter() - t0:.3f} cpu {time.process_time() - c0:.3f}")
    print("windows " + ",".join(str(n) for n in lengths))


def useful_flops(family: str, windows: list[int]) -> float:
    """Useful FLOPs of the run: `windows` are the token counts of the encoded windows."""
    if family.startswith("nt"):
        d, f, layers = 512, 2048, 12
        ffn = 6 * d * f if family == "nt_v2" else 4 * d * f
        return sum(n * layers * (8 * d * d + ffn + 4 * n * d) for n in windows)
    d, f, layers, r = 256, 384, 8, 64
    total = 0.0
    for n in windows:
        for i in range(layers):
            att = 4 * n * d if i % 3 == 0 else 4 * (2 * r + 1) * d
            total += n * (8 * d * d + 6 * d * f + att)
    return total


def sgemm_rates(threads: int) -> tuple[float, float]:
    """GFLOP/s of numpy's and torch's float32 matmul on [4096, 512] x [512, 2048]."""
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    a, b = np.random.rand(4096, 512).astype(np.float32), np.random.rand(512, 2048).astype(np.float32)
    flops = 2 * 4096 * 512 * 2048

    def rate(fn):
        fn()
        t0, reps = time.perf_counter(), 0
        while time.perf_counter() - t0 < 2.0:
            fn()
            reps += 1
        return reps * flops / (time.perf_counter() - t0) / 1e9

    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    return rate(lambda: a @ b), rate(lambda: ta @ tb)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glance")
    ap.add_argument("--genome")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--bases", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--families", default="nt_v2,nt_v1,modernbert")
    ap.add_argument("--torch", nargs=3, metavar=("FAMILY", "FASTA", "BATCH"),
                    help="internal: run the transformers side of one family")
    a = ap.parse_args()
    if a.torch:
        family, fasta, batch = a.torch
        torch_run(family, os.path.join(a.workdir, family), fasta, a.threads, int(batch))
        return
    os.makedirs(a.workdir, exist_ok=True)
    genome = read_genome(a.genome, a.bases)
    if not a.glance or not a.genome:
        ap.error("--glance and --genome are required")
    np_rate, torch_rate = sgemm_rates(a.threads)
    print(f"{len(genome):,} bases; {a.threads} threads; sgemm [4096,512]x[512,2048]: numpy "
          f"{np_rate:.0f} GFLOP/s, torch {torch_rate:.0f} GFLOP/s; load average {os.getloadavg()}")
    for family in a.families.split(","):
        directory = os.path.join(a.workdir, family)
        if family == "modernbert":
            build_modernbert(directory)
            recs = [(f"r{i}", genome[s : s + 8192]) for i, s in enumerate(range(0, len(genome), 8192))]
        else:
            build_nt(directory, family == "nt_v2")
            recs = [("slice", genome)]
        fasta = os.path.join(a.workdir, f"{family}.fa")
        write_fasta(fasta, recs)
        g = timed([a.glance, "embed", "-q", "-t", str(a.threads), "--model", directory, fasta,
                   "--bin", "1000", "-o", os.path.join(a.workdir, f"{family}_out")])
        best = None
        for batch in (1, 4):
            cmd = [sys.executable, os.path.abspath(__file__), "--workdir", a.workdir,
                   "--threads", str(a.threads), "--torch", family, fasta, str(batch)]
            _, _, rss, out = timed(cmd)
            m = re.search(r"tokens (\d+) wall ([\d.]+) cpu ([\d.]+)", out)
            windows = [int(n) for n in re.search(r"windows ([\d,]+)", out).group(1).split(",")]
            t = (float(m.group(2)), float(m.group(3)), rss, int(m.group(1)))
            if best is None or t[0] < best[0][0]:
                best = (t, batch)
        (tw, tc, trss, tokens), batch = best
        gw, gc, grss, _ = g
        gflop = useful_flops(family, windows) / 1e9
        print(f"{family}: {tokens:,} tokens; glance {gw:.1f} s wall / {gc:.1f} s CPU (whole process: "
              f"load, read, tokenize, encode, pool, write), peak RSS {grss:.0f} MiB; transformers "
              f"(batch {batch}) {tw:.1f} s wall / {tc:.1f} s CPU (forward passes only), peak RSS "
              f"{trss:.0f} MiB; speed-up {tw / gw:.2f}x wall, {tc / gc:.2f}x CPU; "
              f"{tokens / gw:,.0f} vs {tokens / tw:,.0f} tokens/s; useful {gflop / gw:.0f} vs "
              f"{gflop / tw:.0f} GFLOP/s ({gflop / gw / np_rate:.2f} vs {gflop / tw / np_rate:.2f} of "
              f"numpy's sgemm rate); load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
