// The confidential inference path (DESIGN.md §4.5): crypta-runtime as an Oblivious HTTP
// gateway (RFC 9458) whose inner messages are Binary HTTP (RFC 9292) requests to the
// Open Inference Protocol routes, dispatched in-process (never over a socket).
//
//   POST /v1/ohttp   message/ohttp-req -> 200 message/ohttp-res
//   POST /predict    {"encrypted_input": base64(ohttp-req)}
//                    -> {"success":true,"encrypted_result":base64(ohttp-res)}
//                    or {"success":false,"error":"…"} with 4xx/5xx
//
// Outer failures (not decryptable, replayed, unknown key, over the size cap) are answered
// in the clear with 400/413/503 and a coarse reason; once a request decrypts, every answer,
// errors included, goes back encrypted inside a BHTTP response. Nothing of the inner
// request or response is logged.
//
// Receipts (issue 17, runtime/receipts.h): with a ReceiptSigner, every inner response
// carries a "crypta-receipt" header field whose request_digest is SHA-256 of the
// encapsulated request as received (hashed before it is decrypted in place) and whose
// response_digest is SHA-256 of the inner response's content. When no receipt can be
// issued (no evidence), the answer is an encrypted 503 without the model's output.
#ifndef CRYPTA_RUNTIME_OHTTP_SERVICE_H_
#define CRYPTA_RUNTIME_OHTTP_SERVICE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/bhttp.h"
#include "crypto/hash.h"
#include "crypto/ohttp.h"
#include "crypto/ohttp_chunked.h"
#include "runtime/key_ring.h"
#include "runtime/metrics.h"
#include "runtime/oip_router.h"
#include "runtime/receipts.h"
#include "runtime/request_hasher.h"

namespace crypta::runtime {

inline constexpr char kOhttpRequestType[] = "message/ohttp-req";
inline constexpr char kOhttpResponseType[] = "message/ohttp-res";

struct OhttpServiceLimits {
  OhttpLimits ohttp;
  BhttpLimits bhttp;
  size_t max_predict_body_bytes = (96u << 20);  // base64 of a maximal OHTTP request
};

class OhttpService {
 public:
  // All pointers must outlive the service. `metrics` may be null; `receipts` null means
  // responses carry no receipt.
  // With receipts, requests of at least kOverlapHashBytes are decrypted out of place and
  // `hash_threads` workers (RequestHasher) compute their digest while the model runs, so the
  // digest overlaps with inference instead of adding to it.
  OhttpService(OhttpKeyRing* ring, const OipRouter* router, Metrics* metrics,
               OhttpServiceLimits limits = {}, const ReceiptSigner* receipts = nullptr,
               size_t hash_threads = 1)
      : ring_(ring),
        router_(router),
        metrics_(metrics),
        limits_(std::move(limits)),
        receipts_(receipts),
        hasher_(receipts != nullptr ? std::make_unique<RequestHasher>(hash_threads) : nullptr) {}
  static constexpr size_t kOverlapHashBytes = 64 * 1024;

  // POST /v1/ohttp. Thread-safe.
  HttpReply HandleOhttp(std::string_view encapsulated_request);
  // The same, decrypting in place in the caller's request buffer, which it overwrites: on
  // return the buffer holds no plaintext (the decrypted part is wiped, and the whole buffer
  // on failure). (With receipts, a request of kOverlapHashBytes or more is instead decrypted
  // into a per-thread buffer, wiped the same way, and the request buffer is left as sent.) No copy
  // of the request is made: the BHTTP message is decoded as views into the decrypted buffer and the
  // router gets its content as a string_view; the BHTTP response is encoded straight into the one
  // buffer that is then sealed in place and returned as the reply body (moved, not copied).
  HttpReply HandleOhttpInPlace(MutableByteSpan encapsulated_request);
  // POST /v1/ohttp with message/ohttp-chunked-req (draft-ietf-ohai-chunked-ohttp-08): the
  // request opened chunk by chunk (a truncated, reordered or tampered one is refused with
  // 400 before it reaches the model), answered as message/ohttp-chunked-res in 16 KiB
  // chunks, with a receipt over the whole encapsulated request as received. The body is read
  // whole by the server first (for now). A streamed inner route (generate_stream) is answered
  // as a stream (HttpReply::stream): one sealed chunk per event as the model produces it, the
  // receipt in the BHTTP trailer section of the final chunk. Thread-safe.
  HttpReply HandleOhttpChunked(ByteSpan encapsulated_request);

  // The same in two steps, so that opening overlaps with receiving: the server feeds each
  // piece of the body to a ChunkedIntake as it arrives (chunks are opened as they complete),
  // then FinishChunked answers once the body is whole (with receipts, a large request is
  // hashed on a RequestHasher worker while the model runs, as one-shot requests are). After
  // the first error Feed ignores the rest; FinishChunked reports it.
  class ChunkedIntake {
   public:
    ~ChunkedIntake();
    void Feed(ByteSpan piece);

   private:
    friend class OhttpService;
    ChunkedIntake(std::shared_ptr<KeyEpoch> epoch, const ChunkedOhttpLimits& limits);
    std::shared_ptr<KeyEpoch> epoch_;
    ChunkedRequestOpener opener_;
    Bytes bhttp_;  // the plaintext so far (wiped on destruction)
    std::optional<Error> error_;
  };
  std::unique_ptr<ChunkedIntake> StartChunked() const;
  // `encapsulated_request` is the whole body that was fed (its hdr || enc is replay-checked).
  HttpReply FinishChunked(ChunkedIntake& intake, ByteSpan encapsulated_request);
  // POST /predict. Thread-safe.
  HttpReply HandlePredict(std::string_view body);

  // Decapsulates, dispatches and encapsulates one message: the encapsulated response, or
  // the outer error (codes of OhttpKeyRing::Open).
  Result<Bytes> Process(ByteSpan encapsulated_request);
  // The same, decrypting in place (the buffer is overwritten, and wiped as above).
  Result<Bytes> ProcessInPlace(MutableByteSpan encapsulated_request);

 private:
  // ProcessInPlace's work, with the encapsulated response in a string (an HTTP body).
  Result<std::string> ProcessToString(MutableByteSpan encapsulated_request);
  // The same for receipts on large requests: decrypted out of place, the request digest
  // computed on a RequestHasher worker while the model runs.
  Result<std::string> ProcessOverlapped(MutableByteSpan encapsulated_request);
  // Runs one inner request (views into the decrypted buffer) through the router. The OIP
  // binary tensor data header (inference-header-content-length) is passed through both ways.
  // A streamed route's reply keeps its stream only with `allow_stream` (it is collected
  // otherwise).
  HttpReply Dispatch(ByteSpan bhttp_request, bool allow_stream = false);

  OhttpKeyRing* ring_;
  const OipRouter* router_;
  Metrics* metrics_;
  OhttpServiceLimits limits_;
  const ReceiptSigner* receipts_;
  std::unique_ptr<RequestHasher> hasher_;  // with receipts
};

// The outer HTTP status for a failed Process: 413 for a size cap, 503 for a rotated key or
// an internal failure to encapsulate, otherwise 400 (RFC 9458 §5.2).
int OuterStatusFor(const Error& error);

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_OHTTP_SERVICE_H_
