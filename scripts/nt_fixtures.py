#!/usr/bin/env python3
"""Nucleotide Transformer parity fixtures (random init, no download).

    /work/venv/bin/python scripts/nt_fixtures.py      # from the repository root

Needs torch, transformers and safetensors (versions in scripts/requirements.txt).
Writes two model directories under test-data/models/, each laid out as the hub's
directories are (config.json, the weights, vocab.txt, tokenizer_config.json,
special_tokens_map.json), plus `expected.safetensors`:

  nt_v1_k6   Nucleotide Transformer v1 (e.g. nucleotide-transformer-500m-human-ref):
             transformers `EsmForMaskedLM`, learned absolute positions starting at
             pad + 1, pre-LN, `token_dropout` on, `emb_layer_norm_after`, the LM head
             tied to the word embeddings; 6-mer `EsmTokenizer` vocabulary
             (`<unk> <pad> <mask> <cls> <eos> <bos>`, the 4096 6-mers in A,T,C,G order,
             then A T C G N); `<eos>` appended to each window (EsmTokenizer's default);
             weights as `pytorch_model.bin`, as the v1 hub directories ship them.
  nt_v2_k3   Nucleotide Transformer v2 (e.g. nucleotide-transformer-v2-50m-3mer-
             multi-species): the checkpoints' own modelling code (`modeling_esm.py`,
             loaded with trust_remote_code) differs from transformers' ESM in its
             feed-forward block: `intermediate.dense` projects to twice
             `intermediate_size`, the first half goes through SiLU and gates the second
             (SwiGLU), and `add_bias_fnn: false` drops both FFN biases; positions are
             rotary (rotate-half, base 10000, positions 0.. within the window, applied
             after the query is scaled by head_dim^-0.5). `NtV2Reference` below is a
             PyTorch reference of that forward pass written from the published code; it
             is checked against transformers' rotary ESM with its FFN swapped for the
             gated one. config.json carries no `model_type` (as the v2 hub configs: an
             `auto_map` to the remote code instead); the unused
             `position_embeddings.weight` is stored as the remote code creates it;
             `<eos>` is switched off (`eos_token: null`); weights in model.safetensors.

expected.safetensors, for each sequence of test-data/models/nt_sequences.fa:
  `<name>.ids`    token ids of the upper-cased sequence (EsmTokenizer, no special tokens;
                  f32). glance upper-cases soft-masked bases before tokenizing; the real
                  tokenizer would make lower-case runs `<unk>`.
  `<name>.starts` the first base of each token (f32), from the tokens' lengths
  `<name>.hidden` last hidden states of the content tokens [tokens, d]: the ids cut into
                  windows of (max_position_embeddings - pad - 1 - specials) tokens, each
                  run as `<cls> window [<eos>]`, the special rows dropped
  `short.log_probs`  log-softmax of the MLM logits of its first 8 content rows
and `masked.ids` / `masked.log_probs` (first 8 rows): one window of the `short` sequence
with two tokens replaced by `<mask>` (with `token_dropout` the mask changes every
embedding's scale).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import shutil

import torch
from safetensors.torch import save_file
from torch import nn

SEED = 20261203
OUT = os.path.join("test-data", "models")
SPECIAL = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>"]
PAD, MASK, CLS, EOS = 1, 2, 3, 4
# rows of MLM log-probabilities stored per case (a row of the 6-mer vocabulary is 16 kB)
LOG_PROB_ROWS = 8


def vocab_tokens(k: int) -> list[str]:
    return SPECIAL + ["".join(p) for p in itertools.product("ATCG", repeat=k)] + list("ATCGN")


def sequences() -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    acgt = lambda n: "".join(rng.choice("ACGT") for _ in range(n))  # noqa: E731
    return [
        # 6-mers, then a tail of 5 single nucleotides
        ("short", acgt(71)),
        # N runs, soft-masked bases, IUPAC codes (one <unk> per run of them)
        ("with_n", acgt(20) + "NNNNN" + acgt(7).lower() + "N" + acgt(13) + "RY" + acgt(9) + "K" + acgt(14)),
        # more tokens than one window
        ("long", acgt(200) + "N" + acgt(211)),
        ("tiny", acgt(4)),
    ]


def write_fasta(seqs):
    with open(os.path.join(OUT, "nt_sequences.fa"), "w") as f:
        for name, s in seqs:
            f.write(f">{name}\n")
            for i in range(0, len(s), 60):
                f.write(s[i : i + 60] + "\n")


def make_tokenizer(directory: str, k: int, eos: bool):
    from transformers import EsmTokenizer

    with open(os.path.join(directory, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab_tokens(k)) + "\n")
    kwargs = {} if eos else {"eos_token": None}
    tok = EsmTokenizer(os.path.join(directory, "vocab.txt"), **kwargs)
    tok.save_pretrained(directory)
    return tok


def token_starts(pieces: list[str]) -> list[int]:
    starts, pos = [], 0
    for t in pieces:
        starts.append(pos)
        pos += len(t)
    return starts


def windows(ids: list[int], content: int):
    return [ids[s : s + content] for s in range(0, len(ids), content)]


def wrap(w: list[int], eos: bool) -> list[int]:
    return [CLS] + w + ([EOS] if eos else [])


def expected_rows(tok, seqs, run, content: int, eos: bool) -> dict:
    """`run(ids) -> (hidden [n, d], logits [n, vocab])` for one wrapped window."""
    rows = {}
    for name, s in seqs:
        up = s.upper()
        ids = tok(up, add_special_tokens=False)["input_ids"]
        # the pieces before id lookup (a run of unknown letters is one piece, `<unk>`)
        pieces = tok.tokenize(up)
        assert len(pieces) == len(ids) and "".join(pieces) == up, name
        rows[f"{name}.ids"] = torch.tensor(ids, dtype=torch.float32)
        rows[f"{name}.starts"] = torch.tensor(token_starts(pieces), dtype=torch.float32)
        hs, lps = [], []
        for w in windows(ids, content):
            h, logits = run(wrap(w, eos))
            last = h.shape[0] - (1 if eos else 0)
            hs.append(h[1:last])
            lps.append(torch.log_softmax(logits[1:last].double(), -1).float())
        if hs:
            rows[f"{name}.hidden"] = torch.cat(hs).contiguous()
            if name == "short":  # a few rows keep the file small
                rows[f"{name}.log_probs"] = torch.cat(lps)[:LOG_PROB_ROWS].contiguous()
    short = dict(seqs)["short"].upper()
    ids = tok(short, add_special_tokens=False)["input_ids"][:content]
    ids[1] = MASK
    ids[5] = MASK
    _, logits = run(wrap(ids, eos))
    last = logits.shape[0] - (1 if eos else 0)
    rows["masked.ids"] = torch.tensor(ids, dtype=torch.float32)
    rows["masked.log_probs"] = torch.log_softmax(logits[1:last].double(), -1).float()[:LOG_PROB_ROWS].contiguous()
    return rows


def perturb(model):
    """Non-trivial norms and biases, so that every tensor matters."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name:
                p.add_(torch.randn_like(p) * 0.1)


def tidy(directory: str):
    for extra in ("generation_config.json",):
        p = os.path.join(directory, extra)
        if os.path.exists(p):
            os.remove(p)


def nt_v1(seqs):
    from transformers import EsmConfig, EsmForMaskedLM

    k = 6
    directory = os.path.join(OUT, "nt_v1_k6")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    torch.manual_seed(SEED)
    cfg = EsmConfig(
        vocab_size=len(vocab_tokens(k)),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=26,  # 26 - (pad + 1) = 24 tokens: <cls>, 22 content, <eos>
        position_embedding_type="absolute",
        emb_layer_norm_before=False,
        token_dropout=True,
        pad_token_id=PAD,
        mask_token_id=MASK,
        layer_norm_eps=1e-12,
        tie_word_embeddings=True,
        hidden_act="gelu",
    )
    model = EsmForMaskedLM(cfg).eval()
    perturb(model)
    model.save_pretrained(directory)
    tidy(directory)
    # transformers 5 writes only safetensors; the v1 hub directories hold a
    # pytorch_model.bin (torch.save's zip archive of the state dict, the LM decoder
    # sharing the word embeddings' storage), as transformers 4 wrote it.
    os.remove(os.path.join(directory, "model.safetensors"))
    torch.save(model.state_dict(), os.path.join(directory, "pytorch_model.bin"))
    tok = make_tokenizer(directory, k, eos=True)

    def run(w):
        ids = torch.tensor([w])
        with torch.no_grad():
            out = model(input_ids=ids, attention_mask=torch.ones_like(ids), output_hidden_states=True)
        return out.hidden_states[-1][0], out.logits[0]

    rows = expected_rows(tok, seqs, run, 26 - 2 - 2, eos=True)
    save_file(rows, os.path.join(directory, "expected.safetensors"))


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class NtV2Reference(nn.Module):
    """The v2 checkpoints' forward pass (modeling_esm.py of the hub repositories), from
    its published code: ESM embeddings (no positions added when rotary), pre-LN layers
    with q/k/v/out biases, the query scaled by head_dim^-0.5 before the rotary
    embedding, SwiGLU FFN without biases, `emb_layer_norm_after`, ESM's LM head."""

    def __init__(self, sd: dict, cfg: dict):
        super().__init__()
        self.sd, self.cfg = sd, cfg

    def lin(self, x, name, bias=True):
        w = self.sd[name + ".weight"]
        b = self.sd.get(name + ".bias") if bias else None
        return nn.functional.linear(x, w, b)

    def ln(self, x, name):
        d = x.shape[-1]
        return nn.functional.layer_norm(x, (d,), self.sd[name + ".weight"], self.sd[name + ".bias"], self.cfg["layer_norm_eps"])

    def forward(self, ids: torch.Tensor):
        c, sd = self.cfg, self.sd
        x = sd["esm.embeddings.word_embeddings.weight"][ids]
        if c["token_dropout"]:
            x = x.masked_fill((ids == MASK).unsqueeze(-1), 0.0)
            ratio = (ids == MASK).sum().float() / ids.shape[0]
            x = x * (1 - 0.15 * 0.8) / (1 - ratio)
        n, d = x.shape
        h = c["num_attention_heads"]
        dh = d // h
        inv_freq = 1.0 / (10000 ** (torch.arange(0, dh, 2).float() / dh))
        freqs = torch.outer(torch.arange(n).float(), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        for i in range(c["num_hidden_layers"]):
            p = f"esm.encoder.layer.{i}"
            a = self.ln(x, f"{p}.attention.LayerNorm")
            q = self.lin(a, f"{p}.attention.self.query").view(n, h, dh).transpose(0, 1) * dh**-0.5
            k = self.lin(a, f"{p}.attention.self.key").view(n, h, dh).transpose(0, 1)
            v = self.lin(a, f"{p}.attention.self.value").view(n, h, dh).transpose(0, 1)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            att = torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v
            att = att.transpose(0, 1).reshape(n, d)
            x = self.lin(att, f"{p}.attention.output.dense") + x
            f = self.ln(x, f"{p}.LayerNorm")
            g = self.lin(f, f"{p}.intermediate.dense", bias=c["add_bias_fnn"])
            x1, x2 = g.split(g.shape[-1] // 2, -1)
            x = self.lin(nn.functional.silu(x1) * x2, f"{p}.output.dense", bias=c["add_bias_fnn"]) + x
        hidden = self.ln(x, "esm.encoder.emb_layer_norm_after")
        z = self.lin(hidden, "lm_head.dense")
        z = z * 0.5 * (1.0 + torch.erf(z / math.sqrt(2.0)))
        z = self.ln(z, "lm_head.layer_norm")
        logits = nn.functional.linear(z, sd["lm_head.decoder.weight"]) + sd["lm_head.bias"]
        return hidden, logits


class GatedIntermediate(nn.Module):
    def __init__(self, d, inter, bias):
        super().__init__()
        self.dense = nn.Linear(d, 2 * inter, bias=bias)

    def forward(self, x):
        x1, x2 = self.dense(x).chunk(2, dim=-1)
        return nn.functional.silu(x1) * x2


class BiasFreeOutput(nn.Module):
    def __init__(self, d, inter, bias):
        super().__init__()
        self.dense = nn.Linear(inter, d, bias=bias)

    def forward(self, x, residual):
        return self.dense(x) + residual


def nt_v2(seqs):
    from transformers import EsmConfig, EsmForMaskedLM

    k = 3
    directory = os.path.join(OUT, "nt_v2_k3")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    torch.manual_seed(SEED + 1)
    d, inter, layers, heads, max_pos = 32, 48, 3, 4, 42
    cfg = EsmConfig(
        vocab_size=len(vocab_tokens(k)),
        hidden_size=d,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=inter,
        max_position_embeddings=max_pos,  # 42 - (pad + 1) = 40 tokens: <cls> + 39 content
        position_embedding_type="rotary",
        emb_layer_norm_before=False,
        token_dropout=False,
        pad_token_id=PAD,
        mask_token_id=MASK,
        layer_norm_eps=1e-12,
        tie_word_embeddings=False,
        hidden_act="gelu",
    )
    model = EsmForMaskedLM(cfg).eval()
    # the v2 feed-forward block, as the remote code builds it
    for layer in model.esm.encoder.layer:
        layer.intermediate = GatedIntermediate(d, inter, bias=False)
        layer.output = BiasFreeOutput(d, inter, bias=False)
    torch.manual_seed(SEED + 2)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name or "layer_norm.weight" in name or "emb_layer_norm_after.weight" in name:
                p.add_(1.0)
    sd = {k_: v.detach().clone().contiguous() for k_, v in model.state_dict().items()}
    # the remote code always creates a (unused) position table
    sd["esm.embeddings.position_embeddings.weight"] = torch.randn(max_pos, d)
    sd = {k_: v for k_, v in sd.items() if "inv_freq" not in k_ and "position_ids" not in k_}
    save_file(sd, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})
    config = {
        "add_bias_fnn": False,
        "architectures": ["EsmForMaskedLM"],
        "attention_probs_dropout_prob": 0.0,
        "auto_map": {"AutoConfig": "esm_config.EsmConfig", "AutoModelForMaskedLM": "modeling_esm.EsmForMaskedLM"},
        "emb_layer_norm_before": False,
        "esmfold_config": None,
        "hidden_dropout_prob": 0.0,
        "hidden_size": d,
        "intermediate_size": inter,
        "is_folding_model": False,
        "layer_norm_eps": 1e-12,
        "mask_token_id": MASK,
        "max_position_embeddings": max_pos,
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "pad_token_id": PAD,
        "position_embedding_type": "rotary",
        "tie_word_embeddings": False,
        "token_dropout": False,
        "torch_dtype": "float32",
        "vocab_list": None,
        "vocab_size": len(vocab_tokens(k)),
    }
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    tok = make_tokenizer(directory, k, eos=False)
    ref = NtV2Reference(sd, config)

    def run(w):
        ids = torch.tensor(w)
        with torch.no_grad():
            hidden, logits = ref(ids)
            # cross-check: transformers' rotary ESM with the gated FFN swapped in
            out = model(input_ids=ids[None], attention_mask=torch.ones_like(ids)[None], output_hidden_states=True)
        assert torch.allclose(out.hidden_states[-1][0], hidden, atol=1e-5), "reference != transformers"
        assert torch.allclose(out.logits[0], logits, atol=1e-4), "reference logits != transformers"
        return hidden, logits

    rows = expected_rows(tok, seqs, run, max_pos - 2 - 1, eos=False)
    save_file(rows, os.path.join(directory, "expected.safetensors"))


def main():
    seqs = sequences()
    write_fasta(seqs)
    nt_v1(seqs)
    nt_v2(seqs)


if __name__ == "__main__":
    main()
