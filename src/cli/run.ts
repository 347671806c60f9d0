// Every CLI ends here: user errors become one line on stderr and a non-zero exit, never a stack trace.

import { Command, CommanderError } from 'commander';
import { InternalError, OptionsError, TurboInputError } from '../errors';

export interface CliIo {
  err: (s: string) => void;
  /** Sees the error behind a failed run (tests and the fuzz tally classify by its kind). */
  onError?: (e: unknown) => void;
}

const processIo: CliIo = { err: (s) => process.stderr.write(s) };

/** Runs a commander program; resolves to the exit code instead of exiting, so tests can call it. */
export async function runProgram(program: Command, args: string[], io: CliIo = processIo): Promise<number> {
  program.exitOverride();
  program.configureOutput({ writeErr: io.err });
  try {
    await program.parseAsync(args, { from: 'user' });
    return 0;
  } catch (e) {
    io.onError?.(e);
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2; // commander printed its message
    // Library entry points already name the user's file; anything else is a bug, said as such.
    const err = e instanceof TurboInputError ? e : new InternalError(program.name(), e);
    io.err(`error: ${oneLine(forCli(err))}\n`);
    if (process.env.TURBO_DEBUG && e instanceof Error) io.err(`${e.stack}\n`);
    return 1;
  }
}

export function runCli(program: Command): void {
  runProgram(program, process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

export function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*\n\s*/g, ' ');
}

/** Option keys whose flag is not their kebab-case name. */
const FLAG_OF: Readonly<Record<string, string>> = { inflect: '--r', propAttn: '--no-prop-attn' };

/** The flag a library option key is given by on the command line ("dropRate" -> "--drop-rate"). */
export function flagOf(option: string): string {
  return FLAG_OF[option] ?? `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The line the CLI prints: an option error names the flag the user typed, not the library's key. */
function forCli(err: TurboInputError): string {
  return err instanceof OptionsError ? `${flagOf(err.option)}: ${err.problem}` : err.message;
}
