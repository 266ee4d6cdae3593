// Verifier: turns untrusted Evidence into VerifiedEvidence, or an Error naming the first
// failed check. Only Verifier implementations can construct VerifiedEvidence (private
// constructor reached through Verifier::MakeVerified), so code that releases keys on
// `const VerifiedEvidence&` cannot be handed unverified claims.
#ifndef CRYPTA_ATTEST_VERIFIER_H_
#define CRYPTA_ATTEST_VERIFIER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>

#include "attest/evidence.h"
#include "common/bytes.h"
#include "common/status.h"

namespace crypta::attest {

struct VerifyOptions {
  // Unix seconds at which certificates and collateral must be valid. Required: offline
  // verification of old evidence is normal, so there is no implicit "now".
  int64_t verification_time = 0;
  // When set, the evidence's report_data must equal this (compared in constant time;
  // shorter values are zero-padded to 64 bytes).
  std::optional<Bytes> expected_report_data;
  // Collateral to use in addition to (and before) what the evidence carries.
  const Collateral* collateral = nullptr;
};

class VerifiedEvidence;
// Composite evidence (a CPU TEE with GPUs): `cpu` with the claims of `devices` appended to
// its claims.devices. The caller must have verified each device's evidence against a
// nonce that binds it to `cpu`'s session (RCAR: the additional-evidence binding).
VerifiedEvidence AttachDevices(VerifiedEvidence cpu, std::vector<VerifiedEvidence> devices);

class VerifiedEvidence {
 public:
  const Claims& claims() const { return claims_; }
  // The exact evidence bytes that were verified.
  const Bytes& raw() const { return raw_; }
  int64_t verified_at() const { return verified_at_; }

 private:
  friend class Verifier;
  friend VerifiedEvidence AttachDevices(VerifiedEvidence, std::vector<VerifiedEvidence>);
  VerifiedEvidence(Claims claims, Bytes raw, int64_t at)
      : claims_(std::move(claims)), raw_(std::move(raw)), verified_at_(at) {}
  Claims claims_;
  Bytes raw_;
  int64_t verified_at_;
};

// Thread-safe: implementations hold only immutable trust roots and caches with locks.
class Verifier {
 public:
  virtual ~Verifier() = default;
  virtual TeeType tee() const = 0;
  // Verifies signatures, certificate chains to the pinned roots, collateral and the
  // report_data binding. A stale TCB is NOT an error: it is reported in claims.tcb_status
  // for the appraisal policy to judge. Any parse or signature failure is an Error.
  virtual Result<VerifiedEvidence> Verify(const Evidence& evidence,
                                          const VerifyOptions& options) const = 0;

 protected:
  static VerifiedEvidence MakeVerified(Claims claims, const Evidence& evidence,
                                       const VerifyOptions& options) {
    return VerifiedEvidence(std::move(claims), evidence.raw, options.verification_time);
  }
};

// Picks the verifier by TEE type. Unknown types fail closed.
class VerifierRegistry {
 public:
  void Register(std::shared_ptr<const Verifier> verifier);
  Result<VerifiedEvidence> Verify(const Evidence& evidence, const VerifyOptions& options) const;
  const Verifier* Find(TeeType tee) const;

 private:
  std::map<TeeType, std::shared_ptr<const Verifier>> verifiers_;
};

// Checks report_data against the expectation in `options` (no-op when none is set).
Status CheckReportData(ByteSpan report_data, const VerifyOptions& options);

}  // namespace crypta::attest

#endif  // CRYPTA_ATTEST_VERIFIER_H_
