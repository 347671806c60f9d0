// The small random-weight BLIP fixture (spec/fixtures/blip/small, converters/python/export_blip.py):
// TensorFlow's own outputs for every exported graph (reference.json), generate() sequences, the
// independent text-side dropping reference (text-drop-reference.json) and the numpy Turbo reference
// for the vision encoder (vision-turbo-reference.json).
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';

export const BLIP_SMALL = path.join(__dirname, '..', 'fixtures', 'blip', 'small');

type Nested = number | Nested[];

export interface ArrayData {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Nested;
}

interface FileData {
  file: string;
  shape: number[];
  dtype: 'float32';
}

export interface GraphCase {
  inputs: Record<string, ArrayData | FileData>;
  outputs: Record<string, ArrayData>;
}

export interface GraphReference {
  task: string;
  cases: Record<string, GraphCase>;
}

export interface GenerateReference {
  kwargs: { max_length: number; num_beams: number; min_length?: number };
  sequences: number[][];
  input_ids?: number[][];
  prompt?: string;
  questions?: string[];
  decoded: string[];
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(path.join(BLIP_SMALL, file), 'utf8')) as T;
}

export function pixelValues(): { data: Float32Array; shape: number[] } {
  const buf = fs.readFileSync(path.join(BLIP_SMALL, 'pixel_values.f32'));
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
  const shape = [data.length / (3 * 64 * 64), 3, 64, 64];
  return { data, shape };
}

/** The fixture's images, one preprocessed CHW Float32Array each (what the pipelines take as pixels). */
export function fixtureImages(): Float32Array[] {
  const { data, shape } = pixelValues();
  const plane = data.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) => data.slice(i * plane, (i + 1) * plane));
}

export function toTensor(a: ArrayData | FileData): tf.Tensor {
  if ('file' in a) {
    const { data } = pixelValues();
    return tf.tensor(data, a.shape, 'float32');
  }
  return tf.tensor(a.data as number[], a.shape, a.dtype);
}

export function flat(a: ArrayData): number[] {
  return (a.data as Nested[]).flat(Infinity as 1) as number[];
}

export function maxDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let m = 0;
  for (let i = 0; i < actual.length; i++) m = Math.max(m, Math.abs(actual[i] - expected[i]));
  return m;
}
