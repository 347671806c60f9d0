import { GraphError } from '../errors';

/**
 * The graph has no transformer blocks we recognise, or no family fits; says what was found. A
 * GraphError like any other, so it is one line wherever it surfaces; the planner does not know the
 * file's path, so callers that do (convert.planModel) name it.
 */
export class NoTransformerBlocksError extends GraphError {
  constructor(problem: string, file = 'model.json') {
    super(file, problem);
  }
}
