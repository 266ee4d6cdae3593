// VerifyService (fetch attestation with a fresh nonce) and the VerifiedService calls:
// Binary HTTP (RFC 9292) inside Oblivious HTTP (RFC 9458) to POST /v1/ohttp.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "client/client.h"
#include "client/exchange.h"
#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/ohttp_chunked.h"
#include "crypto/random.h"
#include "infer/oip.h"

namespace crypta::client {
namespace {

using nlohmann::json;

constexpr size_t kNonceBytes = 32;
// RFC 9458 §9.1 / §9.2 media types.
constexpr char kOhttpRequestType[] = "message/ohttp-req";

constexpr char kOhttpResponseType[] = "message/ohttp-res";

}  // namespace

nlohmann::json VerifiedService::ToJson() const {
  json out = claims_.ToJson();
  out["runtime_data"] = runtime_data_;
  json algorithms = json::array();
  for (const OhttpSymmetricAlgorithm& a : key_config_.algorithms) {
    algorithms.push_back({{"kdf", static_cast<int>(a.kdf)}, {"aead", static_cast<int>(a.aead)}});
  }
  out["ohttp_key_config"] = {{"key_id", key_config_.key_id},
                             {"kem", static_cast<int>(key_config_.kem)},
                             {"public_key", HexEncode(key_config_.public_key)},
                             {"algorithms", algorithms}};
  return out;
}

Result<OhttpEncapsulatedRequest> VerifiedService::Encrypt(const BhttpRequest& request) const {
  Bytes wire;
  CRYPTA_ASSIGN_OR_RETURN(OhttpClientContext context, EncryptInto(ViewOf(request), wire));
  return OhttpEncapsulatedRequest{std::move(wire), std::move(context)};
}

Result<OhttpClientContext> VerifiedService::EncryptInto(const BhttpRequestView& request,
                                                        Bytes& wire) const {
  // RFC 9458 §4.3 in one buffer: hdr || enc || BHTTP request (RFC 9292 known-length, encoded
  // in place) || tag, then sealed in place.
  const size_t prefix = OhttpRequestPrefixSize(key_config_.kem);
  if (prefix == 0) {
    return MakeError(ErrorCode::kUnimplemented, "the attested OHTTP key config's KEM");
  }
  const size_t size = BhttpEncodedSize(request);
  // resize() keeps the capacity, and every byte of [0, size) is overwritten below.
  wire.resize(prefix + size + kAeadTagSize);
  Result<size_t> encoded =
      EncodeBhttpRequestInto(request, MutableByteSpan(wire).subspan(prefix, size));
  if (!encoded) return MakeError(encoded.error());
  Result<OhttpClientContext> context = EncapsulateOhttpRequestInPlace(key_config_, wire);
  if (!context) {
    SecureWipe(wire);
    return MakeError(context.error());
  }
  return context;
}

Result<BhttpResponse> VerifiedService::Decrypt(const OhttpClientContext& context,
                                               ByteSpan encapsulated_response) const {
  OhttpLimits limits;
  limits.max_response_bytes = max_response_bytes_;
  Result<Bytes> message = context.DecapsulateResponse(encapsulated_response, limits);
  if (!message) {
    return MakeError(message.error().WithContext(
        "OHTTP response rejected (tampered, or not the answer to this request)"));
  }
  Result<BhttpResponse> response = DecodeBhttpResponse(*message);
  if (!response) return MakeError(response.error().WithContext("decrypted OHTTP response"));
  return response;
}

Result<BhttpResponse> VerifiedService::Send(const BhttpRequest& request) const {
  return Send(ViewOf(request));
}

Result<BhttpResponse> VerifiedService::Send(const BhttpRequestView& request) const {
  return Exchange(request, nullptr);
}

Result<BhttpResponse> VerifiedService::SendChunked(const BhttpRequestView& request,
                                                   Bytes& wire) const {
  Bytes bhttp(BhttpEncodedSize(request));
  struct Wipe {
    Bytes& b;
    ~Wipe() { SecureWipe(b); }
  } wipe{bhttp};
  CRYPTA_RETURN_IF_ERROR(EncodeBhttpRequestInto(request, bhttp));
  BhttpResponse response;
  CRYPTA_RETURN_IF_ERROR(ChunkedOhttpExchange(*transport_, key_config_, bhttp, max_response_bytes_,
                                              wire, [&response](BhttpStreamEvent& event) {
                                                AddToResponse(event, response);
                                                return OkStatus();
                                              }));
  return response;
}

Result<BhttpResponse> VerifiedService::Exchange(const BhttpRequestView& request,
                                                PredictResult* keep) const {
  if (!transport_) {
    return MakeError(ErrorCode::kFailedPrecondition, "this VerifiedService has no transport");
  }
  // One buffer per thread, reused: large bodies are then not allocated and faulted in again
  // on every call. It holds ciphertext only between calls (see EncryptInto).
  constexpr size_t kKeepBytes = 16u << 20;
  thread_local Bytes wire;
  struct Release {
    Bytes& b;
    ~Release() {
      if (b.capacity() > kKeepBytes) Bytes().swap(b);
    }
  } release{wire};
  BhttpResponse response;
  if (chunked_request_bytes_ != 0 && BhttpEncodedSize(request) >= chunked_request_bytes_) {
    CRYPTA_ASSIGN_OR_RETURN(response, SendChunked(request, wire));
  } else {
    CRYPTA_ASSIGN_OR_RETURN(OhttpClientContext context, EncryptInto(request, wire));
    CRYPTA_ASSIGN_OR_RETURN(HttpReply reply, transport_->Post("/v1/ohttp", kOhttpRequestType, wire,
                                                              max_response_bytes_));
    CRYPTA_RETURN_IF_ERROR(CheckOhttpReply(reply, transport_->base_url(), kOhttpResponseType));
    CRYPTA_ASSIGN_OR_RETURN(response, Decrypt(context, AsBytes(reply.body)));
  }
  if (!receipts_) return response;
  // Issue 17: the receipt, verified before the answer is used.
  // In the header section, or in the trailer section of a streamed answer.
  const std::string* receipt = FindBhttpField(response.headers, kReceiptField);
  if (receipt == nullptr) receipt = FindBhttpField(response.trailers, kReceiptField);
  if (receipt == nullptr) {
    // An error answer without a receipt (e.g. the runtime could not issue one) is reported
    // as the error it is (Call); a successful answer must carry one.
    if (response.status >= 400) return response;
    return MakeError(ErrorCode::kUnauthenticated,
                     "the runtime attested a receipt key but its response carries no receipt");
  }
  CRYPTA_ASSIGN_OR_RETURN(std::shared_ptr<const VerifiedAttestationRecord> attestation,
                          receipts_->Check(*receipt, wire, response.content, transport_.get()));
  if (keep != nullptr) {
    keep->receipt = *receipt;
    keep->encapsulated_request.assign(wire.begin(), wire.end());
    keep->response_content = response.content;
    keep->attestation = std::move(attestation);
  }
  return response;
}

Result<BhttpResponse> VerifiedService::Call(const std::string& method, const std::string& path,
                                            std::string_view json_body,
                                            std::optional<size_t> json_length,
                                            PredictResult* keep) const {
  // Views of the caller's body and of these strings: the body is copied only once, into the
  // buffer it is sealed in.
  const std::string length = json_length ? std::to_string(*json_length) : std::string();
  BhttpRequestView request;
  request.method = method;
  request.scheme = "https";
  request.authority = "crypta-runtime";
  request.path = path;
  request.headers.push_back({"accept", "application/json"});
  if (method == "POST") {
    request.headers.push_back(
        {"content-type", json_length ? "application/octet-stream" : "application/json"});
    if (json_length) request.headers.push_back({infer::kInferenceHeaderContentLengthLower, length});
    request.content = AsBytes(json_body);
  }
  CRYPTA_ASSIGN_OR_RETURN(BhttpResponse response, Exchange(request, keep));
  if (response.status < 200 || response.status > 299) return MakeError(ServerError(response));
  return response;
}

Result<std::string> VerifiedService::InferJson(std::string_view model,
                                               std::string_view request_json) const {
  CRYPTA_RETURN_IF_ERROR(CheckModelName(model));
  CRYPTA_ASSIGN_OR_RETURN(
      BhttpResponse response,
      Call("POST", "/v2/models/" + std::string(model) + "/infer", request_json));
  return std::string(AsStringView(response.content));
}

Result<std::string> VerifiedService::GenerateJson(std::string_view model,
                                                  std::string_view request_json) const {
  CRYPTA_RETURN_IF_ERROR(CheckModelName(model));
  CRYPTA_ASSIGN_OR_RETURN(
      BhttpResponse response,
      Call("POST", "/v2/models/" + std::string(model) + "/generate", request_json));
  return std::string(AsStringView(response.content));
}

std::string GenerateRequestJson(std::string_view prompt, int64_t max_tokens) {
  return json{{"text_input", std::string(prompt)}, {"parameters", {{"max_tokens", max_tokens}}}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::string> VerifiedService::Generate(std::string_view model, std::string_view prompt,
                                              int64_t max_tokens) const {
  CRYPTA_ASSIGN_OR_RETURN(std::string response,
                          GenerateJson(model, GenerateRequestJson(prompt, max_tokens)));
  Result<json> parsed = ParseJsonStrict(response);
  if (!parsed || !parsed->is_object() || !parsed->contains("text_output") ||
      !(*parsed)["text_output"].is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "generate response: no \"text_output\" string");
  }
  return (*parsed)["text_output"].get<std::string>();
}

Result<std::unique_ptr<GenerationStream>> VerifiedService::GenerateStream(
    std::string_view model, std::string_view prompt, int64_t max_tokens) const {
  return GenerateStream(model, GenerateRequestJson(prompt, max_tokens));
}

Result<std::vector<infer::Tensor>> VerifiedService::Infer(std::string_view model,
                                                          const std::vector<infer::Tensor>& inputs,
                                                          InferEncoding encoding) const {
  if (encoding == InferEncoding::kJson) {
    infer::InferRequest request;
    request.inputs = inputs;
    CRYPTA_ASSIGN_OR_RETURN(std::string body, InferJson(model, infer::EncodeInferRequest(request)));
    Result<std::vector<infer::Tensor>> outputs = infer::ParseInferResponse(body);
    if (!outputs) return MakeError(outputs.error().WithContext("inference response"));
    return outputs;
  }
  // The binary tensor data extension both ways: raw tensor bytes after a small JSON header.
  std::vector<infer::TensorView> views;
  views.reserve(inputs.size());
  for (const infer::Tensor& t : inputs) views.push_back({t.name, t.dtype, t.shape, t.data});
  return Infer(model, views);
}

Result<std::vector<infer::Tensor>> VerifiedService::Infer(
    std::string_view model, const std::vector<infer::TensorView>& inputs) const {
  CRYPTA_ASSIGN_OR_RETURN(infer::OipBody body, infer::EncodeInferRequestBinary(inputs));
  return InferBinary(model, body);
}

Result<std::vector<infer::Tensor>> VerifiedService::InferBinary(std::string_view model,
                                                                const infer::OipBody& body,
                                                                PredictResult* keep) const {
  CRYPTA_RETURN_IF_ERROR(CheckModelName(model));
  CRYPTA_ASSIGN_OR_RETURN(BhttpResponse response,
                          Call("POST", "/v2/models/" + std::string(model) + "/infer", body.body,
                               body.json_length, keep));
  std::optional<size_t> json_length;
  if (const std::string* v =
          FindBhttpField(response.headers, infer::kInferenceHeaderContentLengthLower)) {
    Result<size_t> n = infer::ParseInferenceHeaderContentLength(*v);
    if (!n) return MakeError(n.error().WithContext("inference response"));
    json_length = *n;
  }
  Result<std::vector<infer::Tensor>> outputs =
      infer::ParseInferResponse(AsStringView(response.content), json_length);
  if (!outputs) return MakeError(outputs.error().WithContext("inference response"));
  return outputs;
}

Result<PredictResult> VerifiedService::PredictJson(std::string_view model,
                                                   std::string_view request_json) const {
  CRYPTA_RETURN_IF_ERROR(CheckModelName(model));
  PredictResult out;
  CRYPTA_ASSIGN_OR_RETURN(BhttpResponse response,
                          Call("POST", "/v2/models/" + std::string(model) + "/infer", request_json,
                               std::nullopt, &out));
  out.response = std::string(AsStringView(response.content));
  return out;
}

Result<PredictResult> VerifiedService::Predict(std::string_view model,
                                               const std::vector<infer::TensorView>& inputs) const {
  CRYPTA_ASSIGN_OR_RETURN(infer::OipBody body, infer::EncodeInferRequestBinary(inputs));
  PredictResult out;
  CRYPTA_ASSIGN_OR_RETURN(out.outputs, InferBinary(model, body, &out));
  return out;
}

Result<std::string> PredictResult::ReceiptBundle() const {
  if (receipt.empty() || !attestation) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "no receipt: the service's attestation binds no receipt key");
  }
  return EncodeReceiptBundle(receipt, *attestation, encapsulated_request, response_content);
}

Result<json> VerifiedService::ModelMetadata(std::string_view model) const {
  CRYPTA_RETURN_IF_ERROR(CheckModelName(model));
  CRYPTA_ASSIGN_OR_RETURN(BhttpResponse response,
                          Call("GET", "/v2/models/" + std::string(model), ""));
  Result<json> metadata = ParseJsonStrict(AsStringView(response.content));
  if (!metadata || !metadata->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "model metadata is not a JSON object");
  }
  return metadata;
}

Result<VerifiedService> VerifyService(std::shared_ptr<const HttpTransport> transport,
                                      const Expectations& expectations,
                                      const ClientOptions& options) {
  if (!transport) return MakeError(ErrorCode::kInvalidArgument, "no transport");
  CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(kNonceBytes));
  CRYPTA_ASSIGN_OR_RETURN(
      HttpReply reply,
      transport->Get("/v1/attestation?nonce=" + HexEncode(nonce), options.max_attestation_bytes));
  if (reply.status != 200) {
    return MakeError(reply.status == 429 ? ErrorCode::kResourceExhausted : ErrorCode::kUnavailable,
                     "GET " + transport->base_url() + "/v1/attestation answered " +
                         std::to_string(reply.status) + ": " + Printable(reply.body));
  }
  JsonParseLimits limits;
  limits.max_bytes = options.max_attestation_bytes;
  Result<json> doc = ParseJsonStrict(reply.body, limits);
  if (!doc) return MakeError(doc.error().WithContext("attestation response"));
  CRYPTA_ASSIGN_OR_RETURN(
      VerifiedService service,
      VerifyAttestation(*doc, nonce, expectations, std::move(transport), options));
  return CheckServicePublished(std::move(service), expectations);
}

Result<VerifiedService> VerifyService(const std::string& url, const Expectations& expectations,
                                      const ClientOptions& options) {
  CRYPTA_ASSIGN_OR_RETURN(std::shared_ptr<const HttpTransport> transport,
                          MakeHttpTransport(url, options.transport));
  return VerifyService(std::move(transport), expectations, options);
}

}  // namespace crypta::client
