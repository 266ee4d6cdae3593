// Open Inference Protocol v2 JSON codec (see oip.h for the spec sections).
#include "infer/oip.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

namespace crypta::infer {
namespace {

static_assert(std::endian::native == std::endian::little,
              "tensor data is little-endian; add byte swapping for big-endian hosts");

using nlohmann::json;

// nlohmann parses iteratively, but a body of "[[[[..." is still pointless work: reject bodies
// nested deeper than kMaxOipJsonDepth before parsing (strings are skipped).
bool NestingWithinLimit(std::string_view body) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxOipJsonDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

Result<json> ParseBody(std::string_view body) {
  if (body.size() > kMaxOipBodyBytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "body of " + std::to_string(body.size()) + " bytes exceeds 64 MiB");
  }
  if (!NestingWithinLimit(body)) {
    return MakeError(ErrorCode::kInvalidArgument, "JSON nested deeper than 64 levels");
  }
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return MakeError(ErrorCode::kInvalidArgument, "body is not valid JSON");
  if (!j.is_object()) return MakeError(ErrorCode::kInvalidArgument, "body is not a JSON object");
  return j;
}

// Appends the leaves of a flat or nested list, stopping once more than `limit` were seen.
Status Flatten(const json& data, std::vector<const json*>& leaves, uint64_t limit, int depth) {
  if (depth > kMaxOipJsonDepth) {
    return MakeError(ErrorCode::kInvalidArgument, "\"data\" nested too deeply");
  }
  for (const json& item : data) {
    if (item.is_array()) {
      CRYPTA_RETURN_IF_ERROR(Flatten(item, leaves, limit, depth + 1));
    } else {
      if (leaves.size() >= limit) {
        return MakeError(ErrorCode::kInvalidArgument, "\"data\" has more elements than the shape");
      }
      leaves.push_back(&item);
    }
  }
  return OkStatus();
}

template <typename T>
void Store(Bytes& out, size_t index, T value) {
  std::memcpy(out.data() + index * sizeof(T), &value, sizeof(T));
}

template <typename T>
T Load(const Bytes& in, size_t index) {
  T value;
  std::memcpy(&value, in.data() + index * sizeof(T), sizeof(T));
  return value;
}

Status StoreElement(const json& v, DataType dtype, Bytes& out, size_t i) {
  const auto bad = [&](std::string_view want) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "\"data\"[" + std::to_string(i) + "] is not " + std::string(want));
  };
  switch (dtype) {
    case DataType::kBool:
      if (!v.is_boolean()) return bad("true or false");
      out[i] = v.get<bool>() ? 1 : 0;
      return OkStatus();
    case DataType::kFp32: {
      if (!v.is_number()) return bad("a number");
      const double d = v.get<double>();
      if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max()) {
        return bad("in FP32 range");
      }
      Store<float>(out, i, static_cast<float>(d));
      return OkStatus();
    }
    case DataType::kFp64:
      if (!v.is_number()) return bad("a number");
      Store<double>(out, i, v.get<double>());
      return OkStatus();
    case DataType::kInt64:
    case DataType::kInt32:
    case DataType::kUint8: {
      int64_t value = 0;
      if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return bad("in INT64 range");
        }
        value = static_cast<int64_t>(u);
      } else if (v.is_number_integer()) {
        value = v.get<int64_t>();
      } else {
        return bad("an integer");
      }
      if (dtype == DataType::kInt64) {
        Store<int64_t>(out, i, value);
      } else if (dtype == DataType::kInt32) {
        if (value < std::numeric_limits<int32_t>::min() ||
            value > std::numeric_limits<int32_t>::max()) {
          return bad("in INT32 range");
        }
        Store<int32_t>(out, i, static_cast<int32_t>(value));
      } else {
        if (value < 0 || value > 255) return bad("in UINT8 range");
        out[i] = static_cast<uint8_t>(value);
      }
      return OkStatus();
    }
  }
  return bad("supported");
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

}  // namespace

Result<Tensor> TensorFromJson(const json& object, std::string_view what, uint64_t max_elements) {
  const std::string w(what);
  if (!object.is_object()) return MakeError(ErrorCode::kInvalidArgument, w + " is not an object");
  const auto field = [&](const char* key) -> const json* {
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
  };
  const json* name = field("name");
  if (name == nullptr || !name->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, w + ": \"name\" must be a string");
  }
  Tensor tensor;
  tensor.name = name->get<std::string>();
  const std::string tw = w + " '" + tensor.name.substr(0, 64) + "'";
  const json* datatype = field("datatype");
  if (datatype == nullptr || !datatype->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, tw + ": \"datatype\" must be a string");
  }
  auto dtype = ParseDataType(datatype->get<std::string>());
  if (!dtype) return MakeError(dtype.error().WithContext(tw));
  tensor.dtype = *dtype;
  const json* shape = field("shape");
  if (shape == nullptr || !shape->is_array() || shape->size() > 32) {
    return MakeError(ErrorCode::kInvalidArgument,
                     tw + ": \"shape\" must be an array of at most 32 dimensions");
  }
  for (const json& dim : *shape) {
    if (!dim.is_number_unsigned() ||
        dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return MakeError(ErrorCode::kInvalidArgument,
                       tw + ": \"shape\" dimensions must be non-negative integers");
    }
    tensor.shape.push_back(static_cast<int64_t>(dim.get<uint64_t>()));
  }
  auto count = ElementCount(tensor.shape, max_elements);
  if (!count) {
    return MakeError(ErrorCode::kResourceExhausted, tw + ": " + count.error().message());
  }
  const json* data = field("data");
  if (data == nullptr || !data->is_array()) {
    return MakeError(ErrorCode::kInvalidArgument, tw + ": \"data\" must be an array");
  }
  std::vector<const json*> leaves;
  leaves.reserve(static_cast<size_t>(*count));
  if (auto s = Flatten(*data, leaves, *count, 0); !s) return MakeError(s.error().WithContext(tw));
  if (leaves.size() != *count) {
    return MakeError(ErrorCode::kInvalidArgument,
                     tw + ": \"data\" has " + std::to_string(leaves.size()) +
                         " elements, shape needs " + std::to_string(*count));
  }
  tensor.data.assign(static_cast<size_t>(*count) * ElementSize(tensor.dtype), 0);
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (auto s = StoreElement(*leaves[i], tensor.dtype, tensor.data, i); !s) {
      return MakeError(s.error().WithContext(tw));
    }
  }
  return tensor;
}

json TensorToJson(const Tensor& tensor) {
  json data = json::array();
  const size_t n = tensor.data.size() / ElementSize(tensor.dtype);
  for (size_t i = 0; i < n; ++i) data.push_back(ElementToJson(tensor, i));
  return json{{"name", tensor.name},
              {"shape", tensor.shape},
              {"datatype", std::string(DataTypeName(tensor.dtype))},
              {"data", std::move(data)}};
}

Result<InferRequest> ParseInferRequest(std::string_view body, const ModelSignature& sig) {
  CRYPTA_ASSIGN_OR_RETURN(json j, ParseBody(body));
  InferRequest request;
  if (auto it = j.find("id"); it != j.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().size() > 256) {
      return MakeError(ErrorCode::kInvalidArgument, "\"id\" must be a string of at most 256 bytes");
    }
    request.id = it->get<std::string>();
  }
  auto inputs = j.find("inputs");
  if (inputs == j.end() || !inputs->is_array() || inputs->empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "\"inputs\" must be a non-empty array");
  }
  uint64_t budget = kMaxOipElements;
  for (size_t i = 0; i < inputs->size(); ++i) {
    const std::string what = "inputs[" + std::to_string(i) + "]";
    CRYPTA_ASSIGN_OR_RETURN(Tensor tensor, TensorFromJson((*inputs)[i], what, budget));
    budget -= tensor.data.size() / ElementSize(tensor.dtype);
    request.inputs.push_back(std::move(tensor));
  }
  CRYPTA_RETURN_IF_ERROR(MatchInputs(sig, request.inputs));
  if (auto outputs = j.find("outputs"); outputs != j.end()) {
    if (!outputs->is_array()) {
      return MakeError(ErrorCode::kInvalidArgument, "\"outputs\" must be an array");
    }
    std::set<std::string> seen;
    for (const json& item : *outputs) {
      if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "each of \"outputs\" needs a string \"name\"");
      }
      std::string name = item["name"].get<std::string>();
      bool known = false;
      for (const TensorSpec& spec : sig.outputs) known = known || spec.name == name;
      if (!known) {
        return MakeError(ErrorCode::kInvalidArgument, "requested output '" + name.substr(0, 64) +
                                                          "' is not an output of the model");
      }
      if (seen.insert(name).second) request.outputs.push_back(std::move(name));
    }
  }
  return request;
}

std::string EncodeInferRequest(const InferRequest& request) {
  json j = json::object();
  if (!request.id.empty()) j["id"] = request.id;
  json inputs = json::array();
  for (const Tensor& t : request.inputs) inputs.push_back(TensorToJson(t));
  j["inputs"] = std::move(inputs);
  if (!request.outputs.empty()) {
    json outputs = json::array();
    for (const std::string& name : request.outputs) outputs.push_back({{"name", name}});
    j["outputs"] = std::move(outputs);
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string EncodeInferResponse(std::string_view model_name, std::string_view id,
                                const std::vector<Tensor>& outputs) {
  json out = json::array();
  for (const Tensor& t : outputs) out.push_back(TensorToJson(t));
  json j = {{"model_name", std::string(model_name)}, {"outputs", std::move(out)}};
  if (!id.empty()) j["id"] = std::string(id);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<Tensor>> ParseInferResponse(std::string_view body) {
  CRYPTA_ASSIGN_OR_RETURN(json j, ParseBody(body));
  if (auto err = j.find("error"); err != j.end() && err->is_string()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "server error: " + err->get<std::string>().substr(0, 512));
  }
  auto outputs = j.find("outputs");
  if (outputs == j.end() || !outputs->is_array()) {
    return MakeError(ErrorCode::kInvalidArgument, "response has no \"outputs\" array");
  }
  std::vector<Tensor> tensors;
  uint64_t budget = kMaxOipElements;
  for (size_t i = 0; i < outputs->size(); ++i) {
    json item = (*outputs)[i];
    // null stands for NaN in float outputs (EncodeInferResponse).
    if (item.is_object() && item.contains("data") && item["data"].is_array() &&
        item.contains("datatype") && item["datatype"].is_string() &&
        (item["datatype"] == "FP32" || item["datatype"] == "FP64")) {
      for (json& v : item["data"]) {
        if (v.is_null()) v = std::numeric_limits<double>::quiet_NaN();
      }
    }
    CRYPTA_ASSIGN_OR_RETURN(Tensor t,
                            TensorFromJson(item, "outputs[" + std::to_string(i) + "]", budget));
    budget -= t.data.size() / ElementSize(t.dtype);
    tensors.push_back(std::move(t));
  }
  return tensors;
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
