// Certificate signing requests (PKCS #10, RFC 2986) for SVIDs, and the report_data binding
// that ties a CSR's key to a TEE's evidence.
//
// A workload asks for an SVID by (1) making a key pair and a CSR (CreateCsr), (2) collecting
// evidence whose report_data is SvidRequestReportData(CsrPublicKeyHash(csr), nonce) with a
// fresh nonce from the control plane (RCAR challenge or a dedicated endpoint), (3) sending
// CSR + evidence. The control plane verifies the evidence, recomputes the binding from the
// CSR it received and compares (VerifySvidRequestBinding) before PlatformCa::IssueSvid.
//
// All functions are pure and thread-safe; parsers take untrusted input and never abort.
#ifndef CRYPTA_PKI_CSR_H_
#define CRYPTA_PKI_CSR_H_

#include <string_view>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/keys.h"

namespace crypta::pki {

inline constexpr size_t kMaxCsrSize = 16 * 1024;
inline constexpr size_t kReportDataSize = 64;
inline constexpr size_t kMaxSvidRequestNonceSize = 1024;

// A CSR whose self-signature verified, with an acceptable key.
struct ParsedCsr {
  PublicKey public_key;
  Bytes spki_der;       // SubjectPublicKeyInfo DER, as in the CSR
  std::string subject;  // RFC 2253, informational only (SVIDs take names from the caller)
};

// Parses a DER or PEM ("CERTIFICATE REQUEST") CSR, at most kMaxCsrSize bytes, with no
// trailing data, and verifies its signature with its own key (proof of possession, RFC
// 2986 §3). Only EC P-256, EC P-384 and Ed25519 keys are accepted. Errors:
// kInvalidArgument (malformed, too large, key type not allowed — naming the type),
// kUnauthenticated (the signature does not verify).
Result<ParsedCsr> ParseCsr(ByteSpan der_or_pem);

// SHA-256 of the CSR's SubjectPublicKeyInfo DER (what report_data binds). Parses and
// verifies the CSR as ParseCsr does, with its errors.
Result<Bytes> CsrPublicKeyHash(ByteSpan der_or_pem);

// report_data for an SVID request (64 bytes):
//   SHA-384("crypta svid-request v1" || spki_sha256 (32 bytes) || nonce) || 16 zero bytes
// The label separates it from every other use of report_data (attested TLS, RCAR);
// spki_sha256 has a fixed length, so the concatenation is unambiguous.
// kInvalidArgument unless spki_sha256 is 32 bytes and the nonce 1..kMaxSvidRequestNonceSize.
Result<Bytes> SvidRequestReportData(ByteSpan spki_sha256, ByteSpan nonce);

// Recomputes the binding for `csr` and `nonce` and compares it with `report_data` (64
// bytes) in constant time. kPermissionDenied when it does not match; CSR errors as above.
[[nodiscard]] Status VerifySvidRequestBinding(ByteSpan report_data, ByteSpan csr_der_or_pem,
                                              ByteSpan nonce);

// A DER CSR for `key` (any type PrivateKey supports, so tests can make refused ones) with
// subject CN=`common_name`, signed with SHA-256 (P-256, RSA), SHA-384 (P-384) or Ed25519.
Result<Bytes> CreateCsr(const PrivateKey& key, std::string_view common_name);

}  // namespace crypta::pki

#endif  // CRYPTA_PKI_CSR_H_
