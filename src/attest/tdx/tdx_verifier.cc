#include "attest/tdx/tdx_verifier.h"

namespace crypta::attest::tdx {

Result<std::shared_ptr<TdxVerifier>> TdxVerifier::CreatePinned() {
  CRYPTA_ASSIGN_OR_RETURN(dcap::DcapTrustRoots roots, dcap::DcapTrustRoots::PinnedIntel());
  return std::make_shared<TdxVerifier>(std::move(roots));
}

Result<VerifiedEvidence> TdxVerifier::Verify(const Evidence& evidence,
                                             const VerifyOptions& options) const {
  if (evidence.tee != TeeType::kTdx) {
    return MakeError(ErrorCode::kInvalidArgument, "TdxVerifier: evidence is not tdx");
  }
  CRYPTA_ASSIGN_OR_RETURN(Claims claims, core_.Verify(TeeType::kTdx, evidence, options));
  return MakeVerified(std::move(claims), evidence, options);
}

}  // namespace crypta::attest::tdx
