#!/usr/bin/env python3
"""GENA-LM parity fixtures (random init, no download).

    /work/venv/bin/python scripts/gena_fixtures.py      # from the repository root

Needs torch, transformers, tokenizers and safetensors (versions in
scripts/requirements.txt; written with torch 2.15, transformers 5.24, tokenizers 0.23).
Re-running gives the same files (fixed seeds).

Writes test-data/models/gena_sequences.fa and two checkpoint directories laid out as
GENA-LM's hub directories are (config.json with their real keys, model.safetensors,
tokenizer.json, tokenizer_config.json), at small sizes:

- tokenizer.json (both): a byte-pair-encoding tokenizer trained here with the
  `tokenizers` package on random DNA with repeated motifs (128 tokens; special tokens
  `[PAD] [UNK] [CLS] [SEP] [MASK]`, ids 0..4; a `Whitespace` pre-tokenizer; a
  `TemplateProcessing` post-processor wrapping a sequence as `[CLS] $A [SEP]`, as
  GENA-LM's does). `N` and IUPAC codes become `[UNK]`.
- gena_bert_bpe: GENA-LM's `BertForMaskedLM` with `pre_layer_norm: true` (their
  `modeling_bert.py`, which transformers' BertModel cannot express). `GenaBertReference`
  below is its eval forward pass: embeddings (word + absolute position from 0 + token
  type 0, LayerNorm), per layer `h = x + attention.output.dense(attn(pre_attention_ln(x)))`
  and `out = h + output.dense(gelu(intermediate.dense(post_attention_ln(h))))`, then
  `encoder.last_layer_ln` (`last_layer_norm` defaults to `pre_layer_norm`); the BERT MLM
  head. 4 heads, hidden 32, 2 layers, 48 positions.
- gena_bigbird_bpe: transformers' `BigBirdForMaskedLM` (model_type `big_bird`,
  `attention_type: block_sparse`, block_size 8, num_random_blocks 2, `gelu_new`), 4 heads,
  hidden 32, 2 layers, 128 positions. BigBirdModel runs full attention for inputs of at
  most (5 + 2 * 2) * 8 = 72 tokens, block-sparse above: the fixture inputs give windows
  of 128 tokens, windows of 73..127 tokens (padded to a multiple of 8 by the model) and
  windows of at most 72. transformers' switch to full attention is sticky (it stays set
  on the model), so the reference sets `block_sparse` back before every call.

Windows: `max_position_embeddings` tokens, `[CLS]` + content + `[SEP]`, content cut from
the token ids of the upper-cased record every `max_position_embeddings - 2` tokens, as
glance runs both.

expected.safetensors in each directory, per sequence `<name>` (all f32):
  `<name>.ids`, `<name>.starts`, `<name>.ends`  token ids (no special tokens) and spans
  `<name>.hidden`  last hidden states of the content tokens, window by window
  `short.log_probs`  log-softmax of the MLM logits of its first 8 content rows
  `layers.long.<i>`  hidden states after embeddings (0) and layer i (1..) of the first
                     window of `long`, [CLS] and [SEP] rows included
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

SEED = 20261205
OUT = os.path.join("test-data", "models")
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PAD, UNK, CLS, SEP, MASK = range(5)
VOCAB = 128
D, HEADS, LAYERS, INTER = 32, 4, 2, 64
EPS = 1e-12
BERT_WINDOW = 48
BIGBIRD_WINDOW, BLOCK, RANDOM = 128, 8, 2
LOG_PROB_ROWS = 8


def sequences() -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    acgt = lambda n: "".join(rng.choice("ACGT") for _ in range(n))  # noqa: E731
    return [
        ("short", acgt(150)),
        ("with_n", acgt(60) + "NNNN" + acgt(40).lower() + "N" + acgt(50) + "R" + acgt(90)),
        ("long", acgt(700) + "N" + acgt(400).lower() + acgt(500)),
        ("tiny", acgt(5)),
    ]


def write_fasta(seqs):
    with open(os.path.join(OUT, "gena_sequences.fa"), "w") as f:
        for name, s in seqs:
            f.write(f">{name}\n")
            for i in range(0, len(s), 60):
                f.write(s[i : i + 60] + "\n")


def train_tokenizer() -> Tokenizer:
    rng = random.Random(SEED + 1)
    motifs = ["".join(rng.choice("ACGT") for _ in range(rng.randint(4, 10))) for _ in range(16)]
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
    return tok


def write_tokenizer(tok: Tokenizer, directory: str) -> None:
    tok.save(os.path.join(directory, "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": "[UNK]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "mask_token": "[MASK]",
    }
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


class GenaBertReference(nn.Module):
    """GENA-LM's `BertForMaskedLM` with pre_layer_norm (modeling_bert.py), eval, one
    sequence without padding; parameters under the checkpoint's own names."""

    def __init__(self):
        super().__init__()
        emb = nn.Module()
        emb.word_embeddings = nn.Embedding(VOCAB, D)
        emb.position_embeddings = nn.Embedding(BERT_WINDOW, D)
        emb.token_type_embeddings = nn.Embedding(2, D)
        emb.LayerNorm = nn.LayerNorm(D, eps=EPS)
        layers = nn.ModuleList()
        for _ in range(LAYERS):
            layer = nn.Module()
            layer.pre_attention_ln = nn.LayerNorm(D, eps=EPS)
            layer.post_attention_ln = nn.LayerNorm(D, eps=EPS)
            layer.attention = nn.Module()
            layer.attention.self = nn.Module()
            for name in ["query", "key", "value"]:
                setattr(layer.attention.self, name, nn.Linear(D, D))
            layer.attention.output = nn.Module()
            layer.attention.output.dense = nn.Linear(D, D)
            layer.intermediate = nn.Module()
            layer.intermediate.dense = nn.Linear(D, INTER)
            layer.output = nn.Module()
            layer.output.dense = nn.Linear(INTER, D)
            layers.append(layer)
        encoder = nn.Module()
        encoder.layer = layers
        encoder.last_layer_ln = nn.LayerNorm(D, eps=EPS)
        self.bert = nn.Module()
        self.bert.embeddings = emb
        self.bert.encoder = encoder
        self.cls = nn.Module()
        self.cls.predictions = nn.Module()
        self.cls.predictions.transform = nn.Module()
        self.cls.predictions.transform.dense = nn.Linear(D, D)
        self.cls.predictions.transform.LayerNorm = nn.LayerNorm(D, eps=EPS)
        self.cls.predictions.bias = nn.Parameter(torch.zeros(VOCAB))

    def forward(self, ids: torch.Tensor):
        e = self.bert.embeddings
        n = ids.shape[0]
        x = e.word_embeddings(ids) + e.token_type_embeddings(torch.zeros_like(ids)) + e.position_embeddings(torch.arange(n))
        x = e.LayerNorm(x)
        states = [x]
        dh = D // HEADS
        for layer in self.bert.encoder.layer:
            a = layer.pre_attention_ln(x)
            s = layer.attention.self
            q, k, v = (m(a).view(n, HEADS, dh).transpose(0, 1) for m in (s.query, s.key, s.value))
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), -1) @ v
            h = x + layer.attention.output.dense(att.transpose(0, 1).reshape(n, D))
            f = layer.output.dense(nn.functional.gelu(layer.intermediate.dense(layer.post_attention_ln(h))))
            x = h + f
            states.append(x)
        x = self.bert.encoder.last_layer_ln(x)
        states[-1] = x
        t = self.cls.predictions.transform
        z = t.LayerNorm(nn.functional.gelu(t.dense(x)))
        logits = z @ e.word_embeddings.weight.T + self.cls.predictions.bias
        return x, logits, states


def bert_config() -> dict:
    """gena-lm-bert-base-t2t's config.json keys, at this size."""
    return {
        "architectures": ["BertForMaskedLM"],
        "attention_probs_dropout_prob": 0.0,
        "classifier_dropout": None,
        "gradient_checkpointing": False,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": D,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "layer_norm_eps": EPS,
        "max_position_embeddings": BERT_WINDOW,
        "model_type": "bert",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "pad_token_id": PAD,
        "position_embedding_type": "absolute",
        "pre_layer_norm": True,
        "torch_dtype": "float32",
        "transformers_version": "4.17.0",
        "type_vocab_size": 2,
        "use_cache": True,
        "vocab_size": VOCAB,
    }


def bigbird_model():
    from transformers import BigBirdConfig, BigBirdForMaskedLM

    config = BigBirdConfig(
        vocab_size=VOCAB,
        hidden_size=D,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=INTER,
        hidden_act="gelu_new",
        max_position_embeddings=BIGBIRD_WINDOW,
        type_vocab_size=2,
        layer_norm_eps=EPS,
        pad_token_id=PAD,
        bos_token_id=CLS,
        eos_token_id=SEP,
        sep_token_id=SEP,
        attention_type="block_sparse",
        block_size=BLOCK,
        num_random_blocks=RANDOM,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    config.architectures = ["BigBirdForMaskedLM"]
    return BigBirdForMaskedLM(config).eval()


def randomize(model: nn.Module) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn_like(p) * 0.3)
            if "LayerNorm.weight" in name or "_ln.weight" in name:
                p.add_(1.0)


def write_case(directory: str, tok: Tokenizer, seqs, window: int, run) -> None:
    content = window - 2
    rows = {}
    for name, s in seqs:
        up = s.upper()
        enc = tok.encode(up, add_special_tokens=False)
        assert tok.encode(up).ids == [CLS] + enc.ids + [SEP], name
        rows[f"{name}.ids"] = torch.tensor(enc.ids, dtype=torch.float32)
        rows[f"{name}.starts"] = torch.tensor([o[0] for o in enc.offsets], dtype=torch.float32)
        rows[f"{name}.ends"] = torch.tensor([o[1] for o in enc.offsets], dtype=torch.float32)
        hs, lps, lengths = [], [], []
        for w0 in range(0, len(enc.ids), content):
            ids = [CLS] + enc.ids[w0 : w0 + content] + [SEP]
            h, logits, states = run(ids)
            lengths.append(len(ids))
            hs.append(h[1:-1])
            lps.append(torch.log_softmax(logits[1:-1].double(), -1).float())
            if name == "long" and w0 == 0:
                for i, st in enumerate(states):
                    rows[f"layers.long.{i}"] = st.contiguous()
        rows[f"{name}.hidden"] = torch.cat(hs).contiguous()
        if name == "short":
            rows[f"{name}.log_probs"] = torch.cat(lps)[:LOG_PROB_ROWS].contiguous()
        print(directory, name, len(up), "bases", len(enc.ids), "tokens, windows of", lengths)
    save_file(rows, os.path.join(directory, "expected.safetensors"))


def fresh_dir(name: str) -> str:
    directory = os.path.join(OUT, name)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    return directory


def main():
    seqs = sequences()
    write_fasta(seqs)
    tok = train_tokenizer()

    directory = fresh_dir("gena_bert_bpe")
    write_tokenizer(tok, directory)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(bert_config(), f, indent=2, sort_keys=True)
        f.write("\n")
    torch.manual_seed(SEED)
    bert = GenaBertReference().eval()
    randomize(bert)
    sd = {k: v.detach().clone().contiguous() for k, v in bert.state_dict().items()}
    save_file(sd, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})

    def run_bert(ids):
        with torch.no_grad():
            return bert(torch.tensor(ids))

    write_case(directory, tok, seqs, BERT_WINDOW, run_bert)

    directory = fresh_dir("gena_bigbird_bpe")
    write_tokenizer(tok, directory)
    torch.manual_seed(SEED + 2)
    bigbird = bigbird_model()
    randomize(bigbird)
    bigbird.save_pretrained(directory)

    def run_bigbird(ids):
        # transformers' switch to original_full for short inputs stays set: undo it.
        bigbird.bert.set_attention_type("block_sparse")
        with torch.no_grad():
            out = bigbird(torch.tensor([ids]), output_hidden_states=True)
        states = [s[0] for s in out.hidden_states]
        return states[-1], out.logits[0], states

    write_case(directory, tok, seqs, BIGBIRD_WINDOW, run_bigbird)


if __name__ == "__main__":
    main()
