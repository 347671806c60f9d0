// The on-disk shapes of a tfjs graph model (model.json), as tensorflowjs_converter writes them.
// Field names follow the TensorFlow GraphDef JSON encoding, so nothing is renamed on the way
// through and an unmodified model round-trips byte for byte.

export type TfDtype = 'DT_FLOAT' | 'DT_INT32' | 'DT_BOOL' | 'DT_STRING' | 'DT_INT64' | string;

export interface TensorShapeProto {
  dim?: { size: string | number }[];
  unknownRank?: boolean;
}

export interface TensorProto {
  dtype: TfDtype;
  tensorShape?: TensorShapeProto;
  [key: string]: unknown;
}

export interface AttrValue {
  s?: string; // base64, as in GraphDef JSON
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: TfDtype;
  shape?: TensorShapeProto;
  tensor?: TensorProto;
  list?: {
    s?: string[];
    i?: (string | number)[];
    f?: number[];
    b?: boolean[];
    type?: TfDtype[];
    shape?: TensorShapeProto[];
  };
  func?: unknown;
  [key: string]: unknown;
}

export interface NodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
  device?: string;
  [key: string]: unknown;
}

/** Dtypes tfjs stores in weight shards. */
export type WeightDtype = 'float32' | 'int32' | 'bool' | 'string' | 'complex64';

export interface WeightQuantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
  original_dtype?: WeightDtype;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: WeightDtype;
  quantization?: WeightQuantization;
  [key: string]: unknown;
}

export interface WeightsManifestGroup {
  paths: string[];
  weights: WeightSpec[];
}

export interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: {
    node: NodeDef[];
    library?: unknown;
    versions?: unknown;
    [key: string]: unknown;
  };
  signature?: {
    inputs?: Record<string, SignatureEntry>;
    outputs?: Record<string, SignatureEntry>;
    [key: string]: unknown;
  };
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: unknown;
  weightsManifest: WeightsManifestGroup[];
  [key: string]: unknown;
}

export interface SignatureEntry {
  name: string;
  dtype: TfDtype;
  tensorShape?: TensorShapeProto;
  [key: string]: unknown;
}

/** One weight as stored: its manifest entry and its raw (possibly quantized) bytes. */
export interface StoredWeight {
  spec: WeightSpec;
  bytes: Uint8Array;
}
