// Fuzzes SEV-SNP report parsing, and full verification against a fixed VCEK (trustee's
// Milan VCEK, testdata/snp/trustee-milan-vcek/vcek.der, embedded below so the target needs
// no files) and the pinned AMD roots at 2025-06-01. Never crashes; any result is fine.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "attest/snp/report.h"
#include "attest/snp/verifier.h"
#include "common/encoding.h"

namespace {

constexpr char kVcekBase64[] =
    "MIIFTDCCAvugAwIBAgIBADBGBgkqhkiG9w0BAQowOaAPMA0GCWCGSAFlAwQCAgUAoRwwGgYJKoZIhvcNAQEIMA0GCW"
    "CGSAFlAwQCAgUAogMCATCjAwIBATB7MRQwEgYDVQQLDAtFbmdpbmVlcmluZzELMAkGA1UEBhMCVVMxFDASBgNVBAcM"
    "C1NhbnRhIENsYXJhMQswCQYDVQQIDAJDQTEfMB0GA1UECgwWQWR2YW5jZWQgTWljcm8gRGV2aWNlczESMBAGA1UEAw"
    "wJU0VWLU1pbGFuMB4XDTIzMDEyNDE3NTgyNloXDTMwMDEyNDE3NTgyNlowejEUMBIGA1UECwwLRW5naW5lZXJpbmcx"
    "CzAJBgNVBAYTAlVTMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExHzAdBgNVBAoMFkFkdmFuY2VkIE"
    "1pY3JvIERldmljZXMxETAPBgNVBAMMCFNFVi1WQ0VLMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAExmG1ZbuoAQK93USR"
    "yZQcsyobfbaAEoKEELf/jK39cOVJt1t4s83WXM3rqIbS7qHUHQw/FGyOvdaEUs5+wwxpCWfDnmJMAQ+ctgZqgDEKh1"
    "NqlOuuKcKq2YAWE5cTH7sHo4IBFjCCARIwEAYJKwYBBAGceAEBBAMCAQAwFwYJKwYBBAGceAECBAoWCE1pbGFuLUIw"
    "MBEGCisGAQQBnHgBAwEEAwIBAzARBgorBgEEAZx4AQMCBAMCAQAwEQYKKwYBBAGceAEDBAQDAgEAMBEGCisGAQQBnH"
    "gBAwUEAwIBADARBgorBgEEAZx4AQMGBAMCAQAwEQYKKwYBBAGceAEDBwQDAgEAMBEGCisGAQQBnHgBAwMEAwIBCDAR"
    "BgorBgEEAZx4AQMIBAMCAXMwTQYJKwYBBAGceAEEBEDDhCejDUx6+dlvehW5cmmCWmTLdqI1L/1dGBFdia1HP46MC8"
    "2aXZKGYSutSq37RCYgWjueT+qCMBE1oXDkd1JOMEYGCSqGSIb3DQEBCjA5oA8wDQYJYIZIAWUDBAICBQChHDAaBgkq"
    "hkiG9w0BAQgwDQYJYIZIAWUDBAICBQCiAwIBMKMDAgEBA4ICAQACgCai9x8DAWzX/2IelNWmituEBSiq9C9eDnBEck"
    "QYikAhPasfagnoWFAtKu/ZWTKHi+BMbhKwswBS8W0G1ywicUWGlzigI4tdxxf1YBJyCoTSNssSbKmIh5jemBfrvIBo"
    "1yEd+e56ZJMdhN8e+xWUbvovUC2/7Dl76fzAaACLSorZUv5XPJwKXwEOHo7FIcREjoZn+fKjJTnmdXce0LD69RHr+r"
    "+ceyE79gmK31bI9DYiJoL4LeGdXZ3gMOVDR1OnDos5lOBcV+quJ6JujpgHd9g3Sa7Du7pusD9Fdap98ocZslRfFjFi"
    "//2YdVM4MKbq6IwpYNB+2PCEKNC7SfbONgZYJuPZnM/wViES/cP7MZNJ1KUKBI9yh6TmlSsZZOclGJvrOsBZimTXpA"
    "TjdNMtcluKwqAUUzYQmU7bf2TMdOXyA9iH5wIpj1kWGE1VuFADTKILkTc6LzLzOWCofLxfonhTtSDtzIv/uel547GZ"
    "qq+rVRvmIieEuEvDETwuookfV6qu3D/9KuSr9xiznmEgxynud/f525jppJMcD/ofbQxUZuGKvb3f3zy+aLxqidoX7g"
    "ca2Xd9jyUy5Y/83+ZNbz4PZx81UJzXVI9ABEh8/xilATh1ZxOePTBJjN7lgr0lXtKYjV/43yyxgUYrXNZSoLSG2dLC"
    "K9mjjraPjau34Q==";

const crypta::attest::snp::SnpVerifier* TheVerifier() {
  static const std::unique_ptr<crypta::attest::snp::SnpVerifier> verifier =
      std::move(*crypta::attest::snp::SnpVerifier::Create());
  return verifier.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crypta::ByteSpan input(data, size);
  auto report = crypta::attest::snp::ParseAttestationReport(input);
  if (report) {
    (void)report->CpuidProduct();
    (void)report->ChipIdIsZero();
  }
  static const crypta::Bytes vcek = *crypta::Base64Decode(kVcekBase64);
  crypta::attest::Evidence evidence{.tee = crypta::attest::TeeType::kSevSnp,
                                    .raw = crypta::Bytes(input.begin(), input.end()),
                                    .collateral = {}};
  evidence.collateral.items["vcek"] = vcek;
  crypta::attest::VerifyOptions options;
  options.verification_time = 1748736000;  // 2025-06-01T00:00:00Z
  (void)TheVerifier()->Verify(evidence, options);
  return 0;
}
