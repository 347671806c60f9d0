#!/usr/bin/env python
"""A small numpy reference implementation of Turbo, written from shared/TURBO.md.

Only numpy is needed (safetensors for the real ViT-Tiny weights). Used by
converters/python/check_turbo_ref.py (checks against the official vectors) and by
`python converters/python/turbo_ref.py hf` (writes spec/fixtures/hf/<arch>-small/turbo-reference.json).

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

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "spec" / "fixtures" / "hf"


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
        x = x + dense(o, lp["o"])
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


# ----------------------------------------------------------------------------- weights

def _f64(a):
    return None if a is None else np.asarray(a, np.float64)


def vit_tiny_from_safetensors(path: Path) -> Net:
    from safetensors.numpy import load_file

    sd = {k: v.astype(np.float64) for k, v in load_file(str(path / "model.safetensors")).items()}
    cfg = json.loads((path / "config.json").read_text())
    C, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
    layers = []
    for i in range(cfg["num_layers"]):
        t = f"blocks.{i}."
        w, b = sd[t + "attn.qkv.weight"], sd[t + "attn.qkv.bias"]
        layers.append({
            "ln1": (sd[t + "norm1.weight"], sd[t + "norm1.bias"], eps),
            "q": (w[:C].T, b[:C]), "k": (w[C:2 * C].T, b[C:2 * C]), "v": (w[2 * C:].T, b[2 * C:]),
            "o": (sd[t + "attn.proj.weight"].T, sd[t + "attn.proj.bias"]),
            "ln2": (sd[t + "norm2.weight"], sd[t + "norm2.bias"], eps),
            "fc1": (sd[t + "mlp.fc1.weight"].T, sd[t + "mlp.fc1.bias"]),
            "fc2": (sd[t + "mlp.fc2.weight"].T, sd[t + "mlp.fc2.bias"]),
        })
    norm = (sd["norm.weight"], sd["norm.bias"], eps)
    head = (sd["head.weight"].T, sd["head.bias"])
    return Net(
        patch_w=sd["patch_embed.proj.weight"].transpose(2, 3, 1, 0), patch_b=sd["patch_embed.proj.bias"],
        patch=cfg["patch_size"], tokens=[sd["cls_token"].reshape(-1)], pos=sd["pos_embed"][0],
        heads=cfg["num_heads"], layers=layers, act="gelu",
        head=lambda x: {"logits": dense(layer_norm(x, *norm)[:, 0], head)}, protected=1)


def hf_small_net(arch: str, weights: dict, meta: dict) -> Net:
    """Builds the numpy net from a fixture's weights.npz (Keras variable names)."""
    # Keras variable names minus the model's own scope (which Keras may suffix with _1, _2, ...)
    w = {k.split(":")[0].split("/", 1)[1]: np.asarray(v, np.float64) for k, v in weights.items()}
    cfg = meta["config"]
    if arch in ("vit", "deit"):
        root = "vit" if arch == "vit" else "deit"
        eps = cfg["layer_norm_eps"]
        L = cfg["num_hidden_layers"]
        g = lambda n: w[f"{root}/{n}"]  # noqa: E731
        ln = lambda n: (g(n + "/gamma"), g(n + "/beta"), eps)  # noqa: E731
        dn = lambda n: (g(n + "/kernel"), g(n + "/bias"))  # noqa: E731
        layers = []
        for i in range(L):
            e = f"encoder/layer_._{i}/"
            layers.append({"ln1": ln(e + "layernorm_before"), "q": dn(e + "attention/attention/query"),
                           "k": dn(e + "attention/attention/key"), "v": dn(e + "attention/attention/value"),
                           "o": dn(e + "attention/output/dense"), "ln2": ln(e + "layernorm_after"),
                           "fc1": dn(e + "intermediate/dense"), "fc2": dn(e + "output/dense")})
        final = ln("layernorm")
        if arch == "vit":
            cls_w = (w["classifier/kernel"], w["classifier/bias"])
            tokens = [g("embeddings/cls_token").reshape(-1)]

            def head(x):
                return {"logits": dense(layer_norm(x, *final)[:, 0], cls_w)}
        else:
            cw = (w["cls_classifier/kernel"], w["cls_classifier/bias"])
            dw = (w["distillation_classifier/kernel"], w["distillation_classifier/bias"])
            tokens = [g("embeddings/cls_token").reshape(-1), g("embeddings/distillation_token").reshape(-1)]

            def head(x):
                f = layer_norm(x, *final)
                cl, dl = dense(f[:, 0], cw), dense(f[:, 1], dw)
                return {"logits": (cl + dl) / 2, "cls_logits": cl, "distillation_logits": dl}
        pe = "embeddings/patch_embeddings/projection"
        return Net(patch_w=g(pe + "/kernel"), patch_b=g(pe + "/bias"), patch=cfg["patch_size"],
                   tokens=tokens, pos=g("embeddings/position_embeddings")[0],
                   heads=cfg["num_attention_heads"], layers=layers, act="gelu", head=head,
                   protected=len(tokens))
    if arch in ("clip", "blip"):
        if arch == "clip":
            vc = cfg["vision_config"]
            root = "clip/vision_model"
            g = lambda n: w[f"{root}/{n}"]  # noqa: E731
            attn = ("q_proj", "k_proj", "v_proj", "out_proj")
        else:
            vc = cfg
            g = lambda n: w[n]  # noqa: E731
        eps = vc["layer_norm_eps"]
        C = vc["hidden_size"]
        ln = lambda n: (g(n + "/gamma"), g(n + "/beta"), eps)  # noqa: E731
        dn = lambda n: (g(n + "/kernel"), g(n + "/bias"))  # noqa: E731
        layers = []
        for i in range(vc["num_hidden_layers"]):
            e = f"encoder/layers_._{i}/"
            lp = {"ln1": ln(e + "layer_norm1"), "ln2": ln(e + "layer_norm2"),
                  "fc1": dn(e + "mlp/fc1"), "fc2": dn(e + "mlp/fc2")}
            if arch == "clip":
                for key, name in zip(("q", "k", "v", "o"), attn):
                    lp[key] = dn(e + "self_attn/" + name)
            else:
                qw, qb = dn(e + "self_attn/qkv")
                # BLIP: reshape (B, N, 3, heads, d): columns 0:C q, C:2C k, 2C:3C v
                lp.update(q=(qw[:, :C], qb[:C]), k=(qw[:, C:2 * C], qb[C:2 * C]),
                          v=(qw[:, 2 * C:], qb[2 * C:]), o=dn(e + "self_attn/projection"))
            layers.append(lp)
        post = ln("post_layernorm")
        if arch == "clip":
            proj = w["clip/visual_projection/kernel"]

            def head(x):
                return {"image_embeds": layer_norm(x[:, 0], *post) @ proj}
            return Net(patch_w=g("embeddings/patch_embedding/kernel"), patch_b=None,
                       patch=vc["patch_size"], tokens=[g("embeddings/class_embedding").reshape(-1)],
                       pos=g("embeddings/position_embedding/embeddings"), heads=vc["num_attention_heads"],
                       layers=layers, act="quick_gelu", pre_ln=ln("pre_layrnorm"), head=head, protected=1)

        def head(x):
            last = layer_norm(x, *post)
            return {"last_hidden_state": last, "pooler_output": layer_norm(last[:, 0], *post)}
        return Net(patch_w=g("embeddings/patch_embedding/kernel"), patch_b=g("embeddings/patch_embedding/bias"),
                   patch=vc["patch_size"], tokens=[g("embeddings/class_embedding").reshape(-1)],
                   pos=g("embeddings/position_embedding")[0], heads=vc["num_attention_heads"],
                   layers=layers, act="gelu", head=head, protected=1)
    raise ValueError(arch)


# ----------------------------------------------------------------------------- HF references

HF_SETTINGS = [
    {"r": 0},
    {"r": 2, "alpha": 5.0},
    {"r": 1, "alpha": 0.0},
    {"r": 8, "alpha": 1.0},
    {"r": 6, "alpha": 5.0, "propAttn": False},
    {"r": [10, 4, 0, 8], "alpha": 2.0, "beta": 0.9, "gamma": 1},
    {"r": 8, "alpha": 5.0, "rThreshold": 50},
]


def run_setting(net: Net, x, s: dict, stats: MergeStats):
    return forward(net, x, r=s.get("r", 0), alpha=s.get("alpha", 0.0), beta=s.get("beta", 1.0),
                   gamma=s.get("gamma", 0.0), r_threshold=s.get("rThreshold", 0),
                   prop_attn=s.get("propAttn", True), inflect=s.get("inflect"), stats=stats)


def f32_shortest(a):
    """Nested lists of the float32-rounded values, each written with the fewest digits that
    still parse back (Math.fround / np.float32) to the same float32."""
    a = np.asarray(a, np.float32)
    flat = [float(str(v)) for v in a.ravel()]
    if a.ndim == 0:
        return flat[0]
    return np.array(flat, dtype=object).reshape(a.shape).tolist()


def hf_references(archs) -> int:
    fails = 0
    for arch in archs:
        d = FIXTURES / f"{arch}-small"
        meta = json.loads((d / "meta.json").read_text())
        ref = json.loads((d / "reference.json").read_text())
        inp = ref["inputs"]["pixel_values"]
        x = np.fromfile(d / inp["file"], dtype="<f4").reshape(inp["shape"])
        net = hf_small_net(arch, dict(np.load(d / "weights.npz")), meta)
        out0, _ = forward(net, x, r=0)
        worst = 0.0
        for k, v in ref["outputs"].items():
            worst = max(worst, float(np.max(np.abs(out0[k] - np.asarray(v["data"])))))
        ok = worst < 1e-4
        fails += not ok
        print(f"[{arch}-small] numpy forward (r=0) vs TF: max abs diff {worst:.3g} {'ok' if ok else 'FAIL'}")
        if not ok:
            continue
        results = []
        for s in HF_SETTINGS:
            st = MergeStats()
            outs, toks = run_setting(net, x, s, st)
            results.append({"config": s, "tokensAfterEachBlock": toks, "margins": st.as_dict(),
                            "outputs": {k: {"shape": list(v.shape), "data": f32_shortest(v)}
                                        for k, v in outs.items()}})
            print(f"  {json.dumps(s)} tokens {toks} margins {st.as_dict()}")
        doc = {
            "source": "converters/python/turbo_ref.py (numpy, float64, from shared/TURBO.md) on the fixture's "
                      "weights.npz; r=0 checked against reference.json (TF) within 1e-4",
            "architecture": arch,
            "inputs": {"pixel_values": inp},
            "protectedTokens": net.protected,
            "splitRule": "protected tokens 0..p-1 never merged, kept first; sources A = non-protected tokens with "
                         "even index, destinations B = non-protected tokens with odd index; r <= floor((N-p)/2); "
                         "output [protected, unmerged A in original order, B in original order]",
            "classAttention": "head mean of attention-probability row 0 (class token)",
            "metric": "head mean of the keys (after the key projection's bias, before any scaling)",
            "defaults": {"alpha": 0, "beta": 1, "gamma": 0, "rThreshold": 0, "propAttn": True},
            "margins": "minSelectionGap: smallest gap between the r-th and (r+1)-th largest E at any merge; "
                       "minDestinationGap: smallest gap between best and second-best cosine of a merged source. "
                       "Gaps well above float32 noise (1e-6) mean a float32 implementation must make the same choices.",
            "rList": "a JSON list r is one r per block (padded with 0), NOT the (r, inflect) pair",
            "results": results,
        }
        (d / "turbo-reference.json").write_text(json.dumps(doc) + "\n")
    return fails


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "hf":
        archs = sys.argv[2].split(",") if len(sys.argv) > 2 else ["vit", "deit", "clip", "blip"]
        sys.exit(1 if hf_references(archs) else 0)
    print(__doc__)
