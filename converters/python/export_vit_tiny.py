#!/usr/bin/env python
"""Real ImageNet ViT-Tiny/16-224 (timm safetensors) -> HF TFViTForImageClassification ->
SavedModel -> real tensorflowjs_converter -> models/vit-tiny-patch16-224-tfjs-converter/.

  .venv/bin/python converters/python/export_vit_tiny.py [--weights DIR] [--parity DIR]

Weights are read with safetensors.numpy (no torch). timm -> HF TF name map (PyTorch layout
Linear [out, in] -> Keras Dense kernel [in, out]; Conv2d [out, in, kh, kw] -> Keras Conv2D
kernel [kh, kw, in, out]; the fused timm qkv [3C, C] is split in rows 0:C (query), C:2C
(key), 2C:3C (value)). Verified against the official parity logits (r = 0) within 1e-3.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hf_common as hc  # noqa: E402

import numpy as np  # noqa: E402

DEFAULT_WEIGHTS = Path("/work/shared/models/vit-tiny-patch16-224")
DEFAULT_PARITY = Path("/work/shared/parity")
OUT = hc.REPO / "models" / "vit-tiny-patch16-224-tfjs-converter"


def timm_to_hf_tf(sd: dict, cfg: dict) -> dict:
    """Returns {keras variable name (without the model scope and ':0'): array}."""
    C = cfg["hidden_size"]
    out = {
        "vit/embeddings/cls_token": sd["cls_token"],
        "vit/embeddings/position_embeddings": sd["pos_embed"],
        "vit/embeddings/patch_embeddings/projection/kernel": sd["patch_embed.proj.weight"].transpose(2, 3, 1, 0),
        "vit/embeddings/patch_embeddings/projection/bias": sd["patch_embed.proj.bias"],
        "vit/layernorm/gamma": sd["norm.weight"],
        "vit/layernorm/beta": sd["norm.bias"],
        "classifier/kernel": sd["head.weight"].T,
        "classifier/bias": sd["head.bias"],
    }
    for i in range(cfg["num_layers"]):
        t, h = f"blocks.{i}.", f"vit/encoder/layer_._{i}/"
        qkv_w, qkv_b = sd[t + "attn.qkv.weight"], sd[t + "attn.qkv.bias"]
        for j, name in enumerate(("query", "key", "value")):
            out[h + f"attention/attention/{name}/kernel"] = qkv_w[j * C:(j + 1) * C].T
            out[h + f"attention/attention/{name}/bias"] = qkv_b[j * C:(j + 1) * C]
        out[h + "attention/output/dense/kernel"] = sd[t + "attn.proj.weight"].T
        out[h + "attention/output/dense/bias"] = sd[t + "attn.proj.bias"]
        out[h + "intermediate/dense/kernel"] = sd[t + "mlp.fc1.weight"].T
        out[h + "intermediate/dense/bias"] = sd[t + "mlp.fc1.bias"]
        out[h + "output/dense/kernel"] = sd[t + "mlp.fc2.weight"].T
        out[h + "output/dense/bias"] = sd[t + "mlp.fc2.bias"]
        out[h + "layernorm_before/gamma"] = sd[t + "norm1.weight"]
        out[h + "layernorm_before/beta"] = sd[t + "norm1.bias"]
        out[h + "layernorm_after/gamma"] = sd[t + "norm2.weight"]
        out[h + "layernorm_after/beta"] = sd[t + "norm2.bias"]
    return out


def build_model(weights_dir: Path):
    import tf_keras
    import transformers as T
    from safetensors.numpy import load_file

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from export_hf import use_erf_gelu

    use_erf_gelu()
    cfg = json.loads((weights_dir / "config.json").read_text())
    sd = load_file(str(weights_dir / "model.safetensors"))
    classes = (weights_dir / "imagenet-classes.txt").read_text().splitlines()
    config = T.ViTConfig(
        hidden_size=cfg["hidden_size"], num_hidden_layers=cfg["num_layers"],
        num_attention_heads=cfg["num_heads"], intermediate_size=cfg["mlp_size"],
        hidden_act="gelu", layer_norm_eps=cfg["layer_norm_eps"], image_size=cfg["image_size"],
        patch_size=cfg["patch_size"], num_labels=cfg["num_classes"], qkv_bias=True,
        id2label={i: c for i, c in enumerate(classes)},
    )
    tf_keras.utils.set_random_seed(0)
    model = T.TFViTForImageClassification(config)
    model(pixel_values=np.zeros((1, 3, cfg["image_size"], cfg["image_size"]), np.float32))
    mapped = timm_to_hf_tf(sd, cfg)
    assert len(mapped) == len(sd) + 4 * cfg["num_layers"], (len(mapped), len(sd))  # qkv: 2 -> 6
    scope = model.name + "/"
    seen = set()
    for var in model.weights:
        key = var.name[len(scope):].rsplit(":", 1)[0] if var.name.startswith(scope) else None
        if key not in mapped:
            raise KeyError(f"no timm weight for {var.name}")
        val = mapped[key]
        if tuple(var.shape) != val.shape:
            raise ValueError(f"{var.name}: {tuple(var.shape)} vs {val.shape}")
        var.assign(val)
        seen.add(key)
    missing = set(mapped) - seen
    assert not missing, missing
    return model, config, cfg


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    ap.add_argument("--parity", type=Path, default=DEFAULT_PARITY)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    import tensorflow as tf
    from export_hf import make_serve, GELU_NOTE

    model, config, cfg = build_model(a.weights)
    par = json.loads((a.parity / "vit-tiny-turbo.json").read_text())
    shape = par["inputs"]["shape"]
    x = np.fromfile(a.parity / par["inputs"]["file"], dtype="<f4").reshape(shape)
    r0 = par["results"][0]
    assert r0["config"].get("r") == 0, r0["config"]
    logits = model(pixel_values=x, training=False).logits.numpy()
    expected = np.asarray(r0["logits"], np.float32)
    diff = float(np.max(np.abs(logits - expected)))
    top1 = logits.argmax(-1).tolist()
    print(f"TF vs official parity logits (r=0): max abs diff {diff:.3g}; top1 {top1} vs {r0['top1']}")
    if not (diff < 1e-3 and top1 == r0["top1"]):
        raise SystemExit("parity check FAILED")

    h = w = cfg["image_size"]
    saved = hc.tmpdir("tfjs-turbo-vit-tiny-")
    hc.save_signature_model(model, saved, make_serve(model, "vit", h, w))
    sig = tf.saved_model.load(str(saved)).signatures["serving_default"]
    sig_logits = sig(pixel_values=tf.constant(x))["logits"].numpy()
    sdiff = float(np.max(np.abs(sig_logits - logits)))
    assert sdiff < 1e-5, sdiff
    cmd = hc.run_converter(saved, a.out)
    shutil.rmtree(saved, ignore_errors=True)
    hc.write_json(a.out / "reference.json", {
        "source": "TensorFlow 2.19 SavedModel serving_default signature (the converter's input), float32",
        "model": "real ImageNet-1k ViT-Tiny/16-224 (timm vit_tiny_patch16_224 weights) as HF TFViTForImageClassification",
        "inputs": {"pixel_values": {"file": "shared/parity/vit-tiny-inputs.f32 (not in this repo)",
                                    "dtype": "float32", "shape": shape, "layout": "NCHW",
                                    "preprocessing": par["inputs"].get("preprocessing"),
                                    "images": par["inputs"].get("images")}},
        "outputs": {"logits": {"shape": list(sig_logits.shape), "data": hc.f32_list(sig_logits)}},
        "top1": sig_logits.argmax(-1).tolist(),
        "maxAbsDiffVsOfficialR0": float(np.max(np.abs(sig_logits - expected))),
    })
    hc.write_json(a.out / "meta.json", {
        "architecture": "vit",
        "hfClass": "TFViTForImageClassification",
        "weights": "timm vit_tiny_patch16_224 (ImageNet-21k pre-trained, ImageNet-1k fine-tuned), Apache-2.0",
        "gelu": GELU_NOTE,
        "config": {k: v for k, v in config.to_dict().items() if k not in ("id2label", "label2id")},
        "classNames": "config id2label is not stored here; line i of imagenet-classes.txt = class i",
        "signature": hc.tfjs_signature(a.out / "model.json"),
        "converterCommand": " ".join(cmd),
        "versions": hc.versions(),
    })
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
