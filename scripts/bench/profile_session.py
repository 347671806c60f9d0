"""Where a session-route graph spends its time: per-node step stats of one TensorFlow session,
summed by the kernel that ran (after grappler and the oneDNN rewrite, so `_MklNativeFusedMatMul`
and `_FusedMatMul` are told apart).

    python scripts/bench/profile_session.py SAVED_MODEL_DIR [--batch 1] [--iters 20] \
        [--op-library build/native/libturbo_ops.so] [--top 20] [--nodes REGEX]

SAVED_MODEL_DIR is what the SavedModel writer produces: `convert-with-turbo ... --format
savedmodel`, or an entry of the session route's graph cache (~/.cache/tfjs-turbo/graphs/<key>/).
Run it with the TensorFlow the op library was built for (tensorflow-cpu 2.12, Python 3.11; see
docs/SAVEDMODEL.md) and choose the kernels as tfjs-turbo would: TF_ENABLE_ONEDNN_OPTS=1 (what
src/runtime/backend.ts sets) or 0 (Eigen). One intra-op and one inter-op thread.

Prints the untraced CPU time per run (process time, median and minimum over --iters runs), then
the traced runs' time per kernel type: each node's median over the traced runs (step stats are
wall-clock, so on a shared machine a preempted node shows milliseconds in one run; the median drops
that), summed over the nodes that ran that kernel. Tracing adds a cost per node, so the total
exceeds the untraced run; read the table for shares more than for absolute milliseconds.
"""
import argparse
import collections
import os
import re
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.protobuf import config_pb2  # noqa: E402

LABEL = re.compile(r"^(?:\[[^\]]*\] )?(\S+) = (\S+?)\(")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("saved_model")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--op-library", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "native", "libturbo_ops.so"))
    p.add_argument("--top", type=int, default=0, help="also list the N slowest nodes (median traced us)")
    p.add_argument("--nodes", default=".", help="only nodes whose name matches this regex in that list")
    a = p.parse_args()

    if os.path.exists(a.op_library):
        tf.load_op_library(a.op_library)
    cfg = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    g = tf.Graph()
    with g.as_default():
        sess = tf.compat.v1.Session(graph=g, config=cfg)
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], a.saved_model)
        sig = meta.signature_def["serving_default"]
        inp = next(iter(sig.inputs.values())).name
        out = next(iter(sig.outputs.values())).name
    x = np.random.RandomState(0).rand(a.batch, 3, 224, 224).astype(np.float32)
    for _ in range(3):
        sess.run(out, {inp: x})

    cpu = []
    for _ in range(a.iters):
        c = time.process_time()
        sess.run(out, {inp: x})
        cpu.append((time.process_time() - c) * 1000)
    print(f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}  batch {a.batch}  untraced CPU ms per run: median {np.median(cpu):.2f}, min {np.min(cpu):.2f}")

    kernel_of = {}
    by_node = collections.defaultdict(list)
    for _ in range(a.iters):
        opts = config_pb2.RunOptions(trace_level=config_pb2.RunOptions.FULL_TRACE)
        md = config_pb2.RunMetadata()
        sess.run(out, {inp: x}, options=opts, run_metadata=md)
        for dev in md.step_stats.dev_stats:
            for ns in dev.node_stats:
                m = LABEL.match(ns.timeline_label)
                kernel_of[ns.node_name] = m.group(2) if m else ns.node_name
                by_node[ns.node_name].append(ns.op_end_rel_micros - ns.op_start_rel_micros)
    by_kernel = collections.defaultdict(float)
    count = collections.Counter()
    for name, v in by_node.items():
        by_kernel[kernel_of[name]] += float(np.median(v))
        count[kernel_of[name]] += 1
    grand = sum(by_kernel.values())
    print(f"traced: {grand / 1000:.2f} ms of kernel time per run (sum of per-node medians)")
    for kernel, us in sorted(by_kernel.items(), key=lambda kv: -kv[1]):
        if us / grand < 0.001:
            continue
        print(f"  {kernel:<28} n = {count[kernel]:4d}  {us / 1000:8.2f} ms  {100 * us / grand:5.1f} %")
    if a.top:
        sel = [kv for kv in by_node.items() if re.search(a.nodes, kv[0])]
        for name, v in sorted(sel, key=lambda kv: -np.median(kv[1]))[: a.top]:
            print(f"    {name:<72} {np.median(v):8.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
