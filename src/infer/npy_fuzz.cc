// Fuzzes the .npy parser: no input may crash it, and whatever parses must re-encode to a
// file that parses to the same tensor.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "infer/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta::infer;
  auto tensor = ParseNpy(crypta::ByteSpan(data, size), "x");
  if (tensor) {
    auto again = ParseNpy(EncodeNpy(*tensor), "x");
    if (!again || again->data != tensor->data || again->shape != tensor->shape ||
        again->dtype != tensor->dtype) {
      std::abort();
    }
  }
  return 0;
}
