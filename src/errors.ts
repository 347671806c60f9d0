/**
 * A problem with something the user gave us (a file, a directory, an option). Its message is one
 * line that names the file and the problem, e.g. "models/x/model.json: not valid JSON (...)".
 */
export class TurboInputError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem.replace(/\s*\n\s*/g, ' ')}`);
    this.name = 'TurboInputError';
  }
}
