// TdxVerifier: Intel TDX quotes v4 and v5 (TD report 1.0 / 1.5) via the DCAP core
// (attest/dcap/dcap_verifier.h). Claims: measurement = MRTD, host_data = MRCONFIGID,
// report_data = REPORTDATA, debug = TD_ATTRIBUTES bit 0, platform_id = FMSPC (from the PCK
// certificate), signer "PCK"; extra: rtmr0..3, mr_owner, mr_owner_config, td_attributes,
// xfam, mr_seam, mr_signer_seam, seam_attributes, tee_tcb_svn (+ tee_tcb_svn2,
// mr_service_td for TDX 1.5), quote_version, qe, pck_issuer; tcb: tee_tcb_svn, fmspc,
// pce_svn, sgx_tcb_components and, with collateral, the statuses.
// Collateral items: "tcb_info", "qe_identity", "pck_crl", "root_ca_crl",
// "tcb_signing_chain", "collateral_json" (see attest/dcap/collateral.h). Thread-safe.
#ifndef CRYPTA_ATTEST_TDX_TDX_VERIFIER_H_
#define CRYPTA_ATTEST_TDX_TDX_VERIFIER_H_

#include <memory>

#include "attest/dcap/dcap_verifier.h"
#include "attest/dcap/intel_roots.h"
#include "attest/verifier.h"

namespace crypta::attest::tdx {

class TdxVerifier : public Verifier {
 public:
  // Verifies against `roots` (tests); production uses CreatePinned().
  explicit TdxVerifier(dcap::DcapTrustRoots roots, size_t chain_cache_capacity = 256)
      : core_(std::move(roots), chain_cache_capacity) {}
  // With the pinned Intel SGX Root CA.
  static Result<std::shared_ptr<TdxVerifier>> CreatePinned();

  TeeType tee() const override { return TeeType::kTdx; }
  Result<VerifiedEvidence> Verify(const Evidence& evidence,
                                  const VerifyOptions& options) const override;

 private:
  dcap::DcapQuoteVerifier core_;
};

}  // namespace crypta::attest::tdx

#endif  // CRYPTA_ATTEST_TDX_TDX_VERIFIER_H_
