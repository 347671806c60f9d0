// What a run insists on. Suites that need an optional piece (tfjs-node and the op library, a
// Python with TensorFlow, a WebGPU adapter) say NOT TESTED when it is missing on a developer's
// machine; CI sets TFJS_TURBO_REQUIRE (.ci/run: "native,python,webgpu"), and there a missing piece
// is a failing test, so a broken setup can never pass as "not tested".

export type Requirement = 'native' | 'python' | 'webgpu';

export function required(what: Requirement): boolean {
  return (process.env.TFJS_TURBO_REQUIRE ?? '').split(',').map((s) => s.trim()).includes(what);
}

/** One test in place of a suite that cannot run: failing when `what` is required, else named NOT TESTED. */
export function notTested(what: Requirement, name: string, why: string): void {
  if (required(what)) {
    test(`${name} (required by TFJS_TURBO_REQUIRE)`, () => {
      throw new Error(`${name} cannot run: ${why}`);
    });
  } else {
    test(`NOT TESTED: ${name}: ${why}`, () => console.warn(`${name} NOT tested: ${why}`));
  }
}
