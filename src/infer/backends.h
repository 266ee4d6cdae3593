// Backend entry points behind LoadModel (internal to crypta_infer). Each lives in its own
// .cc so libtorch and OpenCV headers are compiled once; nothing here includes them.
#ifndef CRYPTA_INFER_BACKENDS_H_
#define CRYPTA_INFER_BACKENDS_H_

#include <memory>

#include "common/bytes.h"
#include "common/status.h"
#include "infer/model_runner.h"

namespace crypta::infer {

// torchscript_runner.cc: torch::jit::load from memory; options.signature is required.
// options.device is already resolved (kCpu or kCuda: LoadModel ran SelectDevice). The same
// file defines ProbeCuda() (model_runner.h).
Result<std::unique_ptr<ModelRunner>> LoadTorchScriptModel(ByteSpan model,
                                                          const LoadOptions& options);

// onnx_runner.cc: the graph pass (onnx_graph.h) then OpenCV DNN; the signature comes from the
// graph and must agree with options.signature when one is given. CPU only (options.device is
// kCpu: SelectDevice rejects cuda for onnx).
Result<std::unique_ptr<ModelRunner>> LoadOnnxModel(ByteSpan model, const LoadOptions& options);

}  // namespace crypta::infer

#endif  // CRYPTA_INFER_BACKENDS_H_
