// The crypta client SDK: verify a crypta-runtime's attestation, then talk to it end to end
// encrypted (DESIGN.md §4.5: OHTTP, RFC 9458, whose key config the TEE's evidence binds).
//
//   auto service = VerifyService("http://10.0.0.5:8443", expectations);
//   if (!service) { /* refused: service.error().message() names every violation */ }
//   auto outputs = service->Infer("tiny_cnn", {input_tensor});
//
// VerifyService sends a fresh random nonce, and accepts the service only when
//   1. the runtime echoes the nonce in runtime_data (the evidence is fresh);
//   2. the evidence verifies with crypta's verifiers: vendor roots pinned (SNP, TDX, SGX);
//      the simulated TEE only when the caller allows it AND gives the platform's sim root;
//   3. the evidence's report_data equals SHA-384(JCS(runtime_data)) zero-padded to 64 bytes
//      (so the OHTTP key config in runtime_data is the one the TEE chose);
//   4. measurement, host data, debug, TCB status, the optional appraisal policy and the
//      optional platform EAR token all hold — every violation is reported, not the first.
// Only then is the OHTTP key config parsed and trusted. Nothing is sent to the model before.
//
// Errors: kPermissionDenied "service verification failed: <violation>; <violation>…" for a
// service that verified but does not meet the expectations; kUnauthenticated for evidence
// that does not verify, a nonce or report_data mismatch, or a response that does not
// authenticate; kInvalidArgument for malformed attestation JSON (the field is named);
// kUnavailable / kResourceExhausted from the transport; the model server's own HTTP errors
// (decrypted) as kInvalidArgument (4xx) or kInternal (5xx) with its "error" text.
//
// Receipts (issue 17, receipt.h): when the verified runtime_data binds a "receipt-key", every
// response through Send/Infer/InferJson/Predict/PredictJson must carry a receipt signed by
// that key over this request and response (a 2xx answer without one, or with one that does
// not verify, is kUnauthenticated); Predict and PredictJson also return it. A runtime whose
// attestation binds no receipt key (older) issues none: issues_receipts() is false.
//
// Thread-safety: a VerifiedService is immutable; Encrypt, Decrypt, Send and Infer may run
// concurrently (each request has its own OHTTP context).
#ifndef CRYPTA_CLIENT_CLIENT_H_
#define CRYPTA_CLIENT_CLIENT_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "attest/evidence.h"
#include "attest/policy.h"
#include "client/http_transport.h"
#include "client/receipt.h"
#include "client/transparency.h"
#include "common/bytes.h"
#include "common/status.h"
#include "crypto/bhttp.h"
#include "crypto/ohttp.h"
#include "infer/model_runner.h"
#include "infer/oip.h"

namespace crypta::client {

// A platform EAR token (DESIGN.md §4.4) vouching for a measurement: its signature must
// verify with a key of `jwks_json` (the platform's /.well-known/jwks.json), it must be
// unexpired, from `issuer`, with submods.cpu0 "ear.status" "affirming" (or, when
// simulated TEEs are allowed, "warning" for the simulated hardware alone); its annotated
// evidence's measurement then counts as an expected measurement.
struct EarExpectation {
  std::string token;
  std::string jwks_json;
  std::string issuer = "crypta";
};

struct Expectations {
  std::vector<Bytes> measurements;  // accepted measurements (any one matches)
  std::vector<Bytes> host_data;     // when non-empty, the host data must be one of these
  bool allow_simulated = false;     // the sim TEE isolates nothing: off by default
  bool allow_debug = false;
  // Intel TDX/SGX evidence must come with the PCK CRL and the Root CA CRL (signed by the
  // pinned Intel root, current, not listing the chain): the runtime's host supplies the
  // collateral, so without them revocation is unknown and the service is refused.
  bool allow_missing_revocation = false;
  // Worst acceptable TCB status (Intel order, attest::TcbStatusRank); kUnknown accepts all.
  attest::TcbStatus worst_tcb_status = attest::TcbStatus::kUpToDate;
  std::optional<attest::AppraisalPolicy> policy;  // appraised in addition to the above
  std::optional<EarExpectation> ear;
  std::string model_digest;  // "sha256:<hex>": runtime_data.model-digest must equal it
  std::string workload;      // runtime_data.workload must equal it
  // The release transparency log (transparency.h): VerifyService also requires the attested
  // measurement and model digest to be published there. A policy with require_published
  // needs it (VerifyAttestation alone refuses such a policy: it does no I/O).
  std::optional<TransparencyExpectation> transparency;
  // The platform's sim root CA (PEM): required, and only used, when allow_simulated.
  std::string sim_root_pem;
  // Verification time (Unix seconds) for certificates and tokens; 0 = now.
  int64_t now = 0;
};
// With no measurement, policy or EAR given, nothing pins the code: verification fails with
// "no expected measurement" (the error still shows the measurement, so it can be pinned).

struct ClientOptions {
  TransportOptions transport;
  size_t max_attestation_bytes = 1u << 20;
  // Requests whose Binary HTTP message is at least this many bytes go as chunked OHTTP
  // (message/ohttp-chunked-req, draft-ietf-ohai-chunked-ohttp-08, sealed in 16 KiB chunks;
  // crypto/ohttp_chunked.h); 0 = never (the default until the streaming work of issue 18
  // makes chunked the faster form for large requests).
  size_t chunked_request_bytes = 0;
};

// What Predict / PredictJson return: the answer and, from a runtime that issues receipts,
// its receipt (already verified) with what re-verifying it offline needs.
struct PredictResult {
  std::string response;                // PredictJson: the OIP response body
  std::vector<infer::Tensor> outputs;  // Predict: the decoded outputs
  std::string receipt;                 // the receipt (JWS compact); "" without receipts
  Bytes encapsulated_request;          // with a receipt: the message/ohttp-req body sent,
  Bytes response_content;              // the decrypted response content it covers,
  std::shared_ptr<const VerifiedAttestationRecord> attestation;  // and the attestation it names
  // The receipt bundle (receipt.h EncodeReceiptBundle) as JSON text; kFailedPrecondition
  // without a receipt.
  Result<std::string> ReceiptBundle() const;
};

// One event of a streamed generation (generate_stream, runtime/generation.h).
struct GenerationEvent {
  std::string text_output;  // this step's text (one token)
  nlohmann::json data;      // the whole event object ({"model_name","text_output"})
};

class GenerationStream;

class VerifiedService {
 public:
  const attest::Claims& claims() const { return claims_; }
  // {"nonce","ohttp-key-config","tls-spki-sha256","workload","model-digest"} as attested.
  // ... and "receipt-key" (a JWK) from a runtime that signs receipts.
  const nlohmann::json& runtime_data() const { return runtime_data_; }
  const OhttpKeyConfig& key_config() const { return key_config_; }
  // The verified claims, runtime_data and key config as JSON (for printing).
  nlohmann::json ToJson() const;

  // Encapsulates a Binary HTTP request to the attested key config (RFC 9458 §4.3). Keep
  // the returned context to open this request's response, and only this one.
  Result<OhttpEncapsulatedRequest> Encrypt(const BhttpRequest& request) const;
  // The same into a caller's buffer, for callers that send many requests: `wire` is resized
  // to the encapsulated request (hdr || enc || ct || tag) and keeps its capacity, so a buffer
  // reused across requests is allocated (and faulted in) once. The BHTTP message is encoded
  // straight into place after hdr || enc and sealed there: no other body-sized buffer. On
  // return `wire` holds only ciphertext and public header bytes (it is wiped on failure), so
  // reusing it leaks nothing of an earlier request. `request` may point into any memory.
  Result<OhttpClientContext> EncryptInto(const BhttpRequestView& request, Bytes& wire) const;
  // Opens an encapsulated response with the context of its request (§4.4) and decodes
  // the Binary HTTP response. kUnauthenticated when it does not authenticate.
  Result<BhttpResponse> Decrypt(const OhttpClientContext& context,
                                ByteSpan encapsulated_response) const;
  // Encrypt, POST /v1/ohttp, Decrypt. Needs a transport (kFailedPrecondition without).
  // Send seals into a per-thread buffer reused across calls (EncryptInto; a buffer grown
  // past 16 MiB is released after the call).
  Result<BhttpResponse> Send(const BhttpRequest& request) const;
  Result<BhttpResponse> Send(const BhttpRequestView& request) const;

  // OIP v2 through OHTTP: POST /v2/models/<model>/infer with `request_json` (an OIP
  // inference request); returns the decrypted OIP response body. Non-2xx answers are
  // errors carrying the server's "error" text. Model names: [A-Za-z0-9._-]{1,128}.
  Result<std::string> InferJson(std::string_view model, std::string_view request_json) const;
  // The same with tensors encoded and decoded by infer/oip.h: by default with the OIP binary
  // tensor data extension both ways (raw tensor bytes after a small JSON header, the
  // inference-header-content-length field; far smaller and cheaper than JSON numbers),
  // or as OIP JSON.
  enum class InferEncoding { kBinary, kJson };
  Result<std::vector<infer::Tensor>> Infer(std::string_view model,
                                           const std::vector<infer::Tensor>& inputs,
                                           InferEncoding encoding = InferEncoding::kBinary) const;
  // Binary encoding from tensors in the caller's memory (the SDKs pass NumPy arrays and
  // typed arrays here): their bytes are read in place, copied only into the request body.
  Result<std::vector<infer::Tensor>> Infer(std::string_view model,
                                           const std::vector<infer::TensorView>& inputs) const;
  // Text generation (models whose signature declares "generate"; runtime/generation.h):
  // POST /v2/models/<model>/generate with `request_json` ({"text_input":…,"parameters":
  // {"max_tokens":N}}); returns the decrypted response body {"model_name","text_output"}.
  Result<std::string> GenerateJson(std::string_view model, std::string_view request_json) const;
  // POST /v2/models/<model>/generate_stream through chunked OHTTP: the request goes out
  // sealed, and each event is opened and handed over as the model produces it (the
  // GenerationStream reads on a thread of its own). Errors of the request itself (an unknown
  // model, a bad request) come from the first Next().
  Result<std::unique_ptr<GenerationStream>> GenerateStream(std::string_view model,
                                                           std::string_view request_json) const;
  // The same from a prompt and a token budget (what the CLI and the SDKs call): Generate
  // returns the whole text_output.
  Result<std::string> Generate(std::string_view model, std::string_view prompt,
                               int64_t max_tokens) const;
  Result<std::unique_ptr<GenerationStream>> GenerateStream(std::string_view model,
                                                           std::string_view prompt,
                                                           int64_t max_tokens) const;
  // GET /v2/models/<model> through OHTTP: the model's OIP metadata JSON.
  Result<nlohmann::json> ModelMetadata(std::string_view model) const;

  // Whether the attested runtime signs receipts (its runtime_data binds a receipt key).
  bool issues_receipts() const { return receipts_ != nullptr; }
  // The release the transparency log proved for this service (Expectations::transparency),
  // or nullopt when no log was checked.
  const std::optional<PublishedRelease>& published() const { return published_; }
  // InferJson and Infer (binary encoding), returning the receipt with the answer.
  Result<PredictResult> PredictJson(std::string_view model, std::string_view request_json) const;
  Result<PredictResult> Predict(std::string_view model,
                                const std::vector<infer::TensorView>& inputs) const;

 private:
  friend class VerifiedServiceAccess;
  VerifiedService(attest::Claims claims, nlohmann::json runtime_data, OhttpKeyConfig config,
                  std::shared_ptr<const HttpTransport> transport, size_t max_response_bytes,
                  std::shared_ptr<const ServiceReceipts> receipts, size_t chunked_request_bytes)
      : claims_(std::move(claims)),
        runtime_data_(std::move(runtime_data)),
        key_config_(std::move(config)),
        transport_(std::move(transport)),
        max_response_bytes_(max_response_bytes),
        receipts_(std::move(receipts)),
        chunked_request_bytes_(chunked_request_bytes) {}
  // The chunked OHTTP exchange of `request`: the encapsulated request is left in `wire`.
  Result<BhttpResponse> SendChunked(const BhttpRequestView& request, Bytes& wire) const;
  // Send, also checking the receipt; with `keep`, the receipt and what it covers go there.
  Result<BhttpResponse> Exchange(const BhttpRequestView& request, PredictResult* keep) const;
  // `json_length` set: the body uses the OIP binary tensor data extension.
  Result<BhttpResponse> Call(const std::string& method, const std::string& path,
                             std::string_view json_body,
                             std::optional<size_t> json_length = std::nullopt,
                             PredictResult* keep = nullptr) const;
  // POSTs an OIP binary-extension body to /v2/models/<model>/infer and decodes the outputs.
  Result<std::vector<infer::Tensor>> InferBinary(std::string_view model, const infer::OipBody& body,
                                                 PredictResult* keep = nullptr) const;

  attest::Claims claims_;
  nlohmann::json runtime_data_;
  OhttpKeyConfig key_config_;
  std::shared_ptr<const HttpTransport> transport_;
  size_t max_response_bytes_;
  std::shared_ptr<const ServiceReceipts> receipts_;  // null: the runtime issues no receipts
  size_t chunked_request_bytes_ = 0;                 // ClientOptions::chunked_request_bytes
  std::optional<PublishedRelease> published_;
};

// The events of one streamed generation, in order. Next() returns each event once it has been
// decrypted and authenticated (each OHTTP chunk is), and nullopt only at the end of a whole
// stream: the final chunk authenticated, the Binary HTTP response ended, and — from a runtime
// that issues receipts — the receipt in its trailer section verified over this request and
// every event's bytes. A stream cut off or tampered with ends with an error instead
// (kDataLoss, kUnauthenticated), so events already returned must not be taken as a complete
// answer before nullopt. A model failure mid-stream is its error event, returned as kInternal.
// Not thread-safe; destroying it early stops reading (it waits for the reading thread, at
// most until the next piece arrives or the read timeout).
class GenerationStream {
 public:
  ~GenerationStream();
  GenerationStream(const GenerationStream&) = delete;
  GenerationStream& operator=(const GenerationStream&) = delete;

  Result<std::optional<GenerationEvent>> Next();
  // Once Next() returned nullopt: the whole event-stream body (`response`), the receipt and
  // what it covers (ReceiptBundle() then works); empty before.
  const PredictResult& result() const { return result_; }

  struct Shared;  // the queue between the reading thread and Next (generation_stream.cc)

 private:
  friend class VerifiedService;
  GenerationStream() = default;
  std::shared_ptr<Shared> shared_;
  std::thread reader_;
  PredictResult result_;
};

// {"text_input": prompt, "parameters": {"max_tokens": N}}: a generate request body.
std::string GenerateRequestJson(std::string_view prompt, int64_t max_tokens);

// SHA-384(JCS(runtime_data)) zero-padded to 64 bytes: what the TEE's report_data must be
// (the same binding as kbs/rcar.h RcarReportData, reimplemented here so clients do not
// link the control plane's state library). Fails when runtime_data cannot be
// canonicalized (RFC 8785).
Result<Bytes> ServiceReportData(const nlohmann::json& runtime_data);

// The verification itself, without I/O: `attestation` is the body of
// GET /v1/attestation?nonce=<hex(nonce)>. `transport` (may be null) is kept for Send/Infer.
Result<VerifiedService> VerifyAttestation(const nlohmann::json& attestation, ByteSpan nonce,
                                          const Expectations& expectations,
                                          std::shared_ptr<const HttpTransport> transport = nullptr,
                                          const ClientOptions& options = {});

// With expectations.transparency: CheckPublished (transparency.h) for the verified service's
// measurement and model digest; the service comes back with published() set, or the error.
Result<VerifiedService> CheckServicePublished(VerifiedService service,
                                              const Expectations& expectations);

// Fetches fresh attestation (32-byte random nonce) over `transport`, verifies it and, with
// expectations.transparency, checks the release log (CheckServicePublished) — all before
// anything is sent to the model.
Result<VerifiedService> VerifyService(std::shared_ptr<const HttpTransport> transport,
                                      const Expectations& expectations,
                                      const ClientOptions& options = {});
// The same for a URL "http://HOST:PORT".
Result<VerifiedService> VerifyService(const std::string& url, const Expectations& expectations,
                                      const ClientOptions& options = {});

}  // namespace crypta::client

#endif  // CRYPTA_CLIENT_CLIENT_H_
