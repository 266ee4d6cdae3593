// LoadModel: picks the backend named in LoadOptions.
#include <string>

#include "infer/backends.h"
#include "infer/model_runner.h"

namespace crypta::infer {

Result<std::unique_ptr<ModelRunner>> LoadModel(ByteSpan model, const LoadOptions& options) {
  if (model.empty()) return MakeError(ErrorCode::kInvalidArgument, "model: no bytes");
  if (options.backend == "torchscript") return LoadTorchScriptModel(model, options);
  if (options.backend == "onnx") return LoadOnnxModel(model, options);
  return MakeError(ErrorCode::kInvalidArgument, "model: unknown backend \"" +
                                                    options.backend.substr(0, 32) +
                                                    "\" (want torchscript or onnx)");
}

}  // namespace crypta::infer
