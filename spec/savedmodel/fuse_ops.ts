// Op counts of a written SavedModel's GraphDef, for the fuse tests.
import * as fs from 'fs';
import * as path from 'path';
import { protoType } from '../../src/savedmodel/proto';

export function decodeSavedModelOps(dir: string): Record<string, number> {
  const SavedModel = protoType('SavedModel');
  const msg = SavedModel.toObject(SavedModel.decode(fs.readFileSync(path.join(dir, 'saved_model.pb')))) as { metaGraphs: { graphDef: { node: { op: string }[] } }[] };
  const ops: Record<string, number> = {};
  for (const n of msg.metaGraphs[0].graphDef.node) ops[n.op] = (ops[n.op] ?? 0) + 1;
  return ops;
}
