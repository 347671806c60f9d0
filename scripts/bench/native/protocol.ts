// Messages between bench-native (the parent) and its engine workers. One worker per engine
// configuration, because TensorFlow fixes its thread pools when the backend starts: 1 thread and
// default threads cannot live in one process.

export type Engine = 'tensorflow-1t' | 'tensorflow' | 'wasm' | 'onnxruntime-1t' | 'onnxruntime';

export const ENGINES: readonly Engine[] = ['tensorflow-1t', 'tensorflow', 'wasm', 'onnxruntime-1t', 'onnxruntime'];

export interface VariantSpec {
  /** 0 = the original graph. */
  r: number;
  alpha: number;
}

export type Request =
  | { cmd: 'load'; model: string; graphDir: string; onnx: string | null; variants: VariantSpec[] }
  | { cmd: 'run'; variant: number; batch: number; keepOutput: boolean }
  | { cmd: 'profile'; variant: number; batch: number; runs: number }
  | { cmd: 'unload' };

export interface RunReply {
  wallMs: number;
  cpuMs: number;
  output?: number[];
}

export interface LoadReply {
  /** What the engine is, for the doc (package versions, threads). */
  engine: string;
  /** Which TurboMerge implementation this backend runs: 'native' (a registered kernel) or 'composite' (tfjs core ops). */
  merge: 'native' | 'composite' | null;
  variants: { r: number; alpha: number; tokensAfterBlock: number[]; flopRatio: number; nodes: number }[];
}

export interface ProfileReply {
  runs: number;
  /** Median unprofiled CPU ms of the whole run. */
  cpuMs: number;
  /** Median profiled CPU ms of the whole run (profiling adds its own overhead). */
  profiledCpuMs: number;
  kernels: number;
  /** CPU µs of one trivial op (Add of two 1-element tensors) on this backend: the per-op dispatch cost. */
  dispatchUsPerOp: number;
  /** Median CPU ms per category; `merge` is the whole TurboMerge graph op (matching, read-back and its ops). */
  categories: { category: string; ms: number; kernels: number }[];
}

export type Reply = { ok: true; value: unknown } | { ok: false; error: string };
