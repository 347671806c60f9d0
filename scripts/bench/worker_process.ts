// A benchmark engine in a child process of its own (each holds its backend's thread settings and
// its loaded networks), asked one request at a time over IPC. Used by bench-native and
// bench-savedmodel.
import { ChildProcess, fork } from 'child_process';

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
