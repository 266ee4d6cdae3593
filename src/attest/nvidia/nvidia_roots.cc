// NVIDIA's two trust anchors for GPU attestation, compiled in (nothing is read from disk or
// the network), and checked at first use against their SHA-256 fingerprints
// (testdata/nvidia/MANIFEST.md, "Trust anchors"):
//
// * NVIDIA Device Identity CA (self-signed, P-384, 2021-11-05 .. 9999-12-31): the root of
//   every Hopper device certificate chain; NVIDIA's local verifier ships it as
//   verifier_device_root.pem, Trustee as nvidia_device_root.pem (pinned there by SHA-1).
// * NVIDIA CoRIM signing Root CA (self-signed, P-384, 2023-03-16 .. 2053-03-08): the root
//   of the RIM (reference integrity manifest) signer chains.
#include <mutex>
#include <string_view>

#include "attest/nvidia/verifier.h"
#include "common/encoding.h"

namespace crypta::attest::nvidia {
namespace {

constexpr char kDeviceRootPem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICCzCCAZCgAwIBAgIQLTZwscoQBBHB/sDoKgZbVDAKBggqhkjOPQQDAzA1MSIw\n"
    "IAYDVQQDDBlOVklESUEgRGV2aWNlIElkZW50aXR5IENBMQ8wDQYDVQQKDAZOVklE\n"
    "SUEwIBcNMjExMTA1MDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMDUxIjAgBgNVBAMM\n"
    "GU5WSURJQSBEZXZpY2UgSWRlbnRpdHkgQ0ExDzANBgNVBAoMBk5WSURJQTB2MBAG\n"
    "ByqGSM49AgEGBSuBBAAiA2IABA5MFKM7+KViZljbQSlgfky/RRnEQScW9NDZF8SX\n"
    "gAW96r6u/Ve8ZggtcYpPi2BS4VFu6KfEIrhN6FcHG7WP05W+oM+hxj7nyA1r1jkB\n"
    "2Ry70YfThX3Ba1zOryOP+MJ9vaNjMGEwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8B\n"
    "Af8EBAMCAQYwHQYDVR0OBBYEFFeF/4PyY8xlfWi3Olv0jUrL+0lfMB8GA1UdIwQY\n"
    "MBaAFFeF/4PyY8xlfWi3Olv0jUrL+0lfMAoGCCqGSM49BAMDA2kAMGYCMQCPeFM3\n"
    "TASsKQVaT+8S0sO9u97PVGCpE9d/I42IT7k3UUOLSR/qvJynVOD1vQKVXf0CMQC+\n"
    "EY55WYoDBvs2wPAH1Gw4LbcwUN8QCff8bFmV4ZxjCRr4WXTLFHBKjbfneGSBWwA=\n"
    "-----END CERTIFICATE-----\n";

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

constexpr char kDeviceRootSha256[] =
    "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48";
constexpr char kRimRootSha256[] =
    "12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1";

Result<Certificate> LoadPinned(std::string_view pem, std::string_view sha256_hex,
                               const char* name) {
  auto cert = Certificate::FromPem(pem);
  if (!cert) return MakeError(cert.error().WithContext(name));
  if (HexEncode(cert->Sha256Fingerprint()) != sha256_hex) {
    return MakeError(ErrorCode::kInternal, std::string(name) +
                                               ": embedded certificate does not match its pinned "
                                               "SHA-256 fingerprint");
  }
  if (!cert->is_self_issued() || !cert->is_ca()) {
    return MakeError(ErrorCode::kInternal, std::string(name) + ": not a self-issued CA");
  }
  return *cert;
}

}  // namespace

Result<Certificate> PinnedNvidiaDeviceRoot() {
  static const Result<Certificate> root =
      LoadPinned(kDeviceRootPem, kDeviceRootSha256, "pinned NVIDIA Device Identity CA");
  return root;
}

Result<Certificate> PinnedNvidiaRimRoot() {
  static const Result<Certificate> root =
      LoadPinned(kRimRootPem, kRimRootSha256, "pinned NVIDIA CoRIM signing Root CA");
  return root;
}

}  // namespace crypta::attest::nvidia
