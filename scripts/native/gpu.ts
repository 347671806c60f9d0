// The GPU variant's extra wheels. The `tensorflow` wheel (2.14 and later) does not carry CUDA: its
// `and-cuda` extra names the nvidia-* wheels (cuBLAS, cuDNN, cuFFT, ...) at exact versions, and its
// libraries' RUNPATH looks for them in ../nvidia/<name>/lib. We read those requirements from the
// wheel's own METADATA, so the CUDA versions always match the TensorFlow build.

import { capture } from './proc';

/** `nvidia-cublas-cu12==12.2.5.6`, ... from the wheel's `Requires-Dist: ... ; extra == 'and-cuda'` lines. */
export async function cudaRequirements(python: string, wheel: string): Promise<string[]> {
  const code =
    'import sys, zipfile\n' +
    'z = zipfile.ZipFile(sys.argv[1])\n' +
    "m = [n for n in z.namelist() if n.endswith('.dist-info/METADATA')][0]\n" +
    'sys.stdout.write(z.read(m).decode())\n';
  return parseCudaRequirements(await capture(python, ['-c', code, wheel], 'reading the wheel METADATA'));
}

export function parseCudaRequirements(metadata: string): string[] {
  const out: string[] = [];
  for (const line of metadata.split('\n')) {
    // Requires-Dist: nvidia-cudnn-cu12 (==8.9.4.25) ; extra == 'and-cuda'   (older wheels)
    // Requires-Dist: nvidia-cudnn-cu12==9.3.0.75; extra == "and-cuda"       (newer wheels)
    const m = /^Requires-Dist:\s*(nvidia-[\w.-]+)\s*\(?\s*==\s*([\w.]+)\s*\)?\s*;\s*extra\s*==\s*['"]and-cuda['"]/.exec(line.trim());
    if (m) out.push(`${m[1]}==${m[2]}`);
  }
  return out;
}
