/** Raised when the graph has no transformer blocks we recognise, or no family fits; says what was found. */
export class NoTransformerBlocksError extends Error {}
