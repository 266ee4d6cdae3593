// SgxVerifier: Intel SGX quotes v3 via the DCAP core (attest/dcap/dcap_verifier.h).
// Claims: measurement = MRENCLAVE, host_data = CONFIGID, report_data = REPORTDATA, debug =
// ATTRIBUTES bit 1, platform_id = FMSPC (from the PCK certificate), signer "PCK"; extra:
// mr_signer, isv_prod_id, isv_svn, config_svn, attributes, misc_select, cpu_svn,
// isv_ext_prod_id, isv_family_id, quote_version, qe, pck_issuer; tcb: fmspc, pce_svn,
// sgx_tcb_components and, with collateral, the statuses.
// Collateral items: "tcb_info", "qe_identity", "pck_crl", "root_ca_crl",
// "tcb_signing_chain", "collateral_json" (see attest/dcap/collateral.h). Thread-safe.
#ifndef CRYPTA_ATTEST_SGX_SGX_VERIFIER_H_
#define CRYPTA_ATTEST_SGX_SGX_VERIFIER_H_

#include <memory>

#include "attest/dcap/dcap_verifier.h"
#include "attest/dcap/intel_roots.h"
#include "attest/verifier.h"

namespace crypta::attest::sgx {

class SgxVerifier : public Verifier {
 public:
  // Verifies against `roots` (tests); production uses CreatePinned().
  explicit SgxVerifier(dcap::DcapTrustRoots roots, size_t chain_cache_capacity = 256)
      : core_(std::move(roots), chain_cache_capacity) {}
  // With the pinned Intel SGX Root CA.
  static Result<std::shared_ptr<SgxVerifier>> CreatePinned();

  TeeType tee() const override { return TeeType::kSgx; }
  Result<VerifiedEvidence> Verify(const Evidence& evidence,
                                  const VerifyOptions& options) const override;

 private:
  dcap::DcapQuoteVerifier core_;
};

}  // namespace crypta::attest::sgx

#endif  // CRYPTA_ATTEST_SGX_SGX_VERIFIER_H_
