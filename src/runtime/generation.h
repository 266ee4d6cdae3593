// Text generation behind the OIP generate routes (issue 18): Triton's generate extension shape,
//
//   POST /v2/models/<m>/generate         {"text_input":"…","parameters":{"max_tokens":N}}
//                                        -> {"model_name":"<m>","text_output":"…"}
//   POST /v2/models/<m>/generate_stream  the same request -> text/event-stream, one event per
//                                        token: data: {"model_name":"<m>","text_output":"<t>"}
//
// for models whose signature file declares "generate" (infer::GenerateSpec; scripts/
// make_models.py tiny_gpt): one INT64 input [1,-1], an FP32 first output [1,95] and
// "generate":{"tokenizer":"ascii-printable","max_context":C}. The model maps a window of token ids
// to the next token's logits; decoding is greedy (the argmax, lowest id on ties), one forward pass
// per token over the last C tokens. The "ascii-printable" tokenizer is character level: token i is
// the character 32 + i (V = 95), so a prompt with any other character is refused. It is the
// tokenizer of crypta's test model, not a general one.
//
// Errors name the field, never quote the prompt.
#ifndef CRYPTA_RUNTIME_GENERATION_H_
#define CRYPTA_RUNTIME_GENERATION_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace crypta::runtime {

struct GenerationConfig {
  int vocab = 95;  // ascii-printable
  int max_context = 128;
};

inline constexpr int kDefaultMaxTokens = 16;
inline constexpr int kMaxGenerateTokens = 1024;
inline constexpr size_t kMaxPromptBytes = 64 * 1024;

struct GenerateRequest {
  std::vector<int64_t> prompt_ids;
  int max_tokens = kDefaultMaxTokens;
};

// {"text_input": string (1..kMaxPromptBytes printable ASCII characters), "parameters":
// {"max_tokens": 1..kMaxGenerateTokens}} ("parameters" optional; "stream" is accepted and
// ignored, any other parameter is refused by name).
Result<GenerateRequest> ParseGenerateRequest(std::string_view body);

// The next-token logits (vocab floats) for a window of token ids.
using NextTokenLogits = std::function<Result<std::vector<float>>(const std::vector<int64_t>& ids)>;

// One generation, token by token. Not thread-safe (one stream per request).
class TokenStream {
 public:
  TokenStream(GenerationConfig config, GenerateRequest request, NextTokenLogits step)
      : config_(config),
        ids_(std::move(request.prompt_ids)),
        left_(request.max_tokens),
        step_(std::move(step)) {}
  // The next token's text, or nullopt once max_tokens were produced. A model error ends the
  // stream (every later call repeats it).
  Result<std::optional<std::string>> Next();

 private:
  GenerationConfig config_;
  std::vector<int64_t> ids_;
  int left_;
  NextTokenLogits step_;
  std::optional<Error> failed_;
};

// `data: {"model_name":…,"text_output":…}\n\n`: one server-sent event (WHATWG HTML §9.2).
std::string GenerateEvent(std::string_view model, std::string_view text);
// `data: {"error":…}\n\n`: the event that ends a stream whose model failed.
std::string GenerateErrorEvent(std::string_view message);

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_GENERATION_H_
