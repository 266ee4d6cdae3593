// Binary HTTP messages (RFC 9292): the plaintext inside Oblivious HTTP (RFC 9458).
//
// Decoding accepts known-length (framing indicators 0 and 1, §3.1) and
// indeterminate-length (2 and 3, §3.2) messages, zero padding (§3.8) and messages
// truncated at a section boundary (§3.8: absent sections are empty). Encoding writes
// known-length messages by default, or indeterminate-length ones on request, with
// optional padding.
//
// Field names must be lowercase tokens (§3.6 and RFC 9110 §5.1); values must not hold
// CR, LF or NUL (RFC 9110 §5.5). Control data is checked against RFC 9110's grammar
// (method a token, scheme per RFC 3986, no spaces or controls in authority and path).
//
// Two forms of each message: owning (BhttpRequest, BhttpResponse: strings and Bytes) and
// views (BhttpRequestView, BhttpResponseView: string_views and a ByteSpan into memory the
// caller keeps alive). The view decoders copy nothing of the message (one exception below);
// the Into encoders write a known- or indeterminate-length message straight into a caller's
// buffer of BhttpEncodedSize() bytes, e.g. after the OHTTP header inside the buffer that is
// then sealed in place. Both forms produce and accept exactly the same bytes.
//
// Failures: malformed or truncated input → kInvalidArgument with the field named
// ("bhttp request header field 3 name: ..."); a size cap exceeded → kResourceExhausted.
// All functions are thread-safe.
#ifndef CRYPTA_CRYPTO_BHTTP_H_
#define CRYPTA_CRYPTO_BHTTP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta {

struct BhttpField {
  std::string name;  // lowercase token
  std::string value;
  bool operator==(const BhttpField&) const = default;
};
using BhttpFields = std::vector<BhttpField>;

// Returns the first value of `name` (lowercase) or nullptr.
const std::string* FindBhttpField(const BhttpFields& fields, std::string_view name);

// §3.4 request control data plus the header section, content and trailer section.
struct BhttpRequest {
  std::string method;
  std::string scheme;
  std::string authority;  // may be empty (then a Host header field usually carries it)
  std::string path;
  BhttpFields headers;
  Bytes content;
  BhttpFields trailers;
  bool operator==(const BhttpRequest&) const = default;
};

// §3.5.1 an informational (1xx) response preceding the final one.
struct BhttpInformational {
  int status = 0;  // 100..199
  BhttpFields headers;
  bool operator==(const BhttpInformational&) const = default;
};

struct BhttpResponse {
  std::vector<BhttpInformational> informational;
  int status = 0;  // 200..599
  BhttpFields headers;
  Bytes content;
  BhttpFields trailers;
  bool operator==(const BhttpResponse&) const = default;
};

// ---------------------------------------------------------------- views

// A field whose name and value point into a message or into the caller's strings.
struct BhttpFieldView {
  std::string_view name;
  std::string_view value;
  bool operator==(const BhttpFieldView&) const = default;
};
using BhttpFieldViews = std::vector<BhttpFieldView>;

// The first value of `name` (lowercase), or nullopt.
std::optional<std::string_view> FindBhttpFieldView(const BhttpFieldViews& fields,
                                                   std::string_view name);

// A request whose strings and content point into memory owned elsewhere (the decoded
// message, or the caller's strings when encoding). `joined_content` is set only by the
// decoder, for indeterminate-length content sent in more than one chunk (§3.7): the chunks
// joined (the one copy a view decoder makes); `content` then points into it. It is shared,
// so copies of a view stay valid.
struct BhttpRequestView {
  std::string_view method;
  std::string_view scheme;
  std::string_view authority;
  std::string_view path;
  BhttpFieldViews headers;
  ByteSpan content;
  BhttpFieldViews trailers;
  std::shared_ptr<const Bytes> joined_content;
};

struct BhttpInformationalView {
  int status = 0;  // 100..199
  BhttpFieldViews headers;
};

struct BhttpResponseView {
  std::vector<BhttpInformationalView> informational;
  int status = 0;  // 200..599
  BhttpFieldViews headers;
  ByteSpan content;
  BhttpFieldViews trailers;
  std::shared_ptr<const Bytes> joined_content;  // as in BhttpRequestView
};

// Views of owning messages (valid while `m` is alive and unchanged), and owning copies of
// views.
BhttpRequestView ViewOf(const BhttpRequest& m);
BhttpResponseView ViewOf(const BhttpResponse& m);
BhttpRequest ToOwned(const BhttpRequestView& v);
BhttpResponse ToOwned(const BhttpResponseView& v);

// Caps for untrusted input (and checked by the encoder too). Defaults fit inference
// requests with multi-megabyte tensors.
struct BhttpLimits {
  size_t max_message_bytes = 64u << 20;  // the whole encoded message, padding included
  size_t max_content_bytes = 64u << 20;
  size_t max_field_bytes = 16u << 10;    // one name or one value
  size_t max_section_bytes = 64u << 10;  // one header or trailer section, encoded
  size_t max_fields = 256;               // per section
  size_t max_control_bytes = 8u << 10;   // each of method, scheme, authority, path
  size_t max_informational = 16;         // 1xx responses before the final one
};

struct BhttpEncodeOptions {
  bool indeterminate_length = false;  // framing 2/3 instead of 0/1
  // §3.8: omit trailing empty sections (trailers; then content; then headers), as
  // RFC 9458 Appendix A's messages do. Known-length only.
  bool truncate_empty_tail = false;
  size_t padding = 0;  // zero bytes appended (§3.8)
};

Result<Bytes> EncodeBhttpRequest(const BhttpRequest& request,
                                 const BhttpEncodeOptions& options = {},
                                 const BhttpLimits& limits = {});
Result<Bytes> EncodeBhttpResponse(const BhttpResponse& response,
                                  const BhttpEncodeOptions& options = {},
                                  const BhttpLimits& limits = {});

// The exact size the encoders write for `m` with `options` (padding included). Pure
// arithmetic: it checks nothing (the encoders do).
size_t BhttpEncodedSize(const BhttpRequestView& m, const BhttpEncodeOptions& options = {});
size_t BhttpEncodedSize(const BhttpResponseView& m, const BhttpEncodeOptions& options = {});

// Encodes into out[0, BhttpEncodedSize(m, options)) and returns that size. The message is
// checked first, exactly as by EncodeBhttpRequest/Response (same errors), so nothing is
// written on failure; kInvalidArgument too when `out` is shorter than the message.
Result<size_t> EncodeBhttpRequestInto(const BhttpRequestView& m, MutableByteSpan out,
                                      const BhttpEncodeOptions& options = {},
                                      const BhttpLimits& limits = {});
Result<size_t> EncodeBhttpResponseInto(const BhttpResponseView& m, MutableByteSpan out,
                                       const BhttpEncodeOptions& options = {},
                                       const BhttpLimits& limits = {});

// Decoders reject a message of the other kind (framing indicator 1/3 for a request),
// unknown framing indicators, non-zero padding and anything over the limits.
Result<BhttpRequest> DecodeBhttpRequest(ByteSpan message, const BhttpLimits& limits = {});
Result<BhttpResponse> DecodeBhttpResponse(ByteSpan message, const BhttpLimits& limits = {});
// The same checks and errors, returning views into `message` (which must outlive them).
Result<BhttpRequestView> DecodeBhttpRequestView(ByteSpan message, const BhttpLimits& limits = {});
Result<BhttpResponseView> DecodeBhttpResponseView(ByteSpan message, const BhttpLimits& limits = {});

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_BHTTP_H_
