"""Dense-layer GEMM rate of TensorFlow's kernels as the session route runs them: MatMul + BiasAdd
of [M, K] x [K, N] with constant weights in a v1 Session (grappler and the oneDNN rewrite make it
`_MklNativeFusedMatMul` with TF_ENABLE_ONEDNN_OPTS=1, Eigen's `_FusedMatMul` with 0), 1 thread.
The counterpart of eigen_gemm.cc (same shapes, 12 distinct weights per shape, CPU ms per layer).

    ~/.cache/tfjs-turbo/python-tf212/bin/python scripts/bench/dense/tf_gemm.py [ROUNDS] [ONEDNN 1|0]
"""
import os
import sys
import time

os.environ["TF_ENABLE_ONEDNN_OPTS"] = sys.argv[2] if len(sys.argv) > 2 else "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

SHAPES = [(197, 768, 2304), (197, 768, 3072), (197, 3072, 768), (197, 768, 768),
          (197, 192, 576), (197, 192, 768), (197, 768, 192), (197, 192, 192),
          (1576, 192, 576), (1576, 192, 768), (1576, 768, 192)]
LAYERS = 12


def main() -> None:
    tf.compat.v1.disable_eager_execution()
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    cfg = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    rng = np.random.RandomState(0)
    for m, k, n in SHAPES:
        g = tf.Graph()
        with g.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [None, k])
            outs = [tf.nn.bias_add(tf.matmul(x, tf.constant(rng.rand(k, n).astype(np.float32))),
                                   tf.constant(rng.rand(n).astype(np.float32)))
                    for _ in range(LAYERS)]
            sess = tf.compat.v1.Session(graph=g, config=cfg)
        feed = {x: rng.rand(m, k).astype(np.float32)}
        for _ in range(3):
            sess.run(outs, feed)
        ms = []
        for _ in range(rounds):
            t0 = time.process_time()
            sess.run(outs, feed)
            ms.append((time.process_time() - t0) / LAYERS * 1e3)
        med = sorted(ms)[len(ms) // 2]
        print(f"{m}x{k}x{n} tf {med:.2f} ms ({2 * m * k * n / med / 1e6:.1f} GF/s)", flush=True)


if __name__ == "__main__":
    main()
