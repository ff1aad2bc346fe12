#!/usr/bin/env python3
"""DNABERT-2 parity fixtures (random init, no download).

    /work/venv/bin/python scripts/dnabert2_fixtures.py      # from the repository root

Needs torch, tokenizers and safetensors (versions in scripts/requirements.txt; written
with torch 2.15 and tokenizers 0.23). Re-running gives the same files (fixed seeds).

Writes test-data/models/dnabert2_sequences.fa and test-data/models/dnabert2_bpe/, laid
out as the hub directory zhihan1996/DNABERT-2-117M is (config.json with its real keys,
model.safetensors, tokenizer.json, tokenizer_config.json), at a small size:

- tokenizer.json: a byte-pair-encoding tokenizer trained here with the `tokenizers`
  package on random DNA (vocabulary of 96 tokens; special tokens in DNABERT-2's order
  `[UNK] [CLS] [SEP] [PAD] [MASK]`, ids 0..4; a `Whitespace` pre-tokenizer; a
  `TemplateProcessing` post-processor that wraps a sequence as `[CLS] $A [SEP]`, as
  DNABERT-2's does). `N` and IUPAC codes are not in the alphabet: each becomes `[UNK]`.
- the model: DNABERT-2's `BertForMaskedLM` from its published `bert_layers.py` (MosaicBERT):
  embeddings without positions (word + token type 0, LayerNorm), layers with a fused
  `attention.self.Wqkv`, ALiBi biases `-slope_h * |i - j|` with the slopes of
  `_get_alibi_head_slopes` (for a head count that is not a power of two: the slopes of the
  nearest lower power of two, then every other slope of twice that), post-LN
  (`attention.output.LayerNorm`), a gated-GELU FFN (`mlp.gated_layers` without bias,
  [2 * intermediate, d]: the first half goes through the erf GELU and multiplies the
  second; `mlp.wo`; `mlp.layernorm` after the residual), no final norm; the MLM head
  `cls.predictions.transform.{dense, LayerNorm (eps 1e-12 fixed in the code)}`, decoder
  tied to the word embeddings with its own bias (`cls.predictions.decoder.bias`).
  6 heads (not a power of two, as DNABERT-2's 12), hidden 24, 2 layers.
  `Dnabert2Reference` below is that forward pass in the eval, unpadded case: without
  padding, unpadding is the identity and its attention is plain softmax attention with
  the ALiBi bias added to the scaled scores.

The inputs (dnabert2_sequences.fa) hold `N` runs, lower-case (soft-masked) runs and an IUPAC
code; glance upper-cases soft-masked bases, so the reference tokenizes `seq.upper()`.
Windows: `max_position_embeddings` (32) tokens, `[CLS]` + 30 content tokens + `[SEP]`, the
ids cut every 30 tokens, as glance runs DNABERT-2.

expected.safetensors, per sequence `<name>` (all f32):
  `<name>.ids`     token ids of the upper-cased sequence, no special tokens
  `<name>.starts`, `<name>.ends`  each token's bases (the encoding's offsets)
  `<name>.hidden`  last hidden states of the content tokens, window by window
  `short.log_probs` log-softmax of the MLM logits of its first 8 content rows
and `whole.<name>.ids` / `whole.<name>.hidden` for `long`: the whole token sequence as one
window (`[CLS] ... [SEP]`, ALiBi extrapolates), for the sliding-pattern test.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
from torch import nn

SEED = 20261204
OUT = os.path.join("test-data", "models")
NAME = "dnabert2_bpe"
SPECIAL = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
UNK, CLS, SEP, PAD, MASK = range(5)
VOCAB = 96
D, HEADS, LAYERS, INTER, WINDOW = 24, 6, 2, 40, 32
EPS = 1e-12
LOG_PROB_ROWS = 8


def sequences() -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    acgt = lambda n: "".join(rng.choice("ACGT") for _ in range(n))  # noqa: E731
    return [
        ("short", acgt(90)),
        ("with_n", acgt(40) + "NNNN" + acgt(25).lower() + "N" + acgt(30) + "R" + acgt(33)),
        # several windows of 30 tokens
        ("long", acgt(300) + "N" + acgt(260).lower() + acgt(200)),
        ("tiny", acgt(3)),
    ]


def write_fasta(seqs):
    with open(os.path.join(OUT, "dnabert2_sequences.fa"), "w") as f:
        for name, s in seqs:
            f.write(f">{name}\n")
            for i in range(0, len(s), 60):
                f.write(s[i : i + 60] + "\n")


def train_tokenizer(directory: str) -> Tokenizer:
    rng = random.Random(SEED + 1)
    # random DNA with a few repeated motifs, so that merges grow beyond pairs
    motifs = ["".join(rng.choice("ACGT") for _ in range(rng.randint(4, 9))) for _ in range(12)]
    corpus = []
    for _ in range(400):
        parts = []
        while sum(map(len, parts)) < 200:
            parts.append(rng.choice(motifs) if rng.random() < 0.3 else "".join(rng.choice("ACGT") for _ in range(rng.randint(1, 6))))
        corpus.append("".join(parts))
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=SPECIAL, initial_alphabet=list("ACGT"), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", CLS), ("[SEP]", SEP)],
    )
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    for i, s in enumerate(SPECIAL):
        assert tok.token_to_id(s) == i
    tok.save(os.path.join(directory, "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 1000000000000000019884624838656,
        "unk_token": "[UNK]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "mask_token": "[MASK]",
    }
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    return tok


def alibi_slopes(n: int) -> list[float]:
    """`_get_alibi_head_slopes` of bert_layers.py (Press et al.'s recipe)."""

    def power_of_2(n: int) -> list[float]:
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(n).is_integer():
        return power_of_2(n)
    closest = 2 ** math.floor(math.log2(n))
    return power_of_2(closest) + alibi_slopes(2 * closest)[0::2][: n - closest]


class Dnabert2Reference(nn.Module):
    """DNABERT-2's `BertForMaskedLM` forward pass (bert_layers.py), eval, one unpadded
    sequence; parameters under the checkpoint's own names."""

    def __init__(self):
        super().__init__()
        emb = nn.Module()
        emb.word_embeddings = nn.Embedding(VOCAB, D, padding_idx=PAD)
        emb.token_type_embeddings = nn.Embedding(2, D)
        emb.LayerNorm = nn.LayerNorm(D, eps=EPS)
        layers = nn.ModuleList()
        for _ in range(LAYERS):
            layer = nn.Module()
            layer.attention = nn.Module()
            layer.attention.self = nn.Module()
            layer.attention.self.Wqkv = nn.Linear(D, 3 * D)
            layer.attention.output = nn.Module()
            layer.attention.output.dense = nn.Linear(D, D)
            layer.attention.output.LayerNorm = nn.LayerNorm(D, eps=EPS)
            layer.mlp = nn.Module()
            layer.mlp.gated_layers = nn.Linear(D, 2 * INTER, bias=False)
            layer.mlp.wo = nn.Linear(INTER, D)
            layer.mlp.layernorm = nn.LayerNorm(D, eps=EPS)
            layers.append(layer)
        encoder = nn.Module()
        encoder.layer = layers
        self.bert = nn.Module()
        self.bert.embeddings = emb
        self.bert.encoder = encoder
        self.cls = nn.Module()
        self.cls.predictions = nn.Module()
        self.cls.predictions.transform = nn.Module()
        self.cls.predictions.transform.dense = nn.Linear(D, D)
        self.cls.predictions.transform.LayerNorm = nn.LayerNorm(D, eps=1e-12)
        self.cls.predictions.decoder = nn.Linear(D, VOCAB)
        self.cls.predictions.decoder.weight = emb.word_embeddings.weight

    def forward(self, ids: torch.Tensor):
        e = self.bert.embeddings
        x = e.word_embeddings(ids) + e.token_type_embeddings(torch.zeros_like(ids))
        x = e.LayerNorm(x)
        n = ids.shape[0]
        dh = D // HEADS
        pos = torch.arange(n)
        distance = (pos[None, :] - pos[:, None]).abs().float()
        bias = -torch.tensor(alibi_slopes(HEADS))[:, None, None] * distance  # [h, n, n]
        for layer in self.bert.encoder.layer:
            qkv = layer.attention.self.Wqkv(x).view(n, 3, HEADS, dh)
            q, k, v = (qkv[:, t].transpose(0, 1) for t in range(3))  # [h, n, dh]
            scores = q @ k.transpose(-1, -2) / math.sqrt(dh) + bias
            att = (torch.softmax(scores, -1) @ v).transpose(0, 1).reshape(n, D)
            a = layer.attention.output.LayerNorm(layer.attention.output.dense(att) + x)
            g = layer.mlp.gated_layers(a)
            gated, non_gated = g[:, :INTER], g[:, INTER:]
            h = nn.functional.gelu(gated) * non_gated
            x = layer.mlp.layernorm(layer.mlp.wo(h) + a)
        t = self.cls.predictions.transform
        z = t.LayerNorm(nn.functional.gelu(t.dense(x)))
        return x, self.cls.predictions.decoder(z)


def config() -> dict:
    """DNABERT-2-117M's config.json keys, at this size."""
    return {
        "_name_or_path": "zhihan1996/DNABERT-2-117M",
        "alibi_starting_size": WINDOW,
        "architectures": ["BertForMaskedLM"],
        "attention_probs_dropout_prob": 0.0,
        "auto_map": {
            "AutoConfig": "configuration_bert.BertConfig",
            "AutoModel": "bert_layers.BertModel",
            "AutoModelForMaskedLM": "bert_layers.BertForMaskedLM",
            "AutoModelForSequenceClassification": "bert_layers.BertForSequenceClassification",
        },
        "classifier_dropout": None,
        "gradient_checkpointing": False,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": D,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "layer_norm_eps": EPS,
        "max_position_embeddings": WINDOW,
        "model_type": "bert",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "transformers_version": "4.29.0",
        "type_vocab_size": 2,
        "use_cache": True,
        "vocab_size": VOCAB,
    }


def main():
    seqs = sequences()
    write_fasta(seqs)
    directory = os.path.join(OUT, NAME)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    tok = train_tokenizer(directory)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config(), f, indent=2, sort_keys=True)
        f.write("\n")
    torch.manual_seed(SEED)
    model = Dnabert2Reference().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn_like(p) * 0.3)
            if name.endswith("LayerNorm.weight") or name.endswith("layernorm.weight"):
                p.add_(1.0)
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})

    content = WINDOW - 2
    rows = {}

    def run(ids):
        with torch.no_grad():
            return model(torch.tensor([CLS] + ids + [SEP]))

    for name, s in seqs:
        up = s.upper()
        enc = tok.encode(up, add_special_tokens=False)
        full = tok.encode(up)
        assert full.ids == [CLS] + enc.ids + [SEP], name
        rows[f"{name}.ids"] = torch.tensor(enc.ids, dtype=torch.float32)
        rows[f"{name}.starts"] = torch.tensor([o[0] for o in enc.offsets], dtype=torch.float32)
        rows[f"{name}.ends"] = torch.tensor([o[1] for o in enc.offsets], dtype=torch.float32)
        hs, lps = [], []
        for w0 in range(0, len(enc.ids), content):
            h, logits = run(enc.ids[w0 : w0 + content])
            hs.append(h[1:-1])
            lps.append(torch.log_softmax(logits[1:-1].double(), -1).float())
        rows[f"{name}.hidden"] = torch.cat(hs).contiguous()
        if name == "short":
            rows[f"{name}.log_probs"] = torch.cat(lps)[:LOG_PROB_ROWS].contiguous()
        if name == "long":
            h, _ = run(enc.ids)
            rows[f"whole.{name}.hidden"] = h[1:-1].contiguous()
        print(name, len(up), "bases", len(enc.ids), "tokens")
    save_file(rows, os.path.join(directory, "expected.safetensors"))
    print("slopes", alibi_slopes(HEADS))


if __name__ == "__main__":
    main()
