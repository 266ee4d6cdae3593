#include "runtime/attestation_service.h"

#include <algorithm>
#include <cstdio>

#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/hash.h"
#include "runtime/receipts.h"

namespace crypta::runtime {

using nlohmann::json;

RateLimiter::RateLimiter(double per_second, double burst, Monotonic now)
    : per_second_(std::max(per_second, 0.0)),
      burst_(std::max(burst, 1.0)),
      now_(std::move(now)),
      tokens_(burst_),
      last_(now_()) {}

bool RateLimiter::TryAcquire() {
  std::lock_guard<std::mutex> lock(mu_);
  const double now = now_();
  tokens_ = std::min(burst_, tokens_ + std::max(0.0, now - last_) * per_second_);
  last_ = now;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

Result<Bytes> ReportDataFor(const json& runtime_data) {
  CRYPTA_ASSIGN_OR_RETURN(std::string canonical, CanonicalizeJson(runtime_data));
  Bytes out = Sha384(AsBytes(canonical));
  out.resize(64, 0);
  return out;
}

json AttestationRuntimeData(ByteSpan ohttp_key_config, std::string_view nonce_hex,
                            const AttestationOptions& options) {
  json out = {{"nonce", std::string(nonce_hex)},
              {"ohttp-key-config", Base64UrlEncode(ohttp_key_config)},
              {"tls-spki-sha256", options.tls_spki_sha256 ? options.tls_spki_sha256() : ""},
              {"workload", options.workload},
              {"model-digest", options.model_digest}};
  // Issue 17: the receipt key, so report_data binds it and receipts are attributable.
  if (!options.receipt_key.is_null()) out["receipt-key"] = options.receipt_key;
  return out;
}

Result<std::string> ParseAttestationNonce(std::string_view text) {
  if (text.empty() || text.size() > 128 || text.size() % 2 != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "nonce: must be hex of 1 to 64 bytes");
  }
  Result<Bytes> bytes = HexDecode(text);
  if (!bytes) return MakeError(ErrorCode::kInvalidArgument, "nonce: must be hex of 1 to 64 bytes");
  return HexEncode(*bytes);
}

AttestationService::AttestationService(attest::Attester* attester, OhttpKeyRing* ring,
                                       Metrics* metrics, AttestationOptions options, Clock clock,
                                       RateLimiter::Monotonic monotonic)
    : attester_(attester),
      ring_(ring),
      metrics_(metrics),
      options_(std::move(options)),
      clock_(std::move(clock)),
      fresh_limiter_(options_.fresh_per_second, options_.fresh_burst, std::move(monotonic)) {}

Result<AttestationService::Collected> AttestationService::Collect(const KeyEpoch& epoch,
                                                                  const std::string& nonce_hex) {
  json runtime_data = AttestationRuntimeData(epoch.encoded_config, nonce_hex, options_);
  CRYPTA_ASSIGN_OR_RETURN(Bytes report_data, ReportDataFor(runtime_data));
  CRYPTA_ASSIGN_OR_RETURN(attest::Evidence evidence, attester_->Collect(report_data));
  const bool simulated = evidence.tee == attest::TeeType::kSim;
  json out = {{"tee", std::string(attest::TeeTypeName(evidence.tee))},
              {"simulated", simulated},
              {"evidence", simulated ? ToString(evidence.raw) : Base64Encode(evidence.raw)},
              {"runtime_data", std::move(runtime_data)},
              {"key_epoch", epoch.number},
              {"issued_at", clock_()}};
  if (!evidence.collateral.items.empty()) {
    json collateral = json::object();
    for (const auto& [name, bytes] : evidence.collateral.items) {
      collateral[name] = Base64Encode(bytes);
    }
    out["collateral"] = std::move(collateral);
  }
  return Collected{std::move(out), Sha256Digest(evidence.raw)};
}

Status AttestationService::RefreshCacheLocked(const KeyEpoch& epoch, const std::string& spki) {
  if (cached_epoch_ == epoch.number && cached_spki_ == spki && !cached_body_.empty()) {
    return OkStatus();
  }
  Result<Collected> collected = Collect(epoch, "");
  if (metrics_ != nullptr) metrics_->CountAttestation("cached", collected.has_value());
  if (!collected) return MakeError(collected.error());
  cached_epoch_ = epoch.number;
  cached_spki_ = spki;
  cached_body_ = collected->body.dump();
  cached_evidence_digest_ = std::move(collected->evidence_digest);
  return OkStatus();
}

Result<std::string> AttestationService::CurrentEvidenceDigest() {
  std::shared_ptr<KeyEpoch> epoch = ring_->Current();
  const std::string spki = options_.tls_spki_sha256 ? options_.tls_spki_sha256() : "";
  std::lock_guard<std::mutex> lock(collect_mu_);
  CRYPTA_RETURN_IF_ERROR(RefreshCacheLocked(*epoch, spki));
  return cached_evidence_digest_;
}

HttpReply AttestationService::Handle(const std::optional<std::string>& nonce) {
  std::string nonce_hex;
  if (nonce) {
    Result<std::string> parsed = ParseAttestationNonce(*nonce);
    if (!parsed) return ErrorReply(400, parsed.error().message());
    nonce_hex = std::move(*parsed);
    if (!fresh_limiter_.TryAcquire()) {
      return ErrorReply(429, "too many fresh attestation requests; retry later or omit the nonce");
    }
  }
  const char* kind = nonce ? "fresh" : "cached";
  std::shared_ptr<KeyEpoch> epoch = ring_->Current();
  const std::string spki = options_.tls_spki_sha256 ? options_.tls_spki_sha256() : "";
  std::lock_guard<std::mutex> lock(collect_mu_);
  if (!nonce) {
    // The evidence receipts name (CurrentEvidenceDigest) comes from this same cache.
    if (Status s = RefreshCacheLocked(*epoch, spki); !s) {
      // The detail goes to the log; the client learns only that evidence is unavailable.
      fprintf(stderr, "crypta-runtime: attestation (%s) failed: %s\n", kind,
              s.error().ToString().c_str());
      return ErrorReply(503, "the TEE did not produce evidence");
    }
    return HttpReply{200, "application/json", cached_body_};
  }
  Result<Collected> collected = Collect(*epoch, nonce_hex);
  if (metrics_ != nullptr) metrics_->CountAttestation(kind, collected.has_value());
  if (!collected) {
    fprintf(stderr, "crypta-runtime: attestation (%s) failed: %s\n", kind,
            collected.error().ToString().c_str());
    return ErrorReply(503, "the TEE did not produce evidence");
  }
  return HttpReply{200, "application/json", collected->body.dump()};
}

}  // namespace crypta::runtime
