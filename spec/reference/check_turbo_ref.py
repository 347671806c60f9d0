#!/usr/bin/env python
"""Checks spec/reference/turbo_ref.py against the official Turbo vectors (no pytest).

  .venv/bin/python spec/reference/check_turbo_ref.py [--shared /work/shared]

1. parity/merge-cases.json: all 12 op-level cases, x and size within 1e-5.
2. parity/vit-tiny-turbo.json: numpy ViT-Tiny forward (real weights from
   models/vit-tiny-patch16-224/model.safetensors) with Turbo under all 9 configurations:
   token counts after each block exactly, logits within 2e-3, top-1 equal.
Exits non-zero on any mismatch.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import turbo_ref as T  # noqa: E402
from turbo_nets import vit_tiny_from_safetensors  # noqa: E402


def check_merge_cases(path: Path) -> int:
    doc = json.loads(path.read_text())
    fails = 0
    for i, c in enumerate(doc["cases"]):
        x, s, _ = T.turbo_merge(
            np.asarray(c["x"]), np.asarray(c["metric"]), np.asarray(c["attnCls"]),
            None if c.get("size") is None else np.asarray(c["size"]), c["r"],
            alpha=c["alpha"], beta=c["beta"], gamma=c["gamma"], layer=c["layer"],
            protected=1 if c["classToken"] else 0, r_threshold=c["rThreshold"])
        ex, es = np.asarray(c["expectedX"]), np.asarray(c["expectedSize"])
        ok = x.shape == ex.shape and s.shape == es.shape
        dx = float(np.max(np.abs(x - ex))) if ok else float("inf")
        ds = float(np.max(np.abs(s - es))) if ok else float("inf")
        ok = ok and dx <= 1e-5 and ds <= 1e-5
        fails += not ok
        print(f"merge case {i:2d} (B={c['B']} N={c['N']} r={c['r']} alpha={c['alpha']} cls={c['classToken']}): "
              f"{'ok' if ok else 'FAIL'}  max|dx|={dx:.2g} max|dsize|={ds:.2g} shape {x.shape} vs {ex.shape}")
    return fails


def check_vit_tiny(parity: Path, weights: Path) -> int:
    doc = json.loads((parity / "vit-tiny-turbo.json").read_text())
    shape = doc["inputs"]["shape"]
    x = np.fromfile(parity / doc["inputs"]["file"], dtype="<f4").reshape(shape)
    net = vit_tiny_from_safetensors(weights)
    fails = 0
    for res in doc["results"]:
        cfg = res["config"]
        r, inflect = cfg["r"], None
        if isinstance(r, list):          # (r, inflect) pair, see TURBO.md
            r, inflect = r
        st = T.MergeStats()
        out, toks = T.forward(net, x, r=r, alpha=cfg.get("alpha", 0.0), beta=cfg.get("beta", 1.0),
                              gamma=cfg.get("gamma", 0.0), r_threshold=cfg.get("rThreshold", 0),
                              prop_attn=cfg.get("propAttn", True), inflect=inflect, stats=st)
        logits = out["logits"]
        d = float(np.max(np.abs(logits - np.asarray(res["logits"]))))
        top1 = logits.argmax(-1).tolist()
        ok = toks == res["tokensAfterEachBlock"] and d <= 2e-3 and top1 == res["top1"]
        fails += not ok
        print(f"vit-tiny {json.dumps(cfg):60s} {'ok' if ok else 'FAIL'}  max|dlogits|={d:.2g} "
              f"tokens {'==' if toks == res['tokensAfterEachBlock'] else '!='} {toks[-1]} "
              f"top1 {'==' if top1 == res['top1'] else '!='}  margins {st.as_dict()}")
    return fails


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=Path("/work/shared"))
    a = ap.parse_args()
    fails = check_merge_cases(a.shared / "parity" / "merge-cases.json")
    fails += check_vit_tiny(a.shared / "parity", a.shared / "models" / "vit-tiny-patch16-224")
    print(f"{21 - fails} passed, {fails} failed")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
