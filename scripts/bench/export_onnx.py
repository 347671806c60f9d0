#!/usr/bin/env python3
"""A timm-named ViT checkpoint (model.safetensors + config.json) -> an ONNX graph built directly
with onnx.helper: the onnxruntime-node peer of scripts/bench.ts, the same unmerged network as
the tfjs graph our converter (converters/vit.ts) builds from the same file.

  python3 scripts/bench/export_onnx.py --checkpoint DIR --out FILE.onnx
  python3 scripts/bench/export_onnx.py --weights W.safetensors --config C.json --out FILE.onnx

Needs only `onnx`, `numpy` and `safetensors` (no torch, no onnxruntime), installed with
  pip install --user onnx safetensors numpy
Versions that produced the benchmark in docs/BENCHMARKS.md: Python 3.11.7, onnx 1.23.2,
numpy 2.4.6, safetensors 0.8.0 (`--versions` prints the ones in use). Opset 17, IR version 8.

The graph (opset 17, float32, batch dimension symbolic "batch"):
  pixel_values [B, 3, H, W] NCHW
  -> Conv (kernel = stride = patch, bias) -> Reshape [B, C, P] -> Transpose [B, P, C]
  -> Concat(Expand(cls_token, [B, 1, C]), patches; axis 1) -> Add pos_embed [1, N, C]
  -> L x block:
       h = LayerNormalization(x)                          (eps from config, default 1e-6)
       qkv = MatMul(h, Wqkv^T) + b -> Reshape [B, N, 3, heads, d] -> Transpose [3, B, heads, N, d]
       q, k, v = Gather(0 / 1 / 2, axis 0)
       P = Softmax(MatMul(q, Transpose(k)) * d^-0.5)
       x = x + (Reshape(Transpose(MatMul(P, v)), [B, N, C]) Wproj^T + b)
       h = LayerNormalization(x); h = MatMul(h, W1^T) + b1
       h = 0.5 * h * (1 + Erf(h / sqrt 2))                (exact GELU, Erf form)
       x = x + (MatMul(h, W2^T) + b2)
  -> LayerNormalization -> Gather(0, axis 1) (class token) -> Gemm(head, transB) -> logits [B, classes]
No fused or contrib ops are written: onnxruntime's own graph optimiser (default level) fuses
what it can (LayerNorm, GELU, MatMul+Add) when the session is created, as it would for any
exported ViT. The output is deterministic: the same checkpoint gives the same bytes.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file
except ImportError as e:  # one line, the bench relays it
    print(f"export_onnx.py: missing Python package ({e.name}); pip install --user onnx safetensors numpy", file=sys.stderr)
    sys.exit(3)

OPSET = 17

# Our config keys (shared/models, scripts/random_vit.ts) first, then HF ViTConfig aliases,
# the same table as converters/vit_config.ts.
KEYS = {
    "image": ["image_size"],
    "patch": ["patch_size"],
    "hidden": ["hidden_size"],
    "layers": ["num_layers", "num_hidden_layers"],
    "heads": ["num_heads", "num_attention_heads"],
    "mlp": ["mlp_size", "intermediate_size"],
}


def read_config(path: Path) -> dict:
    j = json.loads(path.read_text())
    cfg = {}
    for field, names in KEYS.items():
        key = next((k for k in names if k in j), None)
        if key is None:
            raise SystemExit(f"{path}: missing '{names[0]}'")
        cfg[field] = int(j[key])
    cfg["channels"] = int(j.get("num_channels", 3))
    cfg["eps"] = float(j.get("layer_norm_eps", 1e-6))
    if "num_classes" in j:
        cfg["classes"] = int(j["num_classes"])
    elif "num_labels" in j:
        cfg["classes"] = int(j["num_labels"])
    elif isinstance(j.get("id2label"), dict):
        cfg["classes"] = len(j["id2label"])
    else:
        raise SystemExit(f"{path}: missing 'num_classes'")
    return cfg


class Builder:
    def __init__(self) -> None:
        self.nodes: list = []
        self.inits: list = []
        self.count = 0

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.array(value, order="C"), name))  # 0-d stays 0-d
        return name

    def op(self, op: str, inputs: list[str], name: str | None = None, **attrs) -> str:
        out = name or self.name(op)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out


def f32(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def i64(v) -> np.ndarray:
    return np.asarray(v, dtype=np.int64)


def build(sd: dict, cfg: dict, graph_name: str) -> onnx.ModelProto:
    C, H, L, M = cfg["hidden"], cfg["heads"], cfg["layers"], cfg["mlp"]
    p, img, ch, eps = cfg["patch"], cfg["image"], cfg["channels"], cfg["eps"]
    d = C // H
    P = (img // p) ** 2
    N = P + 1
    b = Builder()

    # Shared small constants.
    shape_bcp = b.const("shape_B_C_P", i64([0, C, -1]))
    shape_qkv = b.const("shape_B_N_3_H_d", i64([0, 0, 3, H, d]))
    shape_bnc = b.const("shape_B_N_C", i64([0, 0, C]))
    tail_1c = b.const("shape_1_C", i64([1, C]))
    scale = b.const("attn_scale", f32(d**-0.5))
    half = b.const("gelu_half", f32(0.5))
    one = b.const("gelu_one", f32(1.0))
    inv_sqrt2 = b.const("gelu_inv_sqrt2", f32(1 / math.sqrt(2)))
    idx = [b.const(f"index_{i}", i64(i)) for i in range(3)]

    # Patch embedding and class token.
    x = b.op(
        "Conv",
        ["pixel_values", b.const("patch_embed.proj.weight", f32(sd["patch_embed.proj.weight"])), b.const("patch_embed.proj.bias", f32(sd["patch_embed.proj.bias"]))],
        "patch_embed",
        kernel_shape=[p, p],
        strides=[p, p],
    )
    x = b.op("Reshape", [x, shape_bcp], "patch_flatten")
    x = b.op("Transpose", [x], "patch_tokens", perm=[0, 2, 1])
    batch = b.op("Shape", ["pixel_values"], "batch_size", start=0, end=1)
    cls_shape = b.op("Concat", [batch, tail_1c], "cls_shape", axis=0)
    cls = b.op("Expand", [b.const("cls_token", f32(sd["cls_token"])), cls_shape], "cls_tokens")
    x = b.op("Concat", [cls, x], "tokens", axis=1)
    x = b.op("Add", [x, b.const("pos_embed", f32(sd["pos_embed"]))], "embeddings")

    def layer_norm(v: str, prefix: str) -> str:
        w = b.const(f"{prefix}.weight", f32(sd[f"{prefix}.weight"]))
        bias = b.const(f"{prefix}.bias", f32(sd[f"{prefix}.bias"]))
        return b.op("LayerNormalization", [v, w, bias], prefix, axis=-1, epsilon=eps)

    def linear(v: str, prefix: str) -> str:
        w = b.const(f"{prefix}.weight", f32(sd[f"{prefix}.weight"]).T)  # [out, in] -> [in, out]
        y = b.op("MatMul", [v, w], f"{prefix}.matmul")
        return b.op("Add", [y, b.const(f"{prefix}.bias", f32(sd[f"{prefix}.bias"]))], prefix)

    for i in range(L):
        pre = f"blocks.{i}"
        h = layer_norm(x, f"{pre}.norm1")
        qkv = linear(h, f"{pre}.attn.qkv")
        qkv = b.op("Reshape", [qkv, shape_qkv], f"{pre}.attn.qkv_heads")
        qkv = b.op("Transpose", [qkv], f"{pre}.attn.qkv_t", perm=[2, 0, 3, 1, 4])
        q, k, v = (b.op("Gather", [qkv, idx[j]], f"{pre}.attn.{n}", axis=0) for j, n in enumerate("qkv"))
        kt = b.op("Transpose", [k], f"{pre}.attn.k_t", perm=[0, 1, 3, 2])
        s = b.op("MatMul", [q, kt], f"{pre}.attn.scores")
        s = b.op("Mul", [s, scale], f"{pre}.attn.scaled")
        a = b.op("Softmax", [s], f"{pre}.attn.softmax", axis=-1)
        o = b.op("MatMul", [a, v], f"{pre}.attn.context")
        o = b.op("Transpose", [o], f"{pre}.attn.context_t", perm=[0, 2, 1, 3])
        o = b.op("Reshape", [o, shape_bnc], f"{pre}.attn.merge_heads")
        o = linear(o, f"{pre}.attn.proj")
        x = b.op("Add", [x, o], f"{pre}.residual1")
        h = layer_norm(x, f"{pre}.norm2")
        h = linear(h, f"{pre}.mlp.fc1")
        e = b.op("Erf", [b.op("Mul", [h, inv_sqrt2], f"{pre}.mlp.gelu_scaled")], f"{pre}.mlp.gelu_erf")
        g = b.op("Mul", [b.op("Mul", [h, half], f"{pre}.mlp.gelu_half"), b.op("Add", [e, one], f"{pre}.mlp.gelu_1p")], f"{pre}.mlp.gelu")
        h = linear(g, f"{pre}.mlp.fc2")
        x = b.op("Add", [x, h], f"{pre}.residual2")

    x = layer_norm(x, "norm")
    x = b.op("Gather", [x, idx[0]], "cls_pooled", axis=1)
    logits = b.op(
        "Gemm",
        [x, b.const("head.weight", f32(sd["head.weight"])), b.const("head.bias", f32(sd["head.bias"]))],
        "logits",
        transB=1,
    )

    graph = helper.make_graph(
        b.nodes,
        graph_name,
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", ch, img, img])],
        [helper.make_tensor_value_info(logits, TensorProto.FLOAT, ["batch", cfg["classes"]])],
        b.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="tfjs-turbo export_onnx.py", producer_version="0.1.0")
    model.ir_version = 8
    model.doc_string = f"ViT: {L} blocks, hidden {C}, {H} heads, MLP {M}, patch {p}, image {img}, tokens {N}"
    return model


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", type=Path, help="directory with model.safetensors and config.json")
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--config", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--versions", action="store_true", help="print the versions in use as JSON and exit")
    a = ap.parse_args()
    if a.versions:
        print(json.dumps({"python": sys.version.split()[0], "onnx": onnx.__version__, "numpy": np.__version__, "safetensors": _safetensors_version()}))
        return 0
    weights = a.weights or (a.checkpoint / "model.safetensors" if a.checkpoint else None)
    config = a.config or (a.checkpoint / "config.json" if a.checkpoint else None)
    if weights is None or config is None or a.out is None:
        ap.error("give --checkpoint DIR (or --weights and --config) and --out")
    for f in (weights, config):
        if not f.is_file():
            print(f"{f}: not found", file=sys.stderr)
            return 2
    cfg = read_config(config)
    sd = load_file(str(weights))
    missing = [k for k in ("patch_embed.proj.weight", "cls_token", "pos_embed", "head.weight", "blocks.0.attn.qkv.weight") if k not in sd]
    if missing:
        print(f"{weights}: not a timm ViT checkpoint (missing {', '.join(missing)})", file=sys.stderr)
        return 2
    model = build(sd, cfg, weights.parent.name or "vit")
    onnx.checker.check_model(model)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_name(a.out.name + ".tmp")
    tmp.write_bytes(model.SerializeToString(deterministic=True))
    tmp.replace(a.out)  # atomic: the cache never holds half a file
    print(f"{a.out}: {len(model.graph.node)} nodes, {sum(t.ByteSize() for t in model.graph.initializer) / 2**20:.1f} MiB of weights, opset {OPSET}")
    return 0


def _safetensors_version() -> str:
    import safetensors

    return safetensors.__version__


if __name__ == "__main__":
    sys.exit(main())
