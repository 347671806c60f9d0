#!/usr/bin/env python
"""Dump the op patterns of a tfjs graph model (model.json from tensorflowjs_converter).

  python3 converters/python/dump_ops.py spec/fixtures/hf/vit-small/model.json [--block 1]
          [--prefix-strip] [--out FILE]

Prints: format/generatedBy/convertedBy, the signature, an op histogram, the nodes outside the
transformer blocks (stem and head), and one block's subgraph in topological order with each
node's inputs (names shortened relative to the block) and the values of small constants (read
from the weight shards when they are present; the *-full fixtures have no shards, so only the
shapes are shown). Only the standard library (+ numpy when shards are read) is needed.
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path

BLOCK_RE = re.compile(r"/(?:encoder/)?(layer_\._|layers_\._|layers\.|layer\.|blocks\.)(\d+)/")

DTYPES = {"float32": ("<f4", 4), "int32": ("<i4", 4), "bool": ("|b1", 1)}


def load_consts(model_json: Path, mj: dict) -> dict:
    """name -> (dtype, shape, values or None)."""
    out = {}
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        np = None
    for group in mj.get("weightsManifest", []):
        blobs = []
        have = all((model_json.parent / p).exists() for p in group["paths"])
        if have:
            blobs = b"".join((model_json.parent / p).read_bytes() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            dt = w["dtype"]
            n = 1
            for d in w["shape"]:
                n *= d
            size = n * DTYPES.get(dt, ("", 4))[1]
            vals = None
            if have and np is not None and dt in DTYPES and "quantization" not in w:
                vals = np.frombuffer(blobs[off:off + size], dtype=DTYPES[dt][0]).reshape(w["shape"])
            out[w["name"]] = (dt, w["shape"], vals)
            off += size
    return out


def short(name: str, prefix: str) -> str:
    name = name.split(":")[0].lstrip("^")
    if prefix and name.startswith(prefix):
        return "~" + name[len(prefix):]
    return name


def attr_summary(node: dict) -> str:
    attrs = node.get("attr", {})
    parts = []
    for k in ("transpose_a", "transpose_b", "adj_x", "adj_y", "epsilon", "fused_ops", "num_args",
              "keep_dims", "strides", "padding", "data_format", "T", "begin_mask", "end_mask",
              "shrink_axis_mask", "ellipsis_mask", "new_axis_mask", "N", "axis", "leakyrelu_alpha"):
        if k not in attrs:
            continue
        v = attrs[k]
        if "b" in v:
            if v["b"] or k in ("transpose_a", "transpose_b", "adj_x", "adj_y"):
                parts.append(f"{k}={v['b']}")
        elif "i" in v:
            if str(v["i"]) != "0":
                parts.append(f"{k}={v['i']}")
        elif "f" in v:
            parts.append(f"{k}={v['f']}")
        elif "s" in v:
            import base64
            parts.append(f"{k}={base64.b64decode(v['s']).decode()}")
        elif "list" in v:
            lst = v["list"]
            if "s" in lst:
                import base64
                parts.append(f"{k}={[base64.b64decode(s).decode() for s in lst['s']]}")
            elif "i" in lst:
                parts.append(f"{k}={[int(i) for i in lst['i']]}")
        elif "type" in v and k == "T":
            pass
    return " ".join(parts)


def const_str(name: str, consts: dict) -> str:
    if name not in consts:
        return ""
    dt, shape, vals = consts[name]
    if vals is not None and vals.size <= 8:
        return f"{dt}{list(shape)}={vals.reshape(-1).tolist()}"
    return f"{dt}{list(shape)}"


def topo(nodes: list[dict]) -> list[dict]:
    by = {n["name"]: n for n in nodes}
    seen, order = set(), []

    def visit(n):
        stack = [(n, False)]
        while stack:
            cur, done = stack.pop()
            if done:
                order.append(cur)
                continue
            if cur["name"] in seen:
                continue
            seen.add(cur["name"])
            stack.append((cur, True))
            for i in reversed(cur.get("input", [])):
                m = by.get(i.split(":")[0].lstrip("^"))
                if m is not None and m["name"] not in seen:
                    stack.append((m, False))

    for n in nodes:
        visit(n)
    return order


def dump(model_json: Path, block: int, out) -> None:
    mj = json.loads(model_json.read_text())
    nodes = mj["modelTopology"]["node"]
    consts = load_consts(model_json, mj)
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(f"# {model_json}")
    p(f"format={mj.get('format')} generatedBy={mj.get('generatedBy')} convertedBy={mj.get('convertedBy')}")
    p(f"functions in library: {len(mj['modelTopology'].get('library', {}).get('function', []))}")
    p("signature:")
    for kind in ("inputs", "outputs"):
        for k, v in mj.get("signature", {}).get(kind, {}).items():
            dims = [int(d.get("size", -1)) for d in v.get("tensorShape", {}).get("dim", [])]
            p(f"  {kind[:-1]} {k!r}: tensor {v['name']!r} {v.get('dtype')} {dims}")
    hist = collections.Counter(n["op"] for n in nodes)
    p(f"nodes: {len(nodes)}; weights in manifest: {len(consts)}")
    p("op histogram: " + ", ".join(f"{op} {c}" for op, c in hist.most_common()))

    blocks = collections.defaultdict(list)
    outside = []
    for n in nodes:
        m = BLOCK_RE.search(n["name"])
        if m:
            blocks[int(m.group(2))].append(n)
        else:
            outside.append(n)
    p(f"blocks found: {len(blocks)} (by node name)")
    for b in sorted(blocks):
        h = collections.Counter(n["op"] for n in blocks[b] if n["op"] != "Const")
        if b in (min(blocks), max(blocks)) or b == block:
            p(f"  block {b}: {len(blocks[b])} nodes; non-Const ops: " +
              ", ".join(f"{o} {c}" for o, c in sorted(h.items())))
    if not blocks:
        return
    bnodes = blocks[block]
    m = BLOCK_RE.search(bnodes[0]["name"])
    prefix = bnodes[0]["name"][: m.end()]

    def show(ns, pref):
        for n in topo(ns):
            if n["op"] == "Const":
                continue
            ins = []
            for i in n.get("input", []):
                nm = i.split(":")[0].lstrip("^")
                c = const_str(nm, consts)
                s = short(i, pref)
                ins.append(f"{s}<{c}>" if c else s)
            a = attr_summary(n)
            p(f"  {short(n['name'], pref)} = {n['op']}({', '.join(ins)}){'  ' + a if a else ''}")

    p(f"\n## block {block} subgraph (prefix ~ = {prefix!r}), topological order, Const nodes folded into inputs")
    show(bnodes, prefix)
    p("\n## nodes outside the blocks (stem + head), topological order")
    show(outside, "")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model_json", nargs="+")
    ap.add_argument("--block", type=int, default=1)
    ap.add_argument("--out")
    a = ap.parse_args()
    out = open(a.out, "w") if a.out else sys.stdout
    for mj in a.model_json:
        dump(Path(mj), a.block, out)
        print(file=out)


if __name__ == "__main__":
    main()
