// eval-grid's results file (docs/eval/*.json) and the formatting its markdown, plot and log share.

import * as path from 'path';
import { Preprocessing } from '../../../src/image/preprocess';
import { packageRoot } from '../../../src/paths';

export interface GridRow {
  r: number;
  /** null for the unmerged model (alpha does not apply). */
  alpha: number | null;
  tokensAfterBlock: number[];
  tokensLast: number;
  flopRatio: number;
  top1: number;
  top5: number;
  /** top-1 minus the unmerged model's top-1, in points. */
  top1Delta: number;
  /** Share of images (%) whose top-1 class equals the unmerged model's. */
  agreement: number;
  /** images/s in the paired timing (Σ images ÷ Σ seconds over its batches). */
  imagesPerSec: number;
  /** The unmerged model's images/s in the same paired timing. */
  baselineImagesPerSec: number;
  /** Median over the paired batches of unmerged seconds ÷ this model's seconds. */
  speedup: number;
  /** images/s over the whole accuracy pass (one long window, more exposed to drift). */
  passImagesPerSec: number;
  paired?: PairedTiming;
  /** Top-1 class per image, in labels.csv order. */
  predictions: number[];
}

export interface PairedTiming {
  /** Images per timed batch. */
  images: number[];
  unmergedSeconds: number[];
  turboSeconds: number[];
}

export interface GridResult {
  tool: string;
  date: string;
  command: string;
  wallSeconds: number;
  model: { dir: string; embedded: boolean; modelJsonSha256: string; preprocessing: Preprocessing; preprocessingSource: string; dims: { hidden: number; mlp: number } };
  images: { dir: string; name: string; count: number; files: string[]; labels: number[] };
  backend: string;
  batch: number;
  warmupBatches: number;
  pairs: number;
  turbo: { beta: number; gamma: number; rThreshold: number; propAttn: boolean };
  machine: { node: string; cpu: string; cores: number; platform: string; loadAverage: number[] };
  unmerged: {
    fullPasses: { when: string; imagesPerSec: number; seconds: number }[];
    pairedImagesPerSec: { min: number; median: number; max: number };
    pairedDriftPercent: number;
    fullPassDriftPercent: number;
    predictionsChanged: number;
  };
  /** The unmerged model first (alpha null), then the grid. */
  rows: GridRow[];
}

/** `p` relative to `from` (default: the repository root), with forward slashes. */
export function rel(p: string, from = packageRoot()): string {
  const r = path.relative(from, p);
  return (r === '' ? '.' : r).split(path.sep).join('/');
}

export function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}

/** JSON with number arrays (predictions, token counts) kept on one line. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`);
}

