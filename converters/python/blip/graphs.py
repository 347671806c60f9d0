"""The eight graphs (HF task code paths cut at the graph boundary), their export through a SavedModel
and the real tensorflowjs_converter, and the JSON encoding of reference values."""
from __future__ import annotations

import shutil
from pathlib import Path

import hf_common as hc
import numpy as np


def image_ones(image_embeds, dtype):
    import tensorflow as tf
    return tf.ones(tf.shape(image_embeds)[:-1], dtype=dtype)


def l2n(x):
    import tensorflow as tf
    return tf.linalg.normalize(x, ord=2, axis=-1)[0]


# Each graph: name -> (inputs [(name, dtype, shape)], fn(model, **inputs) -> {output: tensor}).
# The functions are exactly the HF task code paths (modeling_tf_blip.py), cut at the graph boundary.
def graph_defs(C: int, Cv: int):
    import tensorflow as tf

    px = lambda s: [("pixel_values", tf.float32, [None, 3, s, s])]  # noqa: E731
    txt = [("input_ids", tf.int32, [None, None]), ("attention_mask", tf.int32, [None, None])]
    img = [("image_embeds", tf.float32, [None, None, Cv])]

    def r_vision(m, pixel_values):
        e = m.vision_model(pixel_values=pixel_values, training=False)[0]
        return {"image_embeds": e, "image_feat": l2n(m.vision_proj(e[:, 0, :]))}

    def r_text(m, input_ids, attention_mask):
        q = m.text_encoder(input_ids=input_ids, attention_mask=attention_mask, return_dict=True,
                           training=False).last_hidden_state
        return {"text_feat": l2n(m.text_proj(q[:, 0, :]))}

    def r_itm(m, input_ids, attention_mask, image_embeds):
        q = m.text_encoder(input_ids=input_ids, attention_mask=attention_mask, encoder_hidden_states=image_embeds,
                           encoder_attention_mask=image_ones(image_embeds, tf.int64), return_dict=True,
                           training=False).last_hidden_state
        return {"itm_logits": m.itm_head(q[:, 0, :])}

    def vision_only(m, pixel_values):
        return {"image_embeds": m.vision_model(pixel_values=pixel_values, training=False)[0]}

    def c_decoder(m, input_ids, attention_mask, image_embeds):
        out = m.text_decoder(input_ids=input_ids, attention_mask=attention_mask, encoder_hidden_states=image_embeds,
                             encoder_attention_mask=image_ones(image_embeds, tf.int32), use_cache=False,
                             return_dict=True, training=False)
        return {"logits": out.logits[:, -1, :]}

    def v_question(m, input_ids, attention_mask, image_embeds):
        q = m.text_encoder(input_ids=input_ids, attention_mask=attention_mask, encoder_hidden_states=image_embeds,
                           encoder_attention_mask=image_ones(image_embeds, tf.int32), return_dict=True,
                           training=False).last_hidden_state
        return {"question_embeds": q}

    def v_answer(m, input_ids, attention_mask, question_embeds, question_attention_mask):
        out = m.text_decoder(input_ids=input_ids, attention_mask=attention_mask,
                             encoder_hidden_states=question_embeds, encoder_attention_mask=question_attention_mask,
                             use_cache=False, return_dict=True, training=False)
        return {"logits": out.logits[:, -1, :]}

    return {
        "retrieval/vision": ("retrieval", None, r_vision),
        "retrieval/text": ("retrieval", txt, r_text),
        "retrieval/itm": ("retrieval", txt + img, r_itm),
        "caption/vision": ("caption", None, vision_only),
        "caption/decoder": ("caption", txt + img, c_decoder),
        "vqa/vision": ("vqa", None, vision_only),
        "vqa/question": ("vqa", txt + img, v_question),
        "vqa/answer": ("vqa", txt + [("question_embeds", tf.float32, [None, None, C]),
                                     ("question_attention_mask", tf.int32, [None, None])], v_answer),
    }, px


def make_serve(m, specs, fn):
    import tensorflow as tf

    sig = [tf.TensorSpec(shape, dtype, name=n) for n, dtype, shape in specs]
    names = [n for n, _, _ in specs]

    @tf.function(input_signature=sig)
    def serve(*args):
        return fn(m, **dict(zip(names, args)))

    return serve


def export_graph(m, name, specs, fn, out_dir: Path, feeds: dict | None, full: bool = False) -> dict:
    """SavedModel (one serving_default signature) -> tensorflowjs_converter -> out_dir. With feeds: checks the
    SavedModel signature against eager TF and returns the eager outputs."""
    import tensorflow as tf

    saved = hc.tmpdir("tfjs-turbo-blip-sm-")
    conv = hc.tmpdir("tfjs-turbo-blip-tfjs-") if full else out_dir
    info = {}
    try:
        hc.save_signature_model(m, saved, make_serve(m, specs, fn))
        if feeds is not None:
            eager = {k: v.numpy() for k, v in fn(m, **{k: tf.constant(v) for k, v in feeds.items()}).items()}
            sig = tf.saved_model.load(str(saved)).signatures["serving_default"]
            got = {k: v.numpy() for k, v in sig(**{k: tf.constant(v) for k, v in feeds.items()}).items()}
            for k in eager:
                d = float(np.max(np.abs(got[k] - eager[k])))
                assert d < 1e-5, (name, k, d)
                info.setdefault("savedModelVsEagerMaxAbsDiff", {})[k] = d
            info["outputs"] = eager
        cmd = hc.run_converter(saved, conv)
        if full:
            info["deletedShardBytes"] = sum(p.stat().st_size for p in conv.glob("*.bin"))
            out_dir.mkdir(parents=True, exist_ok=True)
            for stale in out_dir.glob("*.bin"):
                stale.unlink()
            shutil.copyfile(conv / "model.json", out_dir / "model.json")
    finally:
        shutil.rmtree(saved, ignore_errors=True)
        if full:
            shutil.rmtree(conv, ignore_errors=True)
    sig = hc.tfjs_signature(out_dir / "model.json")
    keys = sorted(info["outputs"]) if "outputs" in info else sorted(sig["outputs"])
    tensors = {}
    for i, k in enumerate(keys):
        tensors[k] = "Identity:0" if i == 0 else f"Identity_{i}:0"
    info["signature"] = sig
    info["outputTensors"] = tensors
    info["converterCommand"] = " ".join(cmd)
    return info


def jarr(a):
    """float32 values written with the fewest digits that parse back to the same float32 (turbo_ref.f32_shortest)."""
    import turbo_ref as tr

    a = np.asarray(a)
    if a.dtype.kind in "iu":
        return {"shape": list(a.shape), "dtype": "int32", "data": a.tolist()}
    return {"shape": list(a.shape), "dtype": "float32", "data": tr.f32_shortest(a)}
