"""Writes the glance-model parity fixtures under test-data/models/ (no download).

Re-run from the repository root:  /work/venv/bin/python scripts/model_fixtures.py

For every model directory it writes the model (Hugging Face checkpoints with
`save_pretrained`, native ones with scripts/native_reference.py) and
`expected.safetensors`: for each sequence of test-data/models/sequences.fa,
`<name>.ids` (token ids as f32) and `<name>.hidden` (last hidden states of the content
tokens, [tokens, d], f32), computed by transformers / the PyTorch reference.

Checkpoints with learned positions run as glance runs them: the token sequence split into
windows of (position table - 2) tokens, each wrapped in [CLS] ... [SEP]; only content
tokens are kept. Longformer gets global attention on [CLS].

Models (random init, seed below):
  bert_k3        BertModel, DNABERT k=3 vocab; config.json without layer_norm_eps and
                 pad_token_id (as DNABERT's configs)
  bert_k6_mlm    BertForMaskedLM, DNABERT k=6 vocab ("bert." tensor prefix)
  longformer_k3  LongformerModel, attention_window [8, 4, 16], global [CLS]
  longformer_k3_mlm  LongformerForMaskedLM (attention_window [4, 8]), its lm_head
                 perturbed away from init; expected.safetensors also holds
                 `<name>.log_probs` (log-softmax of the MLM logits of the content tokens,
                 [tokens, vocab]). Only this one: `python scripts/model_fixtures.py
                 longformer_mlm`
  native_mixed   native: sliding / dilated / block layers, rope, pre-LN, gelu, final norm,
                 learned pooling query
  native_alibi   native: alibi, post-LN, swiglu, k=2 stride 2
  native_learned native: learned positions (windows), full attention, relu, post-LN
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from native_reference import NativeEncoder, save_native  # noqa: E402

SEED = 20261128
OUT = os.path.join("test-data", "models")
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def vocab_tokens(k: int) -> list[str]:
    return SPECIAL + ["".join(p) for p in itertools.product("ATCG", repeat=k)]


def tokenize(seq: str, k: int, stride: int, vocab: dict) -> list[int]:
    seq = seq.upper()
    if len(seq) < k:
        return []
    return [vocab.get(seq[i : i + k], 1) for i in range(0, len(seq) - k + 1, stride)]


def sequences() -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    acgt = lambda n: "".join(rng.choice("ACGT") for _ in range(n))  # noqa: E731
    return [
        ("short", acgt(30)),
        ("with_n", acgt(20) + "NNNNN" + acgt(6).lower() + "N" + acgt(18)),
        ("long", acgt(170)),
        ("tiny", acgt(4)),
    ]


def write_fasta(seqs):
    with open(os.path.join(OUT, "sequences.fa"), "w") as f:
        for name, s in seqs:
            f.write(f">{name}\n")
            for i in range(0, len(s), 60):
                f.write(s[i : i + 60] + "\n")


def write_vocab(directory: str, k: int):
    with open(os.path.join(directory, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab_tokens(k)) + "\n")


def windowed(run, ids: list[int], content: int, cls: int = 2, sep: int = 3) -> torch.Tensor:
    """Runs `run(window_ids) -> [len, d]` per [CLS] window [SEP]; keeps content rows."""
    outs = []
    for start in range(0, len(ids), content):
        w = [cls] + ids[start : start + content] + [sep]
        outs.append(run(w)[1:-1])
    return torch.cat(outs) if outs else None


def save_expected(directory: str, rows: dict):
    from safetensors.torch import save_file

    save_file(rows, os.path.join(directory, "expected.safetensors"))


def hf_model(directory, model, base, k, content, seqs, drop_keys=(), global_cls=False):
    os.makedirs(directory, exist_ok=True)
    model.eval()
    model.save_pretrained(directory, safe_serialization=True)
    for extra in ("generation_config.json",):
        p = os.path.join(directory, extra)
        if os.path.exists(p):
            os.remove(p)
    if drop_keys:
        path = os.path.join(directory, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        for key in drop_keys:
            cfg.pop(key, None)
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
            f.write("\n")
    write_vocab(directory, k)
    vocab = {t: i for i, t in enumerate(vocab_tokens(k))}

    def run(w):
        ids = torch.tensor([w])
        kwargs = {"attention_mask": torch.ones_like(ids)}
        if global_cls:
            g = torch.zeros_like(ids)
            g[0, 0] = 1
            kwargs["global_attention_mask"] = g
        with torch.no_grad():
            return base(input_ids=ids, **kwargs).last_hidden_state[0]

    rows = {}
    for name, s in seqs:
        ids = tokenize(s, k, 1, vocab)
        rows[f"{name}.ids"] = torch.tensor(ids, dtype=torch.float32)
        if ids:
            rows[f"{name}.hidden"] = windowed(run, ids, content).contiguous()
    save_expected(directory, rows)


def bert(seqs):
    from transformers import BertConfig, BertForMaskedLM, BertModel

    torch.manual_seed(SEED)
    cfg = BertConfig(
        vocab_size=len(vocab_tokens(3)),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        type_vocab_size=2,
    )
    m = BertModel(cfg, add_pooling_layer=True)
    hf_model(os.path.join(OUT, "bert_k3"), m, m, 3, 62, seqs,
             drop_keys=("layer_norm_eps", "pad_token_id"))

    torch.manual_seed(SEED + 1)
    cfg6 = BertConfig(
        vocab_size=len(vocab_tokens(6)),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=40,
        hidden_act="gelu_new",
    )
    mlm = BertForMaskedLM(cfg6)
    hf_model(os.path.join(OUT, "bert_k6_mlm"), mlm, mlm.bert, 6, 38, seqs)


def longformer(seqs):
    from transformers import LongformerConfig, LongformerModel

    torch.manual_seed(SEED + 2)
    cfg = LongformerConfig(
        vocab_size=len(vocab_tokens(3)),
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=64,
        attention_window=[8, 4, 16],
        max_position_embeddings=66,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
        sep_token_id=3,
        type_vocab_size=1,
    )
    m = LongformerModel(cfg, add_pooling_layer=False)
    # 66 positions - (pad + 1) offset - [CLS] - [SEP] = 63 content tokens per window.
    hf_model(os.path.join(OUT, "longformer_k3"), m, m, 3, 63, seqs, global_cls=True)


def longformer_mlm(seqs):
    from transformers import LongformerConfig, LongformerForMaskedLM

    torch.manual_seed(SEED + 3)
    cfg = LongformerConfig(
        vocab_size=len(vocab_tokens(3)),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        attention_window=[4, 8],
        max_position_embeddings=42,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
        sep_token_id=3,
        type_vocab_size=1,
    )
    m = LongformerForMaskedLM(cfg).eval()
    with torch.no_grad():
        for pname, p in m.lm_head.named_parameters():
            if pname.endswith("bias") or "norm" in pname:
                p.add_(torch.randn_like(p) * 0.1)
    directory = os.path.join(OUT, "longformer_k3_mlm")
    os.makedirs(directory, exist_ok=True)
    m.save_pretrained(directory, safe_serialization=True)
    gen = os.path.join(directory, "generation_config.json")
    if os.path.exists(gen):
        os.remove(gen)
    write_vocab(directory, 3)
    vocab = {t: i for i, t in enumerate(vocab_tokens(3))}

    def run(w):
        ids = torch.tensor([w])
        g = torch.zeros_like(ids)
        g[0, 0] = 1
        with torch.no_grad():
            out = m(input_ids=ids, attention_mask=torch.ones_like(ids),
                    global_attention_mask=g, output_hidden_states=True)
        # hidden and log-probs side by side, split after windowing
        return torch.cat([out.hidden_states[-1][0], torch.log_softmax(out.logits[0], -1)], -1)

    rows = {}
    # 42 positions - (pad + 1) offset - [CLS] - [SEP] = 39 content tokens per window.
    for name, s in seqs:
        ids = tokenize(s, 3, 1, vocab)
        rows[f"{name}.ids"] = torch.tensor(ids, dtype=torch.float32)
        if ids:
            both = windowed(run, ids, 39)
            rows[f"{name}.hidden"] = both[:, : cfg.hidden_size].contiguous()
            rows[f"{name}.log_probs"] = both[:, cfg.hidden_size :].contiguous()
    save_expected(directory, rows)


def native(name, config, seqs, content=None):
    torch.manual_seed(SEED + sum(name.encode()))
    model = NativeEncoder(config).double().eval()
    # Non-trivial norms and biases so that every tensor matters.
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith("bias") or "norm" in pname:
                p.add_(torch.randn_like(p) * 0.1)
    directory = os.path.join(OUT, name)
    save_native(model, directory)
    k, stride = config["tokenizer"]["k"], config["tokenizer"]["stride"]
    vocab = {t: i for i, t in enumerate(vocab_tokens(k))}
    rows = {}
    for sname, s in seqs:
        ids = tokenize(s, k, stride, vocab)
        rows[f"{sname}.ids"] = torch.tensor(ids, dtype=torch.float32)
        if not ids:
            continue
        with torch.no_grad():
            if content is None:
                h = model(torch.tensor(ids), 0, dense=True)
            else:
                h = windowed(lambda w: model(torch.tensor(w), 0, dense=True), ids, content)
        rows[f"{sname}.hidden"] = h.float().contiguous()
    save_expected(directory, rows)


def base_config(**kw):
    cfg = {
        "format": "glance-encoder",
        "version": 1,
        "vocab_size": len(vocab_tokens(3)),
        "d_model": 32,
        "heads": 4,
        "ffn": {"hidden": 64, "activation": "gelu"},
        "norm": "pre",
        "norm_eps": 1e-5,
        "final_norm": True,
        "positions": {"kind": "rope", "theta": 10000.0},
        "layers": [],
        "tokenizer": {"k": 3, "stride": 1, "canonical": False},
        "pooling_query": False,
    }
    cfg.update(kw)
    return cfg


def main():
    os.makedirs(OUT, exist_ok=True)
    seqs = sequences()
    if sys.argv[1:] == ["longformer_mlm"]:
        longformer_mlm(seqs)
        return
    write_fasta(seqs)
    bert(seqs)
    longformer(seqs)
    longformer_mlm(seqs)
    native("native_mixed", base_config(
        layers=[{"attention": "sliding:r=3"}, {"attention": "dilated:r=2,d=3"},
                {"attention": "block:b=8,n=1"}],
        pooling_query=True), seqs)
    native("native_alibi", base_config(
        vocab_size=len(vocab_tokens(2)), d_model=24, heads=3,
        ffn={"hidden": 40, "activation": "swiglu"}, norm="post", final_norm=False,
        positions={"kind": "alibi"},
        layers=[{"attention": "sliding:r=4"}, {"attention": "sliding:r=2"}],
        tokenizer={"k": 2, "stride": 2, "canonical": False}), seqs)
    native("native_learned", base_config(
        ffn={"hidden": 48, "activation": "relu"}, norm="post",
        positions={"kind": "learned", "max_len": 24},
        layers=[{"attention": "full"}, {"attention": "full"}]), seqs, content=22)
    import transformers
    import safetensors
    print("torch", torch.__version__, "transformers", transformers.__version__,
          "safetensors", safetensors.__version__, "seed", SEED)


if __name__ == "__main__":
    main()
