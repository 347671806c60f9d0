// The host-side half of a GPU merge: everything that depends only on shapes and attrs, so the GPU
// kernels (src/ops/kernels/webgl, webgpu) can size their outputs without reading data back. The
// numbers become shader uniforms, never shader source, so one compiled program serves every N.
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { effectiveR, mergeWeight } from '../../turbo/schedule';
import { TurboMergeAttrs } from '../kernel_names';

export interface MergePlan {
  batch: number;
  n: number;
  d: number;
  channels: number;
  /** Protected tokens (docs/ALGORITHM.md). */
  p: number;
  /** r after clamping and the threshold; 0 = identity. */
  r: number;
  /** Weight of class-token attention, 30·alpha·beta^|gamma − l|. */
  c: number;
  /** Sources (even global index ≥ p) and destinations (odd ≥ p). */
  ns: number;
  nd: number;
  /** Global index of source 0 and destination 0: source a is src0 + 2a, destination j is dst0 + 2j. */
  src0: number;
  dst0: number;
  nOut: number;
  /** Output position of destination 0: protected, then the ns − r unmerged sources. */
  dstBase: number;
}

/** Whether the attrs ask for Turbo's score with the size-weighted mean, the only merge the GPU programs compute. */
export function isTurboMean(attrs: TurboMergeAttrs): boolean {
  return !attrs.score && !attrs.mergeMode;
}

export function mergePlan(xShape: number[], d: number, attrs: TurboMergeAttrs): MergePlan {
  const [batch, n, channels] = xShape;
  const p = attrs.protectedTokens;
  const r = effectiveR(attrs.r, n, p, attrs.rThreshold);
  const c = mergeWeight(attrs.alpha, attrs.beta, attrs.gamma, attrs.layer);
  const src0 = p % 2 === 0 ? p : p + 1;
  const dst0 = p % 2 === 0 ? p + 1 : p;
  const count = (first: number) => (first < n ? Math.floor((n - 1 - first) / 2) + 1 : 0);
  const ns = count(src0);
  const nd = count(dst0);
  return { batch, n, d, channels, p, r, c, ns, nd, src0, dst0, nOut: n - r, dstBase: p + ns - r };
}

/** The plan's scalars in one fixed order: both GPU backends declare their uniforms in this order. */
export const PLAN_UNIFORMS = ['n', 'd', 'channels', 'p', 'r', 'ns', 'nd', 'src0', 'dst0', 'nOut', 'dstBase'] as const;

/** Each step's output shape in the GPU kernels, from the plan alone. */
export function mergeShapes(plan: MergePlan) {
  const { batch, n, ns, nOut, channels } = plan;
  return {
    invNorms: [batch, n],
    cosines: [batch, ns, plan.nd],
    scores: [batch, ns, 2],
    ranks: [batch, ns],
    assignment: [batch, n],
    bases: [batch, nOut],
    links: [batch, ns + plan.nd],
    x: [batch, nOut, channels],
    size: [batch, nOut],
  };
}

/** One GPU backend's merge programs, each built from its output shape. */
export interface MergePrograms<P> {
  invNorms(shape: number[]): P;
  cosines(shape: number[]): P;
  /** `sources`: one invocation per source, for a backend that dispatches by it (webgpu). */
  match(shape: number[], sources: number): P;
  rank(shape: number[]): P;
  assign(shape: number[]): P;
  base(shape: number[]): P;
  links(shape: number[]): P;
  /** `sizes`: the new sizes instead of x; `hasSize`: the input carries sizes (else all 1). */
  gather(shape: number[], sizes: boolean, hasSize: boolean): P;
}

/**
 * The merge as the one sequence of programs every GPU backend runs (r' > 0): unit norms, pair
 * cosines, best destination and E, ranks, the assignment, output bases and merge chains, then the
 * size-weighted gathers of x and of the sizes. `run` dispatches a program on the backend,
 * `release` frees an intermediate. Returns [x', size', assignment].
 */
export function runMergePrograms<P>(
  plan: MergePlan,
  programs: MergePrograms<P>,
  run: (program: P, inputs: TensorInfo[], dtype: 'float32' | 'int32') => TensorInfo,
  release: (t: TensorInfo) => void,
  { x, metric, clsAttn, size }: { x: TensorInfo; metric: TensorInfo; clsAttn: TensorInfo; size?: TensorInfo },
): TensorInfo[] {
  const shapes = mergeShapes(plan);
  const invNorms = run(programs.invNorms(shapes.invNorms), [metric], 'float32');
  const cosines = run(programs.cosines(shapes.cosines), [metric, invNorms], 'float32');
  const scores = run(programs.match(shapes.scores, plan.batch * plan.ns), [cosines, clsAttn], 'float32');
  const ranks = run(programs.rank(shapes.ranks), [scores], 'int32');
  const assignment = run(programs.assign(shapes.assignment), [scores, ranks], 'int32');
  const bases = run(programs.base(shapes.bases), [ranks], 'int32');
  const links = run(programs.links(shapes.links), [scores, ranks], 'int32');
  const weights = size ? [size] : [];
  const xOut = run(programs.gather(shapes.x, false, !!size), [x, ...weights, bases, links], 'float32');
  const sizeOut = run(programs.gather(shapes.size, true, !!size), [...weights, bases, links], 'float32');
  for (const t of [invNorms, cosines, scores, ranks, bases, links]) release(t);
  return [xOut, sizeOut, assignment];
}

/** What identityMerge needs of a backend (webgl's and webgpu's both have it). */
interface TensorMaker {
  incRef(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: DataType, values?: Float32Array | Int32Array): TensorInfo;
}

/**
 * r' = 0: x and size pass through uncopied (as tfjs's Identity kernel does), sizes start at 1, the
 * assignment is the identity. The two small uploads are writes, not read-backs.
 */
export function identityMerge(backend: TensorMaker, x: TensorInfo, size: TensorInfo | undefined): TensorInfo[] {
  const [batch, n] = x.shape;
  const pass = (t: TensorInfo) => {
    backend.incRef(t.dataId);
    return { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  };
  const sizeOut = size ? pass(size) : backend.makeTensorInfo([batch, n], 'float32', new Float32Array(batch * n).fill(1));
  const dest = new Int32Array(batch * n);
  for (let i = 0; i < dest.length; i++) dest[i] = i % n;
  return [pass(x), sizeOut, backend.makeTensorInfo([batch, n], 'int32', dest)];
}
