"""HF generate() references on the caption and VQA models: greedy and beam search (with the patch that
makes transformers' TF beam search run for BLIP), and the greedy decisions' logit margins."""
from __future__ import annotations

import math

import hf_common as hc
import numpy as np

from .settings import CAPTION_PROMPT, MAX_LENGTH, MIN_LENGTH, VQA_QUESTIONS


def gen_config_dict(model, kwargs: dict) -> dict:
    g = model.text_decoder.generation_config.to_dict()
    g = {k: v for k, v in g.items() if not k.startswith("_")}
    g.update({k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in kwargs.items()})
    return g


def patch_beam_search(model) -> None:
    """transformers 4.57.6 TF generate(num_beams > 1) CRASHES for BLIP: _expand_inputs_for_generation expands
    every model kwarg to [B, beams, ...] and beam_search flattens only `encoder_outputs` and `attention_mask`, so
    the decoder receives encoder_hidden_states [B, beams, N, C] ("too many values to unpack (expected 3)" in
    TFBlipTextModel.call). Fix, applied to the instance: flatten encoder_hidden_states / encoder_attention_mask
    to [B*beams, ...] (batch-major, beams consecutive = flatten_beam_dim = PyTorch's repeat_interleave) in
    prepare_inputs_for_generation. Greedy (rank 3 already) is unaffected; the search algorithm is HF's own."""
    import tensorflow as tf

    td = model.text_decoder
    if getattr(td, "_blip_beam_patch", False):
        return
    orig = td.prepare_inputs_for_generation

    def prep(input_ids, past_key_values=None, attention_mask=None, **model_kwargs):
        out = orig(input_ids, past_key_values=past_key_values, attention_mask=attention_mask, **model_kwargs)
        e, m = out.get("encoder_hidden_states"), out.get("encoder_attention_mask")
        if e is not None and e.shape.rank == 4:
            out["encoder_hidden_states"] = tf.reshape(e, tf.concat([[-1], tf.shape(e)[2:]], 0))
        if m is not None and m.shape.rank == 3:
            out["encoder_attention_mask"] = tf.reshape(m, tf.concat([[-1], tf.shape(m)[2:]], 0))
        return out

    object.__setattr__(td, "prepare_inputs_for_generation", prep)
    object.__setattr__(td, "_blip_beam_patch", True)


def run_generate(model, task, pixel_values, input_ids, attention_mask, kwargs):
    import tensorflow as tf

    out = model.generate(pixel_values=tf.constant(pixel_values),
                         input_ids=None if input_ids is None else tf.constant(input_ids),
                         attention_mask=None if attention_mask is None else tf.constant(attention_mask),
                         return_dict_in_generate=True, output_scores=True, **kwargs)
    res = {"sequences": out.sequences.numpy().tolist()}
    if getattr(out, "sequences_scores", None) is not None:
        res["sequencesScores"] = hc.f32_list(out.sequences_scores.numpy())
    return res


def greedy_margins(step_fn, sequences, prompt_len: int, eos: int) -> dict:
    """Re-runs the last-position logits on every prefix of the greedy sequences: the smallest gap between the
    best and second-best logit at any step of an unfinished row (a float32 re-implementation must pick the
    same token when the gap is well above its rounding noise)."""
    seqs = np.asarray(sequences, np.int32)
    gap, steps = math.inf, 0
    done = np.zeros(len(seqs), bool)
    for t in range(prompt_len, seqs.shape[1]):
        logits = step_fn(seqs[:, :t])
        top2 = np.sort(logits, axis=-1)[:, -2:]
        for b in range(len(seqs)):
            if not done[b]:
                assert int(np.argmax(logits[b])) == int(seqs[b, t]), (b, t)
                gap = min(gap, float(top2[b, 1] - top2[b, 0]))
                steps += 1
        done |= seqs[:, t] == eos
    return {"minTop1Top2LogitGap": gap, "stepsChecked": steps}


def generate_references(run) -> dict:
    """reference.json's `generate`: greedy and 3-beam generate() of the caption model (with and without the
    prompt) and of the VQA model, max_length MAX_LENGTH; run is export_small's state (blip/small.py)."""
    import tensorflow as tf

    tk, ids, px, G, img, q_embeds = run.tk, run.ids, run.px, run.G, run.img, run.q_embeds
    c, v = run.models["caption"], run.models["vqa"]
    cp, vq, bos_only = run.cp, run.vq, run.bos_only
    cap_prefix, cap_prefix_mask = run.cap_prefix, run.cap_prefix_mask
    gen = {}
    patch_beam_search(c)
    patch_beam_search(v)
    for nb in (1, 3):
        kw = {"max_length": MAX_LENGTH, "num_beams": nb}
        tag = "greedy" if nb == 1 else f"beams{nb}"
        gen[f"caption_{tag}_noprompt"] = {
            "call": f"TFBlipForConditionalGeneration.generate(pixel_values, max_length={MAX_LENGTH}, num_beams={nb})",
            "kwargs": kw, "effectiveDecoderCall": {
                "input_ids": bos_only.tolist(), "attention_mask": None, "eos_token_id": ids["sep"],
                "pad_token_id": ids["pad"], "encoder_attention_mask": "ones [B, N] int32"},
            "generationConfig": gen_config_dict(c, dict(kw, eos_token_id=ids["sep"], pad_token_id=ids["pad"])),
            **run_generate(c, "caption", px, None, None, kw)}
        gen[f"caption_{tag}_prompt"] = {
            "call": f"TFBlipForConditionalGeneration.generate(pixel_values, input_ids, attention_mask, "
                    f"max_length={MAX_LENGTH}, num_beams={nb})",
            "prompt": CAPTION_PROMPT, "input_ids": cp["input_ids"].tolist(), "attention_mask": cp["attention_mask"].tolist(),
            "kwargs": kw, "effectiveDecoderCall": {
                "input_ids": cap_prefix.tolist(), "attention_mask": cap_prefix_mask.tolist(),
                "eos_token_id": ids["sep"], "pad_token_id": ids["pad"], "encoder_attention_mask": "ones [B, N] int32"},
            "generationConfig": gen_config_dict(c, dict(kw, eos_token_id=ids["sep"], pad_token_id=ids["pad"])),
            **run_generate(c, "caption", px, cp["input_ids"], cp["attention_mask"], kw)}
        g = v.generate(input_ids=tf.constant(vq["input_ids"]), pixel_values=tf.constant(px),
                       attention_mask=tf.constant(vq["attention_mask"]), return_dict_in_generate=True,
                       output_scores=True, **kw)
        gen[f"vqa_{tag}"] = {
            "call": f"TFBlipForQuestionAnswering.generate(input_ids, pixel_values, attention_mask, "
                    f"max_length={MAX_LENGTH}, num_beams={nb})",
            "questions": VQA_QUESTIONS, "input_ids": vq["input_ids"].tolist(),
            "attention_mask": vq["attention_mask"].tolist(), "kwargs": kw,
            "effectiveDecoderCall": {"input_ids": bos_only.tolist(), "attention_mask": None,
                                     "encoder_hidden_states": "question_embeds (text_encoder on the question + image)",
                                     "encoder_attention_mask": "ONES [B, Tq] int32 (not the question's attention_mask)",
                                     "eos_token_id": ids["sep"], "pad_token_id": ids["pad"]},
            "generationConfig": gen_config_dict(v, dict(kw, eos_token_id=ids["sep"], pad_token_id=ids["pad"])),
            "sequences": g.sequences.numpy().tolist(),
            **({"sequencesScores": hc.f32_list(g.sequences_scores.numpy())}
               if getattr(g, "sequences_scores", None) is not None else {})}
    # min_length (the end token masked until then; the CLI's --min-length), greedy and 3 beams.
    for nb in (1, 3):
        kw = {"max_length": MAX_LENGTH, "num_beams": nb, "min_length": MIN_LENGTH}
        tag = "greedy" if nb == 1 else f"beams{nb}"
        gen[f"caption_{tag}_noprompt_min{MIN_LENGTH}"] = {
            "call": f"TFBlipForConditionalGeneration.generate(pixel_values, max_length={MAX_LENGTH}, num_beams={nb}, "
                    f"min_length={MIN_LENGTH})",
            "kwargs": kw,
            "generationConfig": gen_config_dict(c, dict(kw, eos_token_id=ids["sep"], pad_token_id=ids["pad"])),
            **run_generate(c, "caption", px, None, None, kw)}
    cap_step = {
        "noprompt": lambda x: G["caption/decoder"][2](c, input_ids=tf.constant(x), attention_mask=tf.ones_like(x),
                                                     image_embeds=tf.constant(img["caption"]))["logits"].numpy()}
    cap_step["prompt"] = cap_step["noprompt"]
    vqa_step = lambda x: G["vqa/answer"][2](  # noqa: E731
        v, input_ids=tf.constant(x), attention_mask=tf.ones_like(x), question_embeds=tf.constant(q_embeds),
        question_attention_mask=tf.ones(q_embeds.shape[:2], tf.int32))["logits"].numpy()
    gen["caption_greedy_noprompt"]["margins"] = greedy_margins(cap_step["noprompt"], gen["caption_greedy_noprompt"]["sequences"], 1, ids["sep"])
    gen["caption_greedy_prompt"]["margins"] = greedy_margins(cap_step["prompt"], gen["caption_greedy_prompt"]["sequences"],
                                                             cap_prefix.shape[1], ids["sep"])
    gen["vqa_greedy"]["margins"] = greedy_margins(vqa_step, gen["vqa_greedy"]["sequences"], 1, ids["sep"])
    for k, gv in gen.items():
        gv["decoded"] = [tk.decode(s, skip_special_tokens=True) for s in gv["sequences"]]
        gv["alsoPassed"] = {"return_dict_in_generate": True, "output_scores": True}
        if gv["kwargs"]["num_beams"] > 1:
            gv["beamSearchPatch"] = ("transformers 4.57.6 TF beam search crashes for BLIP (encoder_hidden_states left "
                                     "[B, beams, N, C]); run with converters/python/blip/generate.py "
                                     "patch_beam_search (flattens them to [B*beams, ...] in "
                                     "prepare_inputs_for_generation); the search itself is HF's")
        print(f"[generate {k}] {gv['sequences']}", flush=True)
    return gen
