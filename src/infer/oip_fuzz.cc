// Fuzzes the OIP v2 request and response parsers: no input may crash them, and whatever
// parses must re-encode and parse again to the same tensors.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "infer/oip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta::infer;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ModelSignature sig;
  sig.inputs = {{"input", DataType::kFp32, {-1, 3}},
                {"ids", DataType::kInt64, {-1}},
                {"mask", DataType::kBool, {-1}}};
  sig.outputs = {{"logits", DataType::kFp32, {-1, 3}}};
  auto request = ParseInferRequest(body, sig);
  if (request) {
    auto again = ParseInferRequest(EncodeInferRequest(*request), sig);
    if (!again || again->inputs.size() != request->inputs.size()) std::abort();
    for (size_t i = 0; i < request->inputs.size(); ++i) {
      if (again->inputs[i].data != request->inputs[i].data) std::abort();
    }
  }
  auto response = ParseInferResponse(body);
  if (response) {
    auto again = ParseInferResponse(EncodeInferResponse("m", "id", *response));
    if (!again || again->size() != response->size()) std::abort();
  }
  return 0;
}
