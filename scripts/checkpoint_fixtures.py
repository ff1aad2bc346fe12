#!/usr/bin/env python3
"""Checkpoint-file fixtures: one model (test-data/models/bert_k3, made by
scripts/model_fixtures.py) in every file layout `save_pretrained` and `torch.save`
write, so that glance can be checked to read the same tensors from each.

    python scripts/checkpoint_fixtures.py          # from the repository root

Needs torch and transformers (versions in scripts/requirements.txt). Writes, under
test-data/models/:

  bert_k3_bin/      pytorch_model.bin (torch.save zip archive; `save_pretrained(...,
                    safe_serialization=False)`), with one weight stored as a transposed
                    view (non-contiguous strides) and two tensors sharing one storage
  bert_k3_sharded/  model-0000i-of-0000n.safetensors + model.safetensors.index.json
                    (`save_pretrained(..., max_shard_size="40KB")`)
  bert_k3_bin_bf16/ the model in bfloat16, as sharded .bin: pytorch_model-0000i-of-0000n.bin
                    (each a torch.save of part of the state dict, as transformers < 5 wrote
                    them) + pytorch_model.bin.index.json
  evil_bin/         a pytorch_model.bin whose data.pkl calls os.system when unpickled
                    (built with a __reduce__, as a malicious checkpoint would be): glance
                    must refuse it without running it

config.json and vocab.txt are bert_k3's in each.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import zipfile

import torch
from transformers import BertModel

SRC = os.path.join("test-data", "models", "bert_k3")
OUT = os.path.join("test-data", "models")


def fresh(name: str) -> str:
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    shutil.copy(os.path.join(SRC, "vocab.txt"), d)
    return d


def copy_config(d: str) -> None:
    shutil.copy(os.path.join(SRC, "config.json"), d)


def main():
    model = BertModel.from_pretrained(SRC).eval()

    # 1. pytorch_model.bin, with a strided view and a shared storage
    d = fresh("bert_k3_bin")
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    q = "encoder.layer.0.attention.self.query.weight"
    sd[q] = sd[q].t().contiguous().t()  # same values, strides (1, rows)
    assert not sd[q].is_contiguous()
    both = torch.cat([sd["embeddings.LayerNorm.weight"], sd["embeddings.LayerNorm.bias"]])
    n = sd["embeddings.LayerNorm.weight"].numel()
    sd["embeddings.LayerNorm.weight"] = both[:n]
    sd["embeddings.LayerNorm.bias"] = both[n:]  # offset n into the same storage
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    copy_config(d)

    # 2. sharded safetensors
    d = fresh("bert_k3_sharded")
    model.save_pretrained(d, max_shard_size="40KB", safe_serialization=True)
    shutil.copy(os.path.join(SRC, "config.json"), d)

    # 3. bf16, sharded .bin (transformers 5 writes only safetensors: sharded as its
    # earlier versions did, each shard a torch.save of part of the state dict)
    d = fresh("bert_k3_bin_bf16")
    sd = {k: v.detach().to(torch.bfloat16).clone() for k, v in model.state_dict().items()}
    names = sorted(sd)
    parts = [names[: len(names) // 2], names[len(names) // 2 :]]
    weight_map = {}
    for i, part in enumerate(parts, 1):
        shard = f"pytorch_model-{i:05d}-of-{len(parts):05d}.bin"
        torch.save({k: sd[k] for k in part}, os.path.join(d, shard))
        weight_map.update({k: shard for k in part})
    total = sum(v.numel() * v.element_size() for v in sd.values())
    with open(os.path.join(d, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    copy_config(d)

    # 4. a malicious pickle inside a torch-like archive
    d = fresh("evil_bin")

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo glance ran pickle code > evil_ran.txt",))

    with zipfile.ZipFile(os.path.join(d, "pytorch_model.bin"), "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle.dumps({"embeddings.word_embeddings.weight": Evil()}, protocol=2))
        z.writestr("archive/version", "3\n")
    copy_config(d)
    for name in ("bert_k3_bin", "bert_k3_sharded", "bert_k3_bin_bf16", "evil_bin"):
        print(name, sorted(os.listdir(os.path.join(OUT, name))))


if __name__ == "__main__":
    main()
