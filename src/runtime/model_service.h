// The ModelService of crypta-runtime over src/infer: a ModelRunner loaded from plaintext
// bytes in memory, requests batched by infer::Batcher, bodies in OIP v2 JSON (infer/oip.h).
// The only runtime TU that includes the libtorch-backed library's headers.
#ifndef CRYPTA_RUNTIME_MODEL_SERVICE_H_
#define CRYPTA_RUNTIME_MODEL_SERVICE_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"
#include "runtime/oip_router.h"

namespace crypta::runtime {

struct ModelServiceOptions {
  std::string name;            // OIP model name
  std::string backend;         // "torchscript" | "onnx"
  std::string signature_json;  // contents of --signature (may be empty)
  int threads = 0;             // intra-op threads, 0 = library default
  // "cpu" | "cuda" (crypta-runtime passes ChooseDevice's choice) | "auto". Shown as
  // "device" in the model metadata (GET /v2/models/<m>).
  std::string device = "cpu";
  int max_batch = 8;
  std::chrono::microseconds batch_delay{2000};
};

// crypta-runtime --device: where the model will compute, and the startup log line saying
// why ("device cuda (--device auto, torchscript: 1 CUDA GPU visible)"). `flag` is auto, cpu
// or cuda; `backend` torchscript or onnx, or "" while it is not known yet (before the boot:
// cuda is then checked as for torchscript). Errors are one line naming the flag:
// "--device cuda: libtorch was built without CUDA (...)", "--device cuda: no CUDA GPU is
// visible (...)", "--device cuda: the onnx backend (OpenCV DNN) runs on the CPU only; ...".
struct DeviceChoice {
  std::string device;  // "cpu" | "cuda"
  std::string log;     // without the "crypta-runtime: " prefix
};
// With this process's libtorch (infer::ProbeCuda, asked only when flag is not cpu).
Result<DeviceChoice> ChooseDevice(std::string_view flag, std::string_view backend);
// The same rule for a given host: `cuda_built` (libtorch has CUDA), `cuda_devices` (GPUs it
// sees). What the tests use.
Result<DeviceChoice> ChooseDevice(std::string_view flag, std::string_view backend, bool cuda_built,
                                  int cuda_devices);

// Loads the model (never touching disk) and starts its batcher. kInvalidArgument for a
// bad signature file or a model the backend rejects.
Result<std::unique_ptr<ModelService>> LoadModelService(ByteSpan model,
                                                       const ModelServiceOptions& options);

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_MODEL_SERVICE_H_
