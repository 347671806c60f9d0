#!/usr/bin/env python
"""BLIP's text-side token-dropping reference: HF's TFBlipTextModel run layer by layer with the image
tokens reduced after each cross-attention (the rule in docs/ALGORITHM.md). Float32 TF for the
layers (HF's own code), float64 numpy for the ranking. converters/python/blip/fixture_refs.py
writes spec/fixtures/blip/small/text-drop-reference.json with it."""
from __future__ import annotations

import math

import numpy as np


def keep_count(n0: int, layer: int, drop_rate: float, drop_max: float) -> int:
    """max(floor(N0*(1-drop_max)), floor((1-drop_rate*(layer+1))*N0)) in float64, evaluated in this order."""
    return max(int(math.floor(n0 * (1.0 - drop_max))), int(math.floor((1.0 - drop_rate * (layer + 1)) * n0)))


def text_forward_dropping(text_model, input_ids, attention_mask, image_embeds, *, is_decoder: bool,
                          drop_rate: float | None, drop_max: float = 0.8, rank: str = "all", mask_dtype=None):
    """Runs an HF TFBlipTextModel layer by layer (HF's own embeddings, masks and TFBlipTextLayer calls with
    output_attentions=True). After the cross-attention of layer i, the image tokens (and their mask entries)
    are reduced to the top keep_count(N0, i) by the cross-attention probabilities summed over heads and over
    ALL text positions (rank 'all'; padded text positions included, as the graph op sees them) or over heads
    at text position 0 only (rank 'first'); sorted descending, stable; the kept tokens go on to layer i+1 in
    that order. drop_rate None: no dropping (must equal HF's own forward).
    Returns (last_hidden_state, kept: per layer [B][k] indices into the ORIGINAL image-token order,
    margins)."""
    import tensorflow as tf
    from transformers.tf_utils import invert_attention_mask

    ids = tf.constant(input_ids)
    am = tf.constant(attention_mask)
    B, T = input_ids.shape
    h = text_model.embeddings(input_ids=ids, training=False)
    ext = text_model.get_extended_attention_mask(am, (B, T), is_decoder)
    enc = tf.constant(image_embeds)
    n0 = int(enc.shape[1])
    emask = tf.ones((B, n0), dtype=mask_dtype or tf.int32)
    orig = np.tile(np.arange(n0), (B, 1))
    kept, margins = [], {"minCutGap": math.inf, "minOrderGap": math.inf}
    for i, layer in enumerate(text_model.encoder.layer):
        outs = layer(h, ext, None, enc, invert_attention_mask(emask), None, True, training=False)
        h = outs[0]
        if drop_rate is None:
            continue
        cross = outs[2].numpy().astype(np.float64)  # [B, heads, T, N] cross-attention probabilities
        score = cross.sum(axis=(1, 2)) if rank == "all" else cross[:, :, 0, :].sum(axis=1)
        k = keep_count(n0, i, drop_rate, drop_max)
        k = min(k, score.shape[1])
        order = np.argsort(-score, axis=1, kind="stable")[:, :k]
        for b in range(B):
            s = np.sort(score[b])[::-1]
            if k < len(s):
                margins["minCutGap"] = min(margins["minCutGap"], float(s[k - 1] - s[k]))
            if k > 1:
                margins["minOrderGap"] = min(margins["minOrderGap"], float(np.min(s[:k - 1] - s[1:k])))
        enc = tf.gather(enc, order, batch_dims=1)
        emask = tf.gather(emask, order, batch_dims=1)
        orig = np.take_along_axis(orig, order, axis=1)
        kept.append(orig.tolist())
    return h, kept, margins
