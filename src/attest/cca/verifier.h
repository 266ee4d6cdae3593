// CcaVerifier: verifies an Arm CCA attestation token (Evidence::raw, the tag-399 CBOR
// collection; token.h) per draft-ffm-rats-cca-token §6 and testdata/cca/LAYOUTS.md §5:
//
//   1. parse the collection, both COSE_Sign1 envelopes and both claim sets (token.h);
//   2. select the CPAK by the platform instance id (claim 256) from the trust anchors
//      (trust_anchor.h): none -> "platform: unrecognized instance";
//   3. verify the platform token's ES384 signature with the CPAK over the COSE
//      Sig_structure (RFC 9052 §4.4);
//   4. build the RAK from realm claim 44237 (raw point, or COSE_Key in the current realm
//      profile) and verify the realm token's ES384 signature with it;
//   5. binding: platform challenge (10) == H(claim 44237 bytes exactly as encoded), H the
//      realm's RAK hash algorithm (44240) — the only thing that makes the RAK trusted;
//   6. report_data: the realm challenge (10, 64 bytes) against
//      VerifyOptions::expected_report_data (attest::CheckReportData, constant time);
//   7. lifecycle (2395): secured (0x3000-0x30ff) -> debug false; non-PSA-RoT debug
//      (0x4000-0x40ff) or recoverable PSA-RoT debug (0x5000-0x50ff) -> debug true; any
//      other state (unknown, assembly and test, provisioning, decommissioned) -> Error;
//   8. with reference values (reference_values.h): platform not "affirming" -> Error;
//      realm "contraindicated runtime" or "unrecognized boot" -> Error; otherwise the
//      outcome is in extra.appraisal and tcb_status is kUpToDate. Without them,
//      tcb_status is kUnknown.
//
// Trust: there is no pinned root for CCA (each platform has its own CPAK). Trust anchors
// and reference values come from the constructor and from VerifyOptions::collateral
// (items "cpak", "trust_anchors", "reference_values"; collateral.h), both chosen by the
// verifying party. They are NEVER read from Evidence::collateral: that travels with the
// evidence (client/verify.cc takes it from the attested service), and a CPAK supplied by
// the attester would let it sign for itself.
//
// Claims: tee kCca, measurement = realm initial measurement (RIM), host_data = realm
// personalization value, report_data = realm challenge, platform_id = instance id,
// signer = "cpak:<hex of the first 16 bytes of SHA-256(CPAK SPKI)>", revocation =
// kNotApplicable (a raw CPAK has no certificate and no CRL: revoking a platform means
// removing its anchor). tcb = {implementation_id, lifecycle, lifecycle_state, config,
// platform_hash_algo, sw_components: [{type, measurement, version, signer_id,
// hash_algo}]}; extra = {profile, realm_profile (null in the legacy profile), rem0..rem3,
// realm_hash_algo, rak, rak_hash_algo, platform_challenge, verification_service (null
// when absent), appraisal: {platform, realm, personalization_matches} when reference
// values were used}.
//
// The token is time-independent (no certificates); VerifyOptions::verification_time is
// still required (> 0) so that VerifiedEvidence::verified_at is meaningful.
// Errors name the failed check. Thread-safe: the configuration is immutable.
#ifndef CRYPTA_ATTEST_CCA_VERIFIER_H_
#define CRYPTA_ATTEST_CCA_VERIFIER_H_

#include <optional>

#include "attest/cca/reference_values.h"
#include "attest/cca/token.h"
#include "attest/cca/trust_anchor.h"
#include "attest/verifier.h"

namespace crypta::attest::cca {

struct CcaVerifierOptions {
  // May be empty when every verification brings its anchors in VerifyOptions::collateral.
  CcaTrustAnchors trust_anchors;
  std::optional<CcaReferenceValues> reference_values;
};

class CcaVerifier : public Verifier {
 public:
  explicit CcaVerifier(CcaVerifierOptions options = {}) : options_(std::move(options)) {}

  TeeType tee() const override { return TeeType::kCca; }
  Result<VerifiedEvidence> Verify(const Evidence& evidence,
                                  const VerifyOptions& options) const override;

 private:
  CcaVerifierOptions options_;
};

// The normalized claims of a token whose checks passed, with `anchor` the CPAK that
// verified it and `appraisal` the reference-value outcome if any. Exposed for tests and
// tools; verifies nothing.
Claims CcaClaims(const CcaToken& token, const CcaTrustAnchor& anchor,
                 const std::optional<CcaAppraisal>& appraisal);

}  // namespace crypta::attest::cca

#endif  // CRYPTA_ATTEST_CCA_VERIFIER_H_
