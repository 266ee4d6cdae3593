// Signed inference receipts on the client side (issue 17; the runtime's side and the format
// are in src/runtime/receipts.h, the README's "Receipts" section has the trust model).
//
// A receipt is a JWS compact serialization (RFC 7515 §7.1) with header {"alg": "EdDSA" |
// "ES256", "kid": RFC 7638 thumbprint, "typ": "crypta-receipt"} and payload {"v": 1,
// "request_digest", "response_digest", "model_digest", "measurement", "attestation_digest",
// "time", "sequence", "workload"}, signed by the runtime's receipt key, whose public JWK
// the attestation's runtime_data carries as "receipt-key" (so report_data binds it).
//
// VerifyReceipt checks, against an attestation the caller verified (a
// VerifiedAttestationRecord) and the bytes the caller kept:
//   1. runtime_data["receipt-key"] is a public Ed25519 or P-256 JWK, and the header's "kid"
//      is its thumbprint; "typ" is "crypta-receipt";
//   2. the signature, by that key only (EdDSA with Ed25519, ES256 with P-256; jws.h refuses
//      any other pairing, "none", "crit" and header keys);
//   3. the payload: exactly the members above, "v" 1, digests "sha256:<64 hex>";
//      request_digest = SHA-256(encapsulated request), response_digest = SHA-256(response
//      content), attestation_digest = SHA-256(evidence bytes), model_digest = runtime_data
//      "model-digest", workload = runtime_data "workload", measurement = the verified
//      measurement (hex).
// Errors: kUnauthenticated for a signature or digest that does not match (the message names
// the check, e.g. "receipt: request_digest does not match the request"), kInvalidArgument
// for malformed input, kFailedPrecondition for an attestation without a receipt key (an
// older crypta-runtime, which issues no receipts). Everything here is pure and thread-safe
// except ServiceReceipts, which is thread-safe and may fetch.
#ifndef CRYPTA_CLIENT_RECEIPT_H_
#define CRYPTA_CLIENT_RECEIPT_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "attest/evidence.h"
#include "client/http_transport.h"
#include "common/bytes.h"
#include "common/status.h"
#include "crypto/keys.h"

namespace crypta::client {

// The inner response's header field that carries the receipt (RFC 9292 lowercase).
inline constexpr char kReceiptField[] = "crypta-receipt";
inline constexpr size_t kMaxReceiptBytes = 8 * 1024;
// A bundle holds the encapsulated request and the response (base64): `crypta predict`
// inputs are capped at 64 MiB.
inline constexpr size_t kMaxReceiptBundleBytes = size_t{192} << 20;

// How attestation evidence is verified without expectations: the verifier factory's pinned
// roots; the simulated TEE only when allowed AND with the platform's sim root.
struct RecordVerifyOptions {
  bool allow_simulated = false;
  std::string sim_root_pem;
  int64_t now = 0;  // verification time, Unix seconds; 0 = now
};

// An attestation (the body of GET /v1/attestation) whose evidence verified and whose
// report_data binds its runtime_data. Only VerifyAttestationRecord makes one. Immutable.
class VerifiedAttestationRecord {
 public:
  // {"tee","simulated","evidence","runtime_data","collateral"?}: what a receipt bundle keeps.
  const nlohmann::json& attestation() const { return attestation_; }
  ByteSpan evidence() const { return evidence_; }  // the evidence bytes (digested)
  const nlohmann::json& runtime_data() const { return runtime_data_; }
  const attest::Claims& claims() const { return claims_; }
  const std::string& evidence_digest() const { return evidence_digest_; }  // "sha256:<hex>"

 private:
  friend class VerifiedAttestationRecordAccess;
  VerifiedAttestationRecord(nlohmann::json attestation, Bytes evidence, nlohmann::json runtime_data,
                            attest::Claims claims, std::string evidence_digest)
      : attestation_(std::move(attestation)),
        evidence_(std::move(evidence)),
        runtime_data_(std::move(runtime_data)),
        claims_(std::move(claims)),
        evidence_digest_(std::move(evidence_digest)) {}

  nlohmann::json attestation_;
  Bytes evidence_;
  nlohmann::json runtime_data_;
  attest::Claims claims_;
  std::string evidence_digest_;
};

// Parses an attestation JSON, verifies its evidence (attest/verifier_factory.h) at
// options.now and that report_data = SHA-384(JCS(runtime_data)) zero-padded. Checks no
// expectations (measurement, nonce, ...): callers compare the claims themselves. Defined in
// verify.cc, beside VerifyAttestation, with which it shares the parsing.
Result<VerifiedAttestationRecord> VerifyAttestationRecord(const nlohmann::json& attestation,
                                                          const RecordVerifyOptions& options);

// runtime_data["receipt-key"] as a public key: kFailedPrecondition when absent (an older
// runtime), kInvalidArgument when not a public Ed25519 or P-256 JWK.
Result<PublicKey> ReceiptKeyOf(const nlohmann::json& runtime_data);

// A receipt's payload, as verified.
struct ReceiptClaims {
  std::string alg;  // "EdDSA" or "ES256"
  std::string kid;
  std::string request_digest, response_digest, model_digest, measurement, attestation_digest;
  std::string workload;
  int64_t time = 0;
  uint64_t sequence = 0;
  nlohmann::json ToJson() const;
};

// See the file comment. `encapsulated_request` is the message/ohttp-req body as sent;
// `response_content` the decrypted inner response's content.
Status VerifyReceipt(std::string_view receipt_jws, const VerifiedAttestationRecord& attestation,
                     ByteSpan encapsulated_request, ByteSpan response_content);
// The same, returning the verified payload.
Result<ReceiptClaims> VerifyReceiptClaims(std::string_view receipt_jws,
                                          const VerifiedAttestationRecord& attestation,
                                          ByteSpan encapsulated_request, ByteSpan response_content);

// The receipt bundle a client keeps (`crypta predict --receipt FILE`), JSON text:
//   {"receipt": JWS, "attestation": VerifiedAttestationRecord::attestation(),
//    "request_b64": base64(encapsulated request), "response_b64": base64(response content)}
Result<std::string> EncodeReceiptBundle(std::string_view receipt_jws,
                                        const VerifiedAttestationRecord& attestation,
                                        ByteSpan encapsulated_request, ByteSpan response_content);

struct VerifiedReceipt {
  ReceiptClaims receipt;
  attest::Claims claims;  // of the attestation evidence
  nlohmann::json runtime_data;
  // {"verified": true, "receipt": {...}, "tee", "simulated", "measurement", "host_data",
  //  "workload", "model_digest", "receipt_key_kid"}
  nlohmann::json ToJson() const;
};

// Offline: parses a bundle (capped at kMaxReceiptBundleBytes, strict JSON), verifies its
// attestation (VerifyAttestationRecord) and then the receipt (VerifyReceiptClaims). The
// first failed check is the error, prefixed "attestation: " or "receipt: ".
Result<VerifiedReceipt> VerifyReceiptBundle(std::string_view bundle_json,
                                            const RecordVerifyOptions& options);

// The receipts of one verified service (VerifiedService keeps one when the attestation it
// verified has a receipt key). A receipt names the evidence of the runtime's nonce-less
// /v1/attestation, not the fresh evidence the service was verified with, so the first
// receipt (and one after a key rotation) makes Check fetch GET /v1/attestation, verify it
// and accept it only as the same TEE instance: same receipt key (generated inside that TEE),
// TEE type, measurement, host data, workload and model digest as the verified service.
// Thread-safe.
class ServiceReceipts {
 public:
  ServiceReceipts(PublicKey key, attest::Claims claims, nlohmann::json runtime_data,
                  RecordVerifyOptions options, size_t max_attestation_bytes);

  // Verifies `receipt_jws` (VerifyReceipt) against the attestation it names, fetched over
  // `transport` when it is not the one kept. Returns that attestation.
  Result<std::shared_ptr<const VerifiedAttestationRecord>> Check(
      std::string_view receipt_jws, ByteSpan encapsulated_request, ByteSpan response_content,
      const HttpTransport* transport) const;

 private:
  Result<std::shared_ptr<const VerifiedAttestationRecord>> RecordFor(
      const std::string& evidence_digest, const HttpTransport* transport) const;

  const PublicKey key_;
  const attest::Claims claims_;
  const nlohmann::json runtime_data_;
  const RecordVerifyOptions options_;
  const size_t max_attestation_bytes_;
  mutable std::mutex mu_;  // guards current_ and serializes fetches
  mutable std::shared_ptr<const VerifiedAttestationRecord> current_;
};

}  // namespace crypta::client

#endif  // CRYPTA_CLIENT_RECEIPT_H_
