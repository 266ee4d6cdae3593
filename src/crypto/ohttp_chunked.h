// Chunked Oblivious HTTP (draft-ietf-ohai-chunked-ohttp-08, issue 18): requests and responses
// sealed and opened chunk by chunk, so neither side waits for a whole message.
//
//   request  = hdr || enc || { varint(len) || HPKE-sealed chunk }* || varint(0) || final chunk
//   response = response_nonce || { varint(len) || sealed chunk }* || varint(0) || final chunk
// Request chunks are sealed with the request's HPKE context (info label "message/bhttp
// chunked request"; the HPKE sequence number orders them); response chunks with the AEAD key
// and nonce derived as in RFC 9458 §4.4 from the secret exported under "message/bhttp
// chunked response", chunk i's nonce being that nonce XOR i (§6.2). The final chunk of each
// is sealed with the AAD "final" and runs to the end of the stream: a stream that ends
// without it is truncated, and Finish() says so — never a partial message presented as
// whole. A non-final chunk with no plaintext is an error (§6).
//
// The openers are push parsers: Feed() takes whatever bytes arrived (any split) and returns
// the plaintext of every chunk they completed; Finish() is called at the end of the stream.
// Errors: kInvalidArgument (malformed framing, an empty non-final chunk), kUnauthenticated
// (a chunk that does not open: tampered, reordered, duplicated, or a final chunk without
// its "final" AAD), kResourceExhausted (a chunk or message over the limits), kDataLoss
// (Finish without a final chunk: truncated), kFailedPrecondition (use after the end or after
// an error). After an error an object refuses everything.
//
// Not thread-safe: one object per message and direction.
#ifndef CRYPTA_CRYPTO_OHTTP_CHUNKED_H_
#define CRYPTA_CRYPTO_OHTTP_CHUNKED_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "common/bytes.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/aead.h"
#include "crypto/hpke.h"
#include "crypto/ohttp.h"

namespace crypta {

inline constexpr char kOhttpChunkedRequestType[] = "message/ohttp-chunked-req";
inline constexpr char kOhttpChunkedResponseType[] = "message/ohttp-chunked-res";

struct ChunkedOhttpLimits {
  // Largest sealed chunk accepted (the draft requires at least 16384 bytes of plaintext).
  size_t max_chunk_bytes = size_t{1} << 20;
  // Largest whole encapsulated message.
  size_t max_message_bytes = (size_t{64} << 20) + 4096;
};

class ChunkedResponseOpener;
class ChunkedResponseSealer;

namespace chunked_internal {
// The framing both openers share: a fixed-size prefix, then length-prefixed chunks, then
// the final chunk up to the end of the stream.
class ChunkReader {
 public:
  ChunkReader(size_t prefix_size, const ChunkedOhttpLimits& limits)
      : prefix_size_(prefix_size), limits_(limits) {}
  // Appends `data`; returns false on a limit (the error is in *error).
  bool Append(ByteSpan data, Status* error);
  // The prefix once it is complete.
  std::optional<ByteSpan> Prefix() const;
  void set_prefix_size(size_t size) { prefix_size_ = size; }
  // Chunks start after the prefix (call once Prefix() was used).
  void ConsumePrefix();
  // The next complete non-final chunk (sealed bytes, a view valid until the next Append),
  // consumed; nullopt when none is complete yet or the final indicator was reached. Errors on
  // a malformed varint or a chunk over the limit.
  Result<std::optional<ByteSpan>> NextChunk();
  bool in_final() const { return in_final_; }
  // Everything after the final indicator (valid once the stream ended; a view as above).
  ByteSpan TakeFinal();

 private:
  size_t prefix_size_;
  ChunkedOhttpLimits limits_;
  Bytes buffer_;
  size_t pos_ = 0;  // consumed bytes of buffer_ (after the prefix)
  size_t total_ = 0;
  bool prefix_done_ = false;
  bool in_final_ = false;
};
}  // namespace chunked_internal

// ---------------------------------------------------------------- client

class ChunkedRequestSealer {
 public:
  // A new request to `config` (suite as ChooseOhttpSuite picks it).
  static Result<ChunkedRequestSealer> Create(const OhttpKeyConfig& config,
                                             const OhttpRequestOptions& options = {});
  // hdr || enc: the first bytes of the request.
  const Bytes& header() const { return header_; }
  // varint(len) || sealed chunk; `chunk` must not be empty.
  Result<Bytes> Seal(ByteSpan chunk);
  // varint(0) || the final chunk sealed with AAD "final" (may be empty). Ends the request.
  Result<Bytes> SealFinal(ByteSpan chunk);
  // The same appended to `out`, encrypted straight into place (no other copy; `out` is left
  // as it was on failure).
  Status SealInto(ByteSpan chunk, Bytes& out);
  Status SealFinalInto(ByteSpan chunk, Bytes& out);
  // The opener of this request's response (usable before the request is finished).
  Result<ChunkedResponseOpener> ResponseOpener(const ChunkedOhttpLimits& limits = {}) const;

 private:
  ChunkedRequestSealer(HpkeSuite suite, Bytes enc, Bytes header, HpkeSenderContext context,
                       SecretBytes response_secret)
      : suite_(suite),
        enc_(std::move(enc)),
        header_(std::move(header)),
        context_(std::move(context)),
        response_secret_(std::move(response_secret)) {}
  HpkeSuite suite_;
  Bytes enc_;
  Bytes header_;
  HpkeSenderContext context_;
  SecretBytes response_secret_;
  bool finished_ = false;
  Status SealChunkInto(ByteSpan chunk, bool final, Bytes& out);
};

class ChunkedResponseOpener {
 public:
  // The plaintext of every chunk completed by `data` (response_nonce first).
  Result<std::vector<Bytes>> Feed(ByteSpan data);
  // The end of the stream: the final chunk's plaintext, or kDataLoss when it never came.
  Result<Bytes> Finish();

 private:
  friend class ChunkedRequestSealer;
  ChunkedResponseOpener(HpkeSuite suite, Bytes enc, SecretBytes secret,
                        const ChunkedOhttpLimits& limits);
  Status OpenChunk(ByteSpan sealed, bool final, Bytes* plaintext);
  HpkeSuite suite_;
  Bytes enc_;
  SecretBytes secret_;
  chunked_internal::ChunkReader reader_;
  std::optional<Aead> aead_;
  SecretBytes nonce_;
  uint64_t counter_ = 0;
  bool failed_ = false, finished_ = false;
};

// ---------------------------------------------------------------- gateway

class ChunkedRequestOpener {
 public:
  explicit ChunkedRequestOpener(const OhttpGateway* gateway, const ChunkedOhttpLimits& limits = {})
      : gateway_(gateway), reader_(7, limits) {}
  // The plaintext of every chunk completed by `data` (the header first: a wrong key id or
  // suite fails as OhttpGateway::SetupRecipient does).
  Result<std::vector<Bytes>> Feed(ByteSpan data);
  // The end of the stream: the final chunk's plaintext, or kDataLoss when it never came.
  Result<Bytes> Finish();
  // The same, each chunk decrypted straight onto the end of `out` (no per-chunk buffers: what
  // a gateway assembling the whole request uses). On an error `out` may hold a zeroed tail.
  Status FeedInto(ByteSpan data, Bytes& out);
  Status FinishInto(Bytes& out);
  // The sealer of the response, once the header has been read (kFailedPrecondition before).
  Result<ChunkedResponseSealer> ResponseSealer() const;
  // The same with a fixed response nonce of max(Nn, Nk) bytes: known-answer tests only.
  Result<ChunkedResponseSealer> ResponseSealerWithNonceForTesting(ByteSpan nonce) const;

 private:
  // Frames `data` and hands each complete sealed chunk to `open` (in order, with its index).
  Status Consume(ByteSpan data, const std::function<Status(ByteSpan sealed)>& open);
  // Opens one sealed chunk into `out` (ciphertext size - 16 bytes).
  Status OpenChunk(ByteSpan sealed, bool final, MutableByteSpan out);
  const OhttpGateway* gateway_;
  chunked_internal::ChunkReader reader_;
  std::optional<OhttpGateway::Recipient> recipient_;
  bool failed_ = false, finished_ = false;
};

class ChunkedResponseSealer {
 public:
  // response_nonce: the first bytes of the response.
  const Bytes& nonce() const { return response_nonce_; }
  // varint(len) || sealed chunk; `chunk` must not be empty.
  Result<Bytes> Seal(ByteSpan chunk);
  // varint(0) || the final chunk sealed with AAD "final" (may be empty). Ends the response.
  Result<Bytes> SealFinal(ByteSpan chunk);

 private:
  friend class ChunkedRequestOpener;
  ChunkedResponseSealer(Bytes response_nonce, Aead aead, SecretBytes nonce)
      : response_nonce_(std::move(response_nonce)),
        aead_(std::move(aead)),
        nonce_(std::move(nonce)) {}
  Result<Bytes> SealChunk(ByteSpan chunk, bool final);
  Bytes response_nonce_;
  Aead aead_;
  SecretBytes nonce_;
  uint64_t counter_ = 0;
  bool finished_ = false;
};

// The chunk size senders use by default: what every receiver must accept (§3).
inline constexpr size_t kOhttpChunkBytes = 16 * 1024;

// A whole message through a sealer (ChunkedRequestSealer or ChunkedResponseSealer): `data`
// in chunks of `chunk_bytes`, the last one final, appended to `out` (Bytes or std::string).
template <typename Sealer, typename Out>
Status SealInChunks(Sealer& sealer, ByteSpan data, Out& out,
                    size_t chunk_bytes = kOhttpChunkBytes) {
  size_t at = 0;
  while (data.size() - at > chunk_bytes) {
    CRYPTA_ASSIGN_OR_RETURN(Bytes chunk, sealer.Seal(data.subspan(at, chunk_bytes)));
    out.insert(out.end(), chunk.begin(), chunk.end());
    at += chunk_bytes;
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes last, sealer.SealFinal(data.subspan(at)));
  out.insert(out.end(), last.begin(), last.end());
  return OkStatus();
}

// A whole message through an opener (ChunkedRequestOpener or ChunkedResponseOpener): every
// chunk of `data`, then Finish, joined (the pieces are wiped as they are joined).
template <typename Opener>
Result<Bytes> OpenWhole(Opener& opener, ByteSpan data) {
  CRYPTA_ASSIGN_OR_RETURN(std::vector<Bytes> chunks, opener.Feed(data));
  CRYPTA_ASSIGN_OR_RETURN(Bytes last, opener.Finish());
  chunks.push_back(std::move(last));
  Bytes whole;
  for (Bytes& chunk : chunks) {
    whole.insert(whole.end(), chunk.begin(), chunk.end());
    SecureWipe(chunk);
  }
  return whole;
}

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_OHTTP_CHUNKED_H_
