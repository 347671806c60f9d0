#!/usr/bin/env python
"""Writes spec/fixtures/hf/<arch>-small/turbo-reference.json: spec/reference/turbo_ref.py's numpy
Turbo on each HF fixture's weights.npz and inputs, under HF_SETTINGS (r = 0 checked against the
fixture's TF reference.json first).

  .venv/bin/python spec/reference/hf_turbo_reference.py [vit,deit,clip,blip]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from turbo_nets import hf_small_net
from turbo_ref import MergeStats, Net, f32_shortest, forward

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "spec" / "fixtures" / "hf"


HF_SETTINGS = [
    {"r": 0},
    {"r": 2, "alpha": 5.0},
    {"r": 1, "alpha": 0.0},
    {"r": 8, "alpha": 1.0},
    {"r": 6, "alpha": 5.0, "propAttn": False},
    {"r": [10, 4, 0, 8], "alpha": 2.0, "beta": 0.9, "gamma": 1},
    {"r": 8, "alpha": 5.0, "rThreshold": 50},
]


def run_setting(net: Net, x, s: dict, stats: MergeStats):
    return forward(net, x, r=s.get("r", 0), alpha=s.get("alpha", 0.0), beta=s.get("beta", 1.0),
                   gamma=s.get("gamma", 0.0), r_threshold=s.get("rThreshold", 0),
                   prop_attn=s.get("propAttn", True), inflect=s.get("inflect"), stats=stats)


def checked_fixture(arch: str):
    """The HF fixture's numpy net, its pixels and their description in reference.json, once the numpy forward at r = 0 matches the
    fixture's TensorFlow reference.json within 1e-4 (None, after saying so, when it does not)."""
    d = FIXTURES / f"{arch}-small"
    meta = json.loads((d / "meta.json").read_text())
    ref = json.loads((d / "reference.json").read_text())
    inp = ref["inputs"]["pixel_values"]
    x = np.fromfile(d / inp["file"], dtype="<f4").reshape(inp["shape"])
    net = hf_small_net(arch, dict(np.load(d / "weights.npz")), meta)
    out0, _ = forward(net, x, r=0)
    worst = max(float(np.max(np.abs(out0[k] - np.asarray(v["data"])))) for k, v in ref["outputs"].items())
    ok = worst < 1e-4
    print(f"[{arch}-small] numpy forward (r=0) vs TF: max abs diff {worst:.3g} {'ok' if ok else 'FAIL'}")
    return (net, x, inp) if ok else None


def hf_references(archs) -> int:
    fails = 0
    for arch in archs:
        d = FIXTURES / f"{arch}-small"
        checked = checked_fixture(arch)
        fails += checked is None
        if checked is None:
            continue
        net, x, inp = checked
        results = []
        for s in HF_SETTINGS:
            st = MergeStats()
            outs, toks = run_setting(net, x, s, st)
            results.append({"config": s, "tokensAfterEachBlock": toks, "margins": st.as_dict(),
                            "outputs": {k: {"shape": list(v.shape), "data": f32_shortest(v)}
                                        for k, v in outs.items()}})
            print(f"  {json.dumps(s)} tokens {toks} margins {st.as_dict()}")
        doc = {
            "source": "spec/reference/turbo_ref.py (numpy, float64, from shared/TURBO.md) on the fixture's "
                      "weights.npz; r=0 checked against reference.json (TF) within 1e-4",
            "architecture": arch,
            "inputs": {"pixel_values": inp},
            "protectedTokens": net.protected,
            "splitRule": "protected tokens 0..p-1 never merged, kept first; sources A = non-protected tokens with "
                         "even index, destinations B = non-protected tokens with odd index; r <= floor((N-p)/2); "
                         "output [protected, unmerged A in original order, B in original order]",
            "classAttention": "head mean of attention-probability row 0 (class token)",
            "metric": "head mean of the keys (after the key projection's bias, before any scaling)",
            "defaults": {"alpha": 0, "beta": 1, "gamma": 0, "rThreshold": 0, "propAttn": True},
            "margins": "minSelectionGap: smallest gap between the r-th and (r+1)-th largest E at any merge; "
                       "minDestinationGap: smallest gap between best and second-best cosine of a merged source. "
                       "Gaps well above float32 noise (1e-6) mean a float32 implementation must make the same choices.",
            "rList": "a JSON list r is one r per block (padded with 0), NOT the (r, inflect) pair",
            "results": results,
        }
        (d / "turbo-reference.json").write_text(json.dumps(doc) + "\n")
    return fails


if __name__ == "__main__":
    archs = sys.argv[1].split(",") if len(sys.argv) > 1 else ["vit", "deit", "clip", "blip"]
    sys.exit(1 if hf_references(archs) else 0)
