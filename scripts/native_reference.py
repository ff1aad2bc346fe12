"""PyTorch reference of glance's native encoder, written against the native config.json.

Importable module (no side effects on import). The parameter names of `NativeEncoder`
are exactly the tensor names of a native model.safetensors (see docs/model-format.md),
so `save_native` / `load_native` round-trip a glance model directory.

    from native_reference import NativeEncoder, save_native, load_native
    model = NativeEncoder(config)              # config: the dict of config.json
    hidden = model(torch.tensor(ids), offset=0)  # [n, d_model]

Attention is computed exactly: a dense masked softmax for any pattern (`dense=True`,
small n), or for `sliding` layers a banded computation that never builds an n x n
matrix (used for long inputs and benchmarks). Rotary angles are computed in float64
from absolute positions (`offset + t`), as glance does.

Used by scripts/model_fixtures.py (parity fixtures) and scripts/bench_encoder.py
(PyTorch side of the throughput comparison); a later training script reuses it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT = "glance-encoder"
VERSION = 1


# --------------------------------------------------------------------------- patterns


@dataclass
class Pattern:
    """A parsed attention spec (glance-attn grammar)."""

    kind: str  # full | sliding | dilated | block
    radius: int = 0
    dilation: int = 1
    block: int = 1
    neighbours: int = 0
    causal: bool = False
    global_kind: str | None = None  # first | every | tokens
    global_every: int = 0
    global_tokens: tuple = ()

    @staticmethod
    def parse(spec: str) -> "Pattern":
        local, _, glob = spec.partition("+")
        name, _, opts = local.partition(":")
        kv = {}
        flags = set()
        for part in filter(None, opts.split(",")):
            if "=" in part:
                k, v = part.split("=", 1)
                kv[k] = int(v)
            else:
                flags.add(part)
        p = Pattern(kind=name, causal="causal" in flags)
        if name == "sliding":
            p.radius = kv["r"]
        elif name == "dilated":
            p.radius, p.dilation = kv["r"], kv["d"]
        elif name == "block":
            p.block, p.neighbours = kv["b"], kv["n"]
        elif name != "full":
            raise ValueError(f"unsupported pattern {spec!r}")
        if glob:
            gname, _, gopts = glob.partition(":")
            if gname != "global":
                raise ValueError(f"unsupported global part {glob!r}")
            if gopts == "first":
                p.global_kind = "first"
            elif gopts.startswith("every="):
                p.global_kind, p.global_every = "every", int(gopts[6:])
            elif gopts.startswith("tokens="):
                p.global_kind = "tokens"
                p.global_tokens = tuple(int(t) for t in gopts[7:].split(","))
            else:
                raise ValueError(f"unsupported global part {glob!r}")
        return p

    def local_radius(self):
        if self.global_kind is not None or self.kind == "full":
            return None
        if self.kind == "sliding":
            return self.radius
        if self.kind == "dilated":
            return self.radius * self.dilation
        return self.block * (self.neighbours + 1) - 1

    def is_global(self, pos: torch.Tensor) -> torch.Tensor:
        if self.global_kind is None:
            return torch.zeros_like(pos, dtype=torch.bool)
        if self.global_kind == "first":
            return pos == 0
        if self.global_kind == "every":
            return pos % self.global_every == 0
        return torch.isin(pos, torch.tensor(self.global_tokens, dtype=pos.dtype))

    def mask(self, n: int, offset: int) -> torch.Tensor:
        """[n, n] bool: query i (absolute offset+i) may see key j."""
        pos = torch.arange(n) + offset
        i, j = pos[:, None], pos[None, :]
        delta = i - j
        if self.kind == "full":
            m = torch.ones(n, n, dtype=torch.bool)
        elif self.kind == "sliding":
            m = delta.abs() <= self.radius
        elif self.kind == "dilated":
            m = (delta % self.dilation == 0) & (delta.abs() <= self.radius * self.dilation)
        else:
            bi, bj = i // self.block, j // self.block
            m = (bi - bj).abs() <= self.neighbours
        if self.causal:
            m = m & (delta >= 0)
        g = self.is_global(pos)
        return m | g[:, None] | g[None, :]


# --------------------------------------------------------------------------- layers


def alibi_slopes(heads: int) -> torch.Tensor:
    return torch.tensor([2.0 ** (-8.0 * (h + 1) / heads) for h in range(heads)], dtype=torch.float64)


def rope_tables(n: int, offset: int, d_head: int, theta: float):
    half = d_head // 2
    inv = torch.tensor([theta ** (-(2 * i) / d_head) for i in range(half)], dtype=torch.float64)
    ang = (torch.arange(n, dtype=torch.float64) + offset)[:, None] * inv[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: [heads, n, d_head], rotate-half layout."""
    half = x.shape[-1] // 2
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, b * cos + a * sin], dim=-1)


def dense_attention(q, k, v, pattern: Pattern, offset: int, slopes=None):
    """Exact masked attention; q, k, v: [heads, n, dh]."""
    n, dh = q.shape[1], q.shape[2]
    s = (q @ k.transpose(1, 2)) / math.sqrt(dh)
    if slopes is not None:
        pos = torch.arange(n)
        dist = (pos[:, None] - pos[None, :]).abs().to(s.dtype)
        s = s - slopes.to(s.dtype)[:, None, None] * dist[None]
    m = pattern.mask(n, offset)
    s = s.masked_fill(~m[None], float("-inf"))
    p = torch.softmax(s, dim=-1)
    p = torch.nan_to_num(p, nan=0.0)  # rows with no visible key give zeros
    return p @ v


def banded_attention(q, k, v, radius: int, slopes=None):
    """Exact sliding-window attention (|i-j| <= radius) without an n x n matrix: queries
    in blocks of `radius`, each against its own and the neighbouring blocks."""
    h, n, dh = q.shape
    w = max(radius, 1)
    nb = (n + w - 1) // w
    pad = nb * w - n
    qp = F.pad(q, (0, 0, 0, pad))
    kp = F.pad(k, (0, 0, w, pad + w))
    vp = F.pad(v, (0, 0, w, pad + w))
    qb = qp.view(h, nb, w, dh)
    kb = kp.unfold(1, 3 * w, w).permute(0, 1, 3, 2)  # [h, nb, 3w, dh]
    vb = vp.unfold(1, 3 * w, w).permute(0, 1, 3, 2)
    s = (qb @ kb.transpose(2, 3)) / math.sqrt(dh)  # [h, nb, w, 3w]
    qi = torch.arange(nb)[:, None, None] * w + torch.arange(w)[None, :, None]
    kj = torch.arange(nb)[:, None, None] * w + torch.arange(3 * w)[None, None, :] - w
    delta = qi - kj
    ok = (delta.abs() <= radius) & (kj >= 0) & (kj < n)
    if slopes is not None:
        s = s - slopes.to(s.dtype)[:, None, None, None] * delta.abs().to(s.dtype)[None]
    s = s.masked_fill(~ok[None], float("-inf"))
    p = torch.softmax(s, dim=-1)
    out = (p @ vb).reshape(h, nb * w, dh)
    return out[:, :n]


class SelfAttention(nn.Module):
    def __init__(self, d: int, heads: int, pattern: Pattern):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.heads = heads
        self.pattern = pattern

    def forward(self, x, offset: int, positions: dict, dense: bool):
        n, d = x.shape
        h = self.heads

        def split(t):
            return t.view(n, h, d // h).transpose(0, 1)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        if positions["kind"] == "rope":
            cos, sin = rope_tables(n, offset, d // h, positions.get("theta", 10000.0))
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        slopes = alibi_slopes(h) if positions["kind"] == "alibi" else None
        p = self.pattern
        if not dense and p.kind == "sliding" and not p.causal and p.global_kind is None:
            ctx = banded_attention(q, k, v, p.radius, slopes)
        else:
            ctx = dense_attention(q, k, v, p, offset, slopes)
        return self.o(ctx.transpose(0, 1).reshape(n, d))


class FeedForward(nn.Module):
    def __init__(self, d: int, hidden: int, activation: str):
        super().__init__()
        self.up = nn.Linear(d, hidden)
        self.down = nn.Linear(hidden, d)
        self.activation = activation
        if activation == "swiglu":
            self.gate = nn.Linear(d, hidden)

    def forward(self, x):
        a = self.activation
        u = self.up(x)
        if a == "gelu":
            hdn = F.gelu(u)
        elif a == "gelu_tanh":
            hdn = F.gelu(u, approximate="tanh")
        elif a == "relu":
            hdn = F.relu(u)
        elif a == "swiglu":
            hdn = F.silu(self.gate(x)) * u
        else:
            raise ValueError(f"unknown activation {a!r}")
        return self.down(hdn)


class Layer(nn.Module):
    def __init__(self, cfg: dict, pattern: Pattern):
        super().__init__()
        d, eps = cfg["d_model"], cfg.get("norm_eps", 1e-5)
        self.norm1 = nn.LayerNorm(d, eps=eps)
        self.attn = SelfAttention(d, cfg["heads"], pattern)
        self.norm2 = nn.LayerNorm(d, eps=eps)
        self.ffn = FeedForward(d, cfg["ffn"]["hidden"], cfg["ffn"]["activation"])
        self.pre = cfg["norm"] == "pre"

    def forward(self, x, offset, positions, dense):
        if self.pre:
            x = x + self.attn(self.norm1(x), offset, positions, dense)
            return x + self.ffn(self.norm2(x))
        x = self.norm1(x + self.attn(x, offset, positions, dense))
        return self.norm2(x + self.ffn(x))


class Embed(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.tokens = nn.Embedding(cfg["vocab_size"], cfg["d_model"])
        pos = cfg["positions"]
        if pos["kind"] == "learned":
            self.positions = nn.Embedding(pos["max_len"], cfg["d_model"])

    def forward(self, ids):
        x = self.tokens(ids)
        if hasattr(self, "positions"):
            x = x + self.positions(torch.arange(ids.shape[0]))
        return x


class Pool(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.query = nn.Parameter(torch.randn(d) * 0.1)


class NativeEncoder(nn.Module):
    """glance's native encoder; `config` is the dict of a native config.json."""

    def __init__(self, config: dict):
        super().__init__()
        if config.get("format") != FORMAT or config.get("version") != VERSION:
            raise ValueError("not a native glance config of version 1")
        self.config = config
        self.embed = Embed(config)
        self.patterns = [Pattern.parse(l["attention"]) for l in config["layers"]]
        self.layers = nn.ModuleList(Layer(config, p) for p in self.patterns)
        if config.get("final_norm", False):
            self.final_norm = nn.LayerNorm(config["d_model"], eps=config.get("norm_eps", 1e-5))
        if config.get("pooling_query", False):
            self.pool = Pool(config["d_model"])

    def receptive_radius(self):
        total = 0
        for p in self.patterns:
            r = p.local_radius()
            if r is None:
                return None
            total += r
        return total

    def forward(self, ids: torch.Tensor, offset: int = 0, dense: bool = True) -> torch.Tensor:
        """ids: [n] token ids whose first sits at absolute position `offset`."""
        x = self.embed(ids)
        for layer in self.layers:
            x = layer(x, offset, self.config["positions"], dense)
        if hasattr(self, "final_norm"):
            x = self.final_norm(x)
        return x


def save_native(model: NativeEncoder, directory: str) -> None:
    """Writes config.json and model.safetensors (float32) to `directory`."""
    from safetensors.torch import save_file

    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(model.config, f, indent=2)
        f.write("\n")
    tensors = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, os.path.join(directory, "model.safetensors"))


def load_native(directory: str) -> NativeEncoder:
    """Reads a native glance model directory."""
    from safetensors.torch import load_file

    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    model = NativeEncoder(config)
    model.load_state_dict(load_file(os.path.join(directory, "model.safetensors")))
    return model.eval()
