// A benchmark engine in a child process of its own (each holds its backend's thread settings and
// its loaded networks), asked one request at a time over IPC. Used by bench-native and
// bench-savedmodel.
import { ChildProcess, fork } from 'child_process';
import { timeOnce } from '../../src/runtime/timing';
import { Runner } from './runners';

export type WorkerReply = { ok: true; value: unknown } | { ok: false; error: string };

export class BenchWorker<Req extends object, E extends string = string> {
  private pending: { resolve: (v: unknown) => void; reject: (e: Error) => void } | null = null;

  private constructor(
    readonly engine: E,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (m: WorkerReply) => {
      const p = this.pending;
      this.pending = null;
      if (m.ok) p?.resolve(m.value);
      else p?.reject(new Error(`${engine}: ${m.error}`));
    });
    child.on('exit', (code) => this.pending?.reject(new Error(`${engine} worker exited with ${code}`)));
  }

  /** Forks `script` with the engine name as its argument and `env` added to this process's. */
  static start<Req extends object, E extends string>(script: string, engine: E, env: NodeJS.ProcessEnv): BenchWorker<Req, E> {
    return new BenchWorker<Req, E>(engine, fork(script, [engine], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  ask<T>(req: Req): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending = { resolve: resolve as (v: unknown) => void, reject };
      this.child.send(req);
    });
  }

  stop(): void {
    this.child.kill();
  }
}

/** What a runner worker is asked after loading: time one run of a network, or drop them all. */
export type RunnerRequest<Load extends { cmd: 'load' }> = Load | { cmd: 'run'; variant: number; batch: number; keepOutput: boolean } | { cmd: 'unload' };

/**
 * The child side of a runner worker (bench-route, bench-savedmodel): `load` builds the networks a
 * load request names and describes the engine; each run is timed by the one timing harness.
 */
export function serveRunners<Load extends { cmd: 'load' }>(load: (req: Load) => Promise<{ runners: Runner[]; engine: string }>): void {
  let runners: Runner[] = [];
  const unload = async () => {
    for (const r of runners) await r.dispose();
    runners = [];
  };
  process.on('message', async (req: RunnerRequest<Load>) => {
    let reply: WorkerReply;
    try {
      if (req.cmd === 'load') {
        await unload();
        const loaded = await load(req as Load);
        runners = loaded.runners;
        reply = { ok: true, value: loaded.engine };
      } else if (req.cmd === 'run') {
        const t = await timeOnce(() => runners[req.variant].run(req.batch));
        reply = { ok: true, value: { wallMs: t.wallMs, cpuMs: t.cpuMs, output: req.keepOutput ? Array.from(t.value) : undefined } };
      } else {
        await unload();
        reply = { ok: true, value: null };
      }
    } catch (e) {
      reply = { ok: false, error: (e as Error).message.split('\n')[0] };
    }
    process.send!(reply);
  });
}
