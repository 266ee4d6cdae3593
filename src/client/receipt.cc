// Receipt verification, bundles and the per-service receipt state (receipt.h).
#include "client/receipt.h"

#include <set>

#include "common/constant_time.h"
#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"

namespace crypta::client {
namespace {

using nlohmann::json;

constexpr char kReceiptType[] = "crypta-receipt";
constexpr int kReceiptVersion = 1;
// The payload members (receipt.h); no others are accepted.
const std::set<std::string>& PayloadMembers() {
  static const std::set<std::string> members = {"v",
                                                "request_digest",
                                                "response_digest",
                                                "model_digest",
                                                "measurement",
                                                "attestation_digest",
                                                "time",
                                                "sequence",
                                                "workload"};
  return members;
}

Error Bad(const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, "receipt: " + what);
}
Error Mismatch(const std::string& what) {
  return Error(ErrorCode::kUnauthenticated, "receipt: " + what);
}

std::string DigestOf(ByteSpan data) { return "sha256:" + HexEncode(Sha256(data)); }

bool IsSha256Digest(const std::string& s) {
  if (s.size() != 7 + 64 || s.compare(0, 7, "sha256:") != 0) return false;
  for (size_t i = 7; i < s.size(); ++i) {
    const char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Digest strings are public values, but comparing in constant time costs nothing here.
bool SameText(const std::string& a, const std::string& b) {
  return ConstantTimeEquals(AsBytes(a), AsBytes(b));
}

Result<std::string> StringMember(const json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end() || !it->is_string()) {
    return MakeError(Bad(std::string(name) + " missing or not a string"));
  }
  return it->get<std::string>();
}

// The payload's attestation_digest, read WITHOUT verifying (to pick the attestation to
// verify with); the result is untrusted until VerifyReceipt passes.
Result<std::string> PeekAttestationDigest(std::string_view jws) {
  if (jws.size() > kMaxReceiptBytes) return MakeError(Bad("over 8 KiB"));
  const size_t first = jws.find('.');
  const size_t second = first == std::string_view::npos ? first : jws.find('.', first + 1);
  if (second == std::string_view::npos) return MakeError(Bad("not a JWS compact serialization"));
  Result<Bytes> payload = Base64UrlDecode(jws.substr(first + 1, second - first - 1));
  if (!payload) return MakeError(Bad("payload is not base64url"));
  Result<json> parsed = ParseJsonStrict(AsStringView(*payload), {kMaxReceiptBytes, 4});
  if (!parsed || !parsed->is_object()) return MakeError(Bad("payload is not a JSON object"));
  return StringMember(*parsed, "attestation_digest");
}

}  // namespace

nlohmann::json ReceiptClaims::ToJson() const {
  return json{{"alg", alg},
              {"kid", kid},
              {"request_digest", request_digest},
              {"response_digest", response_digest},
              {"model_digest", model_digest},
              {"measurement", measurement},
              {"attestation_digest", attestation_digest},
              {"workload", workload},
              {"time", time},
              {"sequence", sequence}};
}

Result<PublicKey> ReceiptKeyOf(const json& runtime_data) {
  if (!runtime_data.is_object() || !runtime_data.contains("receipt-key")) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the attestation binds no receipt key (a crypta-runtime older than receipts "
                     "issues none)");
  }
  const json& jwk = runtime_data["receipt-key"];
  if (!jwk.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "runtime_data.receipt-key is not a JWK object");
  }
  Result<Jwk> parsed = ParsePublicJwk(jwk);
  if (!parsed) return MakeError(parsed.error().WithContext("runtime_data.receipt-key"));
  if (parsed->key.type() != KeyType::kEd25519 && parsed->key.type() != KeyType::kEcP256) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "runtime_data.receipt-key: want an Ed25519 or P-256 key, got " +
                         std::string(KeyTypeName(parsed->key.type())));
  }
  return std::move(parsed->key);
}

Result<ReceiptClaims> VerifyReceiptClaims(std::string_view receipt_jws,
                                          const VerifiedAttestationRecord& attestation,
                                          ByteSpan encapsulated_request,
                                          ByteSpan response_content) {
  // 1. The key the attestation binds, and the header naming it.
  CRYPTA_ASSIGN_OR_RETURN(PublicKey key, ReceiptKeyOf(attestation.runtime_data()));
  CRYPTA_ASSIGN_OR_RETURN(std::string thumbprint, JwkThumbprint(key));
  // 2. The signature (jws.h: alg must match the key; no "none", "crit" or header keys).
  JwsVerifyOptions options;
  options.allowed_algs = {JwsAlg::kEdDsa, JwsAlg::kEs256};
  options.max_token_bytes = kMaxReceiptBytes;
  Result<VerifiedJws> verified = JwsVerifyCompact(receipt_jws, key, options);
  if (!verified) {
    return MakeError(
        verified.error().code() == ErrorCode::kUnauthenticated
            ? Mismatch("signature does not verify with the attested receipt key")
            : Error(verified.error().code(), "receipt: " + verified.error().message()));
  }
  const json& header = verified->header;
  if (header.value("typ", json()) != kReceiptType) {
    return MakeError(Bad("header typ is not \"crypta-receipt\""));
  }
  if (!header.value("kid", json()).is_string() ||
      !SameText(header["kid"].get<std::string>(), thumbprint)) {
    return MakeError(Mismatch("header kid is not the attested receipt key's thumbprint"));
  }
  // 3. The payload.
  Result<json> parsed = ParseJsonStrict(AsStringView(verified->payload), {kMaxReceiptBytes, 4});
  if (!parsed || !parsed->is_object()) return MakeError(Bad("payload is not a JSON object"));
  const json& payload = *parsed;
  for (const auto& [name, value] : payload.items()) {
    if (PayloadMembers().count(name) == 0) return MakeError(Bad("unknown member \"" + name + "\""));
  }
  if (payload.size() != PayloadMembers().size()) {
    return MakeError(
        Bad("payload lacks members (want v, request_digest, response_digest, "
            "model_digest, measurement, attestation_digest, time, sequence, "
            "workload)"));
  }
  if (!payload["v"].is_number_integer() || payload["v"].get<int64_t>() != kReceiptVersion) {
    return MakeError(Bad("v is not 1"));
  }
  ReceiptClaims out;
  out.alg = std::string(JwsAlgName(verified->alg));
  out.kid = thumbprint;
  CRYPTA_ASSIGN_OR_RETURN(out.request_digest, StringMember(payload, "request_digest"));
  CRYPTA_ASSIGN_OR_RETURN(out.response_digest, StringMember(payload, "response_digest"));
  CRYPTA_ASSIGN_OR_RETURN(out.model_digest, StringMember(payload, "model_digest"));
  CRYPTA_ASSIGN_OR_RETURN(out.measurement, StringMember(payload, "measurement"));
  CRYPTA_ASSIGN_OR_RETURN(out.attestation_digest, StringMember(payload, "attestation_digest"));
  CRYPTA_ASSIGN_OR_RETURN(out.workload, StringMember(payload, "workload"));
  for (const std::string* d :
       {&out.request_digest, &out.response_digest, &out.attestation_digest}) {
    if (!IsSha256Digest(*d)) return MakeError(Bad("a digest is not sha256:<64 lowercase hex>"));
  }
  if (!payload["time"].is_number_integer() || payload["time"].get<int64_t>() < 0) {
    return MakeError(Bad("time is not a non-negative integer"));
  }
  out.time = payload["time"].get<int64_t>();
  if (!payload["sequence"].is_number_unsigned() || payload["sequence"].get<uint64_t>() == 0) {
    return MakeError(Bad("sequence is not a positive integer"));
  }
  out.sequence = payload["sequence"].get<uint64_t>();

  // 4. What it binds, against what the client kept and verified.
  if (!SameText(out.request_digest, DigestOf(encapsulated_request))) {
    return MakeError(Mismatch("request_digest does not match the request"));
  }
  if (!SameText(out.response_digest, DigestOf(response_content))) {
    return MakeError(Mismatch("response_digest does not match the response"));
  }
  if (!SameText(out.attestation_digest, attestation.evidence_digest())) {
    return MakeError(Mismatch("attestation_digest does not match the attestation evidence"));
  }
  const json& rd = attestation.runtime_data();
  if (!rd.value("model-digest", json()).is_string() ||
      !SameText(out.model_digest, rd["model-digest"].get<std::string>())) {
    return MakeError(Mismatch("model_digest is not the attested model digest"));
  }
  if (!rd.value("workload", json()).is_string() ||
      !SameText(out.workload, rd["workload"].get<std::string>())) {
    return MakeError(Mismatch("workload is not the attested workload"));
  }
  if (!SameText(out.measurement, HexEncode(attestation.claims().measurement))) {
    return MakeError(Mismatch("measurement is not the attested measurement"));
  }
  return out;
}

Status VerifyReceipt(std::string_view receipt_jws, const VerifiedAttestationRecord& attestation,
                     ByteSpan encapsulated_request, ByteSpan response_content) {
  CRYPTA_ASSIGN_OR_RETURN(
      ReceiptClaims claims,
      VerifyReceiptClaims(receipt_jws, attestation, encapsulated_request, response_content));
  (void)claims;
  return OkStatus();
}

Result<std::string> EncodeReceiptBundle(std::string_view receipt_jws,
                                        const VerifiedAttestationRecord& attestation,
                                        ByteSpan encapsulated_request, ByteSpan response_content) {
  if (receipt_jws.empty()) return MakeError(ErrorCode::kFailedPrecondition, "no receipt");
  json bundle = {{"receipt", std::string(receipt_jws)},
                 {"attestation", attestation.attestation()},
                 {"request_b64", Base64Encode(encapsulated_request)},
                 {"response_b64", Base64Encode(response_content)}};
  return bundle.dump(2) + "\n";
}

nlohmann::json VerifiedReceipt::ToJson() const {
  return json{{"verified", true},
              {"receipt", receipt.ToJson()},
              {"tee", std::string(attest::TeeTypeName(claims.tee))},
              {"simulated", claims.simulated},
              {"measurement", HexEncode(claims.measurement)},
              {"host_data", HexEncode(claims.host_data)},
              {"workload", runtime_data.value("workload", "")},
              {"model_digest", runtime_data.value("model-digest", "")},
              {"receipt_key_kid", receipt.kid}};
}

Result<VerifiedReceipt> VerifyReceiptBundle(std::string_view bundle_json,
                                            const RecordVerifyOptions& options) {
  JsonParseLimits limits;
  limits.max_bytes = kMaxReceiptBundleBytes;
  limits.max_depth = 16;
  Result<json> parsed = ParseJsonStrict(bundle_json, limits);
  if (!parsed) return MakeError(parsed.error().WithContext("receipt bundle"));
  const json& bundle = *parsed;
  if (!bundle.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "receipt bundle: not a JSON object");
  }
  for (const char* name : {"receipt", "request_b64", "response_b64"}) {
    if (!bundle.value(name, json()).is_string()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string("receipt bundle: \"") + name + "\" missing or not a string");
    }
  }
  if (!bundle.value("attestation", json()).is_object()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "receipt bundle: \"attestation\" missing or not an object");
  }
  Result<Bytes> request = Base64Decode(bundle["request_b64"].get<std::string>());
  if (!request) {
    return MakeError(ErrorCode::kInvalidArgument, "receipt bundle: request_b64 is not base64");
  }
  Result<Bytes> response = Base64Decode(bundle["response_b64"].get<std::string>());
  if (!response) {
    return MakeError(ErrorCode::kInvalidArgument, "receipt bundle: response_b64 is not base64");
  }
  Result<VerifiedAttestationRecord> record =
      VerifyAttestationRecord(bundle["attestation"], options);
  if (!record) return MakeError(record.error().WithContext("attestation"));
  CRYPTA_ASSIGN_OR_RETURN(
      ReceiptClaims claims,
      VerifyReceiptClaims(bundle["receipt"].get<std::string>(), *record, *request, *response));
  return VerifiedReceipt{std::move(claims), record->claims(), record->runtime_data()};
}

ServiceReceipts::ServiceReceipts(PublicKey key, attest::Claims claims, json runtime_data,
                                 RecordVerifyOptions options, size_t max_attestation_bytes)
    : key_(std::move(key)),
      claims_(std::move(claims)),
      runtime_data_(std::move(runtime_data)),
      options_(std::move(options)),
      max_attestation_bytes_(max_attestation_bytes) {}

Result<std::shared_ptr<const VerifiedAttestationRecord>> ServiceReceipts::RecordFor(
    const std::string& evidence_digest, const HttpTransport* transport) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (current_ && current_->evidence_digest() == evidence_digest) return current_;
  if (transport == nullptr) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "receipt: no transport to fetch the attestation it names");
  }
  CRYPTA_ASSIGN_OR_RETURN(HttpReply reply,
                          transport->Get("/v1/attestation", max_attestation_bytes_));
  if (reply.status != 200) {
    return MakeError(ErrorCode::kUnavailable,
                     "receipt: GET /v1/attestation answered " + std::to_string(reply.status));
  }
  JsonParseLimits limits;
  limits.max_bytes = max_attestation_bytes_;
  Result<json> doc = ParseJsonStrict(reply.body, limits);
  if (!doc) return MakeError(doc.error().WithContext("receipt: the runtime's attestation"));
  Result<VerifiedAttestationRecord> record = VerifyAttestationRecord(*doc, options_);
  if (!record) return MakeError(record.error().WithContext("receipt: the runtime's attestation"));
  // The same TEE instance as the verified service: the receipt key was generated inside it.
  Result<PublicKey> key = ReceiptKeyOf(record->runtime_data());
  Result<std::string> got = key ? JwkThumbprint(*key) : Result<std::string>(MakeError(key.error()));
  CRYPTA_ASSIGN_OR_RETURN(std::string want, JwkThumbprint(key_));
  const json& rd = record->runtime_data();
  const attest::Claims& c = record->claims();
  if (!got || *got != want || c.tee != claims_.tee || c.measurement != claims_.measurement ||
      c.host_data != claims_.host_data || rd["workload"] != runtime_data_["workload"] ||
      rd["model-digest"] != runtime_data_["model-digest"]) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "receipt: the runtime's attestation is not the verified service's (another "
                     "receipt key, measurement, host data, workload or model digest)");
  }
  if (record->evidence_digest() != evidence_digest) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "receipt: attestation_digest names evidence the runtime does not serve");
  }
  current_ = std::make_shared<const VerifiedAttestationRecord>(std::move(*record));
  return current_;
}

Result<std::shared_ptr<const VerifiedAttestationRecord>> ServiceReceipts::Check(
    std::string_view receipt_jws, ByteSpan encapsulated_request, ByteSpan response_content,
    const HttpTransport* transport) const {
  CRYPTA_ASSIGN_OR_RETURN(std::string digest, PeekAttestationDigest(receipt_jws));
  if (!IsSha256Digest(digest)) {
    return MakeError(Bad("attestation_digest is not sha256:<64 lowercase hex>"));
  }
  CRYPTA_ASSIGN_OR_RETURN(std::shared_ptr<const VerifiedAttestationRecord> record,
                          RecordFor(digest, transport));
  CRYPTA_RETURN_IF_ERROR(
      VerifyReceipt(receipt_jws, *record, encapsulated_request, response_content));
  return record;
}

}  // namespace crypta::client
