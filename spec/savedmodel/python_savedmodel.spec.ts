// The same SavedModels in Python TensorFlow (spec/reference/check_savedmodel.py): the unmerged
// ViT-Tiny, and the Turbo one after tf.load_op_library, against the official Turbo vectors and
// against TensorFlow through tfjs-node on the same directory. Needs a Python with TensorFlow 2.12
// (the op library is built for it): $TFJS_TURBO_TF_PYTHON or .cache/python-tf212/bin/python, see
// docs/PYTHON-EXPORT.md; without it one test names what is missing and nothing else is registered.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { embeddedModelDir, rewriteGraph } from '../../src/convert';
import { readGraphModel } from '../../src/graph/model_io';
import { turboOpLibraryPath } from '../../src/native/op_library';
import { packageRoot } from '../../src/paths';
import { writeSavedModel } from '../../src/savedmodel/write';
import { nativeInstalled } from '../helpers/backends';
import { notTested } from '../helpers/required';
import { runInNode } from '../helpers/node_child';
import { FIXTURES, argmaxRows, loadVitTinyParity, maxAbsDiff, toOptions } from '../helpers/parity';
import { SavedModelRunJson } from '../helpers/savedmodel_child';

const ROOT = packageRoot();
const PYTHON = process.env.TFJS_TURBO_TF_PYTHON ?? path.join(ROOT, '.cache', 'python-tf212', 'bin', 'python');
const SCRIPT = path.join(ROOT, 'spec', 'reference', 'check_savedmodel.py');
const INPUTS = path.join(FIXTURES, 'parity', 'vit-tiny-inputs.f32');
const CHILD = path.join(__dirname, '..', 'helpers', 'savedmodel_child.ts');

function missing(): string | null {
  if (!fs.existsSync(PYTHON)) return `no Python with TensorFlow 2.12 at ${PYTHON} (set TFJS_TURBO_TF_PYTHON)`;
  return null;
}

function runPython(dir: string, opLibrary: string | null): { logits: Float32Array; info: { tensorflow: string; ops: string[]; input: string; output: string } } {
  const out = path.join(dir, '..', `${path.basename(dir)}.f32`);
  const args = [SCRIPT, dir, INPUTS, out, ...(opLibrary ? ['--op-library', opLibrary] : [])];
  const res = spawnSync(PYTHON, args, { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  if (res.status !== 0) throw new Error(`check_savedmodel.py exited with ${res.status}: ${(res.stderr ?? '').trim().slice(-1500)}`);
  const buf = fs.readFileSync(out);
  return { logits: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)), info: JSON.parse(res.stdout.trim().split('\n').pop()!) };
}

const why = missing();
if (why) {
  notTested('python', 'SavedModels in Python TensorFlow', why);
} else {
  const parity = loadVitTinyParity();
  let tmp: string;
  beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-savedmodel-py-'))));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const cases = [
    { name: 'unmerged ViT-Tiny', config: { r: 0, alpha: 0 }, turbo: false },
    { name: 'Turbo ViT-Tiny r = 13, alpha = 1', config: { r: 13, alpha: 1 }, turbo: true },
  ];
  test.each(cases.map((c) => [c.name, c] as const))('%s: Python TensorFlow matches the official logits and tfjs-node', async (_name, c) => {
    const lib = turboOpLibraryPath();
    if (c.turbo && !fs.existsSync(lib)) throw new Error(`the op library is not built (${lib}): npm run build:native-ops`);
    const expected = parity.results.find((r) => JSON.stringify(r.config) === JSON.stringify(c.config))!;
    const dir = path.join(tmp, c.turbo ? 'turbo' : 'unmerged');
    const graph = await readGraphModel(embeddedModelDir());
    if (c.turbo) rewriteGraph(graph, toOptions(expected.config));
    await writeSavedModel(graph, dir);
    const py = runPython(dir, c.turbo ? lib : null);
    expect(py.info.tensorflow).toBe('2.12.0');
    expect(py.info.input).toBe('pixel_values');
    expect(py.info.output).toBe('logits');
    if (c.turbo) expect(py.info.ops).toEqual(['turbo_merge', 'turbo_prop_attn_bias', 'turbo_unmerge']);
    const vsOfficial = maxAbsDiff(py.logits, expected.logits.flat());
    expect(vsOfficial).toBeLessThan(2e-3);
    expect(argmaxRows(py.logits, 1000)).toEqual(expected.top1);
    let vsNode = NaN;
    if (nativeInstalled()) {
      // tfjs-node's TensorFlow on the same directory (the child rewrites and writes again: same bytes).
      const run = await runInNode<SavedModelRunJson>(CHILD, 'runSavedModelParity', [embeddedModelDir(), path.join(tmp, `${path.basename(dir)}-node`), c.turbo ? toOptions(expected.config) : null, false]);
      vsNode = maxAbsDiff(py.logits, run.output);
      expect(vsNode).toBeLessThan(1e-4);
    }
    console.log(`${c.name} in Python TensorFlow ${py.info.tensorflow}: max abs diff ${vsOfficial.toExponential(2)} vs official, ${vsNode.toExponential(2)} vs tfjs-node`);
  });
}
