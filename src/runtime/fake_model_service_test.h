// A ModelService for the runtime's unit tests: answers {"echo": <body>} and fails with
// kInvalidArgument for the body "bad"; echoes binary bodies as they came.
#ifndef CRYPTA_RUNTIME_FAKE_MODEL_SERVICE_TEST_H_
#define CRYPTA_RUNTIME_FAKE_MODEL_SERVICE_TEST_H_

#include <atomic>
#include <string>

#include "runtime/oip_router.h"

namespace crypta::runtime {

class FakeModelService : public ModelService {
 public:
  const std::string& name() const override { return name_; }
  nlohmann::json Metadata() const override { return {{"name", name_}, {"platform", "fake"}}; }
  // With an Inference-Header-Content-Length: answers the body unchanged, as binary, with
  // the same header value.
  Result<InferPayload> Infer(std::string_view body,
                             std::optional<std::string_view> header_length) override {
    ++calls;
    if (body == "bad") return MakeError(ErrorCode::kInvalidArgument, "inputs[0]: wrong shape");
    if (header_length) {
      return InferPayload{std::string(body),
                          static_cast<size_t>(std::stoul(std::string(*header_length)))};
    }
    return InferPayload{std::string(R"({"echo":")") + std::string(body) + "\"}", std::nullopt};
  }
  std::atomic<int> calls{0};

 private:
  std::string name_ = "echo";
};

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_FAKE_MODEL_SERVICE_TEST_H_
