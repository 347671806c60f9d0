"""text-drop-reference.json and vision-turbo-reference.json: the references of spec/reference/
(blip_text_drop.py, blip_vision_turbo.py) run on the small models, written with their inputs and margins."""
from __future__ import annotations

import hf_common as hc
import numpy as np
from blip_text_drop import keep_count, text_forward_dropping
from blip_vision_turbo import vision_forward_sizes, vision_net

from .graphs import jarr, l2n
from .settings import DROP_SETTINGS, RETRIEVAL_TEXTS, VISION_TURBO_SETTINGS


def text_drop_reference(run) -> None:
    """text-drop-reference.json: ITM, caption decoder and VQA question under DROP_SETTINGS, after checking that
    the layer-by-layer run without dropping equals HF's own forward; run is export_small's state (blip/small.py)."""
    import tensorflow as tf

    out, config, graphs, img, N0 = run.out, run.config, run.graphs, run.img, run.N0
    r, c, v = run.models["retrieval"], run.models["caption"], run.models["vqa"]
    pair_ids, pair_mask, pair_img, itm_pairs = run.pair_ids, run.pair_mask, run.pair_img, run.itm_pairs
    cap_prefix, cap_prefix_mask, ans_prefix = run.cap_prefix, run.cap_prefix_mask, run.ans_prefix
    vq, q_embeds = run.vq, run.q_embeds
    drop = {"itm": {}, "caption_decoder": {}, "vqa_question": {}}
    te_r, td_c, te_v = r.text_encoder, c.text_decoder, v.text_encoder
    base_itm, _, _ = text_forward_dropping(te_r, pair_ids, pair_mask, pair_img, is_decoder=False, drop_rate=None,
                                           mask_dtype=tf.int64)
    assert np.max(np.abs(r.itm_head(base_itm[:, 0, :]).numpy() - itm_pairs)) < 1e-5
    base_cap, _, _ = text_forward_dropping(td_c.bert, cap_prefix, cap_prefix_mask, img["caption"], is_decoder=True,
                                           drop_rate=None)
    base_cap_logits = td_c.cls(base_cap).numpy()[:, -1, :]
    dec_prompt = graphs.get("caption/decoder", {}).get("cases", {}).get("prompt", {}).get("outputs", {}).get("logits")
    if dec_prompt is not None:
        assert np.max(np.abs(base_cap_logits - np.asarray(dec_prompt["data"]))) < 1e-5
    base_q, _, _ = text_forward_dropping(te_v, vq["input_ids"], vq["attention_mask"], img["vqa"], is_decoder=False,
                                         drop_rate=None)
    assert np.max(np.abs(base_q.numpy() - q_embeds)) < 1e-5
    for s in DROP_SETTINGS:
        key = f"rate{s['dropRate']}_max{s['dropMax']}_{s['rank']}"
        kw = dict(drop_rate=s["dropRate"], drop_max=s["dropMax"], rank=s["rank"])
        h, kept, mg = text_forward_dropping(te_r, pair_ids, pair_mask, pair_img, is_decoder=False, mask_dtype=tf.int64, **kw)
        drop["itm"][key] = {"setting": s, "keptIndices": kept, "margins": mg,
                            "outputs": {"itm_logits": jarr(r.itm_head(h[:, 0, :]).numpy())}}
        h, kept, mg = text_forward_dropping(td_c.bert, cap_prefix, cap_prefix_mask, img["caption"], is_decoder=True, **kw)
        drop["caption_decoder"][key] = {"setting": s, "keptIndices": kept, "margins": mg,
                                        "outputs": {"logits": jarr(td_c.cls(h).numpy()[:, -1, :])}}
        h, kept, mg = text_forward_dropping(te_v, vq["input_ids"], vq["attention_mask"], img["vqa"], is_decoder=False, **kw)
        ans = v.text_decoder(input_ids=tf.constant(ans_prefix), attention_mask=tf.constant(np.ones_like(ans_prefix)),
                             encoder_hidden_states=h, encoder_attention_mask=tf.constant(vq["attention_mask"]),
                             use_cache=False, return_dict=True, training=False).logits.numpy()[:, -1, :]
        drop["vqa_question"][key] = {"setting": s, "keptIndices": kept, "margins": mg,
                                     "outputs": {"question_embeds": jarr(h.numpy()),
                                                 "answer_logits_prefix_question_mask": jarr(ans)}}
        print(f"[drop {key}] itm kept {[len(k[0]) for k in drop['itm'][key]['keptIndices']]} "
              f"margins itm {drop['itm'][key]['margins']} cap {drop['caption_decoder'][key]['margins']} "
              f"vqa {mg}", flush=True)
    drop_doc = {
        "source": "spec/reference/blip_text_drop.py text_forward_dropping: HF TFBlipTextModel run layer by layer "
                  "(its embeddings, get_extended_attention_mask, invert_attention_mask, TFBlipTextLayer with "
                  "output_attentions=True), float32 TF; ranking in float64 numpy",
        "rule": "after the cross-attention of text layer i (0-based), score[b, n] = sum over heads and over ALL T text "
                "positions (padded ones included) of the cross-attention probabilities (rank 'all'), or sum over heads "
                "at text position 0 only (rank 'first'); order = stable argsort of -score; keep the first "
                "k_i = max(floor(N0*(1-dropMax)), floor((1-dropRate*(i+1))*N0)) (float64, in this order) image tokens and "
                "their image-attention-mask entries, in that (descending) order, as layer i+1's cross-attention keys/values. "
                "N0 = number of image tokens the text side received. The reduction after the LAST layer does not change "
                "any output (recorded anyway). The class token (image token 0) is NOT protected.",
        "keepCounts": {f"N0={N0} rate{s['dropRate']} max{s['dropMax']}":
                       [keep_count(N0, i, s["dropRate"], s["dropMax"]) for i in range(config.text_config.num_hidden_layers)]
                       for s in DROP_SETTINGS[:2]},
        "keepCountNote": "float64 rounding matters: 1-0.8 = 0.19999999999999996, so floor(65*(1-0.8)) = 12, not 13",
        "keptIndices": "per layer, per batch item, indices into the ORIGINAL image-token order, in kept (descending-score) order",
        "margins": "minCutGap: smallest score gap between the k-th and (k+1)-th token at any cut; minOrderGap: smallest "
                   "gap between consecutive kept tokens (the order of kept tokens only matters for the recorded indices "
                   "and tie-breaks; cross-attention itself is order-invariant)",
        "inputs": {
            "itm": {"graph": "retrieval/itm", "case": "pairs", "note": "image-major pairs (image i, text j) -> row i*3+j",
                    "input_ids": pair_ids.tolist(), "attention_mask": pair_mask.tolist(),
                    "image_embeds": "retrieval/vision image_embeds rows repeated 3x (reference.json graphs['retrieval/itm'].cases.pairs)"},
            "caption_decoder": {"graph": "caption/decoder", "case": "prompt", "input_ids": cap_prefix.tolist(),
                                "attention_mask": cap_prefix_mask.tolist(), "image_embeds": "caption/vision image_embeds"},
            "vqa_question": {"graph": "vqa/question", "case": "main", "input_ids": vq["input_ids"].tolist(),
                             "attention_mask": vq["attention_mask"].tolist(), "image_embeds": "vqa/vision image_embeds",
                             "answerPrefix": ans_prefix.tolist(),
                             "answerNote": "answer_logits_prefix_question_mask: vqa/answer on answerPrefix with the "
                                           "dropped question_embeds and question_attention_mask = the question's mask"},
        },
        "N0": N0,
        "results": drop,
    }
    hc.write_json(out / "text-drop-reference.json", drop_doc)


def vision_turbo_reference(run) -> None:
    """vision-turbo-reference.json (and retrieval/vision/weights.npz): numpy Turbo on the retrieval vision tower
    under VISION_TURBO_SETTINGS, with TF's image_feat and ITM logits on the merged tokens."""
    import tensorflow as tf

    out, config, px, img, G = run.out, run.config, run.px, run.img, run.G
    r = run.models["retrieval"]
    pair_ids, pair_mask = run.pair_ids, run.pair_mask
    net, w = vision_net(r, config)
    np.savez(out / "retrieval" / "vision" / "weights.npz", **w)
    vt = []
    for s in VISION_TURBO_SETTINGS:
        o, size, toks, st = vision_forward_sizes(net, px, s)
        res = {"config": s, "tokensAfterEachBlock": toks, "margins": st.as_dict(),
               "image_embeds": jarr(o["last_hidden_state"]), "sizes": jarr(size)}
        if s.get("r", 0) == 0:
            d = float(np.max(np.abs(o["last_hidden_state"] - img["retrieval"])))
            assert d < 1e-4, d
            res["numpyVsTfMaxAbsDiff"] = d
        else:
            emb = o["last_hidden_state"].astype(np.float32)
            res["image_feat"] = jarr(l2n(r.vision_proj(tf.constant(emb[:, 0, :]))).numpy())
            pe = np.repeat(emb, len(RETRIEVAL_TEXTS), axis=0)
            res["itm_logits_pairs"] = jarr(G["retrieval/itm"][2](r, input_ids=tf.constant(pair_ids),
                                                                 attention_mask=tf.constant(pair_mask),
                                                                 image_embeds=tf.constant(pe))["itm_logits"].numpy())
        vt.append(res)
        print(f"[vision turbo {s}] tokens {toks} margins {st.as_dict()}", flush=True)
    hc.write_json(out / "vision-turbo-reference.json", {
        "source": "spec/reference/blip_vision_turbo.py (spec/reference/turbo_ref.py, numpy float64) on "
                  "retrieval/vision's weights (weights.npz, names as TFBlipVisionModel with prefix vision_model/); "
                  "same rules as "
                  "spec/fixtures/hf/*-small/turbo-reference.json (protected class token, propAttn on)",
        "inputs": {"pixel_values": {"file": "pixel_values.f32", "shape": list(px.shape), "dtype": "float32"}},
        "outputs": "image_embeds = post_layernorm(tokens) [B, N_L, 64] (what retrieval/vision outputs, merged), sizes [B, N_L]; "
                   "image_feat and itm_logits_pairs (image-major (image, text) pairs as text-drop-reference itm) computed by TF "
                   "from the float32-rounded merged image_embeds",
        "results": vt,
    })
