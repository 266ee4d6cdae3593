// Trust anchors for Intel DCAP verification.
#ifndef CRYPTA_ATTEST_DCAP_INTEL_ROOTS_H_
#define CRYPTA_ATTEST_DCAP_INTEL_ROOTS_H_

#include <vector>

#include "common/status.h"
#include "crypto/x509.h"

namespace crypta::attest::dcap {

struct DcapTrustRoots {
  // Trust anchors (the Intel SGX Root CA in production; tests substitute their own).
  std::vector<Certificate> roots;
  // Candidate TCB Signing certificates for TCB info / QE identity when the collateral
  // carries no "tcb_signing_chain". Untrusted: each must chain to `roots`.
  std::vector<Certificate> tcb_signing_certs;

  // The pinned Intel SGX Root CA and both Intel SGX TCB Signing certificates (2018 and
  // the 2025 reissue with the same key). Fails only if the embedded PEM is corrupt.
  static Result<DcapTrustRoots> PinnedIntel();
};

}  // namespace crypta::attest::dcap

#endif  // CRYPTA_ATTEST_DCAP_INTEL_ROOTS_H_
