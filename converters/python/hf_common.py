"""Shared helpers for the Python export scripts (HF TensorFlow models -> SavedModel -> tfjs).

Import this module BEFORE tensorflow/transformers: it sets TF_USE_LEGACY_KERAS=1 so that
transformers' TF models run on tf-keras (Keras 2) although Keras 3 is installed.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# oneDNN (on by default for TF on x86 Linux) lets grappler's remapper fuse the Keras LayerNorm
# subgraph into `_MklLayerNorm` inside tensorflowjs_converter's optimisation pass, with the
# epsilon lost (1e-3 instead of CLIP's 1e-5); tfjs has no such op and the converter stops with
# "Unsupported Ops in the model after optimization: _MklLayerNorm" (seen for CLIP ViT-B/16 on an
# AVX-512 CPU). Off, the converter emits the portable decomposed LayerNorm. The converter
# subprocess inherits this environment.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "spec" / "fixtures" / "hf"
VENV_BIN = Path(sys.executable).parent

CONVERTER_ARGS = [
    "--input_format=tf_saved_model",
    "--output_format=tfjs_graph_model",
    "--signature_name=serving_default",
    "--saved_model_tags=serve",
]


def versions() -> dict:
    import tensorflow as tf
    import tf_keras
    import tensorflowjs
    import transformers

    return {
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "tf_keras": tf_keras.__version__,
        "transformers": transformers.__version__,
        "tensorflowjs": tensorflowjs.__version__,
        "numpy": np.__version__,
        "TF_USE_LEGACY_KERAS": os.environ.get("TF_USE_LEGACY_KERAS"),
    }


def make_inputs(batch: int, height: int, width: int, seed: int) -> np.ndarray:
    """Deterministic float32 NCHW pixel values in [-1, 1) (PCG64, numpy default_rng)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=(batch, 3, height, width)).astype(np.float32)


def perturb_constant_weights(model, seed: int) -> list[str]:
    """HF initialises biases/LayerNorm beta/DeiT tokens to 0 and LayerNorm gamma to 1.
    A fixture with such weights cannot catch a dropped bias or a swapped gamma/beta, so every
    variable that is constant after init gets seeded noise (gamma: 1 + N(0, 0.1); others
    N(0, 0.02)). Returns the names of the perturbed variables."""
    rng = np.random.default_rng(seed + 7919)
    changed = []
    for var in model.weights:
        v = var.numpy()
        if v.size and np.all(v == v.flat[0]):
            scale = 0.1 if float(v.flat[0]) == 1.0 else 0.02
            var.assign((v + rng.normal(0.0, scale, size=v.shape)).astype(v.dtype))
            changed.append(var.name)
    return changed


def save_signature_model(model, saved_dir: Path, serve_fn) -> None:
    import tensorflow as tf

    if saved_dir.exists():
        shutil.rmtree(saved_dir)
    tf.saved_model.save(model, str(saved_dir), signatures={"serving_default": serve_fn})


def run_converter(saved_dir: Path, out_dir: Path) -> list[str]:
    """Runs the real `tensorflowjs_converter` CLI with default options (no quantization)."""
    if out_dir.exists():
        for p in out_dir.iterdir():
            if p.name == "model.json" or p.name.endswith(".bin"):
                p.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    exe = VENV_BIN / "tensorflowjs_converter"
    cmd = [str(exe), *CONVERTER_ARGS, str(saved_dir), str(out_dir)]
    env = dict(os.environ)
    subprocess.run(cmd, check=True, env=env)
    return ["tensorflowjs_converter", *CONVERTER_ARGS, "<saved_model_dir>", "<out_dir>"]


def tfjs_signature(model_json: Path) -> dict:
    mj = json.loads(model_json.read_text())
    sig = mj.get("signature") or mj.get("userDefinedMetadata", {}).get("signature", {})
    return {
        "inputs": {k: {"name": v["name"], "dtype": v.get("dtype"),
                       "shape": [int(d.get("size", -1)) for d in v.get("tensorShape", {}).get("dim", [])]}
                   for k, v in sig.get("inputs", {}).items()},
        "outputs": {k: {"name": v["name"], "dtype": v.get("dtype"),
                        "shape": [int(d.get("size", -1)) for d in v.get("tensorShape", {}).get("dim", [])]}
                    for k, v in sig.get("outputs", {}).items()},
    }


def f32_list(a: np.ndarray) -> list:
    """Nested list of the exact float32 values (as the doubles they convert to)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64).tolist()


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1) + "\n")


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or of its finished children), in MB (Linux)."""
    import resource
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def tmpdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
