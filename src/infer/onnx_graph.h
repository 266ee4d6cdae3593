// ONNX graph reading and the load-time pass that lets OpenCV 4.6 import ordinary PyTorch
// exports (the only users of libonnx's protobufs; no libonnx header is included here).
//
// Spec: onnx/onnx.proto (IR version 8; ModelProto > GraphProto > NodeProto / ValueInfoProto /
// TensorProto) and docs/IR.md §"Graphs" (graph inputs that also appear in `initializer` are
// weights with defaults, not model inputs).
#ifndef CRYPTA_INFER_ONNX_GRAPH_H_
#define CRYPTA_INFER_ONNX_GRAPH_H_

#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "infer/model_runner.h"

namespace crypta::infer {

struct PreparedOnnxModel {
  Bytes model;                        // the rewritten ModelProto, serialized
  ModelSignature signature;           // read from the graph
  std::vector<std::string> op_types;  // distinct op types left in the graph, sorted
  int folded_identities = 0;          // Identity nodes removed by the pass
};

// Parses an ONNX ModelProto held in memory, reads its signature and rewrites the graph:
//  * Identity nodes are folded: their consumers read the Identity's input directly. torch
//    1.13 exports emit Identity over initializers (e.g. torchvision ResNet-18), which OpenCV
//    4.6 rejects. An Identity whose output is a graph output is kept.
// The signature is graph.input minus graph.initializer, then graph.output; element types
// FLOAT, DOUBLE, INT64, INT32, UINT8, BOOL; dim_value as is, dim_param or an unknown
// dimension as -1.
// kInvalidArgument (naming the field, tensor or op) for bytes that are not an ONNX model,
// tensors stored as external data, an input/output of an unsupported element type or
// without a shape, a node from a non-standard domain (e.g. com.microsoft), or control flow
// (If/Loop/Scan subgraphs), which OpenCV 4.6 does not run.
// Thread-safe (no shared state).
Result<PreparedOnnxModel> PrepareOnnxModel(ByteSpan model);

}  // namespace crypta::infer

#endif  // CRYPTA_INFER_ONNX_GRAPH_H_
