// The slice of the ONNX protobuf schema that the exporter writes, embedded as .proto text and compiled
// with protobufjs at first use. Only the messages and fields we emit (or read back in tests) are here;
// field numbers are those of the official onnx/onnx.proto (proto2), so any ONNX reader accepts the
// bytes. Unknown fields are simply absent, which protobuf treats as defaults.
import * as protobuf from 'protobufjs'

const ONNX_PROTO = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10;
  }
  optional string name = 1;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  enum DataType {
    UNDEFINED = 0; FLOAT = 1; UINT8 = 2; INT8 = 3; UINT16 = 4; INT16 = 5; INT32 = 6; INT64 = 7;
  }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`

/** ONNX element types we use (TensorProto.DataType). */
export const DataType = { FLOAT: 1, INT64: 7 } as const

/** AttributeProto.AttributeType values we use. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const

// Plain-object shapes of the messages, in protobufjs's default camelCase field naming.
export interface OnnxAttribute {
  name: string
  type: number
  f?: number
  i?: number
  s?: Uint8Array
  floats?: number[]
  ints?: number[]
}
export interface OnnxNode {
  input: string[]
  output: string[]
  name: string
  opType: string
  attribute: OnnxAttribute[]
}
export interface OnnxTensor {
  name: string
  dims: number[]
  dataType: number
  rawData: Uint8Array
}
export interface OnnxDim {
  dimValue?: number
  dimParam?: string
}
export interface OnnxValueInfo {
  name: string
  type: { tensorType: { elemType: number; shape: { dim: OnnxDim[] } } }
}
export interface OnnxGraph {
  name: string
  node: OnnxNode[]
  initializer: OnnxTensor[]
  input: OnnxValueInfo[]
  output: OnnxValueInfo[]
}
export interface OnnxModel {
  irVersion: number
  opsetImport: { domain: string; version: number }[]
  producerName: string
  producerVersion?: string
  docString?: string
  graph: OnnxGraph
  metadataProps?: { key: string; value: string }[]
}

let modelType: protobuf.Type | undefined

function ModelProto(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_PROTO).root.lookupType('onnx.ModelProto')
  return modelType
}

/** Serialises a model to ONNX bytes. Throws if a field has the wrong type. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const type = ModelProto()
  const problem = type.verify(model)
  if (problem) throw new Error(`Internal error: invalid ONNX model object: ${problem}`)
  return type.encode(type.fromObject(model)).finish()
}

/**
 * Parses ONNX bytes back into plain objects (int64 as numbers, bytes as Uint8Array). Used by tests and
 * diagnostics to look at what was written; only the fields in the embedded schema are decoded.
 */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  const type = ModelProto()
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false, arrays: true }) as OnnxModel
}
