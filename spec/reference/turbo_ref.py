#!/usr/bin/env python
"""A small numpy reference implementation of Turbo, written from shared/TURBO.md: the merge and
a float64 pre-norm ViT forward with Turbo between attention and MLP.

Only numpy is needed. Used by spec/reference/check_turbo_ref.py (checks against the official
vectors), spec/reference/hf_turbo_reference.py (writes spec/fixtures/hf/<arch>-small/
turbo-reference.json) and spec/reference/blip_vision_turbo.py (the BLIP vision reference);
spec/reference/turbo_nets.py builds the nets from real weights.

Protected tokens generalised from 1 (class token) to p (DeiT: class + distillation = 2):
  - tokens 0..p-1 are never merged and never merge destinations; they stay first, in order;
  - the bipartite split is by GLOBAL index parity over the non-protected tokens:
    sources A = {i >= p, i even}, destinations B = {i >= p, i odd};
  - r is clamped to floor((N - p) / 2);
  - output = [protected tokens, unmerged sources in original order, all destinations in
    original order] (p = 0: unmerged sources in descending-E order, as in the official code).
For p = 1 this is exactly the official algorithm (the official code keeps the class token in A
with E = -inf, which places it first among the unmerged sources).
The class-token attention a_cls is always row 0 (the class token) of the head-averaged
attention probabilities, also for DeiT.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


# ----------------------------------------------------------------------------- the merge

@dataclass
class MergeStats:
    """Smallest decision margins seen (how robust the reference is to float32 noise)."""
    e_gap: float = math.inf      # gap between the r-th and (r+1)-th largest E (selection cut)
    dst_gap: float = math.inf    # gap between the best and second-best cosine of a merged source
    merges: int = 0

    def as_dict(self):
        f = lambda v: None if math.isinf(v) else float(v)  # noqa: E731
        return {"minSelectionGap": f(self.e_gap), "minDestinationGap": f(self.dst_gap), "merges": self.merges}


def turbo_coefficient(alpha: float, beta: float, gamma: float, layer: int) -> float:
    return 30.0 * alpha * beta ** abs(gamma - layer)


def turbo_merge(x, metric, a_cls, size, r, *, alpha=0.0, beta=1.0, gamma=0.0, layer=0,
                protected=1, r_threshold=0, stats: MergeStats | None = None):
    """x [B,N,C], metric [B,N,d], a_cls [B,N], size [B,N] or None.
    Returns (x', size', merged?) with N' = N - r (or unchanged)."""
    x = np.asarray(x, np.float64)
    B, N, C = x.shape
    size = np.ones((B, N), np.float64) if size is None else np.asarray(size, np.float64)
    p = protected
    r = min(int(r), (N - p) // 2)
    if r <= 0 or N < r_threshold:
        return x, size, False
    m = np.asarray(metric, np.float64)
    m = m / np.linalg.norm(m, axis=-1, keepdims=True)
    a_idx = np.array([i for i in range(p, N) if i % 2 == 0], dtype=np.int64)
    b_idx = np.array([i for i in range(p, N) if i % 2 == 1], dtype=np.int64)
    c = turbo_coefficient(alpha, beta, gamma, layer)
    out_x, out_s = [], []
    for bi in range(B):
        cos = m[bi, a_idx] @ m[bi, b_idx].T                       # [|A|, |B|]
        R = cos.max(-1)
        dst = cos.argmax(-1)
        E = R - c * np.asarray(a_cls, np.float64)[bi, a_idx]
        order = np.argsort(-E, kind="stable")                     # descending E
        src_sel, unm = order[:r], order[r:]
        if stats is not None:
            if len(order) > r:
                stats.e_gap = min(stats.e_gap, float(E[order[r - 1]] - E[order[r]]))
            if cos.shape[1] > 1:
                top2 = np.sort(cos[src_sel], axis=-1)[:, -2:]
                stats.dst_gap = min(stats.dst_gap, float(np.min(top2[:, 1] - top2[:, 0])))
            stats.merges += r
        if p > 0:
            unm = np.sort(unm)
        xs = x[bi] * size[bi][:, None]
        ss = size[bi].copy()
        dx = xs[b_idx].copy()
        ds = ss[b_idx].copy()
        for j in src_sel:                                         # size-weighted sum into dst
            dx[dst[j]] += xs[a_idx[j]]
            ds[dst[j]] += ss[a_idx[j]]
        keep = np.concatenate([np.arange(p), a_idx[unm]]).astype(np.int64)
        nx = np.concatenate([xs[keep], dx], 0)
        ns = np.concatenate([ss[keep], ds], 0)
        out_x.append(nx / ns[:, None])
        out_s.append(ns)
    return np.stack(out_x), np.stack(out_s), True


def r_schedule(r, num_layers: int, inflect: float | None = None) -> list[int]:
    """r: int (constant), list of ints (per block, padded with 0), or (r, inflect) via inflect."""
    if inflect is not None:
        lo = int(r * (1.0 - inflect))
        hi = 2 * r - lo
        step = (hi - lo) / (num_layers - 1)
        return [int(lo + step * i) for i in range(num_layers)]
    if isinstance(r, (list, tuple)):
        return [int(v) for v in r][:num_layers] + [0] * max(0, num_layers - len(r))
    return [int(r)] * num_layers


# ----------------------------------------------------------------------------- the models

def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def _erf(x):
    try:
        from scipy.special import erf  # installed with jax in .venv
        return erf(x)
    except ImportError:  # pragma: no cover
        return np.vectorize(math.erf, otypes=[np.float64])(x)


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def quick_gelu(x):
    return x / (1.0 + np.exp(-1.702 * x))


def dense(x, wb):
    w, b = wb
    y = x @ w
    return y if b is None else y + b


@dataclass
class Net:
    """A pre-norm ViT with p prepended tokens; weights in Keras layout (Dense [in, out],
    Conv2D [kh, kw, in, out]); float64."""
    patch_w: np.ndarray
    patch_b: np.ndarray | None
    patch: int
    tokens: list                     # [C] arrays prepended in this order (class first)
    pos: np.ndarray                  # [N, C]
    heads: int
    layers: list                     # dicts: ln1, q, k, v, o, ln2, fc1, fc2
    act: str = "gelu"
    pre_ln: tuple | None = None      # CLIP
    head: object = None              # callable(final tokens [B,N,C]) -> {name: array}
    protected: int = 1
    extra: dict = field(default_factory=dict)


def embed(net: Net, pixels: np.ndarray) -> np.ndarray:
    x = np.asarray(pixels, np.float64).transpose(0, 2, 3, 1)          # NHWC
    B, H, W, Cin = x.shape
    P = net.patch
    x = x.reshape(B, H // P, P, W // P, P, Cin).transpose(0, 1, 3, 2, 4, 5)
    x = x.reshape(B, (H // P) * (W // P), P * P * Cin)
    y = x @ net.patch_w.reshape(P * P * Cin, -1)
    if net.patch_b is not None:
        y = y + net.patch_b
    toks = [np.broadcast_to(t.reshape(1, 1, -1), (B, 1, y.shape[-1])) for t in net.tokens]
    x = np.concatenate(toks + [y], 1) + net.pos
    if net.pre_ln is not None:
        x = layer_norm(x, *net.pre_ln)
    return x


def attention(net: Net, lp: dict, x: np.ndarray, size, prop_attn=True):
    """A block's pre-LN self-attention with its residual, proportional attention (log size bias)
    when sizes are given: (x + attention(x), keys [B, H, N, d], probabilities [B, H, N, N]), the
    keys and probabilities being what every merge score reads."""
    B, N, C = x.shape
    Hh = net.heads
    d = C // Hh
    h = layer_norm(x, *lp["ln1"])
    q = dense(h, lp["q"]).reshape(B, N, Hh, d).transpose(0, 2, 1, 3)
    k = dense(h, lp["k"]).reshape(B, N, Hh, d).transpose(0, 2, 1, 3)
    v = dense(h, lp["v"]).reshape(B, N, Hh, d).transpose(0, 2, 1, 3)
    s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
    if prop_attn and size is not None:
        s = s + np.log(size)[:, None, None, :]
    s = s - s.max(-1, keepdims=True)
    P = np.exp(s)
    P = P / P.sum(-1, keepdims=True)
    o = (P @ v).transpose(0, 2, 1, 3).reshape(B, N, C)
    return x + dense(o, lp["o"]), k, P


def forward(net: Net, pixels, r=0, *, alpha=0.0, beta=1.0, gamma=0.0, r_threshold=0,
            prop_attn=True, inflect=None, stats: MergeStats | None = None):
    """Returns (outputs dict, tokens after each block, per-block token states)."""
    x = embed(net, pixels)
    L = len(net.layers)
    sched = r_schedule(r, L, inflect)
    size = None
    tokens_after = []
    merged_layers = 0
    for li, lp in enumerate(net.layers):
        x, k, P = attention(net, lp, x, size, prop_attn)
        if sched[li] > 0:
            x, size, _ = turbo_merge(x, k.mean(1), P[:, :, 0, :].mean(1), size, sched[li],
                                     alpha=alpha, beta=beta, gamma=gamma, layer=merged_layers,
                                     protected=net.protected, r_threshold=r_threshold, stats=stats)
            merged_layers += 1
        h = layer_norm(x, *lp["ln2"])
        h = dense(h, lp["fc1"])
        h = gelu(h) if net.act == "gelu" else quick_gelu(h)
        x = x + dense(h, lp["fc2"])
        tokens_after.append(int(x.shape[1]))
    return net.head(x), tokens_after


# ----------------------------------------------------------------------------- output

def f32_shortest(a):
    """Nested lists of the float32-rounded values, each written with the fewest digits that
    still parse back (Math.fround / np.float32) to the same float32."""
    a = np.asarray(a, np.float32)
    flat = [float(str(v)) for v in a.ravel()]
    if a.ndim == 0:
        return flat[0]
    return np.array(flat, dtype=object).reshape(a.shape).tolist()


if __name__ == "__main__":
    print(__doc__)
