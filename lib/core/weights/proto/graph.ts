/**
 * The subset of TensorFlow's GraphDef schema that reading a frozen graph's constants needs.
 * Field numbers are those of tensorflow/core/framework/{graph,node_def,attr_value,tensor,
 * tensor_shape,types}.proto; fields left out are skipped by the decoder as unknown. Kept as a
 * string in a .ts module so the compiled package finds it without copying non-TS files to dist/.
 * Enums are read as plain int32 (DT_FLOAT = 1, DT_INT32 = 3) so unknown values never fail decoding.
 */
import type * as protobuf from 'protobufjs';

export const GRAPH_PROTO = `
syntax = "proto3";
package tensorflow;

message GraphDef {
  repeated NodeDef node = 1;
}

message NodeDef {
  string name = 1;
  string op = 2;
  repeated string input = 3;
  string device = 4;
  map<string, AttrValue> attr = 5;
}

message AttrValue {
  message ListValue {
    repeated bytes s = 2;
    repeated int64 i = 3 [packed = true];
    repeated float f = 4 [packed = true];
    repeated bool b = 5 [packed = true];
    repeated int32 type = 6 [packed = true];
    repeated TensorShapeProto shape = 7;
    repeated TensorProto tensor = 8;
  }
  oneof value {
    bytes s = 2;
    int64 i = 3;
    float f = 4;
    bool b = 5;
    int32 type = 6;
    TensorShapeProto shape = 7;
    TensorProto tensor = 8;
    ListValue list = 1;
    string placeholder = 9;
  }
}

message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}

message TensorProto {
  int32 dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated float float_val = 5 [packed = true];
  repeated double double_val = 6 [packed = true];
  repeated int32 int_val = 7 [packed = true];
  repeated int32 half_val = 13 [packed = true];
}
`;

export const DT_FLOAT = 1;
export const DT_INT32 = 3;

let graphDef: protobuf.Type | undefined;

/** protobufjs on first use: ~20 ms that every process paid at start-up, for TF-slim files only. */
export function graphDefType(): protobuf.Type {
  graphDef ??= (require('protobufjs') as typeof protobuf).parse(GRAPH_PROTO, { keepCase: true }).root.lookupType('tensorflow.GraphDef');  // eslint-disable-line @typescript-eslint/no-require-imports
  return graphDef;
}

export interface TensorShape { dim?: Array<{ size?: number | { toNumber(): number } }>; unknown_rank?: boolean }
export interface Tensor {
  dtype?: number;
  tensor_shape?: TensorShape;
  tensor_content?: Uint8Array;
  float_val?: number[];
  int_val?: number[];
}
export interface AttrValue {
  s?: Uint8Array; i?: number | { toNumber(): number }; f?: number; b?: boolean; type?: number;
  shape?: TensorShape; tensor?: Tensor;
  list?: { s?: Uint8Array[]; i?: Array<number | { toNumber(): number }>; f?: number[] };
}
export interface NodeDef { name: string; op: string; input?: string[]; attr?: Record<string, AttrValue> }
export interface GraphDef { node?: NodeDef[] }

export function toNumber(v: number | { toNumber(): number } | undefined): number {
  if (v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}
