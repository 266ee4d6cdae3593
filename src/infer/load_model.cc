// LoadModel: picks the backend named in LoadOptions and resolves its device (SelectDevice).
#include <string>

#include "infer/backends.h"
#include "infer/model_runner.h"

namespace crypta::infer {

Result<std::unique_ptr<ModelRunner>> LoadModel(ByteSpan model, const LoadOptions& options) {
  if (model.empty()) return MakeError(ErrorCode::kInvalidArgument, "model: no bytes");
  if (options.backend == "torchscript" || options.backend == "onnx") {
    // The probe only matters for torchscript; onnx never asks libtorch about CUDA.
    const CudaProbe probe = options.backend == "torchscript" && options.device != Device::kCpu
                                ? ProbeCuda()
                                : CudaProbe{};
    Result<Device> device = SelectDevice(options.backend, options.device, probe);
    if (!device) {
      return MakeError(
          device.error().WithContext("device " + std::string(DeviceName(options.device))));
    }
    LoadOptions resolved = options;
    resolved.device = *device;
    if (options.backend == "torchscript") return LoadTorchScriptModel(model, resolved);
    return LoadOnnxModel(model, resolved);
  }
  return MakeError(ErrorCode::kInvalidArgument, "model: unknown backend \"" +
                                                    options.backend.substr(0, 32) +
                                                    "\" (want torchscript or onnx)");
}

}  // namespace crypta::infer
