"""--size small: random weights (fixed seeds), the tokenizer, the eight graphs with TF reference outputs,
generate() sequences, the text-drop and vision Turbo references -> spec/fixtures/blip/small/."""
from __future__ import annotations

import time
from types import SimpleNamespace

import hf_common as hc
import numpy as np

from .conventions import write_config
from .fixture_refs import text_drop_reference, vision_turbo_reference
from .generate import generate_references
from .graphs import export_graph, graph_defs, jarr, l2n
from .inputs import build_tokenizer, load_images, special_ids, tokenize
from .models import blip_config, build_models
from .settings import (CAPTION_PROMPT, GELU_NOTE, OUT_SMALL, RETRIEVAL_TEXTS, SEED, SMALL_E, SMALL_TEXT,
                       SMALL_VISION, VQA_QUESTIONS)


def export_small(only: set[str] | None) -> None:
    import tensorflow as tf
    import transformers as T

    t0 = time.time()
    out = OUT_SMALL
    out.mkdir(parents=True, exist_ok=True)
    tk = build_tokenizer(out)
    ids = special_ids(tk)
    V = len(tk)
    config = blip_config(V, ids, SMALL_VISION, SMALL_TEXT, SMALL_E)
    models, perturbed = build_models(config, SEED)
    C = config.text_config.hidden_size
    Cv = config.vision_config.hidden_size
    S = config.vision_config.image_size
    N0 = (S // config.vision_config.patch_size) ** 2 + 1

    px, img_info = load_images(S)
    px.tofile(out / "pixel_values.f32")
    B = px.shape[0]

    # ---- fixed text inputs (BertTokenizerFast, as BlipProcessor)
    rt = tokenize(tk, RETRIEVAL_TEXTS)
    vq = tokenize(tk, VQA_QUESTIONS)
    cp = tokenize(tk, [CAPTION_PROMPT] * B)

    # ---- eager reference tensors that feed later graphs
    r, c, v = models["retrieval"], models["caption"], models["vqa"]
    img = {k: models[k].vision_model(pixel_values=tf.constant(px), training=False)[0].numpy() for k in models}

    # ITM on every (image i, text j) pair, image-major
    pair_img = np.repeat(img["retrieval"], len(RETRIEVAL_TEXTS), axis=0)
    pair_ids = np.tile(rt["input_ids"], (B, 1))
    pair_mask = np.tile(rt["attention_mask"], (B, 1))
    # caption decoder prefixes: HF generate() replaces input_ids[:, 0] by bos and drops the last token ([SEP])
    cap_prefix = np.concatenate([np.full((B, 1), ids["bos"], np.int32), cp["input_ids"][:, 1:-1]], 1)
    cap_prefix_mask = cp["attention_mask"][:, :-1]
    bos_only = np.full((B, 1), ids["bos"], np.int32)
    # VQA: question embeds, then the answer decoder on [bos] and on [bos, 2 tokens]
    q_embeds = v.text_encoder(input_ids=tf.constant(vq["input_ids"]), attention_mask=tf.constant(vq["attention_mask"]),
                              encoder_hidden_states=tf.constant(img["vqa"]), return_dict=True,
                              training=False).last_hidden_state.numpy()
    ans_prefix = np.array([[ids["bos"], tk.convert_tokens_to_ids("two"), tk.convert_tokens_to_ids("dogs")]] * B, np.int32)

    G, px_spec = graph_defs(C, Cv)
    feeds = {
        "retrieval/vision": [("main", {"pixel_values": px})],
        "retrieval/text": [("main", {"input_ids": rt["input_ids"], "attention_mask": rt["attention_mask"]})],
        "retrieval/itm": [("pairs", {"input_ids": pair_ids, "attention_mask": pair_mask, "image_embeds": pair_img})],
        "caption/vision": [("main", {"pixel_values": px})],
        "caption/decoder": [
            ("bos", {"input_ids": bos_only, "attention_mask": np.ones_like(bos_only), "image_embeds": img["caption"]}),
            ("prompt", {"input_ids": cap_prefix, "attention_mask": cap_prefix_mask, "image_embeds": img["caption"]}),
        ],
        "vqa/vision": [("main", {"pixel_values": px})],
        "vqa/question": [("main", {"input_ids": vq["input_ids"], "attention_mask": vq["attention_mask"],
                                   "image_embeds": img["vqa"]})],
        "vqa/answer": [
            ("bos_generate_mask", {"input_ids": bos_only, "attention_mask": np.ones_like(bos_only),
                                   "question_embeds": q_embeds,
                                   "question_attention_mask": np.ones(q_embeds.shape[:2], np.int32)}),
            ("prefix_question_mask", {"input_ids": ans_prefix, "attention_mask": np.ones_like(ans_prefix),
                                      "question_embeds": q_embeds, "question_attention_mask": vq["attention_mask"]}),
        ],
    }
    graphs = {}
    for gname, (task, specs, fn) in G.items():
        if only and gname not in only:
            continue
        specs = specs or px_spec(S)
        cases = feeds[gname]
        info = export_graph(models[task], gname, specs, fn, out / gname, cases[0][1])
        case_out = {cases[0][0]: info.pop("outputs")}
        for cname, f in cases[1:]:
            case_out[cname] = {k: t.numpy() for k, t in fn(models[task], **{k: tf.constant(x) for k, x in f.items()}).items()}
        graphs[gname] = {
            "task": task,
            "inputs": [{"name": n, "dtype": d.name, "shape": [-1 if s is None else s for s in shp]} for n, d, shp in specs],
            "outputs": {k: {"tensor": info["outputTensors"][k], "shape": list(val.shape)}
                        for k, val in case_out[cases[0][0]].items()},
            "signature": info["signature"],
            "savedModelVsEagerMaxAbsDiff": info["savedModelVsEagerMaxAbsDiff"],
            "cases": {cn: {"inputs": {k: (jarr(x) if k != "pixel_values" else {"file": "pixel_values.f32",
                                                                                 "shape": list(x.shape), "dtype": "float32"})
                                      for k, x in f.items()},
                           "outputs": {k: jarr(val) for k, val in case_out[cn].items()}}
                      for cn, f in cases},
        }
        print(f"[{gname}] exported ({time.time() - t0:.0f}s)", flush=True)

    # ---- retrieval: ITC similarity and ITM logits (the HF model's own call, both paths)
    img_feat = graphs.get("retrieval/vision", {}).get("cases", {}).get("main", {}).get("outputs", {}).get("image_feat")
    ret_model_out = {}
    for use_itm in (False, True):
        o = r(input_ids=tf.constant(np.tile(rt["input_ids"], (1, 1))), attention_mask=tf.constant(rt["attention_mask"]),
              pixel_values=tf.constant(px[:1].repeat(len(RETRIEVAL_TEXTS), 0)), use_itm_head=use_itm, training=False)
        ret_model_out["itm" if use_itm else "itc"] = o.itm_score.numpy()
    vf = l2n(r.vision_proj(tf.constant(img["retrieval"][:, 0, :]))).numpy()
    tf_ = l2n(r.text_proj(r.text_encoder(input_ids=tf.constant(rt["input_ids"]),
                                         attention_mask=tf.constant(rt["attention_mask"]), return_dict=True,
                                         training=False).last_hidden_state[:, 0, :])).numpy()
    sim = vf @ tf_.T
    itm_pairs = r.itm_head(r.text_encoder(input_ids=tf.constant(pair_ids), attention_mask=tf.constant(pair_mask),
                                          encoder_hidden_states=tf.constant(pair_img), return_dict=True,
                                          training=False).last_hidden_state[:, 0, :]).numpy()
    # HF's own TFBlipForImageTextRetrieval.call for image 0 vs every text (the graphs must agree with it)
    assert np.max(np.abs(ret_model_out["itc"][0] - sim[0])) < 1e-5, "ITC path differs from HF call"
    assert np.max(np.abs(ret_model_out["itm"] - itm_pairs[:len(RETRIEVAL_TEXTS)])) < 1e-5, "ITM path differs from HF call"

    # ---- the state the sections below read (generate(), text drop, vision Turbo, config.json)
    run = SimpleNamespace(out=out, tk=tk, ids=ids, V=V, config=config, models=models, S=S, N0=N0, px=px, img=img,
                          rt=rt, vq=vq, cp=cp, pair_ids=pair_ids, pair_mask=pair_mask, pair_img=pair_img,
                          itm_pairs=itm_pairs, bos_only=bos_only, cap_prefix=cap_prefix,
                          cap_prefix_mask=cap_prefix_mask, q_embeds=q_embeds, ans_prefix=ans_prefix, G=G,
                          graphs=graphs)

    # ---- generate(): greedy and beam search, max_length MAX_LENGTH
    gen = generate_references(run)

    # ---- text-side dropping reference
    text_drop_reference(run)

    # ---- vision Turbo on the retrieval vision weights
    vision_turbo_reference(run)

    # ---- config.json
    write_config(run)

    # ---- reference.json + meta
    doc = {
        "source": "TensorFlow eager HF models (float32); every graph's SavedModel signature checked against eager "
                  "(savedModelVsEagerMaxAbsDiff)",
        "pixelValues": {"file": "pixel_values.f32", "shape": list(px.shape), "dtype": "float32", **img_info},
        "texts": {"retrieval": {k: (val.tolist() if hasattr(val, "tolist") else val) for k, val in rt.items()},
                  "vqa": {k: (val.tolist() if hasattr(val, "tolist") else val) for k, val in vq.items()},
                  "captionPrompt": {k: (val.tolist() if hasattr(val, "tolist") else val) for k, val in cp.items()}},
        "graphs": graphs,
        "retrieval": {"itcSimilarity": jarr(sim), "itcNote": "[images, texts] = image_feat @ text_feat^T",
                      "itmLogits": jarr(itm_pairs.reshape(B, len(RETRIEVAL_TEXTS), 2)),
                      "itmNote": "[images, texts, 2]; HF TFBlipForImageTextRetrieval.call(image 0, every text) "
                                 "checked to give the same itm/itc within 1e-5"},
        "generate": gen,
    }
    hc.write_json(out / "reference.json", doc)
    hc.write_json(out / "meta.json", {
        "seed": SEED, "seeds": {"retrieval": SEED, "caption": SEED + 1, "vqa": SEED + 2},
        "weights": "random: tf_keras.utils.set_random_seed(seed) then HF init (vision initializer_range 0.02), "
                   "constant-initialised variables perturbed as export_hf.py (hf_common.perturb_constant_weights)",
        "perturbedVariables": {k: len(v) for k, v in perturbed.items()},
        "gelu": GELU_NOTE,
        "blipConfig": config.to_dict(),
        "converterCommand": " ".join(["tensorflowjs_converter", *hc.CONVERTER_ARGS, "<saved_model_dir>", "<out_dir>"]),
        "versions": hc.versions(),
        "seconds": round(time.time() - t0),
    })
    print(f"[blip small] wrote {out} in {time.time() - t0:.0f}s", flush=True)
