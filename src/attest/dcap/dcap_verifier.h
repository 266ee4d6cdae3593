// DcapQuoteVerifier: the shared core of TdxVerifier and SgxVerifier. Verifies an Intel
// DCAP quote (Evidence::raw) and turns it into Claims:
//
//   1. parse (quote.h); the body must fit the expected TEE (TD report / enclave report);
//   2. load collateral (collateral.h) from VerifyOptions::collateral, then the evidence's
//      own: an item name outside kDcapCollateralItems is an error; TCB info / QE identity
//      signatures and freshness at the verification time; a QE identity without TCB info
//      is an error naming tcb_info;
//   3. the quote's cryptographic checks (quote_verify.h) with the CRLs: when both
//      "pck_crl" and "root_ca_crl" are present every certificate must be covered by one,
//      and the claims' revocation is kChecked (kAbsent otherwise);
//   4. with TCB info: TCB evaluation (tcb.h) -> tcb_status and advisory_ids (with the QE
//      identity when given); a Revoked status is an error; with no TCB info and no QE
//      identity at all tcb_status is kUnknown, for the policy to decide;
//   5. report_data against VerifyOptions::expected_report_data.
//
// Thread-safe: roots are immutable; the PCK chain cache has its own lock.
#ifndef CRYPTA_ATTEST_DCAP_DCAP_VERIFIER_H_
#define CRYPTA_ATTEST_DCAP_DCAP_VERIFIER_H_

#include <memory>

#include "attest/dcap/intel_roots.h"
#include "attest/dcap/quote.h"
#include "attest/dcap/quote_verify.h"
#include "attest/verifier.h"

namespace crypta::attest::dcap {

class DcapQuoteVerifier {
 public:
  // `cache_capacity` 0 disables the PCK chain cache.
  explicit DcapQuoteVerifier(DcapTrustRoots roots, size_t cache_capacity = 256);

  // `tee` is kTdx or kSgx. Fails with the first failed check (see above).
  Result<Claims> Verify(TeeType tee, const Evidence& evidence, const VerifyOptions& options) const;

 private:
  DcapTrustRoots roots_;
  std::unique_ptr<PckChainCache> cache_;
};

// Claims of a parsed quote (no verification): the fields named in tdx/sgx verifier headers.
Claims QuoteClaims(const ParsedQuote& quote);

}  // namespace crypta::attest::dcap

#endif  // CRYPTA_ATTEST_DCAP_DCAP_VERIFIER_H_
