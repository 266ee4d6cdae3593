// Fuzz target: the streaming Binary HTTP response reader over untrusted bytes, fed in pieces
// whose size the first input byte picks. Must never crash; a response it reads whole must be
// one the whole-message decoder reads too (same status and content).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "crypto/bhttp_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta;
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 32;
  const ByteSpan stream(data + 1, size - 1);
  BhttpLimits limits;
  limits.max_message_bytes = 1 << 16;
  limits.max_content_bytes = 1 << 15;
  BhttpResponseStreamReader reader(limits);
  int status = 0;
  Bytes content;
  auto take = [&](const std::vector<BhttpStreamEvent>& events) {
    for (const BhttpStreamEvent& e : events) {
      if (e.kind == BhttpStreamEvent::Kind::kHead) status = e.status;
      if (e.kind == BhttpStreamEvent::Kind::kContent) {
        content.insert(content.end(), e.content.begin(), e.content.end());
      }
    }
  };
  for (size_t at = 0; at < stream.size(); at += piece) {
    auto events = reader.Feed(stream.subspan(at, std::min(piece, stream.size() - at)));
    if (!events) return 0;
    take(*events);
  }
  auto rest = reader.Finish();
  if (!rest) return 0;
  take(*rest);
  auto whole = DecodeBhttpResponse(stream, limits);
  if (!whole || whole->status != status || whole->content != content) __builtin_trap();
  return 0;
}
