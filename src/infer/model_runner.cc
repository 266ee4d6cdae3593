// Tensor and signature helpers shared by every backend (no libtorch / OpenCV here).
#include "infer/model_runner.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>

namespace crypta::infer {
namespace {

constexpr size_t kMaxSignatureJsonBytes = size_t{1} << 20;
constexpr size_t kMaxSignatureTensors = 1024;
constexpr size_t kMaxRank = 32;

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ",";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

Status ValidateSpecs(const std::vector<TensorSpec>& specs, std::string_view kind) {
  if (specs.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "signature declares no " + std::string(kind) + "s");
  }
  std::set<std::string> names;
  for (const TensorSpec& spec : specs) {
    if (spec.name.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "signature: an " + std::string(kind) + " has an empty name");
    }
    if (!names.insert(spec.name).second) {
      return MakeError(ErrorCode::kInvalidArgument, "signature: " + std::string(kind) + " '" +
                                                        spec.name + "' is declared twice");
    }
    if (spec.shape.size() > kMaxRank) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "signature: " + std::string(kind) + " '" + spec.name + "' has rank " +
                           std::to_string(spec.shape.size()) + " (max 32)");
    }
    for (int64_t dim : spec.shape) {
      if (dim < -1) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "signature: " + std::string(kind) + " '" + spec.name + "' has dimension " +
                             std::to_string(dim) + " (want -1 or >= 0)");
      }
    }
  }
  return OkStatus();
}

Result<std::vector<TensorSpec>> SpecsFromJson(const nlohmann::json& j, std::string_view kind) {
  if (!j.is_array()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "signature: \"" + std::string(kind) + "s\" must be an array");
  }
  if (j.size() > kMaxSignatureTensors) {
    return MakeError(ErrorCode::kInvalidArgument, "signature: too many " + std::string(kind) + "s");
  }
  std::vector<TensorSpec> specs;
  for (const nlohmann::json& item : j) {
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "signature: each " + std::string(kind) + " needs a string \"name\"");
    }
    TensorSpec spec;
    spec.name = item["name"].get<std::string>();
    const std::string what = std::string(kind) + " '" + spec.name + "'";
    if (!item.contains("datatype") || !item["datatype"].is_string()) {
      return MakeError(ErrorCode::kInvalidArgument, "signature: " + what + " needs \"datatype\"");
    }
    auto dtype = ParseDataType(item["datatype"].get<std::string>());
    if (!dtype) return MakeError(dtype.error().WithContext("signature: " + what));
    spec.dtype = *dtype;
    if (!item.contains("shape") || !item["shape"].is_array()) {
      return MakeError(ErrorCode::kInvalidArgument, "signature: " + what + " needs \"shape\"");
    }
    for (const nlohmann::json& dim : item["shape"]) {
      if (!dim.is_number_integer() ||
          (dim.is_number_unsigned() &&
           dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "signature: " + what + " has a non-integer dimension");
      }
      spec.shape.push_back(dim.get<int64_t>());
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

nlohmann::json SpecsToJson(const std::vector<TensorSpec>& specs) {
  nlohmann::json out = nlohmann::json::array();
  for (const TensorSpec& spec : specs) {
    out.push_back({{"name", spec.name},
                   {"datatype", std::string(DataTypeName(spec.dtype))},
                   {"shape", spec.shape}});
  }
  return out;
}

}  // namespace

std::string_view DataTypeName(DataType type) {
  switch (type) {
    case DataType::kFp32:
      return "FP32";
    case DataType::kFp64:
      return "FP64";
    case DataType::kInt64:
      return "INT64";
    case DataType::kInt32:
      return "INT32";
    case DataType::kUint8:
      return "UINT8";
    case DataType::kBool:
      return "BOOL";
  }
  return "UNKNOWN";
}

Result<DataType> ParseDataType(std::string_view name) {
  for (DataType t : {DataType::kFp32, DataType::kFp64, DataType::kInt64, DataType::kInt32,
                     DataType::kUint8, DataType::kBool}) {
    if (DataTypeName(t) == name) return t;
  }
  std::string shown(name.substr(0, 32));
  return MakeError(
      ErrorCode::kInvalidArgument,
      "unsupported datatype \"" + shown + "\" (want FP32, FP64, INT64, INT32, UINT8 or BOOL)");
}

std::string_view DeviceName(Device device) {
  switch (device) {
    case Device::kAuto:
      return "auto";
    case Device::kCpu:
      return "cpu";
    case Device::kCuda:
      return "cuda";
  }
  return "?";
}

Result<Device> ParseDevice(std::string_view name) {
  for (Device d : {Device::kAuto, Device::kCpu, Device::kCuda}) {
    if (DeviceName(d) == name) return d;
  }
  return MakeError(
      ErrorCode::kInvalidArgument,
      "unknown device \"" + std::string(name.substr(0, 32)) + "\" (want auto, cpu or cuda)");
}

Result<Device> SelectDevice(std::string_view backend, Device requested, const CudaProbe& probe) {
  if (backend == "onnx") {
    if (requested == Device::kCuda) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "the onnx backend (OpenCV DNN) runs on the CPU only; use a TorchScript "
                       "model for GPU inference");
    }
    return Device::kCpu;
  }
  if (backend != "torchscript") {
    return MakeError(ErrorCode::kInvalidArgument, "unknown backend \"" +
                                                      std::string(backend.substr(0, 32)) +
                                                      "\" (want torchscript or onnx)");
  }
  switch (requested) {
    case Device::kCpu:
      return Device::kCpu;
    case Device::kAuto:
      return probe.devices > 0 ? Device::kCuda : Device::kCpu;
    case Device::kCuda:
      if (!probe.built_with_cuda) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         "libtorch was built without CUDA (Debian's libtorch is "
                         "CPU-only; build with -DCRYPTA_TORCH_DIR=<a CUDA libtorch>)");
      }
      if (probe.devices <= 0) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         "no CUDA GPU is visible (libtorch has CUDA, "
                         "torch::cuda::device_count() is 0: no GPU, driver or device node)");
      }
      return Device::kCuda;
  }
  return MakeError(ErrorCode::kInvalidArgument, "bad device value");
}

size_t ElementSize(DataType type) {
  switch (type) {
    case DataType::kFp32:
    case DataType::kInt32:
      return 4;
    case DataType::kFp64:
    case DataType::kInt64:
      return 8;
    case DataType::kUint8:
    case DataType::kBool:
      return 1;
  }
  return 1;
}

Result<uint64_t> ElementCount(const std::vector<int64_t>& shape, uint64_t max_elements) {
  uint64_t count = 1;
  bool zero = false;
  for (int64_t dim : shape) {
    if (dim < 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "negative dimension in shape " + ShapeString(shape));
    }
    if (dim == 0) zero = true;
  }
  if (zero) return 0;
  for (int64_t dim : shape) {
    const uint64_t d = static_cast<uint64_t>(dim);
    if (count > max_elements / d) {
      return MakeError(ErrorCode::kInvalidArgument, "shape " + ShapeString(shape) + " exceeds " +
                                                        std::to_string(max_elements) + " elements");
    }
    count *= d;
  }
  return count;
}

Status ValidateSignature(const ModelSignature& signature) {
  CRYPTA_RETURN_IF_ERROR(ValidateSpecs(signature.inputs, "input"));
  return ValidateSpecs(signature.outputs, "output");
}

Status CheckTensorAgainstSpec(const Tensor& tensor, const TensorSpec& spec, std::string_view what) {
  const std::string w(what);
  if (tensor.dtype != spec.dtype) {
    return MakeError(ErrorCode::kInvalidArgument,
                     w + ": datatype " + std::string(DataTypeName(tensor.dtype)) + ", want " +
                         std::string(DataTypeName(spec.dtype)));
  }
  bool match = tensor.shape.size() == spec.shape.size();
  for (size_t i = 0; match && i < spec.shape.size(); ++i) {
    if (spec.shape[i] != -1 && spec.shape[i] != tensor.shape[i]) match = false;
  }
  if (!match) {
    return MakeError(ErrorCode::kInvalidArgument, w + ": shape " + ShapeString(tensor.shape) +
                                                      ", want " + ShapeString(spec.shape));
  }
  auto count = ElementCount(tensor.shape, std::numeric_limits<uint64_t>::max() / 8);
  if (!count) return MakeError(count.error().WithContext(w));
  if (tensor.data.size() != *count * ElementSize(tensor.dtype)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     w + ": " + std::to_string(tensor.data.size()) + " data bytes, shape " +
                         ShapeString(tensor.shape) + " needs " +
                         std::to_string(*count * ElementSize(tensor.dtype)));
  }
  return OkStatus();
}

Result<std::vector<const Tensor*>> MatchInputs(const ModelSignature& signature,
                                               const std::vector<Tensor>& inputs) {
  std::vector<const Tensor*> ordered(signature.inputs.size(), nullptr);
  for (const Tensor& input : inputs) {
    size_t index = signature.inputs.size();
    for (size_t i = 0; i < signature.inputs.size(); ++i) {
      if (signature.inputs[i].name == input.name) index = i;
    }
    if (index == signature.inputs.size()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "input '" + input.name.substr(0, 64) + "' is not an input of the model");
    }
    if (ordered[index] != nullptr) {
      return MakeError(ErrorCode::kInvalidArgument, "input '" + input.name + "' given twice");
    }
    CRYPTA_RETURN_IF_ERROR(
        CheckTensorAgainstSpec(input, signature.inputs[index], "input '" + input.name + "'"));
    ordered[index] = &input;
  }
  for (size_t i = 0; i < ordered.size(); ++i) {
    if (ordered[i] == nullptr) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "missing input '" + signature.inputs[i].name + "'");
    }
  }
  return ordered;
}

namespace {

constexpr int kAsciiPrintableVocab = 95;

Result<GenerateSpec> GenerateSpecFromJson(const nlohmann::json& g, const ModelSignature& sig) {
  auto invalid = [](std::string what) {
    return MakeError(ErrorCode::kInvalidArgument, "signature: generate: " + std::move(what));
  };
  if (!g.is_object()) return invalid("must be an object");
  GenerateSpec spec;
  for (const auto& [key, value] : g.items()) {
    if (key == "tokenizer") {
      if (value != "ascii-printable") {
        return invalid("tokenizer must be \"ascii-printable\" (the only one crypta-runtime has)");
      }
    } else if (key == "max_context") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 65536) {
        return invalid("max_context must be an integer in 1..65536");
      }
      spec.max_context = value.get<int>();
    } else {
      return invalid("unknown member \"" + key.substr(0, 64) + "\"");
    }
  }
  // The generate routes feed [1, T] token ids and read [1, vocab] logits.
  const bool fits = sig.inputs.size() == 1 && sig.inputs[0].dtype == DataType::kInt64 &&
                    sig.inputs[0].shape.size() == 2 && sig.outputs[0].dtype == DataType::kFp32 &&
                    sig.outputs[0].shape.size() == 2 &&
                    sig.outputs[0].shape[1] == kAsciiPrintableVocab;
  if (!fits) {
    return invalid(
        "a generating model needs one INT64 input [1,-1] and an FP32 first output "
        "[1," +
        std::to_string(kAsciiPrintableVocab) + "]");
  }
  return spec;
}

}  // namespace

Result<ModelSignature> ParseModelSignatureJson(std::string_view json_text) {
  if (json_text.size() > kMaxSignatureJsonBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "signature: JSON larger than 1 MiB");
  }
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "signature: not a JSON object");
  }
  if (!j.contains("inputs") || !j.contains("outputs")) {
    return MakeError(ErrorCode::kInvalidArgument, "signature: needs \"inputs\" and \"outputs\"");
  }
  ModelSignature signature;
  CRYPTA_ASSIGN_OR_RETURN(signature.inputs, SpecsFromJson(j["inputs"], "input"));
  CRYPTA_ASSIGN_OR_RETURN(signature.outputs, SpecsFromJson(j["outputs"], "output"));
  CRYPTA_RETURN_IF_ERROR(ValidateSignature(signature));
  if (j.contains("generate")) {
    CRYPTA_ASSIGN_OR_RETURN(signature.generate, GenerateSpecFromJson(j["generate"], signature));
  }
  return signature;
}

std::string ModelSignatureToJson(const ModelSignature& signature) {
  nlohmann::json j = {{"inputs", SpecsToJson(signature.inputs)},
                      {"outputs", SpecsToJson(signature.outputs)}};
  if (signature.generate) {
    j["generate"] = {{"tokenizer", signature.generate->tokenizer},
                     {"max_context", signature.generate->max_context}};
  }
  return j.dump();
}

}  // namespace crypta::infer
