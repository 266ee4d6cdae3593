// GET /v1/attestation (DESIGN.md §4.5): evidence from the TEE whose report_data binds the
// runtime's OHTTP key config, workload and model digest, so a client that verifies the
// evidence can trust the key config it encrypts to.
//
//   runtime_data = {"nonce": hex or "", "ohttp-key-config": base64url(RFC 9458 §3 config),
//                   "tls-spki-sha256": hex or "", "workload": name, "model-digest": "sha256:<hex>",
//                   "receipt-key": JWK (when the runtime signs receipts, runtime/receipts.h)}
//   report_data  = SHA-384(JCS(runtime_data)) zero-padded to 64 bytes (kbs::RcarReportData)
//   reply        = {"tee","simulated","evidence","collateral"?,"runtime_data","key_epoch",
//                   "issued_at"}; "evidence" is the JSON text for sim, base64 otherwise.
//
// Without a nonce the evidence is collected once per key epoch and cached (hardware reports
// are slow). With ?nonce=<hex of 1-64 bytes> it is collected fresh, limited by a token
// bucket (429 beyond it). Thread-safe; collections are serialized (attesters need not be
// thread-safe).
#ifndef CRYPTA_RUNTIME_ATTESTATION_SERVICE_H_
#define CRYPTA_RUNTIME_ATTESTATION_SERVICE_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "attest/collector.h"
#include "runtime/key_ring.h"
#include "runtime/metrics.h"
#include "runtime/oip_router.h"

namespace crypta::runtime {

struct AttestationOptions {
  std::string workload;
  std::string model_digest;      // "sha256:<hex>"
  double fresh_per_second = 10;  // token bucket refill for ?nonce= requests
  double fresh_burst = 20;       // bucket size
  // Hex SHA-256 of the SubjectPublicKeyInfo of the TLS certificate served now ("" without
  // TLS): bound into the evidence as "tls-spki-sha256", so a client that verified the
  // evidence can check it talks TLS to the same TEE. Called per request; cached evidence is
  // refreshed when it changes (an SVID renewal brings a new key).
  std::function<std::string()> tls_spki_sha256;
  // The public JWK of the receipt-signing key (ReceiptSigner::public_jwk), bound into the
  // evidence as "receipt-key"; null when the runtime signs no receipts.
  nlohmann::json receipt_key;
};

// A token bucket over an injected monotonic clock (seconds). Thread-safe.
class RateLimiter {
 public:
  using Monotonic = std::function<double()>;
  RateLimiter(double per_second, double burst, Monotonic now);
  // Takes one token; false when none is left.
  bool TryAcquire();

 private:
  std::mutex mu_;
  const double per_second_;
  const double burst_;
  Monotonic now_;
  double tokens_;
  double last_;
};

// SHA-384(JCS(runtime_data)) zero-padded to 64 bytes: the same binding as
// kbs::RcarReportData (a unit test checks they agree), computed here so the measured runtime
// does not link the control plane's key-broker library.
Result<Bytes> ReportDataFor(const nlohmann::json& runtime_data);

// The runtime_data object for a key config and nonce (hex, may be empty).
nlohmann::json AttestationRuntimeData(ByteSpan ohttp_key_config, std::string_view nonce_hex,
                                      const AttestationOptions& options);

// Parses ?nonce=: lowercase hex of 1 to 64 bytes (uppercase accepted, normalized).
// kInvalidArgument otherwise.
Result<std::string> ParseAttestationNonce(std::string_view text);

class AttestationService {
 public:
  using Clock = std::function<int64_t()>;  // Unix seconds, for "issued_at"
  // Pointers must outlive the service; `metrics` may be null.
  AttestationService(attest::Attester* attester, OhttpKeyRing* ring, Metrics* metrics,
                     AttestationOptions options, Clock clock, RateLimiter::Monotonic monotonic);

  // GET /v1/attestation; `nonce` is the raw ?nonce= value, nullopt when absent.
  // 200 with the reply above, 400 for a bad nonce, 429 when rate-limited, 503 when the
  // TEE did not produce evidence.
  HttpReply Handle(const std::optional<std::string>& nonce);

  // "sha256:<hex>" of the evidence bytes that GET /v1/attestation without a nonce serves now
  // (for the current key epoch and TLS key), collecting and caching that evidence first
  // when needed: what a receipt's attestation_digest names. Fails when the TEE produces no
  // evidence.
  Result<std::string> CurrentEvidenceDigest();

 private:
  struct Collected {
    nlohmann::json body;
    std::string evidence_digest;  // "sha256:<hex>" of the evidence bytes
  };
  Result<Collected> Collect(const KeyEpoch& epoch, const std::string& nonce_hex);
  // Refreshes the cache for `epoch` and `spki` when it holds another; collect_mu_ held.
  Status RefreshCacheLocked(const KeyEpoch& epoch, const std::string& spki);

  attest::Attester* attester_;
  OhttpKeyRing* ring_;
  Metrics* metrics_;
  AttestationOptions options_;
  Clock clock_;
  RateLimiter fresh_limiter_;
  std::mutex collect_mu_;  // serializes Collect (and guards the cache)
  uint64_t cached_epoch_ = 0;
  std::string cached_body_;
  std::string cached_spki_;  // the tls-spki-sha256 the cached evidence binds
  std::string cached_evidence_digest_;
};

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_ATTESTATION_SERVICE_H_
