#!/usr/bin/env python
"""Export HF TensorFlow vision transformers through the REAL tensorflowjs_converter.

  .venv/bin/python converters/python/export_hf.py --arch vit,deit,clip,blip --size small
  .venv/bin/python converters/python/export_hf.py --arch vit --size full   # topology only

small: random weights (fixed seed), model.json + shards, inputs.f32, reference.json
       (TF outputs), weights.npz (the Keras variables, for spec/reference/turbo_ref.py)
       and meta.json, in spec/fixtures/hf/<arch>-small/.
full:  real-size configurations, model.json only, in spec/fixtures/hf/<name>-full/ (the
       converter writes into a temporary directory; only model.json is copied, so no .bin
       shard is ever written under spec/).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hf_common as hc  # noqa: E402  (sets TF_USE_LEGACY_KERAS before TF is imported)

import numpy as np  # noqa: E402

SEED = 0
BATCH = 2

SMALL = dict(hidden_size=64, num_hidden_layers=4, num_attention_heads=4, intermediate_size=128,
             image_size=64, patch_size=8)

# name -> (arch, config overrides)
FULL = {
    "vit-b16-224": ("vit", dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                intermediate_size=3072, image_size=224, patch_size=16, num_labels=1000)),
    "vit-l16-224": ("vit", dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                intermediate_size=4096, image_size=224, patch_size=16, num_labels=1000)),
    "deit-b16-distilled-224": ("deit", dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                            intermediate_size=3072, image_size=224, patch_size=16,
                                            num_labels=1000)),
    "clip-b16-224": ("clip", dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                  intermediate_size=3072, image_size=224, patch_size=16, projection_dim=512)),
    "clip-l14-224": ("clip", dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                  intermediate_size=4096, image_size=224, patch_size=14, projection_dim=768)),
    "blip-b16-384": ("blip", dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                  intermediate_size=3072, image_size=384, patch_size=16)),
}

HF_CLASS = {
    "vit": "TFViTForImageClassification",
    "deit": "TFDeiTForImageClassificationWithTeacher",
    "clip": "TFCLIPModel (get_image_features = vision tower + visual_projection; "
            "transformers has no TFCLIPVisionModelWithProjection)",
    "blip": "TFBlipVisionModel",
}

OUTPUTS = {
    "vit": ["logits"],
    "deit": ["logits", "cls_logits", "distillation_logits"],
    "clip": ["image_embeds"],
    "blip": ["last_hidden_state", "pooler_output"],
}

PROTECTED = {"vit": 1, "deit": 2, "clip": 1, "blip": 1}


GELU_NOTE = (
    "transformers maps hidden_act 'gelu' to keras.activations.gelu -> tf.nn.gelu(approximate=False), which "
    "in TF 2.19 is 0.5*x*Erfc(-x*0.70710677); tensorflowjs 4.22 has no Erfc op and tensorflowjs_converter "
    "refuses the graph ('Unsupported Ops in the model before optimization: Erfc'). We therefore build the "
    "models with transformers' own exact-GELU formula activations_tf._gelu = 0.5*x*(1+Erf(x/sqrt(2))) "
    "(identical function, tfjs-supported ops)."
)


def use_erf_gelu() -> None:
    import transformers.activations_tf as A

    A.ACT2FN["gelu"] = A._gelu


def build(arch: str, cfg: dict, seed: int, perturb: bool):
    """Builds the HF TF model from a config with seeded random weights."""
    import tensorflow as tf
    import tf_keras
    import transformers as T

    use_erf_gelu()

    tf_keras.utils.set_random_seed(seed)
    c = dict(cfg)
    if arch == "vit":
        config = T.ViTConfig(num_labels=c.pop("num_labels", 10), **c)
        model = T.TFViTForImageClassification(config)
    elif arch == "deit":
        config = T.DeiTConfig(num_labels=c.pop("num_labels", 10), **c)
        model = T.TFDeiTForImageClassificationWithTeacher(config)
    elif arch == "clip":
        proj = c.pop("projection_dim", 32)
        vision = dict(c, hidden_act="quick_gelu", layer_norm_eps=1e-5)
        # the text tower is not part of the exported signature; keep it minimal
        text = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                    vocab_size=64, max_position_embeddings=16)
        config = T.CLIPConfig(text_config=text, vision_config=vision, projection_dim=proj)
        model = T.TFCLIPModel(config)
    elif arch == "blip":
        # BlipVisionConfig's default initializer_range is 1e-10 (all weights ~0, every token
        # identical); use ViT's 0.02 so the random model is not degenerate
        config = T.BlipVisionConfig(num_channels=3, initializer_range=0.02, **c)  # TFBlipVisionModel needs num_channels for its save spec
        model = T.TFBlipVisionModel(config)
    else:
        raise ValueError(arch)
    h = w = cfg["image_size"]
    dummy = np.zeros((1, 3, h, w), np.float32)
    if arch == "clip":
        model(input_ids=tf.zeros((1, 4), tf.int32), pixel_values=tf.constant(dummy))  # builds all weights
    else:
        model(pixel_values=dummy)
    perturbed = hc.perturb_constant_weights(model, seed) if perturb else []
    return model, config, perturbed


def make_serve(model, arch: str, h: int, w: int):
    import tensorflow as tf

    spec = tf.TensorSpec([None, 3, h, w], tf.float32, name="pixel_values")

    @tf.function(input_signature=[spec])
    def serve(pixel_values):
        if arch == "clip":
            return {"image_embeds": model.get_image_features(pixel_values=pixel_values, training=False)}
        out = model(pixel_values=pixel_values, training=False)
        return {k: out[k] for k in OUTPUTS[arch]}

    return serve


def eager_outputs(model, arch: str, x: np.ndarray) -> dict:
    if arch == "clip":
        import tensorflow as tf
        return {"image_embeds": model.get_image_features(pixel_values=tf.constant(x), training=False).numpy()}
    out = model(pixel_values=x, training=False)
    return {k: out[k].numpy() for k in OUTPUTS[arch]}


def config_dict(arch: str, config) -> dict:
    d = config.to_dict()
    if arch == "clip":
        d = {"vision_config": d["vision_config"], "projection_dim": d["projection_dim"]}
    keep = {}
    for k, v in d.items():
        if k in ("id2label", "label2id"):
            continue
        keep[k] = v
    return keep


def export_small(arch: str) -> None:
    import tensorflow as tf

    out = hc.FIXTURES / f"{arch}-small"
    out.mkdir(parents=True, exist_ok=True)
    cfg = dict(SMALL)
    model, config, perturbed = build(arch, cfg, SEED, perturb=True)
    h = w = cfg["image_size"]
    x = hc.make_inputs(BATCH, h, w, SEED)
    ref = eager_outputs(model, arch, x)

    saved = hc.tmpdir(f"tfjs-turbo-{arch}-small-")
    hc.save_signature_model(model, saved, make_serve(model, arch, h, w))
    # the converter consumes the SavedModel signature: check it computes the same thing
    sig = tf.saved_model.load(str(saved)).signatures["serving_default"]
    sig_out = {k: v.numpy() for k, v in sig(pixel_values=tf.constant(x)).items()}
    for k in ref:
        d = float(np.max(np.abs(sig_out[k] - ref[k])))
        assert d < 1e-5, (k, d)

    cmd = hc.run_converter(saved, out)
    shutil.rmtree(saved, ignore_errors=True)

    # The graph tensor behind each output key. The signature function's outputs are
    # Identity, Identity_1, ... in sorted key order (tf.nest flattening). tensorflowjs_converter
    # keeps a key name in model.json's signature only when no other output has the same
    # dtype+shape; otherwise the signature entry is keyed by the tensor name ("Identity_1:0").
    sig_json = hc.tfjs_signature(out / "model.json")["outputs"]
    tensors = {}
    for i, k in enumerate(sorted(ref)):
        tensors[k] = "Identity:0" if i == 0 else f"Identity_{i}:0"
        if k in sig_json:
            assert sig_json[k]["name"] == tensors[k], (k, sig_json[k], tensors[k])
        else:
            assert tensors[k] in sig_json, (tensors[k], sig_json)
    x.tofile(out / "inputs.f32")
    np.savez(out / "weights.npz", **{v.name: v.numpy() for v in model.weights})
    signature = hc.tfjs_signature(out / "model.json")
    hc.write_json(out / "reference.json", {
        "source": "TensorFlow (SavedModel serving_default signature, the converter's input), float32",
        "inputs": {"pixel_values": {"file": "inputs.f32", "dtype": "float32", "shape": list(x.shape),
                                    "layout": "NCHW", "generator": f"numpy default_rng({SEED}).uniform(-1, 1)"}},
        "outputs": {k: {"tensor": tensors[k], "shape": list(v.shape), "data": hc.f32_list(sig_out[k])}
                    for k, v in ref.items()},
    })
    hc.write_json(out / "meta.json", {
        "architecture": arch,
        "hfClass": HF_CLASS[arch],
        "size": "small",
        "seed": SEED,
        "weights": "random: tf_keras.utils.set_random_seed(seed) then HF init; constant-initialised variables "
                   "(biases, LayerNorm, DeiT tokens) perturbed with numpy default_rng(seed + 7919) noise",
        "perturbedVariables": perturbed,
        "gelu": GELU_NOTE if arch != "clip" else "quick_gelu: x*sigmoid(1.702*x)",
        "config": config_dict(arch, config),
        "imageSize": h,
        "patchSize": cfg["patch_size"],
        "tokens": (h // cfg["patch_size"]) ** 2 + PROTECTED[arch],
        "protectedTokens": PROTECTED[arch],
        "batch": BATCH,
        "signature": signature,
        "outputs": OUTPUTS[arch],
        "outputTensors": tensors,
        "converterCommand": " ".join(cmd),
        "weightsNpz": "weights.npz: Keras variable name -> value (for spec/reference/turbo_ref.py)",
        "versions": hc.versions(),
    })
    print(f"[{arch}-small] wrote {out}")


def export_full(name: str) -> None:
    arch, cfg = FULL[name]
    out = hc.FIXTURES / f"{name}-full"
    t0 = time.time()
    # perturb=True matters here too: with HF's zero-initialised biases grappler folds every
    # `BiasAdd(x, 0)` away (and Conv2D is no longer fused), so the topology would not be the one
    # a real checkpoint produces
    model, config, perturbed = build(arch, cfg, SEED, perturb=True)
    h = w = cfg["image_size"]
    saved = hc.tmpdir(f"tfjs-turbo-{name}-")
    converted = hc.tmpdir(f"tfjs-turbo-{name}-tfjs-")
    try:
        hc.save_signature_model(model, saved, make_serve(model, arch, h, w))
        del model
        cmd = hc.run_converter(saved, converted)
        removed = sum(p.stat().st_size for p in converted.glob("*.bin"))
        out.mkdir(parents=True, exist_ok=True)  # only now: a failed export leaves nothing under spec/
        for stale in out.glob("*.bin"):  # left by an older version of this script
            stale.unlink()
        shutil.copyfile(converted / "model.json", out / "model.json")
    finally:  # the SavedModel and the shards are GBs: never leave them behind
        shutil.rmtree(saved, ignore_errors=True)
        shutil.rmtree(converted, ignore_errors=True)
    hc.write_json(out / "meta.json", {
        "architecture": arch,
        "hfClass": HF_CLASS[arch],
        "size": "full (topology only: the weight shards were deleted after conversion)",
        "deletedShardBytes": removed,
        "weights": "random (seed 0), constant-initialised variables perturbed as in the small fixtures "
                   f"({len(perturbed)} variables) so that no bias is all-zero",
        "gelu": GELU_NOTE if arch != "clip" else "quick_gelu: x*sigmoid(1.702*x)",
        "config": config_dict(arch, config),
        "imageSize": h,
        "patchSize": cfg["patch_size"],
        "tokens": (h // cfg["patch_size"]) ** 2 + PROTECTED[arch],
        "protectedTokens": PROTECTED[arch],
        "signature": hc.tfjs_signature(out / "model.json"),
        "converterCommand": " ".join(cmd),
        "versions": hc.versions(),
    })
    print(f"[{name}-full] wrote {out} in {time.time() - t0:.0f}s (dropped {removed / 1e6:.0f} MB of shards; "
          f"peak RSS of this process {hc.peak_rss_mb():.0f} MB, converter subprocess {hc.peak_rss_mb(children=True):.0f} MB)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="vit,deit,clip,blip")
    ap.add_argument("--size", default="small", choices=["small", "full"])
    ap.add_argument("--full", default=",".join(FULL), help="names of full configs (with --size full)")
    a = ap.parse_args()
    archs = a.arch.split(",")
    if a.size == "small":
        for arch in archs:
            export_small(arch)
    else:
        for name in a.full.split(","):
            if FULL[name][0] in archs:
                export_full(name)


if __name__ == "__main__":
    main()
