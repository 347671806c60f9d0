#!/usr/bin/env python
"""BLIP's vision Turbo reference: spec/reference/turbo_ref.py's numpy forward on a BLIP task model's
vision tower, returning the token sizes as well. converters/python/blip/fixture_refs.py writes
spec/fixtures/blip/small/vision-turbo-reference.json with it."""
from __future__ import annotations


import numpy as np

import turbo_ref as tr
from turbo_nets import hf_small_net


def vision_net(model, config):
    """turbo_ref's numpy BLIP vision net from the task model's vision weights (names as TFBlipVisionModel)."""
    w = {}
    for v in model.vision_model.weights:
        rest = v.name.split("vision_model/", 1)[1]
        w["vision_model/" + rest] = v.numpy()
    meta = {"config": config.vision_config.to_dict()}
    return hf_small_net("blip", w, meta), w


def vision_forward_sizes(net, pixels, s):
    """turbo_ref.forward with the token sizes returned as well (same steps, same functions)."""
    x = tr.embed(net, pixels)
    L = len(net.layers)
    sched = tr.r_schedule(s.get("r", 0), L)
    size = None
    toks, merged = [], 0
    stats = tr.MergeStats()
    for li, lp in enumerate(net.layers):
        x, k, P = tr.attention(net, lp, x, size, s.get("propAttn", True))
        if sched[li] > 0:
            x, size, _ = tr.turbo_merge(x, k.mean(1), P[:, :, 0, :].mean(1), size, sched[li],
                                        alpha=s.get("alpha", 0.0), beta=s.get("beta", 1.0), gamma=s.get("gamma", 0.0),
                                        layer=merged, protected=1, r_threshold=s.get("rThreshold", 0), stats=stats)
            merged += 1
        h = tr.layer_norm(x, *lp["ln2"])
        x = x + tr.dense(tr.gelu(tr.dense(h, lp["fc1"])), lp["fc2"])
        toks.append(int(x.shape[1]))
    out = net.head(x)
    if size is None:
        size = np.ones(x.shape[:2])
    return out, size, toks, stats
