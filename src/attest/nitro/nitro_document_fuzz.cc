// Fuzzes Nitro attestation document parsing, and full verification against the pinned AWS
// root at the nitrite document's time (2024-09-07T14:37:39Z, inside every certificate of
// that document, so mutated documents reach the chain and COSE checks) with the nonce of
// that document expected. Never crashes; any result is fine.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "attest/nitro/document.h"
#include "attest/nitro/verifier.h"

namespace {

const crypta::attest::nitro::NitroVerifier* TheVerifier() {
  static const std::shared_ptr<crypta::attest::nitro::NitroVerifier> verifier =
      *crypta::attest::nitro::NitroVerifier::CreatePinned();
  return verifier.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crypta::ByteSpan input(data, size);
  auto doc = crypta::attest::nitro::ParseNitroDocument(input);
  if (doc) {
    (void)doc->SigStructure();
    (void)doc->FindPcr(0);
  }
  crypta::attest::Evidence evidence{.tee = crypta::attest::TeeType::kNitro,
                                    .raw = crypta::Bytes(input.begin(), input.end()),
                                    .collateral = {}};
  crypta::attest::VerifyOptions options;
  options.verification_time = 1725719859;  // 2024-09-07T14:37:39Z
  options.expected_report_data = crypta::Bytes(1024, 0x01);
  auto verified = TheVerifier()->Verify(evidence, options);
  if (verified) (void)verified->claims().ToJson().dump();
  return 0;
}
