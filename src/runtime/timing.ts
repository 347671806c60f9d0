// The one timing harness: the benchmarks (bench, bench-native, bench-savedmodel, bench-merge,
// bench-native-ops, bench-convert, eval-grid) and the demo (src/cli/demo.ts).
//
// A measurement is a wall-clock time (performance.now) and this process's CPU time
// (process.cpuUsage: user + system, all threads) around one call, in ms. Several networks are
// compared by interleaving: untimed warm-up rounds, then `rounds` rounds in which every runner runs
// once, the first runner rotating every round (A B C, B C A, ...; with two: A B, B A), so drift on a
// shared machine hits every runner alike. Results are per-runner samples; report medians.

/** One timed call, in ms. */
export interface Sample {
  wallMs: number;
  cpuMs: number;
}

/** All timed samples of one runner, in ms. */
export interface Times {
  /** Wall-clock ms per run. */
  wall: number[];
  /** CPU ms of this process per run (user + system, all threads). */
  cpu: number[];
}

/** This process's CPU time so far (user + system, all threads), in ms. */
export function cpuNowMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

/** Calls `f` once: its value with the wall-clock and CPU ms it took. */
export async function timeOnce<T>(f: () => T | Promise<T>): Promise<Sample & { value: T }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000, value };
}

/** timeOnce for synchronous work (no await between the clocks). */
export function timeSync<T>(f: () => T): Sample & { value: T } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = f();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000, value };
}

/**
 * One of the things interleave() compares. `run` does the work once and returns its sample: timed
 * here with timeOnce, or measured elsewhere (a worker process) and passed back.
 */
export interface Timed<T = unknown> {
  label: string;
  run: (ctx: { round: number; warmup: boolean }) => Promise<Sample & { value?: T }>;
}

export interface InterleaveOptions {
  /** Timed rounds. */
  rounds: number;
  /** Untimed rounds first, every runner once per round in order (default 1). */
  warmup?: number;
  /** Rotate the first runner every round (default true); false keeps the listed order. */
  rotate?: boolean;
  /** After every run (warm-up included): progress. */
  onRun?: (label: string) => void;
  /** After every timed round, awaited (e.g. to let timers run). */
  afterRound?: (round: number) => Promise<void> | void;
}

/**
 * Warm-up rounds, then timed rounds, as described at the top. Returns the values of the first
 * warm-up round (e.g. outputs to check) and every runner's timed samples, in runner order.
 */
export async function interleave<T>(runners: Timed<T>[], o: InterleaveOptions): Promise<{ warm: (T | undefined)[]; times: Times[] }> {
  const warm: (T | undefined)[] = [];
  for (let w = 0; w < (o.warmup ?? 1); w++) {
    for (const r of runners) {
      const s = await r.run({ round: w, warmup: true });
      if (w === 0) warm.push(s.value);
      o.onRun?.(r.label);
    }
  }
  const times = runners.map((): Times => ({ wall: [], cpu: [] }));
  for (let round = 0; round < o.rounds; round++) {
    for (let j = 0; j < runners.length; j++) {
      const i = o.rotate === false ? j : (round + j) % runners.length;
      const s = await runners[i].run({ round, warmup: false });
      times[i].wall.push(s.wallMs);
      times[i].cpu.push(s.cpuMs);
      o.onRun?.(runners[i].label);
    }
    await o.afterRound?.(round);
  }
  return { warm, times };
}

/** A runner for interleave() that times `f` in this process. */
export function timedHere<T>(label: string, f: (ctx: { round: number; warmup: boolean }) => T | Promise<T>): Timed<T> {
  return { label, run: (ctx) => timeOnce(() => f(ctx)) };
}

/** Median of a sample (mean of the two middle values for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

