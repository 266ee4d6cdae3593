// A ModelService for the runtime's unit tests: answers {"echo": <body>} and fails with
// kInvalidArgument for the body "bad".
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
  Result<std::string> Infer(std::string_view body) override {
    ++calls;
    if (body == "bad") return MakeError(ErrorCode::kInvalidArgument, "inputs[0]: wrong shape");
    return std::string(R"({"echo":")") + std::string(body) + "\"}";
  }
  std::atomic<int> calls{0};

 private:
  std::string name_ = "echo";
};

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_FAKE_MODEL_SERVICE_TEST_H_
