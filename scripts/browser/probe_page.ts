// The probe page (scripts/probe-browser.ts bundles it): one model through the public API on one
// backend, with tfjs flags set first; how many programs warmup() compiled, and optionally one
// tf.profile'd run (per-kernel GPU time where the backend has timestamp queries).
import * as tf from '@tensorflow/tfjs-core';
import { loadTurboModel, warmup } from '../../src/browser';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';

export interface ProbeRequest {
  backend: string;
  url: string;
  batch: number;
  /** tfjs env flags set before the backend starts (e.g. WEBGL_USE_SHAPES_UNIFORMS). */
  flags: Record<string, number | boolean>;
  /** 'none', 'kernels' (per kernel name) or 'shapes' (matmul, softmax and mean also per input shape). */
  profile: 'none' | 'kernels' | 'shapes';
}

export interface ProbeResult {
  warmupMs: number;
  /** The three runs after warmup(), each until the logits are read back. */
  runsMs: number[];
  /** Programs the backend's cache gained during warmup() (webgl binaryCache, webgpu pipelineCache). */
  programs: number;
  /** webgpu: the new pipeline keys (what tfjs keys them by). */
  keys: string[];
  kernels: Record<string, { calls: number; ms: number }>;
  /** Programs run during the profiled run (runWebGLProgram / runWebGPUProgram calls). */
  dispatches: number;
}

function cacheKeys(): string[] {
  const b = tf.backend() as unknown as { binaryCache?: object; pipelineCache?: object };
  return Object.keys(b.binaryCache ?? b.pipelineCache ?? {});
}

async function probe(req: ProbeRequest): Promise<ProbeResult> {
  for (const [k, v] of Object.entries(req.flags)) tf.env().set(k, v);
  if (!(await tf.setBackend(req.backend))) throw new Error(`backend ${req.backend} failed to initialise`);
  await tf.ready();
  const input = tf.randomUniform([req.batch, 3, 224, 224]);
  const model = await loadTurboModel(req.url);
  const run = () => {
    const out = model.execute({ pixel_values: input }, 'logits') as tf.Tensor;
    return out.data().then(() => out.dispose());
  };
  try {
    const before = new Set(cacheKeys());
    const warmupMs = await warmup(model, { batch: req.batch });
    const added = cacheKeys().filter((k) => !before.has(k));
    const runsMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await run();
      runsMs.push(performance.now() - t0);
    }
    const kernels: ProbeResult['kernels'] = {};
    let dispatches = 0;
    if (req.profile !== 'none') {
      const b = tf.backend() as unknown as Record<string, (...a: unknown[]) => unknown>;
      const name = req.backend === 'webgpu' ? 'runWebGPUProgram' : 'runWebGLProgram';
      const saved = b[name];
      b[name] = (...a: unknown[]) => (dispatches++, saved.apply(b, a));
      try {
        const info = await tf.profile(run);
        for (const k of info.kernels) {
          const byShape = req.profile === 'shapes' && /MatMul|Softmax|Mean/.test(k.name);
          const e = (kernels[byShape ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name] ??= { calls: 0, ms: 0 });
          e.calls++;
          e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : NaN;
        }
      } finally {
        b[name] = saved;
      }
    }
    return { warmupMs, runsMs, programs: added.length, keys: req.backend === 'webgpu' ? added : [], kernels, dispatches };
  } finally {
    model.dispose();
    input.dispose();
  }
}

declare global {
  interface Window {
    turboProbe: typeof probe;
  }
}
window.turboProbe = probe;
