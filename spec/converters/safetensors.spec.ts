// The safetensors reader: every supported dtype, and a one-line TurboInputError naming the file for
// every kind of broken file.

import * as fs from 'fs';
import * as path from 'path';
import { openSafetensors, writeSafetensors } from '../../converters/safetensors';
import { TurboInputError } from '../../src/errors';
import { tmpDir } from './helpers';

let tmp: string;
beforeEach(() => {
  tmp = tmpDir('turbo-st-');
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A file with exactly this header text and data bytes, the length field optionally lying. */
function rawFile(name: string, header: string | object, data = Buffer.alloc(0), lengthField?: number): string {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(lengthField ?? text.length));
  const file = path.join(tmp, name);
  fs.writeFileSync(file, Buffer.concat([len, text, data]));
  return file;
}

async function expectInputError(file: string, ...parts: (string | RegExp)[]): Promise<void> {
  let err: unknown;
  try {
    const st = await openSafetensors(file);
    // Header problems surface on open; dtype problems when the tensor is read.
    try {
      for (const name of st.tensors.keys()) await st.read(name);
    } finally {
      await st.close();
    }
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TurboInputError);
  const msg = (err as Error).message;
  expect(msg).not.toContain('\n');
  expect(msg.startsWith(`${file}: `)).toBe(true);
  for (const p of parts) expect(msg).toMatch(p);
}

describe('reading', () => {
  test('F32, F16, BF16, F64 become float32; I32, I64 become int32; metadata is kept', async () => {
    const file = path.join(tmp, 'all.safetensors');
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001]); // 1, -2, 0.33325195, 2^-24
    const bf16 = new Uint16Array([0x3f80, 0xc049, 0x0000]); // 1, -3.140625, 0
    writeSafetensors(
      file,
      [
        { name: 'f32', shape: [2, 2], data: new Float32Array([1, 2.5, -3, 4]) },
        { name: 'f16', shape: [4], dtype: 'F16', data: f16 },
        { name: 'bf16', shape: [3], dtype: 'BF16', data: bf16 },
        { name: 'i32', shape: [2], dtype: 'I32', data: new Int32Array([-7, 2147483647]) },
        { name: 'i64', shape: [2], dtype: 'I64', data: new BigInt64Array([-5n, 1n << 30n]) },
        { name: 'empty', shape: [0, 3], data: new Float32Array(0) },
      ],
      { format: 'pt' },
    );
    const st = await openSafetensors(file);
    try {
      expect(st.metadata).toEqual({ format: 'pt' });
      expect([...st.tensors.keys()]).toEqual(['f32', 'f16', 'bf16', 'i32', 'i64', 'empty']);
      expect(st.tensors.get('f32')!.shape).toEqual([2, 2]);
      expect(Array.from(await st.readFloat('f32'))).toEqual([1, 2.5, -3, 4]);
      expect(Array.from(await st.readFloat('f16'))).toEqual([1, -2, Math.fround(0.33325195), 2 ** -24]);
      expect(Array.from(await st.readFloat('bf16'))).toEqual([1, -3.140625, 0]);
      expect(await st.read('i32')).toEqual(new Int32Array([-7, 2147483647]));
      expect(await st.read('i64')).toEqual(new Int32Array([-5, 1 << 30]));
      expect(await st.read('empty')).toEqual(new Float32Array(0));
    } finally {
      await st.close();
    }
  });

  test('F64 is narrowed to float32', async () => {
    const f64 = new Float64Array([0.1, -1e10]);
    const file = rawFile('f64.safetensors', { x: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } }, Buffer.from(f64.buffer));
    const st = await openSafetensors(file);
    expect(Array.from(await st.readFloat('x'))).toEqual([Math.fround(0.1), Math.fround(-1e10)]);
    await st.close();
  });
});

describe('broken files', () => {
  test('missing', () => expectInputError(path.join(tmp, 'nope.safetensors'), 'not found'));

  test('a directory', () => expectInputError(tmp, 'is a directory'));

  test('shorter than the 8-byte length field', async () => {
    const file = path.join(tmp, 'short.safetensors');
    fs.writeFileSync(file, Buffer.from([1, 2, 3, 4, 5]));
    await expectInputError(file, 'too short', '5 bytes');
  });

  test('header length beyond the end of the file', () =>
    expectInputError(rawFile('long.safetensors', '{}', Buffer.alloc(4), 1000), 'header length 1000 runs past the end of the file (14 bytes)'));

  test('header not JSON', () => expectInputError(rawFile('text.safetensors', 'hello, world'), 'header is not valid JSON'));

  test('header JSON but not an object', () => expectInputError(rawFile('array.safetensors', '[1, 2]'), 'not a JSON object'));

  test('data_offsets past the data section', () =>
    expectInputError(
      rawFile('range.safetensors', { w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(8)),
      "tensor 'w'",
      'data_offsets [0, 16] out of range (the data section has 8 bytes)',
    ));

  test('data_offsets not matching dtype x shape', () =>
    expectInputError(
      rawFile('span.safetensors', { w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, Buffer.alloc(16)),
      "tensor 'w'",
      'span 16 bytes, but F32 [3] needs 12',
    ));

  test('data_offsets malformed', () =>
    expectInputError(rawFile('bad.safetensors', { w: { dtype: 'F32', shape: [1], data_offsets: [4] } }, Buffer.alloc(4)), "tensor 'w'", 'is not [begin, end]'));

  test('unknown dtype', () =>
    expectInputError(rawFile('q4.safetensors', { w: { dtype: 'Q4', shape: [2], data_offsets: [0, 1] } }, Buffer.alloc(1)), "tensor 'w'", 'unknown dtype "Q4"'));

  test('a valid dtype we cannot convert', () =>
    expectInputError(rawFile('bool.safetensors', { w: { dtype: 'BOOL', shape: [2], data_offsets: [0, 2] } }, Buffer.alloc(2)), "tensor 'w'", 'unsupported dtype BOOL'));

  test('I64 values beyond int32', () => {
    const data = Buffer.from(new BigInt64Array([1n << 40n]).buffer);
    return expectInputError(rawFile('big.safetensors', { w: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, data), 'does not fit in int32');
  });
});
