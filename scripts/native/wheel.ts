// The TensorFlow wheel from PyPI, downloaded once with pip into the cache and reused by name.

import * as fs from 'fs';
import * as path from 'path';
import { WHEEL_TAGS } from './pins';
import { probe, run, SetupError } from './proc';

/** A Python with pip: $PYTHON, else python3, else python. Throws the one-line error when none has pip. */
export function findPython(): string {
  const candidates = process.env.PYTHON ? [process.env.PYTHON] : ['python3', 'python'];
  for (const py of candidates) if (probe(py, ['-m', 'pip', '--version']) !== null) return py;
  throw new SetupError(
    `setup:native downloads TensorFlow's wheel with pip, and ${candidates.join(' / ')} has no pip: install it (Debian: apt-get install python3-pip) or set PYTHON to a Python that has it`,
  );
}

/** The cached wheel of `project==version` for the pinned tags, if present. */
export function cachedWheel(dir: string, project: string, version: string): string | null {
  const prefix = `${project.replace(/-/g, '_')}-${version}-`;
  if (!fs.existsSync(dir)) return null;
  const hit = fs.readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
  return hit ? path.join(dir, hit) : null;
}

/**
 * The wheel's path, downloading it only when the cache has none. pip writes into a scratch
 * directory first, so an interrupted download never leaves a truncated .whl that a later run trusts.
 */
export async function ensureWheel(python: string, dir: string, project: string, version: string, log: (s: string) => void): Promise<string> {
  const hit = cachedWheel(dir, project, version);
  if (hit) {
    log(`  cached: ${hit}`);
    return hit;
  }
  const scratch = fs.mkdtempSync(path.join(dir, '.download-'));
  try {
    const spec = `${project}==${version}`;
    log(`  pip download ${spec} (${WHEEL_TAGS.platform}, ${WHEEL_TAGS.abi})`);
    await run(
      python,
      ['-m', 'pip', 'download', spec, '--no-deps', '--only-binary=:all:', '--platform', WHEEL_TAGS.platform,
        '--python-version', WHEEL_TAGS.pythonVersion, '--implementation', WHEEL_TAGS.implementation, '--abi', WHEEL_TAGS.abi,
        '--disable-pip-version-check', '-d', scratch],
      `no ${spec} wheel for ${WHEEL_TAGS.platform}/${WHEEL_TAGS.abi} could be downloaded (no such wheel on the index, or no network)`,
    );
    const got = fs.readdirSync(scratch).filter((f) => f.endsWith('.whl'));
    if (got.length !== 1) throw new SetupError(`pip download ${spec} produced ${got.length} wheels, expected 1`);
    const dst = path.join(dir, got[0]);
    fs.renameSync(path.join(scratch, got[0]), dst);
    return dst;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
