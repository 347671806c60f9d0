import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  update: (done: number, total: number) => void;
  stop: () => void;
}

/** A byte-count progress bar on stderr; silent when stderr is not a terminal (CI, pipes). */
export function progressBar(label: string, unit = 'MB', scale = 1 / (1024 * 1024)): Progress {
  const bar = new SingleBar(
    { format: `${label} [{bar}] {percentage}% {value}/{total} ${unit}`, stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update: (done, total) => {
      const v = Math.round(done * scale * 10) / 10;
      const t = Math.round(total * scale * 10) / 10;
      if (!started) {
        bar.start(t, v);
        started = true;
      } else bar.update(v);
    },
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}
