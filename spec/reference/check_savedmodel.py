"""Runs a tfjs-turbo SavedModel in Python TensorFlow: what TF users and TF Serving see.

    python spec/reference/check_savedmodel.py SAVED_MODEL_DIR INPUTS_F32 OUT_F32 \
        [--op-library build/native/libturbo_ops.so] [--shape 8,3,224,224]

Loads the Turbo op library first when given (tf.load_op_library: a SavedModel with TurboMerge
nodes does not load without it), then the SavedModel with tag 'serve', runs its
'serving_default' signature on the float32 NCHW images in INPUTS_F32 and writes the first output
as raw little-endian float32 to OUT_F32. Prints one JSON line: TF version, signature, output shape.

The op library is built against TensorFlow 2.12 (setup:native's wheel); run this with the same
TensorFlow (tensorflow-cpu==2.12.0, Python 3.11): a custom op library loads only into the
TensorFlow build it was compiled for.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("saved_model")
    p.add_argument("inputs")
    p.add_argument("out")
    p.add_argument("--op-library")
    p.add_argument("--shape", default="8,3,224,224")
    a = p.parse_args()

    ops = []
    if a.op_library:
        lib = tf.load_op_library(a.op_library)
        ops = sorted(n for n in dir(lib) if n.startswith("turbo") and not n.endswith("_eager_fallback"))
    shape = [int(s) for s in a.shape.split(",")]
    x = np.fromfile(a.inputs, dtype="<f4").reshape(shape)

    loaded = tf.saved_model.load(a.saved_model, tags=["serve"])
    fn = loaded.signatures["serving_default"]
    (in_name,) = fn.structured_input_signature[1].keys()
    result = fn(**{in_name: tf.constant(x)})
    out_name = sorted(result.keys())[0]
    y = result[out_name].numpy().astype("<f4")
    y.tofile(a.out)
    print(json.dumps({"tensorflow": tf.__version__, "ops": ops, "input": in_name, "output": out_name, "shape": list(y.shape)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
