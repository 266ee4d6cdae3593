// Fuzzes CCA token parsing (the tag-399 collection, both COSE_Sign1 envelopes, both claim
// sets), the claim-set parsers on their own, and full verification against the TF-A /
// TF-RMM test CPAK (testdata/cca/ccatoken-tfrmm/cpak_pub.pem, embedded below so the target
// needs no files). Never crashes; any result is fine.
#include <cstddef>
#include <cstdint>

#include "attest/cca/token.h"
#include "attest/cca/trust_anchor.h"
#include "attest/cca/verifier.h"

namespace {

constexpr char kTfaCpakPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEIShnxS4rlQiwpCCpBWDzlNLfqiG911FP\n"
    "8akBr+fh94uxHU5m+Kijivp2r2oxxN6MhM4tr8mWQli1P61xh3T0ViDREbF26DGO\n"
    "EYfbAjWjGNN7pZf+6A4OTHYqEryz6m7U\n"
    "-----END PUBLIC KEY-----\n";

const crypta::attest::cca::CcaVerifier& TheVerifier() {
  static const crypta::attest::cca::CcaVerifier verifier(crypta::attest::cca::CcaVerifierOptions{
      .trust_anchors = *crypta::attest::cca::CcaTrustAnchors::FromCpakPem(kTfaCpakPem),
      .reference_values = std::nullopt});
  return verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace cca = crypta::attest::cca;
  crypta::ByteSpan input(data, size);
  if (auto token = cca::ParseCcaToken(input)) {
    (void)token->platform_token.ToBeSigned();
    (void)cca::RealmAttestationKey(token->realm);
  }
  (void)cca::ParseCcaPlatformClaims(input);
  (void)cca::ParseCcaRealmClaims(input);
  crypta::attest::Evidence evidence{.tee = crypta::attest::TeeType::kCca,
                                    .raw = crypta::Bytes(input.begin(), input.end()),
                                    .collateral = {}};
  crypta::attest::VerifyOptions options;
  options.verification_time = 1748736000;  // 2025-06-01T00:00:00Z (CCA tokens are timeless)
  (void)TheVerifier().Verify(evidence, options);
  return 0;
}
