// The pieces of `npm run setup:native` that need no network or compiler: the GPU wheel's CUDA
// requirements, the header closure, the wheel cache lookup, and the loopback server.

import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { parseCudaRequirements } from '../../scripts/native/gpu';
import { headerClosure } from '../../scripts/native/headers';
import { serveFile } from '../../scripts/native/serve';
import { cachedWheel } from '../../scripts/native/wheel';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'setup-native-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(rel: string, text: string): void {
  const f = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, text);
}

test('CUDA requirements: both METADATA spellings, only the and-cuda extra', () => {
  const metadata = [
    'Requires-Dist: numpy (<2.0.0,>=1.23.5)',
    "Requires-Dist: nvidia-cublas-cu12 (==12.2.5.6) ; extra == 'and-cuda'",
    'Requires-Dist: nvidia-cudnn-cu12==9.3.0.75; extra == "and-cuda"',
    "Requires-Dist: nvidia-nccl-cu12 (==2.16.5) ; extra == 'other'",
  ].join('\n');
  expect(parseCudaRequirements(metadata)).toEqual(['nvidia-cublas-cu12==12.2.5.6', 'nvidia-cudnn-cu12==9.3.0.75']);
});

test('header closure follows quoted includes that resolve, skips system and absent ones', () => {
  write('tensorflow/c/c_api.h', '#include <stdint.h>\n#include "tensorflow/c/tf_status.h"\n#ifdef _WIN32\n#include "tensorflow/c/windows_only.h"\n#endif\n');
  write('tensorflow/c/tf_status.h', '#  include "tsl/platform/ctstring.h"\n');
  write('tsl/platform/ctstring.h', '#include "tsl/platform/ctstring_internal.h"\n');
  write('tsl/platform/ctstring_internal.h', '');
  write('tensorflow/c/unrelated.h', '');
  expect(headerClosure(tmp, ['tensorflow/c/c_api.h'])).toEqual([
    'tensorflow/c/c_api.h',
    'tensorflow/c/tf_status.h',
    'tsl/platform/ctstring.h',
    'tsl/platform/ctstring_internal.h',
  ]);
  expect(() => headerClosure(tmp, ['tensorflow/c/eager/c_api.h'])).toThrow('the wheel has no tensorflow/c/eager/c_api.h');
});

test('the wheel cache is looked up by project and exact version', () => {
  write('tensorflow_cpu-2.12.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl', '');
  write('tensorflow_cpu-2.12.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl', '');
  expect(path.basename(cachedWheel(tmp, 'tensorflow-cpu', '2.12.0')!)).toMatch(/^tensorflow_cpu-2\.12\.0-/);
  expect(cachedWheel(tmp, 'tensorflow-cpu', '2.12')).toBeNull();
  expect(cachedWheel(tmp, 'tensorflow', '2.12.0')).toBeNull();
  expect(cachedWheel(path.join(tmp, 'absent'), 'tensorflow-cpu', '2.12.0')).toBeNull();
});

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

test('the loopback server hands out the one file under the name the installer asks for, then stops', async () => {
  write('t.tar.gz', 'tarball bytes');
  const server = await serveFile(path.join(tmp, 't.tar.gz'), 'libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz');
  try {
    expect(server.baseUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/libtensorflow-$/);
    expect(await get(`${server.baseUri}cpu-linux-x86_64-2.9.1.tar.gz`)).toEqual({ status: 200, body: 'tarball bytes' });
    expect((await get(`${server.baseUri}gpu-linux-x86_64-2.9.1.tar.gz`)).status).toBe(404);
    expect(server.served()).toBe(1);
  } finally {
    await server.close();
  }
  await expect(get(`${server.baseUri}cpu-linux-x86_64-2.9.1.tar.gz`)).rejects.toThrow();
});
