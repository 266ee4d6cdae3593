// Open Inference Protocol v2 encoders: JSON tensor data and the binary tensor data
// extension (see oip.h). The parsers are in oip.cc.
#include <bit>
#include <cmath>
#include <cstring>
#include <utility>

#include "infer/oip.h"

namespace crypta::infer {
namespace {

static_assert(std::endian::native == std::endian::little,
              "tensor data is little-endian; add byte swapping for big-endian hosts");

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

template <typename T>
T Load(const Bytes& in, size_t index) {
  T value;
  std::memcpy(&value, in.data() + index * sizeof(T), sizeof(T));
  return value;
}

json ElementToJson(const Tensor& t, size_t i) {
  switch (t.dtype) {
    case DataType::kFp32: {
      const float f = Load<float>(t.data, i);
      return std::isfinite(f) ? json(static_cast<double>(f)) : json(nullptr);
    }
    case DataType::kFp64: {
      const double d = Load<double>(t.data, i);
      return std::isfinite(d) ? json(d) : json(nullptr);
    }
    case DataType::kInt64:
      return json(Load<int64_t>(t.data, i));
    case DataType::kInt32:
      return json(Load<int32_t>(t.data, i));
    case DataType::kUint8:
      return json(t.data[i]);
    case DataType::kBool:
      return json(t.data[i] != 0);
  }
  return json(nullptr);
}

TensorView ViewOf(const Tensor& t) { return TensorView{t.name, t.dtype, t.shape, t.data}; }

// A tensor object whose data follows the JSON: "parameters":{"binary_data_size":N}.
json BinaryTensorHeader(const TensorView& tensor) {
  return json{{"name", std::string(tensor.name)},
              {"shape", tensor.shape},
              {"datatype", std::string(DataTypeName(tensor.dtype))},
              {"parameters", {{"binary_data_size", tensor.data.size()}}}};
}

// The request's "outputs" and "parameters" (shared by both request encoders).
void AddOutputs(const InferRequest& request, json& j) {
  if (request.binary_data_output) j["parameters"] = {{"binary_data_output", true}};
  if (request.outputs.empty()) return;
  json outputs = json::array();
  for (const std::string& name : request.outputs) {
    json item = {{"name", name}};
    auto it = request.output_binary.find(name);
    if (it != request.output_binary.end()) item["parameters"] = {{"binary_data", it->second}};
    outputs.push_back(std::move(item));
  }
  j["outputs"] = std::move(outputs);
}

// JSON header followed by the data of `binary` tensors, in one allocation of the final size.
OipBody Concatenate(const json& header, const std::vector<TensorView>& binary) {
  const std::string text = Dump(header);
  size_t data_bytes = 0;
  for (const TensorView& t : binary) data_bytes += t.data.size();
  OipBody out;
  out.body.reserve(text.size() + data_bytes);
  out.body.append(text);
  for (const TensorView& t : binary) {
    out.body.append(reinterpret_cast<const char*>(t.data.data()), t.data.size());
  }
  if (!binary.empty()) out.json_length = text.size();
  return out;
}

}  // namespace

json TensorToJson(const Tensor& tensor) {
  json data = json::array();
  const size_t n = tensor.data.size() / ElementSize(tensor.dtype);
  for (size_t i = 0; i < n; ++i) data.push_back(ElementToJson(tensor, i));
  return json{{"name", tensor.name},
              {"shape", tensor.shape},
              {"datatype", std::string(DataTypeName(tensor.dtype))},
              {"data", std::move(data)}};
}

std::string EncodeInferRequest(const InferRequest& request) {
  json j = json::object();
  if (!request.id.empty()) j["id"] = request.id;
  json inputs = json::array();
  for (const Tensor& t : request.inputs) inputs.push_back(TensorToJson(t));
  j["inputs"] = std::move(inputs);
  AddOutputs(request, j);
  return Dump(j);
}

OipBody EncodeInferRequestBinary(const InferRequest& request) {
  json j = json::object();
  if (!request.id.empty()) j["id"] = request.id;
  json inputs = json::array();
  std::vector<TensorView> binary;
  for (const Tensor& t : request.inputs) {
    binary.push_back(ViewOf(t));
    inputs.push_back(BinaryTensorHeader(binary.back()));
  }
  j["inputs"] = std::move(inputs);
  AddOutputs(request, j);
  OipBody out = Concatenate(j, binary);
  // The extension needs the header even when every tensor is empty.
  if (!out.json_length) out.json_length = out.body.size();
  return out;
}

Result<OipBody> EncodeInferRequestBinary(const std::vector<TensorView>& inputs) {
  json list = json::array();
  for (const TensorView& t : inputs) {
    CRYPTA_ASSIGN_OR_RETURN(uint64_t count, ElementCount(t.shape));
    if (count * ElementSize(t.dtype) != t.data.size()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "input \"" + std::string(t.name) + "\": " + std::to_string(t.data.size()) +
                           " data bytes for shape of " + std::to_string(count) + " " +
                           std::string(DataTypeName(t.dtype)) + " elements");
    }
    list.push_back(BinaryTensorHeader(t));
  }
  json j = {{"inputs", std::move(list)}, {"parameters", {{"binary_data_output", true}}}};
  OipBody out = Concatenate(j, inputs);
  if (!out.json_length) out.json_length = out.body.size();
  return out;
}

std::string EncodeInferResponse(std::string_view model_name, std::string_view id,
                                const std::vector<Tensor>& outputs) {
  json out = json::array();
  for (const Tensor& t : outputs) out.push_back(TensorToJson(t));
  json j = {{"model_name", std::string(model_name)}, {"outputs", std::move(out)}};
  if (!id.empty()) j["id"] = std::string(id);
  return Dump(j);
}

OipBody EncodeInferResponseFor(std::string_view model_name, const InferRequest& request,
                               const std::vector<Tensor>& outputs) {
  json out = json::array();
  std::vector<TensorView> binary;
  for (const Tensor& t : outputs) {
    if (WantsBinaryOutput(request, t.name)) {
      binary.push_back(ViewOf(t));
      out.push_back(BinaryTensorHeader(binary.back()));
    } else {
      out.push_back(TensorToJson(t));
    }
  }
  json j = {{"model_name", std::string(model_name)}, {"outputs", std::move(out)}};
  if (!request.id.empty()) j["id"] = request.id;
  return Concatenate(j, binary);
}

json ModelMetadataJson(std::string_view name, std::string_view platform,
                       const ModelSignature& sig) {
  const auto specs = [](const std::vector<TensorSpec>& list) {
    json out = json::array();
    for (const TensorSpec& s : list) {
      out.push_back(
          {{"name", s.name}, {"datatype", std::string(DataTypeName(s.dtype))}, {"shape", s.shape}});
    }
    return out;
  };
  return json{{"name", std::string(name)},
              {"versions", json::array({"1"})},
              {"platform", std::string(platform)},
              {"inputs", specs(sig.inputs)},
              {"outputs", specs(sig.outputs)}};
}

}  // namespace crypta::infer
