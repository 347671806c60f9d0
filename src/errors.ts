// What can go wrong, by whose file it is about. Every user-facing failure is one line,
// "<file>: <problem>", so a CLI can print it as is; `kind` lets callers (and the fuzz tally)
// tell the classes apart without parsing messages.

export type TurboErrorKind = 'input' | 'manifest' | 'graph' | 'options' | 'output' | 'internal';

/**
 * A problem with something the user gave us (a file, a directory, an option). Its message is one
 * line that names the file and the problem, e.g. "models/x/model.json: not valid JSON (...)".
 */
export class TurboInputError extends Error {
  readonly kind: TurboErrorKind = 'input';

  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem.replace(/\s*\n\s*/g, ' ')}`);
    this.name = 'TurboInputError';
  }
}

/** model.json's weightsManifest disagrees with itself, the shards, or the graph. */
export class ManifestError extends TurboInputError {
  override readonly kind = 'manifest';
}

/** The graph in model.json is malformed, unsupported, or already converted. */
export class GraphError extends TurboInputError {
  override readonly kind = 'graph';
}

/**
 * An option value. `option` is the library's key ("r", "dropRate", "targetSpeedup"); the message
 * reads "r: ...". Only the CLI turns keys into flags (cli/run.ts: "--drop-rate: ...").
 */
export class OptionsError extends TurboInputError {
  override readonly kind = 'options';

  constructor(
    readonly option: string,
    problem: string,
  ) {
    super(option, problem);
  }
}

/** OUT_DIR cannot be created, replaced or written. */
export class OutputError extends TurboInputError {
  override readonly kind = 'output';
}

/**
 * Anything that is not one of the above reached the top: a bug in tfjs-turbo, reported against the
 * file being processed so the user still knows which input triggered it.
 */
export class InternalError extends TurboInputError {
  override readonly kind = 'internal';

  constructor(file: string, cause: unknown) {
    const msg = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(file, `internal error, please report it as a tfjs-turbo bug (${msg.slice(0, 300)})`);
  }
}

/** The error as a TurboInputError: ours pass through, anything else becomes an InternalError for `file`. */
export function asTurboError(e: unknown, file: string): TurboInputError {
  return e instanceof TurboInputError ? e : new InternalError(file, e);
}
