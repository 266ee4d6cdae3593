// Fuzz target: Binary HTTP (RFC 9292) request and response decoding of untrusted bytes.
// Whatever decodes must re-encode (known-length) and decode back to the same message.
#include <cstddef>
#include <cstdint>

#include "crypto/bhttp.h"

namespace {

template <typename Message, typename Decode, typename Encode>
void CheckRoundTrip(crypta::ByteSpan input, Decode decode, Encode encode) {
  crypta::Result<Message> m = decode(input, crypta::BhttpLimits{});
  if (!m) return;
  crypta::Result<crypta::Bytes> wire =
      encode(*m, crypta::BhttpEncodeOptions{}, crypta::BhttpLimits{});
  if (!wire) __builtin_trap();  // a decoded message is always encodable
  crypta::Result<Message> again = decode(*wire, crypta::BhttpLimits{});
  if (!again || !(*again == *m)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta;
  ByteSpan input(data, size);
  CheckRoundTrip<BhttpRequest>(input, DecodeBhttpRequest, EncodeBhttpRequest);
  CheckRoundTrip<BhttpResponse>(input, DecodeBhttpResponse, EncodeBhttpResponse);
  // Tight limits reach the cap checks with small inputs.
  BhttpLimits tight;
  tight.max_field_bytes = 8;
  tight.max_fields = 2;
  tight.max_section_bytes = 24;
  tight.max_content_bytes = 16;
  tight.max_informational = 1;
  (void)DecodeBhttpRequest(input, tight);
  (void)DecodeBhttpResponse(input, tight);
  return 0;
}
