// ONNX graph pass and signature reader (see onnx_graph.h). The only file that includes
// libonnx's generated protobuf classes.
#include "infer/onnx_graph.h"

#include <onnx/onnx_pb.h>

#include <climits>
#include <map>
#include <set>
#include <string>
#include <utility>

namespace crypta::infer {
namespace {

Result<DataType> ElemType(int32_t elem_type, const std::string& what) {
  switch (elem_type) {
    case onnx::TensorProto_DataType_FLOAT:
      return DataType::kFp32;
    case onnx::TensorProto_DataType_DOUBLE:
      return DataType::kFp64;
    case onnx::TensorProto_DataType_INT64:
      return DataType::kInt64;
    case onnx::TensorProto_DataType_INT32:
      return DataType::kInt32;
    case onnx::TensorProto_DataType_UINT8:
      return DataType::kUint8;
    case onnx::TensorProto_DataType_BOOL:
      return DataType::kBool;
    default:
      return MakeError(ErrorCode::kInvalidArgument,
                       "onnx: " + what + " has element type " +
                           onnx::TensorProto_DataType_Name(elem_type) +
                           " (supported: FLOAT, DOUBLE, INT64, INT32, UINT8, BOOL)");
  }
}

Result<TensorSpec> SpecFrom(const onnx::ValueInfoProto& value, std::string_view kind) {
  const std::string what = std::string(kind) + " '" + value.name() + "'";
  if (!value.type().has_tensor_type()) {
    return MakeError(ErrorCode::kInvalidArgument, "onnx: " + what + " is not a tensor");
  }
  const onnx::TypeProto_Tensor& tensor = value.type().tensor_type();
  TensorSpec spec;
  spec.name = value.name();
  CRYPTA_ASSIGN_OR_RETURN(spec.dtype, ElemType(tensor.elem_type(), what));
  if (!tensor.has_shape()) {
    return MakeError(ErrorCode::kInvalidArgument, "onnx: " + what + " declares no shape");
  }
  for (const onnx::TensorShapeProto_Dimension& dim : tensor.shape().dim()) {
    if (dim.has_dim_value() && dim.dim_value() >= 0) {
      spec.shape.push_back(dim.dim_value());
    } else {
      spec.shape.push_back(-1);  // dim_param ("batch") or unknown
    }
  }
  return spec;
}

bool IsDefaultDomain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

// Replaces each folded Identity's output by its input in every consumer.
int FoldIdentities(onnx::GraphProto& graph) {
  std::set<std::string> graph_outputs;
  for (const auto& out : graph.output()) graph_outputs.insert(out.name());
  std::map<std::string, std::string> replace;
  std::vector<bool> drop(static_cast<size_t>(graph.node_size()), false);
  int folded = 0;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (node.op_type() != "Identity" || !IsDefaultDomain(node.domain()) || node.input_size() != 1 ||
        node.output_size() != 1 || graph_outputs.count(node.output(0)) > 0) {
      continue;
    }
    std::string source = node.input(0);
    if (auto it = replace.find(source); it != replace.end()) source = it->second;
    replace[node.output(0)] = source;
    drop[static_cast<size_t>(i)] = true;
    ++folded;
  }
  if (folded == 0) return 0;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (int i = 0; i < graph.node_size(); ++i) {
    if (drop[static_cast<size_t>(i)]) continue;
    onnx::NodeProto* node = graph.mutable_node(i);
    for (int j = 0; j < node->input_size(); ++j) {
      if (auto it = replace.find(node->input(j)); it != replace.end()) {
        node->set_input(j, it->second);
      }
    }
    kept.Add()->Swap(node);
  }
  graph.mutable_node()->Swap(&kept);
  return folded;
}

Status CheckNodes(const onnx::GraphProto& graph) {
  for (const onnx::NodeProto& node : graph.node()) {
    if (!IsDefaultDomain(node.domain())) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "onnx: op '" + node.op_type() + "' of domain '" + node.domain() +
                           "' is not supported (OpenCV DNN runs standard ONNX ops only)");
    }
    for (const onnx::AttributeProto& attr : node.attribute()) {
      if (attr.has_g() || attr.graphs_size() > 0) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "onnx: op '" + node.op_type() +
                             "' has a subgraph; control flow (If/Loop/Scan) is not supported");
      }
    }
  }
  for (const onnx::TensorProto& t : graph.initializer()) {
    if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "onnx: initializer '" + t.name() +
                           "' is stored as external data; export the model as a single file");
    }
  }
  return OkStatus();
}

}  // namespace

Result<PreparedOnnxModel> PrepareOnnxModel(ByteSpan model) {
  if (model.empty() || model.size() > static_cast<size_t>(INT_MAX)) {
    return MakeError(ErrorCode::kInvalidArgument, "onnx: model must be 1 byte to 2 GiB");
  }
  onnx::ModelProto proto;
  if (!proto.ParseFromArray(model.data(), static_cast<int>(model.size())) || !proto.has_graph()) {
    return MakeError(ErrorCode::kInvalidArgument, "onnx: the bytes are not an ONNX model");
  }
  onnx::GraphProto& graph = *proto.mutable_graph();
  CRYPTA_RETURN_IF_ERROR(CheckNodes(graph));

  PreparedOnnxModel prepared;
  std::set<std::string> initializers;
  for (const auto& t : graph.initializer()) initializers.insert(t.name());
  for (const auto& input : graph.input()) {
    if (initializers.count(input.name()) > 0) continue;
    CRYPTA_ASSIGN_OR_RETURN(TensorSpec spec, SpecFrom(input, "input"));
    prepared.signature.inputs.push_back(std::move(spec));
  }
  for (const auto& output : graph.output()) {
    CRYPTA_ASSIGN_OR_RETURN(TensorSpec spec, SpecFrom(output, "output"));
    prepared.signature.outputs.push_back(std::move(spec));
  }
  if (auto s = ValidateSignature(prepared.signature); !s) {
    return MakeError(s.error().WithContext("onnx"));
  }

  prepared.folded_identities = FoldIdentities(graph);
  std::set<std::string> ops;
  for (const auto& node : graph.node()) ops.insert(node.op_type());
  prepared.op_types.assign(ops.begin(), ops.end());

  std::string serialized;
  if (!proto.SerializeToString(&serialized)) {
    return MakeError(ErrorCode::kInternal, "onnx: cannot serialize the rewritten model");
  }
  prepared.model.assign(serialized.begin(), serialized.end());
  return prepared;
}

}  // namespace crypta::infer
