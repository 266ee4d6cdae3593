// TorchScript runner: the only translation unit that includes libtorch. libtorch reports
// errors with exceptions (c10::Error); they are caught here and never leave this file.
//
// GPU inference (LoadOptions.device == kCuda): the module is deserialized into host memory
// (inside the TEE) and then moved to cuda:0 with Module::to; each Run() copies its inputs to
// the GPU and the outputs back to host memory. See README.md "GPU inference" for what a
// GPU does to the confidentiality of the weights and tensors.
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/InferenceMode.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "infer/backends.h"

namespace crypta::infer {
namespace {

// Serves torch::jit::load straight from the caller's buffer: the plaintext model is never
// copied to a file (or even to a second buffer).
class SpanReadAdapter : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit SpanReadAdapter(ByteSpan data) : data_(data) {}
  size_t size() const override { return data_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= data_.size()) return 0;
    const size_t count = std::min<uint64_t>(n, data_.size() - pos);
    std::memcpy(buf, data_.data() + pos, count);
    return count;
  }

 private:
  ByteSpan data_;
};

// First line of a libtorch message, capped: enough to say what failed without dumping a
// TorchScript stack trace into logs or HTTP errors.
std::string ShortMessage(const std::exception& e) {
  std::string msg;
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) {
    msg = c10->what_without_backtrace();
  } else {
    msg = e.what();
  }
  if (size_t nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
  if (msg.size() > 300) msg.resize(300);
  return msg;
}

at::ScalarType ToScalarType(DataType type) {
  switch (type) {
    case DataType::kFp32:
      return at::kFloat;
    case DataType::kFp64:
      return at::kDouble;
    case DataType::kInt64:
      return at::kLong;
    case DataType::kInt32:
      return at::kInt;
    case DataType::kUint8:
      return at::kByte;
    case DataType::kBool:
      return at::kBool;
  }
  return at::kFloat;
}

Result<DataType> FromScalarType(at::ScalarType type) {
  switch (type) {
    case at::kFloat:
      return DataType::kFp32;
    case at::kDouble:
      return DataType::kFp64;
    case at::kLong:
      return DataType::kInt64;
    case at::kInt:
      return DataType::kInt32;
    case at::kByte:
      return DataType::kUint8;
    case at::kBool:
      return DataType::kBool;
    default:
      return MakeError(ErrorCode::kFailedPrecondition,
                       std::string("unsupported tensor dtype ") + c10::toString(type));
  }
}

// A host tensor holding a copy of `t`, then (for a CUDA runner) its copy on `device`.
at::Tensor ToTorch(const Tensor& t, const c10::Device& device) {
  at::Tensor out = at::empty(t.shape, at::TensorOptions().dtype(ToScalarType(t.dtype)));
  if (!t.data.empty()) std::memcpy(out.data_ptr(), t.data.data(), t.data.size());
  if (!device.is_cpu()) return out.to(device);
  return out;
}

Result<Tensor> FromTorch(const at::Tensor& value, const TensorSpec& spec) {
  const std::string what = "output '" + spec.name + "'";
  if (value.is_sparse() || value.is_quantized() || !value.device().is_cpu()) {
    return MakeError(ErrorCode::kFailedPrecondition, what + " is not a dense CPU tensor");
  }
  Tensor out;
  out.name = spec.name;
  auto dtype = FromScalarType(value.scalar_type());
  if (!dtype) return MakeError(dtype.error().WithContext(what));
  out.dtype = *dtype;
  out.shape.assign(value.sizes().begin(), value.sizes().end());
  const at::Tensor dense = value.contiguous();
  const size_t bytes = static_cast<size_t>(dense.numel()) * dense.element_size();
  out.data.resize(bytes);
  if (bytes > 0) std::memcpy(out.data.data(), dense.data_ptr(), bytes);
  if (auto s = CheckTensorAgainstSpec(out, spec, what); !s) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "model output disagrees with the signature: " + s.error().message());
  }
  return out;
}

// forward() may return a tensor, a tuple or list of tensors (signature order), or a dict
// keyed by output name.
Result<std::vector<at::Tensor>> CollectOutputs(const c10::IValue& value,
                                               const ModelSignature& signature) {
  std::vector<at::Tensor> tensors;
  const auto add = [&](const c10::IValue& v) -> Status {
    if (!v.isTensor()) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "model returned a " + v.tagKind() + " where a tensor was expected");
    }
    tensors.push_back(v.toTensor());
    return OkStatus();
  };
  if (value.isTensor()) {
    CRYPTA_RETURN_IF_ERROR(add(value));
  } else if (value.isTuple()) {
    for (const c10::IValue& v : value.toTupleRef().elements()) CRYPTA_RETURN_IF_ERROR(add(v));
  } else if (value.isList()) {
    for (const c10::IValue& v : value.toListRef()) CRYPTA_RETURN_IF_ERROR(add(v));
  } else if (value.isGenericDict()) {
    const c10::Dict<c10::IValue, c10::IValue> dict = value.toGenericDict();
    for (const TensorSpec& spec : signature.outputs) {
      auto it = dict.find(c10::IValue(spec.name));
      if (it == dict.end()) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         "model's output dict has no key '" + spec.name + "'");
      }
      CRYPTA_RETURN_IF_ERROR(add(it->value()));
    }
  } else {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "model returned a " + value.tagKind() + " (want tensor, tuple, list or dict)");
  }
  if (tensors.size() != signature.outputs.size()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "model returned " + std::to_string(tensors.size()) +
                         " tensors, the signature declares " +
                         std::to_string(signature.outputs.size()) + " outputs");
  }
  return tensors;
}

class TorchScriptRunner final : public ModelRunner {
 public:
  TorchScriptRunner(torch::jit::Module module, ModelSignature signature, c10::Device device)
      : module_(std::move(module)), signature_(std::move(signature)), device_(device) {}

  std::string_view backend() const override { return "torchscript"; }
  const ModelSignature& signature() const override { return signature_; }
  Device device() const override { return device_.is_cuda() ? Device::kCuda : Device::kCpu; }

  // Thread-safe: a loaded, eval-mode TorchScript module may run forward() concurrently
  // (each call has its own interpreter stack; the graph executor locks its own caches).
  Result<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs) override {
    CRYPTA_ASSIGN_OR_RETURN(std::vector<const Tensor*> ordered, MatchInputs(signature_, inputs));
    c10::IValue result;
    try {
      c10::InferenceMode guard;
      std::vector<c10::IValue> args;
      args.reserve(ordered.size());
      try {
        for (const Tensor* t : ordered) args.emplace_back(ToTorch(*t, device_));
      } catch (const std::exception& e) {
        return MakeError(ErrorCode::kUnavailable,
                         "copying the inputs to " + device_.str() + ": " + ShortMessage(e));
      }
      result = module_.forward(std::move(args));
    } catch (const std::exception& e) {
      std::string msg = ShortMessage(e);
      // Out of GPU memory or a failed kernel is the server's trouble, not a bad input: 503.
      if (device_.is_cuda() && msg.find("CUDA") != std::string::npos) {
        return MakeError(ErrorCode::kUnavailable, "model failed on " + device_.str() + ": " + msg);
      }
      return MakeError(ErrorCode::kInvalidArgument, "model rejected the input: " + msg);
    }
    try {
      CRYPTA_ASSIGN_OR_RETURN(std::vector<at::Tensor> tensors, CollectOutputs(result, signature_));
      std::vector<Tensor> outputs;
      outputs.reserve(tensors.size());
      for (size_t i = 0; i < tensors.size(); ++i) {
        // A CUDA model's outputs come back to host memory (a no-op for CPU tensors).
        const at::Tensor host = tensors[i].is_cuda() ? tensors[i].to(c10::kCPU) : tensors[i];
        CRYPTA_ASSIGN_OR_RETURN(Tensor out, FromTorch(host, signature_.outputs[i]));
        outputs.push_back(std::move(out));
      }
      return outputs;
    } catch (const std::exception& e) {
      return MakeError(ErrorCode::kInternal, "reading the model's outputs: " + ShortMessage(e));
    }
  }

 private:
  torch::jit::Module module_;
  const ModelSignature signature_;
  const c10::Device device_;
};

}  // namespace

CudaProbe ProbeCuda() {
  CudaProbe probe;
  try {
    // A libtorch with CUDA registers its CUDAHooks when libtorch_cuda is loaded; Debian's
    // CPU-only libtorch has none (and then device_count() is 0 too).
    probe.built_with_cuda = at::CUDAHooksRegistry()->Has("CUDAHooks");
    probe.devices = static_cast<int>(torch::cuda::device_count());
  } catch (const std::exception&) {
    probe.devices = 0;  // a broken driver reads as "no GPU visible"
  }
  return probe;
}

Result<std::unique_ptr<ModelRunner>> LoadTorchScriptModel(ByteSpan model,
                                                          const LoadOptions& options) {
  if (!options.signature) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "torchscript: the model file does not declare its inputs and outputs; a "
                     "signature is required");
  }
  CRYPTA_RETURN_IF_ERROR(ValidateSignature(*options.signature));
  if (options.device != Device::kCpu && options.device != Device::kCuda) {
    return MakeError(ErrorCode::kInvalidArgument, "torchscript: device not resolved");
  }
  if (options.threads > 0) at::set_num_threads(options.threads);
  // LoadModel checked the probe; check again here so a direct caller gets the same clear
  // error rather than a libtorch exception from Module::to.
  if (options.device == Device::kCuda && !torch::cuda::is_available()) {
    Result<Device> checked = SelectDevice("torchscript", Device::kCuda, ProbeCuda());
    if (!checked) return MakeError(checked.error().WithContext("device cuda"));
    return MakeError(ErrorCode::kFailedPrecondition,
                     "device cuda: torch::cuda::is_available() is false");
  }
  const c10::Device device =
      options.device == Device::kCuda ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  try {
    // Deserialized into host memory (the TEE's), then moved to the GPU when asked.
    torch::jit::Module module =
        torch::jit::load(std::make_shared<SpanReadAdapter>(model), c10::Device(c10::kCPU));
    module.eval();
    if (device.is_cuda()) {
      try {
        module.to(device);
      } catch (const std::exception& e) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         "torchscript: cannot move the model to cuda:0: " + ShortMessage(e));
      }
    }
    auto forward = module.find_method("forward");
    if (!forward) {
      return MakeError(ErrorCode::kInvalidArgument, "torchscript: the model has no forward()");
    }
    // The schema's first argument is `self`.
    const size_t schema_args = forward->function().getSchema().arguments().size();
    const size_t arity = schema_args == 0 ? 0 : schema_args - 1;
    if (arity != options.signature->inputs.size()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "torchscript: forward() takes " + std::to_string(arity) +
                           " inputs, the signature declares " +
                           std::to_string(options.signature->inputs.size()));
    }
    return std::make_unique<TorchScriptRunner>(std::move(module), *options.signature, device);
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "torchscript: cannot load the model: " + ShortMessage(e));
  }
}

}  // namespace crypta::infer
