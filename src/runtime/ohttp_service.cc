#include "runtime/ohttp_service.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>

#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/bhttp_stream.h"
#include "crypto/hash.h"

namespace crypta::runtime {
namespace {

using nlohmann::json;

// RFC 9292 field names are lowercase; the OIP binary tensor data extension's header.
constexpr char kInferenceHeaderField[] = "inference-header-content-length";

std::string LowerFieldName(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

HttpReply PredictError(int status, std::string_view message) {
  return HttpReply{status, "application/json",
                   json{{"success", false}, {"error", std::string(message)}}.dump(
                       -1, ' ', false, json::error_handler_t::replace)};
}

}  // namespace

int OuterStatusFor(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kResourceExhausted:
      return 413;
    case ErrorCode::kUnavailable:
    case ErrorCode::kInternal:
      return 503;
    default:
      return 400;
  }
}

HttpReply OhttpService::Dispatch(ByteSpan bhttp_request, bool allow_stream) {
  Result<BhttpRequestView> request = DecodeBhttpRequestView(bhttp_request, limits_.bhttp);
  if (!request) return ErrorReply(400, request.error().message());
  std::string_view path = request->path;
  if (size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);

  const auto start = std::chrono::steady_clock::now();
  HttpReply reply;
  if (!OipRouter::Owns(path)) {
    reply = ErrorReply(404, "no such route inside OHTTP (only /v2/... is served)");
  } else {
    HttpCall call{std::string(request->method), std::string(path), AsStringView(request->content),
                  std::nullopt};
    if (std::optional<std::string_view> v =
            FindBhttpFieldView(request->headers, kInferenceHeaderField)) {
      call.inference_header_length = *v;
    }
    reply = router_->Handle(call);
    if (!allow_stream) reply = CollectStream(std::move(reply));
  }
  if (metrics_ != nullptr) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metrics_->ObserveRequest(RouteLabel(path), "ohttp", reply.status, seconds);
  }
  return reply;
}

namespace {

// The reply as a BHTTP response view (RFC 9292 §3.6: lowercase field names) with its receipt
// over `request_sha256` and its content when `receipts` is set (signed with `presignature`
// when one was prepared). The view points into `reply` and `parts`, which must stay put.
// kUnavailable when no receipt can be issued: the reply's body is then wiped (fail closed:
// no receipt, no model output; the detail goes to the log only).
struct ReplyParts {
  BhttpResponseView view;
  std::vector<std::string> lowered;
  std::string receipt;
};
Status BuildReplyView(HttpReply& reply, const ReceiptSigner* receipts, ByteSpan request_sha256,
                      EcdsaPresignature* presignature, ReplyParts& parts) {
  if (receipts != nullptr) {
    Result<std::string> signed_receipt =
        receipts->Sign(request_sha256, AsBytes(reply.body), presignature);
    if (!signed_receipt) {
      fprintf(stderr, "crypta-runtime: cannot issue a receipt: %s\n",
              signed_receipt.error().ToString().c_str());
      SecureWipe(MutableByteSpan(reinterpret_cast<uint8_t*>(reply.body.data()), reply.body.size()));
      return MakeError(ErrorCode::kUnavailable, "no receipt");
    }
    parts.receipt = std::move(*signed_receipt);
  }
  parts.view.status = reply.status;
  parts.lowered.reserve(reply.headers.size());
  parts.view.headers.push_back({"content-type", reply.content_type});
  for (const auto& [name, value] : reply.headers) {
    parts.lowered.push_back(LowerFieldName(name));
    parts.view.headers.push_back({parts.lowered.back(), value});
  }
  if (!parts.receipt.empty()) parts.view.headers.push_back({kReceiptHeaderField, parts.receipt});
  parts.view.content = AsBytes(reply.body);
  return OkStatus();
}

// The receipt's request digest: with a `hasher`, computed on a RequestHasher worker (which for
// ES256 also prepares the signature's nonce) while this thread decrypts and the model runs,
// inline when no worker is idle; without one, inline at Finish. The worker reads `request`
// until it is done: the destructor waits for it on every path.
class RequestDigest {
 public:
  RequestDigest(RequestHasher* hasher, const ReceiptSigner* receipts, ByteSpan request)
      : request_(request) {
    if (hasher == nullptr) return;
    job_ = hasher->Start(request, [this, receipts] {
      if (Result<EcdsaPresignature> p = receipts->PrepareSignature(); p) {
        presignature_ = std::move(*p);
      }
    });
  }
  ~RequestDigest() {
    if (job_) job_->Wait();
  }
  RequestDigest(const RequestDigest&) = delete;
  RequestDigest& operator=(const RequestDigest&) = delete;

  Bytes Finish() { return job_ ? job_->Wait() : Sha256(request_); }
  // Prepared by the worker (empty when none was, or for Ed25519); valid after Finish.
  EcdsaPresignature* presignature() { return &presignature_; }

 private:
  ByteSpan request_;
  EcdsaPresignature presignature_;  // written by the worker before Wait returns
  std::shared_ptr<RequestHasher::Job> job_;
};

HttpReply NoReceiptReply() {
  return ErrorReply(503, "the runtime cannot issue a receipt now; retry later");
}

// RFC 9458 §4.4 in one buffer: response_nonce || BHTTP response (encoded straight into
// place, RFC 9292 known-length) || tag, sealed in place. The reply body is wiped after.
// With `receipts`, the response carries a receipt over `request_sha256` and its content
// (signed with `presignature` when one was prepared).
Result<std::string> SealReply(HttpReply& reply, const OhttpResponseContext& context,
                              const BhttpLimits& limits, const ReceiptSigner* receipts,
                              ByteSpan request_sha256, EcdsaPresignature* presignature = nullptr) {
  ReplyParts parts;
  if (!BuildReplyView(reply, receipts, request_sha256, presignature, parts)) {
    HttpReply error = NoReceiptReply();
    return SealReply(error, context, limits, nullptr, {});
  }
  const BhttpResponseView& response = parts.view;
  const size_t nonce_size = context.ResponseNonceSize();
  const size_t size = BhttpEncodedSize(response);
  std::string sealed(nonce_size + size + kAeadTagSize, '\0');
  MutableByteSpan buffer(reinterpret_cast<uint8_t*>(sealed.data()), sealed.size());
  Result<size_t> encoded =
      EncodeBhttpResponseInto(response, buffer.subspan(nonce_size, size), {}, limits);
  SecureWipe(MutableByteSpan(reinterpret_cast<uint8_t*>(reply.body.data()), reply.body.size()));
  if (!encoded) {
    // The model's answer does not fit the caps: say so, still encrypted.
    SecureWipe(buffer);
    HttpReply error = ErrorReply(500, "response exceeds the size cap");
    return SealReply(error, context, BhttpLimits{}, receipts, request_sha256);
  }
  if (!context.EncapsulateResponseInPlace(buffer)) {
    SecureWipe(buffer);
    return MakeError(ErrorCode::kInternal, "cannot encapsulate the response");
  }
  return sealed;
}

// The same as a chunked OHTTP response (draft-ietf-ohai-chunked-ohttp §6.2): the BHTTP
// response sealed in chunks of kOhttpChunkBytes, the last one final.
Result<std::string> SealChunkedReply(HttpReply& reply, ChunkedResponseSealer& sealer,
                                     const BhttpLimits& limits, const ReceiptSigner* receipts,
                                     ByteSpan request_sha256,
                                     EcdsaPresignature* presignature = nullptr) {
  ReplyParts parts;
  if (!BuildReplyView(reply, receipts, request_sha256, presignature, parts)) {
    HttpReply error = NoReceiptReply();
    return SealChunkedReply(error, sealer, limits, nullptr, {});
  }
  Bytes bhttp(BhttpEncodedSize(parts.view));
  Result<size_t> encoded = EncodeBhttpResponseInto(parts.view, bhttp, {}, limits);
  SecureWipe(MutableByteSpan(reinterpret_cast<uint8_t*>(reply.body.data()), reply.body.size()));
  if (!encoded) {
    SecureWipe(bhttp);
    HttpReply error = ErrorReply(500, "response exceeds the size cap");
    return SealChunkedReply(error, sealer, BhttpLimits{}, receipts, request_sha256);
  }
  std::string out(sealer.nonce().begin(), sealer.nonce().end());
  const Status sealed = SealInChunks(sealer, bhttp, out);
  SecureWipe(bhttp);
  CRYPTA_RETURN_IF_ERROR(sealed);
  return out;
}

// A streamed inner reply as a streamed chunked OHTTP response: the first outer piece is
// response_nonce || the sealed BHTTP head (indeterminate length, RFC 9292 §3.2); each piece
// of the inner stream goes out as one BHTTP content chunk in one sealed OHTTP chunk as soon
// as it is produced; the end is the content terminator and a trailer section holding the
// receipt (over the request and the SHA-256 of all content sent), sealed as the final chunk.
// An inner stream that breaks, or a receipt that cannot be issued, ends the outer stream with
// an error before the final chunk: the client sees a truncated response, never a whole one.
HttpReply StreamChunkedReply(HttpReply inner, ChunkedResponseSealer sealer,
                             const BhttpLimits& limits, const ReceiptSigner* receipts,
                             Bytes request_sha256) {
  struct State {
    HttpReply inner;
    ChunkedResponseSealer sealer;
    BhttpLimits limits;
    const ReceiptSigner* receipts;
    Bytes request_sha256;
    Hasher content{HashAlg::kSha256};
    enum class Stage { kHead, kContent, kDone } stage = Stage::kHead;
  };
  auto state = std::make_shared<State>(
      State{std::move(inner), std::move(sealer), limits, receipts, std::move(request_sha256)});
  HttpReply outer{200, kOhttpChunkedResponseType, "", {{"Incremental", "?1"}}};
  outer.stream = [state]() -> Result<std::optional<std::string>> {
    State& st = *state;
    auto seal = [&st](Bytes plain, bool final) -> Result<std::optional<std::string>> {
      Result<Bytes> sealed = final ? st.sealer.SealFinal(plain) : st.sealer.Seal(plain);
      SecureWipe(plain);
      if (!sealed) return MakeError(sealed.error());
      return std::optional<std::string>(std::string(sealed->begin(), sealed->end()));
    };
    // The next event sealed as one chunk, or at the end the final chunk (content terminator
    // and the trailer section with the receipt).
    auto next_sealed = [&st, &seal]() -> Result<std::optional<std::string>> {
      while (true) {
        Result<std::optional<std::string>> piece = st.inner.stream();
        if (!piece) {
          st.stage = State::Stage::kDone;
          return MakeError(piece.error());
        }
        if (*piece && (*piece)->empty()) continue;
        if (*piece) {
          st.content.Update(AsBytes(**piece));
          CRYPTA_ASSIGN_OR_RETURN(Bytes chunk, EncodeBhttpContentChunk(AsBytes(**piece)));
          SecureWipe(
              MutableByteSpan(reinterpret_cast<uint8_t*>((*piece)->data()), (*piece)->size()));
          return seal(std::move(chunk), false);
        }
        break;
      }
      st.stage = State::Stage::kDone;
      BhttpFields trailers;
      if (st.receipts != nullptr) {
        Result<std::string> receipt =
            st.receipts->SignDigests(st.request_sha256, st.content.Finish());
        if (!receipt) {
          fprintf(stderr, "crypta-runtime: cannot issue a receipt: %s\n",
                  receipt.error().ToString().c_str());
          return MakeError(ErrorCode::kUnavailable, "no receipt");
        }
        trailers.push_back({kReceiptHeaderField, std::move(*receipt)});
      }
      CRYPTA_ASSIGN_OR_RETURN(Bytes end, EncodeBhttpResponseEnd(trailers, st.limits));
      return seal(std::move(end), true);
    };
    switch (st.stage) {
      case State::Stage::kHead: {
        BhttpFields fields{{"content-type", st.inner.content_type}};
        for (const auto& [name, value] : st.inner.headers) {
          fields.push_back({LowerFieldName(name), value});
        }
        CRYPTA_ASSIGN_OR_RETURN(Bytes head,
                                EncodeBhttpResponseHead(st.inner.status, fields, st.limits));
        st.stage = State::Stage::kContent;
        CRYPTA_ASSIGN_OR_RETURN(std::optional<std::string> sealed_head,
                                seal(std::move(head), false));
        // The first event goes out with the head, in the same write: one round trip between
        // the writer and the producer fewer before the first token.
        std::string first(st.sealer.nonce().begin(), st.sealer.nonce().end());
        first += *sealed_head;
        CRYPTA_ASSIGN_OR_RETURN(std::optional<std::string> event, next_sealed());
        if (event) first += *event;
        return std::optional<std::string>(std::move(first));
      }
      case State::Stage::kContent:
        return next_sealed();
      case State::Stage::kDone:
        break;
    }
    return std::optional<std::string>();
  };
  return outer;
}

}  // namespace

Result<std::string> OhttpService::ProcessOverlapped(MutableByteSpan encapsulated_request) {
  RequestDigest digest(hasher_.get(), receipts_, encapsulated_request);
  // Out of place, so the ciphertext stays as received, into a per-thread buffer reused across
  // requests (no allocation per request; only buffers up to kMaxReusedBytes are kept).
  constexpr size_t kMaxReusedBytes = size_t{8} << 20;
  thread_local Bytes reused;
  Bytes own;
  Bytes& plaintext = encapsulated_request.size() <= kMaxReusedBytes ? reused : own;
  if (plaintext.size() < encapsulated_request.size()) plaintext.resize(encapsulated_request.size());
  const MutableByteSpan out(plaintext.data(), encapsulated_request.size());
  Result<OhttpKeyRing::OpenedInPlace> opened =
      ring_->OpenInto(encapsulated_request, out, limits_.ohttp);
  if (!opened) {
    SecureWipe(out);
    return MakeError(opened.error());
  }
  HttpReply reply = Dispatch(opened->bhttp_request);
  SecureWipe(opened->bhttp_request);  // the plaintext
  const Bytes request_sha256 = digest.Finish();
  return SealReply(reply, opened->context, limits_.bhttp, receipts_, request_sha256,
                   digest.presignature());
}

Result<std::string> OhttpService::ProcessToString(MutableByteSpan encapsulated_request) {
  if (hasher_ != nullptr && encapsulated_request.size() >= kOverlapHashBytes) {
    return ProcessOverlapped(encapsulated_request);
  }
  // The receipt's request_digest covers the request as received: hashed before the buffer
  // is decrypted in place.
  Bytes request_sha256;
  if (receipts_ != nullptr) request_sha256 = Sha256(encapsulated_request);
  Result<OhttpKeyRing::OpenedInPlace> opened =
      ring_->OpenInPlace(encapsulated_request, limits_.ohttp);
  if (!opened) {
    // Whatever was decrypted before the failure (if anything) goes; failures are rare and
    // the buffer is the request's own.
    SecureWipe(encapsulated_request);
    return MakeError(opened.error());
  }
  HttpReply reply = Dispatch(opened->bhttp_request);
  SecureWipe(opened->bhttp_request);  // the plaintext; the rest of the buffer is public
  return SealReply(reply, opened->context, limits_.bhttp, receipts_, request_sha256);
}

Result<Bytes> OhttpService::Process(ByteSpan encapsulated_request) {
  Bytes copy(encapsulated_request.begin(), encapsulated_request.end());
  return ProcessInPlace(copy);
}

Result<Bytes> OhttpService::ProcessInPlace(MutableByteSpan encapsulated_request) {
  CRYPTA_ASSIGN_OR_RETURN(std::string out, ProcessToString(encapsulated_request));
  return ToBytes(out);
}

HttpReply OhttpService::HandleOhttp(std::string_view encapsulated_request) {
  std::string copy(encapsulated_request);
  return HandleOhttpInPlace(MutableByteSpan(reinterpret_cast<uint8_t*>(copy.data()), copy.size()));
}

HttpReply OhttpService::HandleOhttpInPlace(MutableByteSpan encapsulated_request) {
  Result<std::string> out = ProcessToString(encapsulated_request);
  if (!out) return ErrorReply(OuterStatusFor(out.error()), out.error().message());
  return HttpReply{200, kOhttpResponseType, std::move(*out), {}};
}

OhttpService::ChunkedIntake::ChunkedIntake(std::shared_ptr<KeyEpoch> epoch,
                                           const ChunkedOhttpLimits& limits)
    : epoch_(std::move(epoch)), opener_(&epoch_->gateway, limits) {}

OhttpService::ChunkedIntake::~ChunkedIntake() { SecureWipe(bhttp_); }

void OhttpService::ChunkedIntake::Feed(ByteSpan piece) {
  if (error_) return;
  // Each chunk is decrypted straight onto the end of the request (no per-chunk buffer).
  Status fed = opener_.FeedInto(piece, bhttp_);
  if (!fed) error_ = fed.error();
}

std::unique_ptr<OhttpService::ChunkedIntake> OhttpService::StartChunked() const {
  ChunkedOhttpLimits chunk_limits;
  chunk_limits.max_message_bytes = limits_.ohttp.max_request_bytes;
  return std::unique_ptr<ChunkedIntake>(new ChunkedIntake(ring_->Current(), chunk_limits));
}

HttpReply OhttpService::HandleOhttpChunked(ByteSpan encapsulated_request) {
  std::unique_ptr<ChunkedIntake> intake = StartChunked();
  intake->Feed(encapsulated_request);
  return FinishChunked(*intake, encapsulated_request);
}

HttpReply OhttpService::FinishChunked(ChunkedIntake& intake, ByteSpan encapsulated_request) {
  Result<HttpReply> out = [&]() -> Result<HttpReply> {
    if (intake.error_) return MakeError(*intake.error_);
    CRYPTA_RETURN_IF_ERROR(intake.opener_.FinishInto(intake.bhttp_));
    KeyEpoch& epoch = *intake.epoch_;
    const size_t enc = HpkeEncSize(epoch.gateway.key_config().kem);
    CRYPTA_RETURN_IF_ERROR(ring_->CheckFresh(epoch, encapsulated_request.subspan(7, enc)));
    CRYPTA_ASSIGN_OR_RETURN(ChunkedResponseSealer sealer, intake.opener_.ResponseSealer());
    // The receipt covers the request as received (the chunks were opened out of place). As
    // for one-shot requests, a large one is hashed on a worker while the model runs.
    const bool overlap = receipts_ != nullptr && encapsulated_request.size() >= kOverlapHashBytes;
    RequestDigest digest(overlap ? hasher_.get() : nullptr, receipts_, encapsulated_request);
    HttpReply reply = Dispatch(intake.bhttp_, /*allow_stream=*/true);
    SecureWipe(intake.bhttp_);
    Bytes request_sha256;
    if (receipts_ != nullptr) request_sha256 = digest.Finish();
    if (reply.stream) {
      return StreamChunkedReply(std::move(reply), std::move(sealer), limits_.bhttp, receipts_,
                                std::move(request_sha256));
    }
    CRYPTA_ASSIGN_OR_RETURN(std::string sealed,
                            SealChunkedReply(reply, sealer, limits_.bhttp, receipts_,
                                             request_sha256, digest.presignature()));
    return HttpReply{200, kOhttpChunkedResponseType, std::move(sealed), {{"Incremental", "?1"}}};
  }();
  if (!out) return ErrorReply(OuterStatusFor(out.error()), out.error().message());
  return std::move(*out);
}

HttpReply OhttpService::HandlePredict(std::string_view body) {
  JsonParseLimits json_limits;
  json_limits.max_bytes = limits_.max_predict_body_bytes;
  json_limits.max_depth = 4;
  Result<json> parsed = ParseJsonStrict(body, json_limits);
  if (!parsed) {
    return PredictError(HttpStatusFor(parsed.error().code()),
                        "request body: " + parsed.error().message());
  }
  if (!parsed->is_object() || !parsed->contains("encrypted_input") ||
      !(*parsed)["encrypted_input"].is_string()) {
    return PredictError(400, "request body: \"encrypted_input\" must be a base64 string");
  }
  const std::string& text = (*parsed)["encrypted_input"].get_ref<const std::string&>();
  Result<Bytes> request = Base64Decode(text);
  if (!request) request = Base64UrlDecode(text);
  if (!request) return PredictError(400, "encrypted_input: not base64");
  Result<Bytes> out = Process(*request);
  if (!out) return PredictError(OuterStatusFor(out.error()), out.error().message());
  return HttpReply{200, "application/json",
                   json{{"success", true}, {"encrypted_result", Base64Encode(*out)}}.dump()};
}

}  // namespace crypta::runtime
