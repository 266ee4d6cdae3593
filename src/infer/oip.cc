// Open Inference Protocol v2 parsing, JSON and binary tensor data (see oip.h for the spec
// sections). The encoders are in oip_encode.cc.
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

}  // namespace

namespace {

// The bytes after the JSON part of a body with binary tensor data, consumed in order.
struct BinaryPart {
  ByteSpan rest;
};

// The "binary_data_size" of a tensor object, nullopt when it has none.
Result<std::optional<uint64_t>> BinaryDataSize(const json& object, const std::string& tw) {
  auto params = object.find("parameters");
  if (params == object.end()) return std::optional<uint64_t>();
  if (!params->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, tw + ": \"parameters\" must be an object");
  }
  auto size = params->find("binary_data_size");
  if (size == params->end()) return std::optional<uint64_t>();
  if (!size->is_number_unsigned()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     tw + ": \"binary_data_size\" must be a non-negative integer");
  }
  return std::optional<uint64_t>(size->get<uint64_t>());
}

// TensorFromJson, with the tensor's data taken from `binary` when it has binary_data_size.
Result<Tensor> DecodeTensor(const json& object, std::string_view what, uint64_t max_elements,
                            BinaryPart* binary) {
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
  CRYPTA_ASSIGN_OR_RETURN(std::optional<uint64_t> binary_size, BinaryDataSize(object, tw));
  if (binary_size) {
    if (data != nullptr) {
      return MakeError(ErrorCode::kInvalidArgument,
                       tw + ": has both \"data\" and \"binary_data_size\"");
    }
    if (binary == nullptr) {
      return MakeError(ErrorCode::kInvalidArgument,
                       tw + ": \"binary_data_size\" given but the body has no binary part "
                            "(Inference-Header-Content-Length is missing)");
    }
    const uint64_t want = *count * ElementSize(tensor.dtype);
    if (*binary_size != want) {
      return MakeError(ErrorCode::kInvalidArgument,
                       tw + ": \"binary_data_size\" is " + std::to_string(*binary_size) +
                           " bytes, shape and datatype need " + std::to_string(want));
    }
    if (want > binary->rest.size()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       tw + ": \"binary_data_size\" " + std::to_string(want) + " exceeds the " +
                           std::to_string(binary->rest.size()) +
                           " bytes of binary data left after the JSON header");
    }
    const ByteSpan bytes = binary->rest.first(static_cast<size_t>(want));
    binary->rest = binary->rest.subspan(static_cast<size_t>(want));
    if (tensor.dtype == DataType::kBool) {
      for (size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] > 1) {
          return MakeError(ErrorCode::kInvalidArgument,
                           tw + ": binary BOOL element " + std::to_string(i) + " is not 0 or 1");
        }
      }
    }
    tensor.data.assign(bytes.begin(), bytes.end());
    return tensor;
  }
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

// Splits a body at `json_length` and parses the JSON part.
struct SplitBody {
  json j;
  std::optional<BinaryPart> binary;
};
Result<SplitBody> ParseSplitBody(std::string_view body, std::optional<size_t> json_length) {
  if (body.size() > kMaxOipBodyBytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "body of " + std::to_string(body.size()) + " bytes exceeds 64 MiB");
  }
  SplitBody out;
  std::string_view text = body;
  if (json_length) {
    if (*json_length > body.size()) {
      return MakeError(ErrorCode::kInvalidArgument, std::string(kInferenceHeaderContentLength) +
                                                        " " + std::to_string(*json_length) +
                                                        " exceeds the body's " +
                                                        std::to_string(body.size()) + " bytes");
    }
    text = body.substr(0, *json_length);
    out.binary = BinaryPart{AsBytes(body.substr(*json_length))};
    // nlohmann stops at a NUL byte: a header length running into the binary data must not
    // parse.
    if (text.find('\0') != std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "the JSON header holds a NUL byte (is Inference-Header-Content-Length " +
                           std::to_string(*json_length) + " too large?)");
    }
  }
  CRYPTA_ASSIGN_OR_RETURN(out.j, ParseBody(text));
  return out;
}

Status CheckBinaryConsumed(const std::optional<BinaryPart>& binary) {
  if (binary && !binary->rest.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::to_string(binary->rest.size()) +
                         " bytes after the JSON header (Inference-Header-Content-Length) "
                         "belong to no tensor's \"binary_data_size\"");
  }
  return OkStatus();
}

// A boolean in an optional "parameters" object; kInvalidArgument naming `what` otherwise.
Result<std::optional<bool>> BoolParameter(const json& object, const char* key,
                                          const std::string& what) {
  auto params = object.find("parameters");
  if (params == object.end()) return std::optional<bool>();
  if (!params->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, what + ": \"parameters\" must be an object");
  }
  auto it = params->find(key);
  if (it == params->end()) return std::optional<bool>();
  if (!it->is_boolean()) {
    return MakeError(ErrorCode::kInvalidArgument, what + ": \"" + key + "\" must be true or false");
  }
  return std::optional<bool>(it->get<bool>());
}

}  // namespace

Result<Tensor> TensorFromJson(const json& object, std::string_view what, uint64_t max_elements) {
  return DecodeTensor(object, what, max_elements, nullptr);
}

bool WantsBinaryOutput(const InferRequest& request, std::string_view name) {
  auto it = request.output_binary.find(std::string(name));
  return it != request.output_binary.end() ? it->second : request.binary_data_output;
}

Result<size_t> ParseInferenceHeaderContentLength(std::string_view value) {
  const auto bad = [&] {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(kInferenceHeaderContentLength) +
                         ": want a decimal byte count of at most 64 MiB");
  };
  if (value.empty() || value.size() > 20) return bad();
  uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return bad();
    n = n * 10 + static_cast<uint64_t>(c - '0');
    if (n > kMaxOipBodyBytes) return bad();
  }
  return static_cast<size_t>(n);
}

Result<InferRequest> ParseInferRequest(std::string_view body, const ModelSignature& sig,
                                       std::optional<size_t> json_length) {
  CRYPTA_ASSIGN_OR_RETURN(SplitBody split, ParseSplitBody(body, json_length));
  const json& j = split.j;
  BinaryPart* binary = split.binary ? &*split.binary : nullptr;
  InferRequest request;
  CRYPTA_ASSIGN_OR_RETURN(std::optional<bool> binary_output,
                          BoolParameter(j, "binary_data_output", "request"));
  request.binary_data_output = binary_output.value_or(false);
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
    CRYPTA_ASSIGN_OR_RETURN(Tensor tensor, DecodeTensor((*inputs)[i], what, budget, binary));
    budget -= tensor.data.size() / ElementSize(tensor.dtype);
    request.inputs.push_back(std::move(tensor));
  }
  CRYPTA_RETURN_IF_ERROR(CheckBinaryConsumed(split.binary));
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
      CRYPTA_ASSIGN_OR_RETURN(
          std::optional<bool> binary_data,
          BoolParameter(item, "binary_data", "output '" + name.substr(0, 64) + "'"));
      if (binary_data) request.output_binary[name] = *binary_data;
      if (seen.insert(name).second) request.outputs.push_back(std::move(name));
    }
  }
  return request;
}

Result<std::vector<Tensor>> ParseInferResponse(std::string_view body,
                                               std::optional<size_t> json_length) {
  CRYPTA_ASSIGN_OR_RETURN(SplitBody split, ParseSplitBody(body, json_length));
  const json& j = split.j;
  BinaryPart* binary = split.binary ? &*split.binary : nullptr;
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
    CRYPTA_ASSIGN_OR_RETURN(
        Tensor t, DecodeTensor(item, "outputs[" + std::to_string(i) + "]", budget, binary));
    budget -= t.data.size() / ElementSize(t.dtype);
    tensors.push_back(std::move(t));
  }
  CRYPTA_RETURN_IF_ERROR(CheckBinaryConsumed(split.binary));
  return tensors;
}

}  // namespace crypta::infer
