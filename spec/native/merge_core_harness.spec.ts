// merge_core.h (the CPU kernel's code) and the CUDA kernel bodies of native/cuda/turbo_merge.cu,
// built with g++ as the harness's CPU emulation (native/cuda/run_harness.sh --cpu): the official
// merge cases within 1e-5, and device path == C++ reference to the bit, ViT-B size included.
// The same harness built with nvcc is the GPU check (see docs/NATIVE_OPS.md).
import { spawnSync } from 'child_process';
import * as path from 'path';

const SCRIPT = path.resolve(__dirname, '..', '..', 'native', 'cuda', 'run_harness.sh');
const hasGpp = spawnSync(process.env.CXX || 'g++', ['--version']).status === 0;

if (hasGpp) {
  test('CUDA harness in CPU emulation: 12 official cases + a ViT-B-sized case pass, bit-identical to merge_core.h', () => {
    const run = spawnSync(SCRIPT, ['--cpu'], { encoding: 'utf8', timeout: 120000 });
    const lines = run.stdout.split('\n');
    console.log(run.stdout);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(lines.filter((l) => l.startsWith('PASS case'))).toHaveLength(12);
    expect(lines.filter((l) => l.includes('bit-identical'))).toHaveLength(13);
    expect(lines).toContain('PASS: 0 failure(s)');
  });
} else {
  test('NOT TESTED: merge_core.h / CUDA kernel bodies: no g++ (set CXX)', () => console.warn('merge_core.h harness NOT tested: no C++ compiler'));
}
