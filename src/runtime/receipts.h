// Signed inference receipts (issue 17): crypta-runtime signs, for every response it sends
// inside OHTTP, a statement binding the request, the response, the model digest, the
// measurement and the attestation evidence, with a key generated inside the TEE whose
// public half its attestation binds (runtime_data "receipt-key", so report_data covers it).
//
// Format: JWS compact serialization (RFC 7515 §7.1), protected header
//   {"alg": "EdDSA" (Ed25519, RFC 8037 §3.1) | "ES256" (P-256, RFC 7518 §3.4),
//    "kid": RFC 7638 thumbprint of the receipt key, "typ": "crypta-receipt"}
// and payload (RFC 8785 canonical JSON)
//   {"v": 1, "request_digest": "sha256:<hex>", "response_digest": "sha256:<hex>",
//    "model_digest": "sha256:<hex>", "measurement": "<hex>", "attestation_digest":
//    "sha256:<hex>", "time": <Unix seconds>, "sequence": <1, 2, ...>, "workload": "<name>"}
//   request_digest     SHA-256 of the encapsulated OHTTP request (RFC 9458 §4.3) exactly as
//                      received, hashed before it is decrypted in place;
//   response_digest    SHA-256 of the inner BHTTP response's content (the OIP body): the
//                      receipt travels inside the encapsulated response, so it cannot cover
//                      the encapsulation itself;
//   attestation_digest SHA-256 of the evidence bytes of the runtime's /v1/attestation (no
//                      nonce) for the current OHTTP key epoch;
//   sequence           a per-process counter starting at 1.
// The receipt goes back in the inner response's "crypta-receipt" header field, so only the
// client that holds the OHTTP response context sees it. src/client/receipt.h verifies it.
#ifndef CRYPTA_RUNTIME_RECEIPTS_H_
#define CRYPTA_RUNTIME_RECEIPTS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/ecdsa_presign.h"
#include "crypto/jws.h"
#include "crypto/keys.h"

namespace crypta::runtime {

// RFC 9292 field names are lowercase.
inline constexpr char kReceiptHeaderField[] = "crypta-receipt";
inline constexpr char kReceiptJwsType[] = "crypta-receipt";
inline constexpr int kReceiptVersion = 1;

enum class ReceiptAlg { kEd25519, kP256 };
// "ed25519" or "p256" (crypta-runtime --receipt-alg); kInvalidArgument otherwise.
Result<ReceiptAlg> ParseReceiptAlg(std::string_view name);

// "sha256:<lowercase hex of SHA-256(data)>".
std::string Sha256Digest(ByteSpan data);
// The same for a digest already computed (32 bytes).
std::string FormatSha256Digest(ByteSpan sha256);

// The measurement (lowercase hex) of the annotated evidence in an EAR token the control
// plane issued to this runtime at boot (submods.cpu0["ear.crypta.annotated-evidence"]
// ["measurement"]). The token is decoded, not verified: the value only describes the
// runtime in its own receipts, and clients compare it with the evidence they verified.
// kInvalidArgument when the token has no such member.
Result<std::string> MeasurementFromEarToken(std::string_view ear_token);

struct ReceiptSignerOptions {
  std::string workload;
  std::string model_digest;     // "sha256:<hex>"
  std::string measurement_hex;  // the TEE's measurement, lowercase hex
  // "sha256:<hex>" of the evidence bytes the runtime's /v1/attestation serves now
  // (AttestationService::CurrentEvidenceDigest). Required; called once per receipt.
  std::function<Result<std::string>()> attestation_digest;
  std::function<int64_t()> clock;  // Unix seconds; required
};

// Holds the receipt key (in TEE memory only; never exported) and signs receipts.
// Thread-safe: Sign may run concurrently (the sequence is atomic).
class ReceiptSigner {
 public:
  // A fresh key of `alg` (generated inside the TEE at start).
  static Result<std::unique_ptr<ReceiptSigner>> Generate(ReceiptAlg alg,
                                                         ReceiptSignerOptions options);
  // A given Ed25519 or P-256 key (tests, benchmarks). kInvalidArgument for other types or
  // options without a clock or attestation digest.
  static Result<std::unique_ptr<ReceiptSigner>> FromKey(PrivateKey key,
                                                        ReceiptSignerOptions options);

  // The public key as a JWK with "alg", "use":"sig" and "kid" (its RFC 7638 thumbprint):
  // the "receipt-key" member of the attestation's runtime_data.
  const nlohmann::json& public_jwk() const { return public_jwk_; }
  const std::string& kid() const { return kid_; }
  JwsAlg alg() const { return alg_; }
  PublicKey public_key() const { return key_.GetPublicKey(); }

  // One receipt (JWS compact) for a response. `request_sha256` is SHA-256 of the
  // encapsulated request (32 bytes); `response_content` the inner response's content.
  // Fails when the attestation digest is unavailable (no evidence) or signing fails.
  // With `presignature` (PrepareSignature, ES256 only) the signature uses that prepared
  // nonce and costs a few modular multiplications instead of a scalar multiplication.
  Result<std::string> Sign(ByteSpan request_sha256, ByteSpan response_content,
                           EcdsaPresignature* presignature = nullptr) const;
  // The same with the response content's SHA-256 already computed (a streamed response,
  // hashed as it was sent).
  Result<std::string> SignDigests(ByteSpan request_sha256, ByteSpan response_sha256,
                                  EcdsaPresignature* presignature = nullptr) const;
  // ES256: the nonce part of one future signature (crypto/ecdsa_presign.h), for a worker to
  // prepare while the model runs. Ed25519 signatures are deterministic in the message and
  // cannot be prepared: an empty presignature then.
  Result<EcdsaPresignature> PrepareSignature() const;
  // The number of sequence numbers handed out so far.
  uint64_t issued() const { return sequence_.load(std::memory_order_relaxed); }

 private:
  ReceiptSigner(PrivateKey key, JwsAlg alg, nlohmann::json jwk, std::string kid,
                ReceiptSignerOptions options)
      : key_(std::move(key)),
        alg_(alg),
        public_jwk_(std::move(jwk)),
        kid_(std::move(kid)),
        header_({{"kid", kid_}, {"typ", kReceiptJwsType}}),
        options_(std::move(options)) {}

  PrivateKey key_;
  JwsAlg alg_;
  nlohmann::json public_jwk_;
  std::string kid_;
  nlohmann::json header_;  // {"kid","typ"}; JwsSignCompact adds "alg"
  ReceiptSignerOptions options_;
  mutable std::atomic<uint64_t> sequence_{0};
};

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_RECEIPTS_H_
