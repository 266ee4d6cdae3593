// Attested TLS: a TLS certificate that carries TEE evidence binding its own public key.
//
// The evidence travels in the TCG DICE "tagged evidence" extension (TCG DICE Attestation
// Architecture v1.1, OID 2.23.133.5.4.9 tcg-dice-TaggedEvidence; later versions call it
// tcg-dice-conceptual-message-wrapper). The extension's extnValue holds, directly, one CBOR
// data item (RFC 8949): a tag naming the evidence format wrapping a definite-length byte
// string with the evidence:
//
//   extnValue = OCTET STRING { #6.<format-tag>(bstr evidence) }
//
// Format tags (the tag is the format id, as the DICE spec and the interoperable RA-TLS
// profile of Gramine/rats-tls do):
//   0x1A7501  Intel TEE quote (TDX or SGX; told apart by the quote header's tee_type)
//   0x1A7504  AMD SEV-SNP attestation report
//   0x63727901 / 02 / 03  crypta sim / AWS Nitro / Arm CCA evidence (unregistered,
//             crypta-private values in the first-come-first-served range)
// The extension is non-critical: OpenSSL and mbedTLS refuse certificates with an unknown
// critical extension, so a plain TLS client could not even connect.
//
// The binding: the TEE's report_data is AttestedTlsReportData(SPKI DER of the certificate)
//   = SHA-384("crypta attested-tls v1" || SPKI DER) || 16 zero bytes.
// A relying party parses the extension, verifies the evidence with its attest::Verifier and
// then checks the verified claims' report_data with CheckAttestedTlsBinding.
//
// Pure functions, thread-safe; the parsers take untrusted input and never abort.
#ifndef CRYPTA_PKI_ATTESTED_TLS_H_
#define CRYPTA_PKI_ATTESTED_TLS_H_

#include <functional>
#include <string>
#include <vector>

#include "attest/evidence.h"
#include "common/bytes.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace crypta::pki {

inline constexpr char kTcgDiceTaggedEvidenceOid[] = "2.23.133.5.4.9";
inline constexpr uint64_t kCborTagIntelTeeQuote = 0x1A7501;
inline constexpr uint64_t kCborTagSevSnpReport = 0x1A7504;
inline constexpr uint64_t kCborTagCryptaSim = 0x63727901;
inline constexpr uint64_t kCborTagCryptaNitro = 0x63727902;
inline constexpr uint64_t kCborTagCryptaCca = 0x63727903;
// Evidence must fit in a certificate (x509.h caps those at 64 KiB).
inline constexpr size_t kMaxAttestedEvidenceSize = 60 * 1024;

struct AttestedEvidence {
  attest::TeeType tee = attest::TeeType::kSim;
  Bytes evidence;  // the raw report / quote / token, untrusted until verified
};

// The CBOR tag for a TEE's evidence format (see above).
uint64_t CborTagForTee(attest::TeeType tee);

// The extension value (the bytes inside extnValue). kInvalidArgument for empty evidence or
// evidence over kMaxAttestedEvidenceSize.
Result<Bytes> AttestedCertExtension(attest::TeeType tee, ByteSpan evidence);

// Parses an extension value: exactly one CBOR item, a known tag around a definite byte
// string, nothing after it. kInvalidArgument naming what was wrong (unknown tag, not a byte
// string, trailing bytes, too large, an Intel quote with an unknown tee_type).
Result<AttestedEvidence> ParseAttestedExtensionValue(ByteSpan value);

// Finds the extension in `cert` and parses it. kNotFound when the certificate has none.
Result<AttestedEvidence> ParseAttestedCertExtension(const Certificate& cert);

// SHA-384("crypta attested-tls v1" || spki_der) zero-padded to 64 bytes.
Bytes AttestedTlsReportData(ByteSpan spki_der);

// Compares `report_data` (from verified evidence) with AttestedTlsReportData of the
// certificate's public key, in constant time. kPermissionDenied on a mismatch.
[[nodiscard]] Status CheckAttestedTlsBinding(const Certificate& cert, ByteSpan report_data);

// Collects evidence for 64 bytes of report_data (attest::Attester::Collect, or a fake).
using EvidenceCollector = std::function<Result<attest::Evidence>(ByteSpan report_data)>;

struct AttestedCertificateOptions {
  std::string common_name = "crypta attested TLS";
  std::vector<std::string> dns_names;  // subjectAltName dNSName entries
  std::vector<std::string> ip_addresses;
  int64_t now = 0;  // Unix seconds; 0 = the system clock
  int64_t ttl_s = 24 * 3600;
};

// A self-signed leaf certificate (cA=false, digitalSignature, EKU serverAuth+clientAuth)
// for `key` whose extension carries evidence collected for AttestedTlsReportData(SPKI).
// Valid from now-60 to now+ttl_s. Errors from the collector are passed on with context.
Result<Certificate> MakeAttestedCertificate(const PrivateKey& key, const EvidenceCollector& collect,
                                            const AttestedCertificateOptions& options = {});

}  // namespace crypta::pki

#endif  // CRYPTA_PKI_ATTESTED_TLS_H_
