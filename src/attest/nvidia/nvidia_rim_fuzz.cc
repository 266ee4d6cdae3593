// Fuzzes the NVIDIA RIM path: RimVerifier::Verify (XML parse, DOCTYPE refusal, KeyInfo
// certificates, chain, XML-DSig) with the real RIM root (NV verifier_RIM_root.pem, embedded
// below so the target needs no files) at 2025-06-01, and the payload reader plus
// AppraiseMeasurements on the same bytes without the signature (otherwise a mutated RIM
// never gets past its digest). Never crashes; any result is fine.
#include <cstddef>
#include <cstdint>
#include <map>

#include "attest/nvidia/rim.h"

namespace {

constexpr char kRimRootPem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICKTCCAbCgAwIBAgIQRdrjoA5QN73fh1N17LXicDAKBggqhkjOPQQDAzBFMQsw\n"
    "CQYDVQQGEwJVUzEPMA0GA1UECgwGTlZJRElBMSUwIwYDVQQDDBxOVklESUEgQ29S\n"
    "SU0gc2lnbmluZyBSb290IENBMCAXDTIzMDMxNjE1MzczNFoYDzIwNTMwMzA4MTUz\n"
    "NzM0WjBFMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGTlZJRElBMSUwIwYDVQQDDBxO\n"
    "VklESUEgQ29SSU0gc2lnbmluZyBSb290IENBMHYwEAYHKoZIzj0CAQYFK4EEACID\n"
    "YgAEuECyi9vNM+Iw2lfUzyBldHAwaC1HF7TCgp12QcEyUTm3Tagxwr48d55+K2VI\n"
    "lWYIDk7NlAIQdcV/Ff7euGLI+Qauj93HsSI4WX298PpW54RTgz9tC+Q684caR/BX\n"
    "WEeZo2MwYTAdBgNVHQ4EFgQUpaXrOPK4ZDAk08DBskn594zeZjAwHwYDVR0jBBgw\n"
    "FoAUpaXrOPK4ZDAk08DBskn594zeZjAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8B\n"
    "Af8EBAMCAQYwCgYIKoZIzj0EAwMDZwAwZAIwHGDyscDP6ihHqRvZlI3eqZ4YkvjE\n"
    "1duaN84tAHRVgxVMvNrp5Tnom3idHYGW/dskAjATvjIx6VzHm/4e2GiZAyZEIUBD\n"
    "OKPzp5ei/A0iUZpdvngenDwV8Qa/wGdiTmJ7Bp4=\n"
    "-----END CERTIFICATE-----\n";

const crypta::attest::nvidia::RimVerifier& TheVerifier() {
  static const crypta::attest::nvidia::RimVerifier verifier(
      *crypta::Certificate::FromPem(kRimRootPem));
  return verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta::attest::nvidia;
  crypta::ByteSpan input(data, size);
  (void)TheVerifier().Verify(input, 1748736000);  // 2025-06-01T00:00:00Z
  auto rim = internal::ReadRimUnverifiedForTesting(input);
  if (rim) {
    std::map<uint32_t, crypta::Bytes> blocks;
    for (uint32_t b = 1; b <= 64; ++b) blocks[b] = crypta::Bytes(48, static_cast<uint8_t>(b));
    Rim other = *rim;
    other.kind = rim->kind == "driver" ? "vbios" : "driver";
    for (RimMeasurement& m : other.measurements) m.active = false;
    const Rim& driver = rim->kind == "driver" ? *rim : other;
    const Rim& vbios = rim->kind == "driver" ? other : *rim;
    (void)AppraiseMeasurements(blocks, driver, vbios, rim->version, "96.00.5E.00.01");
  }
  return 0;
}
