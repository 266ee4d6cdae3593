// Fuzz target: a generate request body (runtime/generation.h ParseGenerateRequest), what a
// client sends inside OHTTP to POST /v2/models/<m>/generate[_stream]. Must never crash; an
// accepted request must hold 1..kMaxPromptBytes token ids of the ascii-printable vocabulary
// and max_tokens in 1..kMaxGenerateTokens.
// Corpus: testdata/fuzz/generate_request/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "runtime/generation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta::runtime;
  auto request = ParseGenerateRequest(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!request) return 0;
  if (request->prompt_ids.empty() || request->prompt_ids.size() > kMaxPromptBytes) std::abort();
  for (int64_t id : request->prompt_ids) {
    if (id < 0 || id >= 95) std::abort();
  }
  if (request->max_tokens < 1 || request->max_tokens > kMaxGenerateTokens) std::abort();
  return 0;
}
