import * as os from 'os';

/** One line naming the machine a benchmark ran on, for the generated docs sections. */
export function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores (shared), ${os.platform()} ${os.arch()}, Node ${process.version}`;
}
