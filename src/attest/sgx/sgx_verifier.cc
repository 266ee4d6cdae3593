#include "attest/sgx/sgx_verifier.h"

namespace crypta::attest::sgx {

Result<std::shared_ptr<SgxVerifier>> SgxVerifier::CreatePinned() {
  CRYPTA_ASSIGN_OR_RETURN(dcap::DcapTrustRoots roots, dcap::DcapTrustRoots::PinnedIntel());
  return std::make_shared<SgxVerifier>(std::move(roots));
}

Result<VerifiedEvidence> SgxVerifier::Verify(const Evidence& evidence,
                                             const VerifyOptions& options) const {
  if (evidence.tee != TeeType::kSgx) {
    return MakeError(ErrorCode::kInvalidArgument, "SgxVerifier: evidence is not sgx");
  }
  CRYPTA_ASSIGN_OR_RETURN(Claims claims, core_.Verify(TeeType::kSgx, evidence, options));
  return MakeVerified(std::move(claims), evidence, options);
}

}  // namespace crypta::attest::sgx
