/// <reference types="long" preserve="true" />
/**
 * Thin helpers over the ONNX protobuf classes of `onnx-proto`: tensor decoding and encoding,
 * attribute access, int64 conversion. Internal to the adapter, but its types reach the public
 * declarations (graph builders, rules), and onnx-proto's declarations use protobufjs's global `Long`
 * type: the reference above (kept in the emitted .d.ts) brings `@types/long` into a consumer's
 * program, which TypeScript ≥ 6 no longer does on its own (`types` defaults to none).
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { InvalidModelError } from '@ablation-path/core';

/** The runtime namespace of the ONNX protobuf classes. */
export const onnx: typeof OnnxTypes = onnxProto.onnx;

export type ModelProto = OnnxTypes.ModelProto;
export type GraphProto = OnnxTypes.IGraphProto;
export type NodeProto = OnnxTypes.INodeProto;
export type TensorProto = OnnxTypes.ITensorProto;
export type AttributeProto = OnnxTypes.IAttributeProto;
export type ValueInfoProto = OnnxTypes.IValueInfoProto;

/** `TensorProto.DataType` codes used by the adapter. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;

/** True for the floating-point element types. */
export function isFloatType(dtype: number | undefined): boolean {
  return dtype === DataType.FLOAT || dtype === DataType.DOUBLE || dtype === DataType.FLOAT16 || dtype === 16;
}

type LongLike = number | { toNumber(): number };

/** A protobuf int64 (number or Long) as a JavaScript number. */
export function toNumber(v: LongLike | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** A decoded tensor: element type, dimensions, and its values as numbers (row-major). */
export interface DecodedTensor {
  readonly dtype: number;
  readonly dims: number[];
  readonly data: Float32Array | Float64Array | number[];
}

function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Decodes a TensorProto (raw_data or typed fields). Throws InvalidModelError for external data. */
export function decodeTensor(t: TensorProto): DecodedTensor {
  const dtype = t.dataType ?? 0;
  const dims = (t.dims ?? []).map((d) => toNumber(d as LongLike));
  const count = elementCount(dims);
  if (t.dataLocation === 1 || (t.externalData && t.externalData.length > 0)) {
    throw new InvalidModelError(`tensor "${t.name ?? ''}" stores its data in an external file, which is not supported`);
  }
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = ({ 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 11: 8, 12: 4, 13: 8 } as Record<number, number>)[
      dtype
    ];
    if (size === undefined)
      throw new InvalidModelError(`tensor "${t.name ?? ''}" has unsupported element type ${dtype}`);
    if (raw.byteLength !== size * count) {
      throw new InvalidModelError(`tensor "${t.name ?? ''}" has ${raw.byteLength} bytes, expected ${size * count}`);
    }
    if (dtype === DataType.FLOAT) {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return { dtype, dims, data: out };
    }
    const out: number[] = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      switch (dtype) {
        case DataType.DOUBLE:
          out[i] = view.getFloat64(8 * i, true);
          break;
        case DataType.INT64:
          out[i] = Number(view.getBigInt64(8 * i, true));
          break;
        case DataType.UINT64:
          out[i] = Number(view.getBigUint64(8 * i, true));
          break;
        case DataType.INT32:
          out[i] = view.getInt32(4 * i, true);
          break;
        case DataType.UINT32:
          out[i] = view.getUint32(4 * i, true);
          break;
        case DataType.INT16:
          out[i] = view.getInt16(2 * i, true);
          break;
        case DataType.UINT16:
          out[i] = view.getUint16(2 * i, true);
          break;
        case DataType.INT8:
          out[i] = view.getInt8(i);
          break;
        default:
          out[i] = view.getUint8(i);
          break;
      }
    }
    return { dtype, dims, data: out };
  }
  let values: number[];
  if (dtype === DataType.FLOAT) values = (t.floatData ?? []).slice();
  else if (dtype === DataType.DOUBLE) values = (t.doubleData ?? []).slice();
  else if (dtype === DataType.INT64) values = (t.int64Data ?? []).map((v) => toNumber(v as LongLike));
  else if (dtype === DataType.UINT64 || dtype === DataType.UINT32)
    values = (t.uint64Data ?? []).map((v) => toNumber(v as LongLike));
  else if (dtype === DataType.STRING) throw new InvalidModelError(`tensor "${t.name ?? ''}" holds strings`);
  else values = (t.int32Data ?? []).slice();
  if (values.length !== count) {
    if (values.length === 0 && count > 0) values = new Array<number>(count).fill(0);
    else throw new InvalidModelError(`tensor "${t.name ?? ''}" has ${values.length} values, expected ${count}`);
  }
  return { dtype, dims, data: dtype === DataType.FLOAT ? Float32Array.from(values) : values };
}

/** Builds a TensorProto (raw little-endian data) of FLOAT, INT64 or BOOL values. */
export function makeTensor(
  name: string,
  dtype: number,
  dims: readonly number[],
  values: ArrayLike<number>,
): TensorProto {
  const count = elementCount(dims);
  if (values.length !== count)
    throw new Error(`makeTensor ${name}: ${values.length} values for dims [${dims.join(',')}]`);
  let bytes: Uint8Array;
  if (dtype === DataType.FLOAT) {
    const a = Float32Array.from(values);
    bytes = new Uint8Array(a.buffer);
  } else if (dtype === DataType.INT64) {
    const a = new BigInt64Array(count);
    for (let i = 0; i < count; i++) a[i] = BigInt(Math.trunc(values[i] as number));
    bytes = new Uint8Array(a.buffer);
  } else if (dtype === DataType.BOOL) {
    bytes = Uint8Array.from(values, (v) => (v ? 1 : 0));
  } else {
    throw new Error(`makeTensor: unsupported dtype ${dtype}`);
  }
  return onnx.TensorProto.create({ name, dataType: dtype, dims: dims.slice(), rawData: bytes });
}

/** The attribute called `name` of `node`, if present. */
export function getAttr(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

/** An INT attribute or `fallback`. */
export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = getAttr(node, name);
  return a ? toNumber(a.i as LongLike) : fallback;
}

/** A FLOAT attribute or `fallback`. */
export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = getAttr(node, name);
  return a ? (a.f ?? fallback) : fallback;
}

/** An INTS attribute, or undefined when absent. */
export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = getAttr(node, name);
  return a ? (a.ints ?? []).map((v) => toNumber(v as LongLike)) : undefined;
}

/** A STRING attribute or `fallback`. */
export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = getAttr(node, name);
  return a && a.s ? new TextDecoder().decode(a.s) : fallback;
}

/** Attribute values the graph builder can emit. */
export type AttrValue =
  | { readonly i: number }
  | { readonly f: number }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly s: string }
  | { readonly t: TensorProto };

/** Encodes a named attribute value. */
export function makeAttr(name: string, v: AttrValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in v) return onnx.AttributeProto.create({ name, type: T.INT, i: v.i });
  if ('f' in v) return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v.f });
  if ('ints' in v) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v.ints.slice() });
  if ('floats' in v) return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: v.floats.slice() });
  if ('s' in v) return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v.s) });
  return onnx.AttributeProto.create({ name, type: T.TENSOR, t: v.t });
}
