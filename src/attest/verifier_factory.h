// Builds the verifier for a TEE type with crypta's pinned trust roots.
#ifndef CRYPTA_ATTEST_VERIFIER_FACTORY_H_
#define CRYPTA_ATTEST_VERIFIER_FACTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "attest/verifier.h"

namespace crypta::attest {

struct VerifierConfig {
  // The platform's sim root CA (PEM). Sim evidence is only verifiable against it.
  std::string sim_root_pem;
  // NVIDIA GPUs: RIMs and an OCSP bundle the owner keeps, used when a report comes without
  // them (attest/nvidia/reference_appraiser.h).
  std::vector<Bytes> nvidia_rims;
  Bytes nvidia_ocsp_bundle;
};

// Fails for TEE types this build cannot verify yet, and for sim without a root.
Result<std::shared_ptr<const Verifier>> MakeVerifier(TeeType tee, const VerifierConfig& config);

}  // namespace crypta::attest

#endif  // CRYPTA_ATTEST_VERIFIER_FACTORY_H_
