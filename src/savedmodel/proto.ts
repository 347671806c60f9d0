// TensorFlow's SavedModel schema, loaded with protobufjs from the .proto files copied into
// src/savedmodel/proto/ (tensorflow-cpu 2.12.0, the TensorFlow setup:native builds on). They ship
// with the package, so writing a SavedModel needs neither TensorFlow nor Python.
//
// Loaded without keepCase: protobufjs then names fields in lowerCamelCase and its fromObject()
// takes enum names, int64 as decimal strings and bytes as base64, which is exactly the GraphDef
// JSON of model.json. A NodeDef read from model.json is therefore a valid protobufjs object as is.

import * as path from 'path';
import * as protobuf from 'protobufjs';
import { packageRoot } from '../paths';

/** The TensorFlow version the .proto files (and the producer version we write) come from. */
export const TF_PROTO_VERSION = '2.12.0';
/** TF_GRAPH_DEF_VERSION of TensorFlow 2.12 (core/public/version.h). */
export const TF_GRAPH_DEF_VERSION = 1395;

let root: protobuf.Root | undefined;

function schema(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  // Found on first use, not on import: importing tfjs-turbo reads no file (and works bundled).
  const protoDir = path.join(packageRoot(), 'src', 'savedmodel', 'proto');
  // google/protobuf/*.proto are protobufjs built-ins; everything else lives in protoDir.
  r.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : path.join(protoDir, target));
  r.loadSync('tensorflow/core/protobuf/saved_model.proto');
  r.resolveAll();
  return (root = r);
}

export function protoType(name: 'SavedModel' | 'GraphDef' | 'NodeDef' | 'MetaGraphDef' | 'TensorProto'): protobuf.Type {
  return schema().lookupType(`tensorflow.${name}`);
}
