#include "attest/nitro/aws_root.h"

#include "common/constant_time.h"
#include "common/encoding.h"

namespace crypta::attest::nitro {

const std::string_view kAwsNitroRootG1Pem =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTEL\n"
    "MAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYD\n"
    "VQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4\n"
    "MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQL\n"
    "DANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEG\n"
    "BSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb\n"
    "48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZE\n"
    "h8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkF\n"
    "R+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYC\n"
    "MQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPW\n"
    "rfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6N\n"
    "IwLz3/Y=\n"
    "-----END CERTIFICATE-----\n";

Result<Certificate> LoadPinnedAwsNitroRoot() {
  auto root = Certificate::FromPem(kAwsNitroRootG1Pem);
  if (!root) {
    return MakeError(ErrorCode::kInternal,
                     "pinned AWS Nitro root does not parse: " + root.error().message());
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes want, HexDecode(kAwsNitroRootG1Sha256));
  if (!ConstantTimeEquals(root->Sha256Fingerprint(), want)) {
    return MakeError(ErrorCode::kInternal, "pinned AWS Nitro root: SHA-256 fingerprint " +
                                               HexEncode(root->Sha256Fingerprint()) +
                                               " != " + std::string(kAwsNitroRootG1Sha256));
  }
  auto key = root->public_key();
  if (!key || key->type() != KeyType::kEcP384) {
    return MakeError(ErrorCode::kInternal, "pinned AWS Nitro root: key is not P-384");
  }
  return *root;
}

}  // namespace crypta::attest::nitro
