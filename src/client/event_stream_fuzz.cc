// Fuzz target: the event stream of a generate_stream answer as the client splits it
// (client/exchange.h TakeGenerationEvents) — bytes from the runtime, decrypted. Must never
// crash, and must give the same events whether the bytes arrive whole or in two pieces (split
// at the input's first byte's value); a split may only add the "over 1 MiB pending" refusal
// (a long event whose end comes in the second piece), never hide an error.
// Corpus: testdata/fuzz/event_stream/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "client/exchange.h"

namespace {

using crypta::Result;
using crypta::client::GenerationEvent;

// The events (text, or "!" + the error message) and the error, if parsing failed.
std::vector<std::string> Run(const std::vector<std::string>& pieces,
                             std::optional<crypta::ErrorCode>* failed) {
  std::string buffer;
  std::vector<Result<GenerationEvent>> out;
  failed->reset();
  for (const std::string& piece : pieces) {
    buffer += piece;
    crypta::Status ok = crypta::client::TakeGenerationEvents(buffer, out);
    if (!ok) {
      *failed = ok.error().code();
      break;
    }
  }
  std::vector<std::string> events;
  for (const auto& e : out) events.push_back(e ? e->text_output : "!" + e.error().message());
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::optional<crypta::ErrorCode> whole_failed, split_failed;
  const std::vector<std::string> whole = Run({input}, &whole_failed);
  const size_t at = size == 0 ? 0 : data[0] % (size + 1);
  const std::vector<std::string> split =
      Run({input.substr(0, at), input.substr(at)}, &split_failed);
  if (whole_failed && !split_failed) std::abort();
  if (!whole_failed && split_failed && *split_failed != crypta::ErrorCode::kResourceExhausted) {
    std::abort();
  }
  if (!whole_failed && !split_failed && whole != split) std::abort();
  return 0;
}
