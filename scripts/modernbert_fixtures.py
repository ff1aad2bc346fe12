#!/usr/bin/env python3
"""ModernBERT parity fixtures for glance-model (no download; random init, seeded).

Re-run from the repository root:  /work/venv/bin/python scripts/modernbert_fixtures.py

Provenance: transformers' own `ModernBertModel` / `ModernBertForMaskedLM` (versions
printed at the end and pinned in scripts/requirements.txt) in their real configuration
shape at a small size: bias-free layers and norms, GeGLU, global attention every
`global_attn_every_n_layers` layers, sliding windows of `local_attention` tokens
elsewhere, RoPE with the global and local thetas in `rope_parameters`, a final norm.
Tokenizer: a char-level DNA `tokenizer.json` (WordLevel over [PAD] [UNK] [CLS] [SEP]
[MASK] A C G T N, pre-tokenizer `Split(Regex("."), "isolated")`, a `[CLS] $A [SEP]`
post-processor) built with the Python `tokenizers` package and saved with
`PreTrainedTokenizerFast.save_pretrained`. Weights are saved with `save_pretrained`
(model.safetensors, f32). Weights are drawn with initializer_range 0.2 (10x the
default: attention far from uniform, so positions matter), and norm weights and every
bias are perturbed away from their initial 1 / 0 so that every tensor matters.

Writes under test-data/models/:
  modernbert_sequences.fa   the inputs: odd lengths, N runs, lower-case (soft-masked)
                            stretches, one longer than the streaming tests' chunks
  modernbert_mixed/         ModernBertModel, 4 layers, layers 0 and 3 global (every 3rd),
                            local_attention 16, vocab_size 16 (padded past the 10 tokens)
  modernbert_local_mlm/     ModernBertForMaskedLM, 3 layers, every layer local
                            (`layer_types` all "sliding_attention": the way transformers
                            makes a stack without a global layer), with attention, MLP
                            and norm biases (`attention_bias`, `mlp_bias`, `norm_bias`)
Each holds expected.safetensors: per sequence `<name>.ids` (token ids as f32, from the
Python tokenizer of `seq.upper()` without special tokens: glance upper-cases soft-masked
bases and adds no [CLS]/[SEP] for these RoPE models), `<name>.hidden` (last hidden
states [tokens, d], the whole sequence in one call, eager attention), and for the MLM
model `<name>.log_probs` (log-softmax of the MLM logits, [tokens, vocab_size]).
"""

from __future__ import annotations

import json
import os
import random

import torch

SEED = 20261203
OUT = os.path.join("test-data", "models")
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TOKENS = SPECIAL + ["A", "C", "G", "T", "N"]


def sequences() -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    acgt = lambda n: "".join(rng.choice("ACGT") for _ in range(n))  # noqa: E731
    return [
        ("odd", acgt(20) + acgt(17).lower()),
        ("with_n", acgt(40) + "NNNNN" + acgt(30).lower() + "n" + acgt(44) + "N"),
        ("long", acgt(150) + acgt(51).lower() + "NN" + acgt(198)),
        ("one", "g"),
    ]


def write_fasta(seqs):
    with open(os.path.join(OUT, "modernbert_sequences.fa"), "w") as f:
        for name, s in seqs:
            f.write(f">{name}\n")
            for i in range(0, len(s), 60):
                f.write(s[i : i + 60] + "\n")


def make_tokenizer(directory: str):
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(TOKENS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    fast.save_pretrained(directory)
    return fast


def perturb(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(torch.randn_like(p) * 0.1)


def build(name: str, cls, seqs, **config):
    from safetensors.torch import save_file
    from transformers import ModernBertConfig

    torch.manual_seed(SEED + sum(name.encode()))
    cfg = ModernBertConfig(
        vocab_size=16,
        hidden_size=32,
        intermediate_size=48,
        num_attention_heads=4,
        local_attention=16,
        # 10x transformers' default init, so that attention is far from uniform and
        # positions (RoPE thetas, window edges) move the outputs well above the tolerance
        initializer_range=0.2,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
        cls_token_id=2,
        sep_token_id=3,
        attn_implementation="eager",
        **config,
    )
    model = cls(cfg).eval()
    perturb(model)
    directory = os.path.join(OUT, name)
    os.makedirs(directory, exist_ok=True)
    model.save_pretrained(directory, safe_serialization=True)
    gen = os.path.join(directory, "generation_config.json")
    if os.path.exists(gen):
        os.remove(gen)
    fast = make_tokenizer(directory)
    base = model.model if hasattr(model, "model") else model
    rows = {}
    for sname, s in seqs:
        ids = fast(s.upper(), add_special_tokens=False)["input_ids"]
        assert len(ids) == len(s)
        rows[f"{sname}.ids"] = torch.tensor(ids, dtype=torch.float32)
        x = torch.tensor([ids])
        with torch.no_grad():
            rows[f"{sname}.hidden"] = base(input_ids=x).last_hidden_state[0].contiguous()
            if base is not model:
                logits = model(input_ids=x).logits[0]
                rows[f"{sname}.log_probs"] = torch.log_softmax(logits, -1).contiguous()
    save_file(rows, os.path.join(directory, "expected.safetensors"))
    with open(os.path.join(directory, "config.json")) as f:
        saved = json.load(f)
    print(name, saved["layer_types"], saved["rope_parameters"])


def main():
    import tokenizers
    import transformers
    from transformers import ModernBertForMaskedLM, ModernBertModel

    os.makedirs(OUT, exist_ok=True)
    seqs = sequences()
    write_fasta(seqs)
    build("modernbert_mixed", ModernBertModel, seqs,
          num_hidden_layers=4, global_attn_every_n_layers=3)
    build("modernbert_local_mlm", ModernBertForMaskedLM, seqs,
          num_hidden_layers=3, layer_types=["sliding_attention"] * 3,
          attention_bias=True, mlp_bias=True, norm_bias=True, local_rope_theta=5000.0)
    print("torch", torch.__version__, "transformers", transformers.__version__,
          "tokenizers", tokenizers.__version__, "seed", SEED)


if __name__ == "__main__":
    main()
