// A two-node SavedModel (x -> Identity -> y) written with the project's .proto files: small enough
// to build per test, real enough for TensorFlow to load, and easy to break one field at a time.
import * as fs from 'fs';
import * as path from 'path';
import { protoType } from '../../src/savedmodel/proto';

export interface TinyOptions {
  tags?: string[];
  signature?: string;
  /** A saver_def makes TensorFlow restore variables/ (our writer never emits one). */
  saverDef?: boolean;
  /** An extra node with this op (e.g. TurboMerge, so the loader wants the op library). */
  extraOp?: string;
}

const SHAPE = { dim: [{ size: -1 }, { size: 2 }] };

export function tinySavedModelBytes(o: TinyOptions = {}): Buffer {
  const tensor = (name: string) => ({ name, dtype: 'DT_FLOAT', tensorShape: SHAPE });
  const node = [
    { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: SHAPE } } },
    { name: 'y', op: 'Identity', input: ['x'], attr: { T: { type: 'DT_FLOAT' } } },
    ...(o.extraOp ? [{ name: 'extra', op: o.extraOp }] : []),
  ];
  const meta = {
    metaInfoDef: { tags: o.tags ?? ['serve'] },
    graphDef: { node, versions: { producer: 1395 } },
    signatureDef: { [o.signature ?? 'serving_default']: { inputs: { x: tensor('x:0') }, outputs: { y: tensor('y:0') }, methodName: 'tensorflow/serving/predict' } },
    ...(o.saverDef ? { saverDef: { filenameTensorName: 'save/Const:0', saveTensorName: 'save/control_dependency:0', restoreOpName: 'save/restore_all', version: 'V2' } } : {}),
  };
  const SavedModel = protoType('SavedModel');
  return Buffer.from(SavedModel.encode(SavedModel.fromObject({ savedModelSchemaVersion: 1, metaGraphs: [meta] })).finish());
}

/** `dir` as a SavedModel directory: saved_model.pb and an empty variables/. */
export function writeTinySavedModel(dir: string, o: TinyOptions = {}): string {
  fs.mkdirSync(path.join(dir, 'variables'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'saved_model.pb'), tinySavedModelBytes(o));
  return dir;
}
