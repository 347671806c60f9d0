// One ViT block built from tfjs ops the way our converted graphs run it (LayerNorm as mean/variance
// ops, q/k/v/proj as Reshape → 2-D MatMul + bias → Reshape, BatchMatMul QKᵀ, Softmax, PV, GELU
// (erf) MLP, residuals), for bench-merge and bench-native-ops to time a merge against; and the
// timed read-back both measure with.

import * as tf from '@tensorflow/tfjs-core';
import { Timed, timeSync } from '../../src/runtime/timing';

const EPS = 1e-6;

/** A ViT block's widths: scripts/bench-native-ops.ts also times ViT-Tiny blocks. */
export interface BlockDims {
  hidden: number;
  heads: number;
  headDim: number;
  mlp: number;
}

export const VIT_B_DIMS: BlockDims = { hidden: 768, heads: 12, headDim: 64, mlp: 3072 };
export const VIT_TINY_DIMS: BlockDims = { hidden: 192, heads: 3, headDim: 64, mlp: 768 };

interface Linear {
  w: tf.Tensor2D;
  b: tf.Tensor1D;
}

export interface BlockWeights {
  dims: BlockDims;
  ln1: { g: tf.Tensor1D; b: tf.Tensor1D };
  ln2: { g: tf.Tensor1D; b: tf.Tensor1D };
  q: Linear;
  k: Linear;
  v: Linear;
  proj: Linear;
  fc1: Linear;
  fc2: Linear;
}

function linear(inDim: number, outDim: number, seed: number): Linear {
  return {
    w: tf.randomNormal([inDim, outDim], 0, 0.02, 'float32', seed) as tf.Tensor2D,
    b: tf.randomNormal([outDim], 0, 0.02, 'float32', seed + 1) as tf.Tensor1D,
  };
}

export function blockWeights(dims: BlockDims = VIT_B_DIMS): BlockWeights {
  const { hidden, mlp } = dims;
  const ln = (seed: number) => ({
    g: tf.add(1, tf.randomNormal([hidden], 0, 0.02, 'float32', seed)) as tf.Tensor1D,
    b: tf.randomNormal([hidden], 0, 0.02, 'float32', seed + 1) as tf.Tensor1D,
  });
  return {
    dims,
    ln1: ln(1),
    ln2: ln(3),
    q: linear(hidden, hidden, 10),
    k: linear(hidden, hidden, 12),
    v: linear(hidden, hidden, 14),
    proj: linear(hidden, hidden, 16),
    fc1: linear(hidden, mlp, 18),
    fc2: linear(mlp, hidden, 20),
  };
}

/** Mean, SquaredDifference, Mean, AddV2, Rsqrt, Mul, Mul, AddV2: LayerNorm as converted graphs run it. */
function layerNorm(x: tf.Tensor3D, p: { g: tf.Tensor1D; b: tf.Tensor1D }): tf.Tensor3D {
  const mean = tf.mean(x, -1, true);
  const variance = tf.mean(tf.squaredDifference(x, mean), -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS))), p.g), p.b);
}

/** [B, N, in] → Reshape [B·N, in] → MatMul + bias → Reshape [B, N, out]. */
function dense(x: tf.Tensor3D, p: Linear): tf.Tensor3D {
  const [b, n, c] = x.shape;
  const y = tf.add(tf.matMul(tf.reshape(x, [b * n, c]) as tf.Tensor2D, p.w), p.b);
  return tf.reshape(y, [b, n, p.w.shape[1]]);
}

/** [B, N, C] → [B, H, N, d] */
function heads(x: tf.Tensor3D, dims: BlockDims): tf.Tensor4D {
  const [b, n] = x.shape;
  return tf.transpose(tf.reshape(x, [b, n, dims.heads, dims.headDim]), [0, 2, 1, 3]);
}

function geluErf(x: tf.Tensor3D): tf.Tensor3D {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

export function vitBlock(x: tf.Tensor3D, w: BlockWeights): tf.Tensor3D {
  const [b, n] = x.shape;
  const h = layerNorm(x, w.ln1);
  const q = heads(dense(h, w.q), w.dims);
  const k = heads(dense(h, w.k), w.dims);
  const v = heads(dense(h, w.v), w.dims);
  const logits = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(w.dims.headDim));
  const attn = tf.matMul(tf.softmax(logits), v);
  const merged = tf.reshape(tf.transpose(attn, [0, 2, 1, 3]), [b, n, w.dims.hidden]) as tf.Tensor3D;
  const x1 = tf.add(x, dense(merged, w.proj)) as tf.Tensor3D;
  const mlp = dense(geluErf(dense(layerNorm(x1, w.ln2), w.fc1)), w.fc2);
  return tf.add(x1, mlp) as tf.Tensor3D;
}

/** A runner for interleave(): `f`, synchronously, including reading its outputs back (wasm, cpu and tensorflow run synchronously); disposed after the clocks stop. */
export function readBackTimed(label: string, f: () => tf.Tensor[]): Timed {
  return {
    label,
    run: async () => {
      const s = timeSync(() => {
        const out = f();
        for (const t of out) t.dataSync();
        return out;
      });
      tf.dispose(s.value);
      return { wallMs: s.wallMs, cpuMs: s.cpuMs };
    },
  };
}
