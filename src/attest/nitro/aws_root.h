// The AWS Nitro Enclaves Root-G1 certificate, pinned in the binary.
//
// AWS publishes it as AWS_NitroEnclaves_Root-G1.zip (member root.pem) and gives its
// SHA-256 fingerprint in the Nitro Enclaves User Guide ("Verifying the root of trust");
// testdata/nitro/MANIFEST.md "Root of trust". CN=aws.nitro-enclaves, OU=AWS, O=Amazon,
// C=US, P-384, valid 2019-10-28T13:28:05Z..2049-10-28T14:28:05Z.
#ifndef CRYPTA_ATTEST_NITRO_AWS_ROOT_H_
#define CRYPTA_ATTEST_NITRO_AWS_ROOT_H_

#include <string_view>

#include "common/status.h"
#include "crypto/x509.h"

namespace crypta::attest::nitro {

// The root as PEM text (the certificate's DER equals cabundle[0] of every AWS document).
extern const std::string_view kAwsNitroRootG1Pem;
// SHA-256 of the root's DER, uppercase hex, as AWS publishes it.
inline constexpr std::string_view kAwsNitroRootG1Sha256 =
    "641A0321A3E244EFE456463195D606317ED7CDCC3C1756E09893F3C68F79BB5B";

// Parses kAwsNitroRootG1Pem and checks its fingerprint against kAwsNitroRootG1Sha256 and
// that its key is P-384; kInternal if either check fails (a corrupted build).
Result<Certificate> LoadPinnedAwsNitroRoot();

}  // namespace crypta::attest::nitro

#endif  // CRYPTA_ATTEST_NITRO_AWS_ROOT_H_
