// The ModelService of crypta-runtime over src/infer: a ModelRunner loaded from plaintext
// bytes in memory, requests batched by infer::Batcher, bodies in OIP v2 JSON (infer/oip.h).
// The only runtime TU that includes the libtorch-backed library's headers.
#ifndef CRYPTA_RUNTIME_MODEL_SERVICE_H_
#define CRYPTA_RUNTIME_MODEL_SERVICE_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/bytes.h"
#include "common/status.h"
#include "runtime/oip_router.h"

namespace crypta::runtime {

struct ModelServiceOptions {
  std::string name;            // OIP model name
  std::string backend;         // "torchscript" | "onnx"
  std::string signature_json;  // contents of --signature (may be empty)
  int threads = 0;             // intra-op threads, 0 = library default
  int max_batch = 8;
  std::chrono::microseconds batch_delay{2000};
};

// Loads the model (never touching disk) and starts its batcher. kInvalidArgument for a
// bad signature file or a model the backend rejects.
Result<std::unique_ptr<ModelService>> LoadModelService(ByteSpan model,
                                                       const ModelServiceOptions& options);

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_MODEL_SERVICE_H_
