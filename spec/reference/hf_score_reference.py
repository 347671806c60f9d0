#!/usr/bin/env python
"""Writes spec/fixtures/hf/<arch>-small/score-reference.json: the CLIP and BLIP vision fixtures with
PiToMe, MCTF and MLERP merging, each merge computed by the official code, unchanged:
  - PiToMe: hchautran/PiToMe algo/pitome/merge.py (pitome_vision, merge_wavg), margin 0.9 - 0.8*i/L
    for block i of L (its deit apply_patch), after the attention residual on the head-mean keys;
  - MCTF: mlvlab/MCTF utils/mctf.py (bipartite_soft_matching with bidirection 1, merge_wavg with
    pooling_type 0), at the end of the block on the block output, with the block's attention
    probabilities (the function itself takes their mean over heads and queries);
  - Turbo + MLERP: the official Turbo merge.py (bipartite_unimodal_matching), the grouping behind
    shared/parity/merge-cases.json;
  - MLERP: scripts/record-pitome-cases.py mlerp_from_paper (ToFu published no code: the paper's
    mean/||mean||*max||x_i|| over the official groups).
The network around the merges is spec/reference/turbo_ref.py's numpy forward (float64) on the
fixture's weights.npz, checked against the fixture's TensorFlow reference.json at r = 0 first;
the merges run in torch float64 on its tensors. r is clamped to floor((N - 1)/2) (PiToMe: of the
T = N - 1 unprotected tokens) and a block with fewer than rThreshold tokens does not merge, the
rules of docs/ALGORITHM.md for every score.

  ~/.cache/tfjs-turbo/torch-venv/bin/python spec/reference/hf_score_reference.py \
      ~/.cache/tfjs-turbo/pitome-official ~/.cache/tfjs-turbo/mctf-official ~/.cache/tfjs-turbo/turbo-official [clip,blip]
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import torch

import turbo_ref as tr
from hf_turbo_reference import checked_fixture

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "spec" / "fixtures" / "hf"

SETTINGS = [
    {"score": "pitome", "r": 8},
    {"score": "pitome", "merge": "mlerp", "r": [10, 4, 0, 8]},
    {"score": "pitome", "r": 12, "rThreshold": 40},
    {"score": "mctf", "r": 8},
    {"score": "mctf", "merge": "mlerp", "r": [0, 10, 6, 4]},
    {"score": "mctf", "r": 6, "tau": [2, 5, 10]},
    {"score": "turbo", "merge": "mlerp", "r": 8, "alpha": 1.0},
]


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def combine(official_wavg, mlerp, merge_fn, x, size, mode):
    xt = torch.from_numpy(x)
    st = None if size is None else torch.from_numpy(size)[..., None]
    out, s = official_wavg(merge_fn, xt, st) if mode == "mean" else mlerp(merge_fn, official_wavg, xt, st)
    return out.numpy(), s[..., 0].numpy()


def forward(net, pixels, s, mods):
    pitome, mctf, turbo, rec = mods
    x = tr.embed(net, pixels)
    L = len(net.layers)
    sched = tr.r_schedule(s["r"], L)
    size = None
    toks = []
    mode = s.get("merge", "mean")
    thr = s.get("rThreshold", 0)
    tau = s.get("tau", [1, 20, 40])

    def clamp(r, n):
        r = min(r, (n - 1) // 2)
        return 0 if r <= 0 or n < thr else r

    for li, lp in enumerate(net.layers):
        N = x.shape[1]
        x, k, P = tr.attention(net, lp, x, size)
        r = clamp(sched[li], N)
        if r > 0 and s["score"] == "pitome":
            T = N - 1
            margin = float(np.float32(0.9 - 0.8 * (li / L)))  # the float32 the graph attr stores
            ratio = 1.0 - (r + 0.5) / T  # pitome_vision takes r = floor(T - T*ratio)
            merge_fn = pitome.pitome_vision(torch.from_numpy(k.mean(1)), ratio=ratio, margin=margin, class_token=True)
            x, size = combine(pitome.merge_wavg, rec.mlerp_from_paper, merge_fn, x, size, mode)
        elif r > 0 and s["score"] == "turbo":
            merge_fn = turbo.bipartite_unimodal_matching(torch.from_numpy(k.mean(1)), torch.from_numpy(P[:, :, 0, :].mean(1)), r,
                                                         class_token=True, alpha=s.get("alpha", 0.0))
            x, size = combine(turbo.merge_wavg_ours, rec.mlerp_from_paper, merge_fn, x, size, mode)
        h = tr.layer_norm(x, *lp["ln2"])
        h = tr.dense(h, lp["fc1"])
        h = tr.gelu(h) if net.act == "gelu" else tr.quick_gelu(h)
        x = x + tr.dense(h, lp["fc2"])
        if r > 0 and s["score"] == "mctf":
            st = None if size is None else torch.from_numpy(size)[..., None]
            merge_fn, _ = mctf.bipartite_soft_matching(torch.from_numpy(x), torch.from_numpy(P), st, r, 1, *tau, 1)
            wavg = lambda m, xx, ss: mctf.merge_wavg(m, xx, ss)[:2]
            x, size = combine(wavg, rec.mlerp_from_paper, merge_fn, x, size, mode)
        toks.append(int(x.shape[1]))
    return net.head(x), toks


def main(argv) -> int:
    pitome = load(Path(argv[1]) / "merge.py", "pitome_official")
    mctf = load(Path(argv[2]) / "mctf.py", "mctf_official")
    turbo = load(Path(argv[3]) / "merge.py", "turbo_official")
    rec = load(REPO / "scripts" / "record-pitome-cases.py", "record_pitome_cases")
    archs = argv[4].split(",") if len(argv) > 4 else ["clip", "blip"]
    fails = 0
    for arch in archs:
        d = FIXTURES / f"{arch}-small"
        checked = checked_fixture(arch)
        fails += checked is None
        if checked is None:
            continue
        net, x, _ = checked
        results = []
        for s in SETTINGS:
            outs, toks = forward(net, x, s, (pitome, mctf, turbo, rec))
            results.append({"config": s, "tokensAfterEachBlock": toks,
                            "outputs": {k: {"shape": list(v.shape), "data": tr.f32_shortest(v)} for k, v in outs.items()}})
            print(f"  {json.dumps(s)} tokens {toks}")
        doc = {
            "source": "official merge code (PiToMe merge.py @ 01b65c37, MCTF utils/mctf.py @ ef379fb, Turbo merge.py) inside "
                      "spec/reference/turbo_ref.py's numpy forward on the fixture's weights.npz; spec/reference/hf_score_reference.py; "
                      f"torch {torch.__version__}, float64",
            "architecture": arch,
            "placement": "pitome and turbo: after the attention residual, metric = head mean of the keys; mctf: after the MLP "
                         "residual, metric = x = the block output, attention = the block's probabilities [B, H, N, N]",
            "defaults": {"merge": "mean", "rThreshold": 0, "tau": [1, 20, 40], "alpha": 0, "propAttn": True},
            "rList": "a JSON list r is one r per block (padded with 0)",
            "results": results,
        }
        (d / "score-reference.json").write_text(json.dumps(doc) + "\n")
    return fails


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv) else 0)
