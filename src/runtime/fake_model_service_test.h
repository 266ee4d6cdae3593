// A ModelService for the runtime's unit tests: answers {"echo": <body>} and fails with
// kInvalidArgument for the body "bad"; echoes binary bodies as they came. It generates text
// through the real TokenStream with a stand-in model whose next token is the last one plus
// one ("A" -> "BCD…", '~' wraps to ' '); a prompt starting with '!' makes the model fail at
// the third step.
#ifndef CRYPTA_RUNTIME_FAKE_MODEL_SERVICE_TEST_H_
#define CRYPTA_RUNTIME_FAKE_MODEL_SERVICE_TEST_H_

#include <algorithm>
#include <atomic>
#include <memory>
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
  Result<std::unique_ptr<TokenStream>> Generate(std::string_view body) override {
    CRYPTA_ASSIGN_OR_RETURN(GenerateRequest request, ParseGenerateRequest(body));
    const bool fail = request.prompt_ids[0] == '!' - 32;
    auto steps = std::make_shared<int>(0);
    GenerationConfig config;
    config.max_context = 4;
    return std::make_unique<TokenStream>(
        config, std::move(request),
        [this, fail, steps](const std::vector<int64_t>& ids) -> Result<std::vector<float>> {
          if (fail && ++*steps == 3) return MakeError(ErrorCode::kInternal, "device lost");
          longest_window = std::max(longest_window.load(), static_cast<int>(ids.size()));
          std::vector<float> logits(95, 0.0f);
          logits[(ids.back() + 1) % 95] = 1.0f;
          return logits;
        });
  }
  std::atomic<int> calls{0};
  std::atomic<int> longest_window{0};  // the most token ids one generation step was given

 private:
  std::string name_ = "echo";
};

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_FAKE_MODEL_SERVICE_TEST_H_
