#!/usr/bin/env python
"""spec/reference/turbo_ref.py's numpy nets (Net, float64, Keras weight layout) built from real
weights: timm ViT-Tiny safetensors (shared/models) and the HF fixtures' weights.npz (ViT, DeiT,
CLIP and BLIP vision towers, Keras variable names)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from turbo_ref import Net, dense, layer_norm


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
