// Streaming Binary HTTP responses (RFC 9292 §3.2 indeterminate length; issue 18): a response
// written as its parts become ready — the head (status and header section), then content
// chunks, then the end (content terminator and trailer section) — and read back as bytes
// arrive, whatever their split. What the streaming inference route sends inside chunked
// OHTTP (crypto/ohttp_chunked.h).
//
// The reader validates with the whole-message decoder (bhttp.h): the head and the trailer
// section are each decoded as a complete message, so exactly the same rules apply. It is
// stricter than §3.8 in one way: an indeterminate-length response must end its content with
// the terminator (a stream that stops mid-content is kDataLoss, never a shorter answer
// presented as whole). A known-length response (framing 1) is accepted too, delivered at
// Finish(). Errors: as bhttp.h, plus kDataLoss (ended early) and kFailedPrecondition (use
// after the end or after an error). Not thread-safe.
#ifndef CRYPTA_CRYPTO_BHTTP_STREAM_H_
#define CRYPTA_CRYPTO_BHTTP_STREAM_H_

#include <cstddef>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/bhttp.h"

namespace crypta {

// Framing indicator 3, the final status (200..599) and the header section.
Result<Bytes> EncodeBhttpResponseHead(int status, const BhttpFields& headers,
                                      const BhttpLimits& limits = {});
// One content chunk: varint(length) || data. `data` must not be empty (an empty chunk would
// end the content).
Result<Bytes> EncodeBhttpContentChunk(ByteSpan data);
// The content terminator and the trailer section.
Result<Bytes> EncodeBhttpResponseEnd(const BhttpFields& trailers = {},
                                     const BhttpLimits& limits = {});

struct BhttpStreamEvent {
  enum class Kind { kHead, kContent, kEnd };
  Kind kind = Kind::kHead;
  int status = 0;      // kHead
  BhttpFields fields;  // kHead: the header section; kEnd: the trailer section
  Bytes content;       // kContent
};

class BhttpResponseStreamReader {
 public:
  explicit BhttpResponseStreamReader(const BhttpLimits& limits = {}) : limits_(limits) {}
  // The events completed by `data`, in order.
  Result<std::vector<BhttpStreamEvent>> Feed(ByteSpan data);
  // The end of the stream: the remaining events (all of them for a known-length response),
  // or kDataLoss when the response is incomplete.
  Result<std::vector<BhttpStreamEvent>> Finish();

 private:
  enum class State { kHead, kContent, kTrailers, kPadding, kKnownLength };
  Status Parse(std::vector<BhttpStreamEvent>& out);
  BhttpLimits limits_;
  State state_ = State::kHead;
  Bytes buffer_;
  size_t pos_ = 0;
  size_t total_ = 0, content_ = 0;
  bool failed_ = false, finished_ = false;
};

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_BHTTP_STREAM_H_
