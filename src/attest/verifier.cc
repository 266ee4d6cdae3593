#include "attest/verifier.h"

#include "common/constant_time.h"

namespace crypta::attest {

void VerifierRegistry::Register(std::shared_ptr<const Verifier> verifier) {
  TeeType tee = verifier->tee();
  verifiers_[tee] = std::move(verifier);
}

const Verifier* VerifierRegistry::Find(TeeType tee) const {
  auto it = verifiers_.find(tee);
  return it == verifiers_.end() ? nullptr : it->second.get();
}

Result<VerifiedEvidence> VerifierRegistry::Verify(const Evidence& evidence,
                                                  const VerifyOptions& options) const {
  const Verifier* v = Find(evidence.tee);
  if (!v) {
    return MakeError(ErrorCode::kUnimplemented,
                     "no verifier for TEE type " + std::string(TeeTypeName(evidence.tee)));
  }
  if (options.verification_time <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "verification time not set");
  }
  return v->Verify(evidence, options);
}

Status CheckReportData(ByteSpan report_data, const VerifyOptions& options) {
  if (!options.expected_report_data) return OkStatus();
  Bytes want = *options.expected_report_data;
  if (want.size() > 64) {
    return MakeError(ErrorCode::kInvalidArgument, "expected report_data longer than 64 bytes");
  }
  want.resize(64, 0);
  if (!ConstantTimeEquals(report_data, want)) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "report_data does not match the expected value (not bound to this "
                     "session's nonce or key)");
  }
  return OkStatus();
}

VerifiedEvidence AttachDevices(VerifiedEvidence cpu, std::vector<VerifiedEvidence> devices) {
  for (VerifiedEvidence& d : devices) cpu.claims_.devices.push_back(std::move(d.claims_));
  return cpu;
}

}  // namespace crypta::attest
