// The part of tfjs-node's NodeJSKernelBackend the tensorflow kernels use. tfjs-node is optional,
// so its types cannot be imported.
import { TensorInfo } from '@tensorflow/tfjs-core';

export interface NodeBackend {
  binding: { TF_ATTR_INT: number; TF_ATTR_FLOAT: number };
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: TensorInfo[], numOutputs: number): TensorInfo[];
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: TensorInfo[]): TensorInfo;
}

export interface OpAttr {
  name: string;
  type: number;
  value: number;
}
