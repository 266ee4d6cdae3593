// Fuzz target: DCAP collateral JSON (PCS TCB info / QE identity bodies, inner objects).
// Invariant: the raw signed member is a substring of the input that parses on its own.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "attest/dcap/collateral.h"
#include "common/json_canonical.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta;
  using namespace crypta::attest::dcap;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const char* member : {"tcbInfo", "enclaveIdentity"}) {
    if (Result<SignedJson> s = SplitSignedJson(text, member)) {
      if (text.find(s->body) == std::string_view::npos) __builtin_trap();
      if (!ParseJsonStrict(s->body)) __builtin_trap();
      (void)ParseTcbInfo(s->body);
      (void)ParseEnclaveIdentity(s->body);
    }
  }
  (void)ParseTcbInfo(text);
  (void)ParseEnclaveIdentity(text);
  return 0;
}
