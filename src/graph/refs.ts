// Tensor references ("name", "name:1", "^name") and GraphDef attribute values: the vocabulary
// every graph module speaks.

import { AttrValue, NodeDef } from './types';

/** "name", "name:1" or "^name" (control input) split into its parts. */
export interface TensorRef {
  node: string;
  output: number;
  control: boolean;
}

export function parseRef(ref: string): TensorRef {
  const control = ref.startsWith('^');
  const body = control ? ref.slice(1) : ref;
  const m = /^(.*):(\d+)$/.exec(body);
  return m ? { node: m[1], output: Number(m[2]), control } : { node: body, output: 0, control };
}

export function formatRef(node: string, output = 0): string {
  return output === 0 ? node : `${node}:${output}`;
}

export function dataInputs(node: NodeDef): string[] {
  return (node.input ?? []).filter((r) => !r.startsWith('^'));
}

export function shapeProto(shape: number[]): { dim: { size: string }[] } {
  return { dim: shape.map((s) => ({ size: String(s) })) };
}

export function attrInt(node: NodeDef, key: string): number | undefined {
  const v = node.attr?.[key]?.i;
  return v === undefined ? undefined : Number(v);
}


export function intAttr(i: number): AttrValue {
  return { i: String(i) };
}

export function floatAttr(f: number): AttrValue {
  return { f };
}

export function boolAttr(b: boolean): AttrValue {
  return { b };
}
