// A CLI program run in-process for a test: its exit code and what it wrote to stderr, and a
// failure instead of a stuck test when it runs past `hangMs` (a FIFO read by mistake blocks for ever).
import { Command } from 'commander';
import { runProgram } from '../../src/cli/run';

export interface CliRun {
  code: number;
  err: string;
}

export async function runCliInProcess(program: Command, args: string[], hangMs = 15000): Promise<CliRun> {
  let err = '';
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${program.name()} ${args.join(' ')} did not finish in ${hangMs} ms`)), hangMs);
  });
  try {
    const code = await Promise.race([runProgram(program, args, { err: (s) => (err += s) }), hang]);
    return { code, err };
  } finally {
    clearTimeout(timer);
  }
}
