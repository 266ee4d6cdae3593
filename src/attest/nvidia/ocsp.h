// Offline OCSP collateral for NVIDIA certificate chains (LAYOUTS §6 "Revocation").
//
// NVIDIA's verifier asks ocsp.ndis.nvidia.com, online, about every non-root certificate of
// the GPU device chain and of each RIM signer chain. crypta verifies without network, so
// an operator (or the control plane) fetches those OCSP responses ahead of time and hands
// them over as an "OCSP bundle":
//
//   {"responses": ["<base64 (RFC 4648 §4, padded) DER OCSPResponse>", ...]}
//
// Each entry is a complete RFC 6960 §4.2.1 OCSPResponse as a responder returns it (for
// example the body of `openssl ocsp -respout`). One bundle may hold the responses for
// several chains (device and RIM chains alike): responses about other certificates are
// parsed but otherwise ignored. No other member is allowed in the object.
//
// CheckChainRevocation decides, for a chain that has already been verified (leaf first,
// root last), whether every certificate below the root is known not to be revoked at the
// verification time:
//   * every non-root certificate needs at least one single response whose CertID (RFC 6960
//     §4.1.1; SHA-1, SHA-256, SHA-384 or SHA-512 hashes) names it and its issuer, the next
//     certificate of the chain;
//   * every such response is signed by that issuer itself or by a delegated responder whose
//     certificate the issuer issued directly and that carries id-kp-OCSPSigning (RFC 6960
//     §4.2.2.2); the responder certificate must be valid at the verification time (OpenSSL
//     OCSP_basic_verify with a store that trusts only the issuer, at that time);
//   * its certStatus is good, and thisUpdate <= time <= nextUpdate (RFC 6960 §4.2.2.1;
//     a response without nextUpdate is refused: an offline cache needs an end of validity).
// A revoked certificate (any reason, certificateHold included), an unknown status, a bad
// or foreign signature, or a response outside its window is an error naming the
// certificate; so is a certificate that no response covers. Responder status other than
// successful (RFC 6960 §4.2.1) is an error for that bundle entry.
//
// Thread-safe and pure: no clock, no network, no shared state.
#ifndef CRYPTA_ATTEST_NVIDIA_OCSP_H_
#define CRYPTA_ATTEST_NVIDIA_OCSP_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "attest/evidence.h"
#include "common/bytes.h"
#include "common/status.h"
#include "crypto/x509.h"

namespace crypta::attest::nvidia {

// Caps on the untrusted bundle.
inline constexpr size_t kMaxOcspBundleSize = 1024 * 1024;
inline constexpr size_t kMaxOcspResponses = 64;
inline constexpr size_t kMaxOcspResponseDerSize = 64 * 1024;

// Checks the revocation status of `chain` (leaf first, root last, at least two
// certificates, each issued by the next: normally VerifiedChain::certificates) against
// `bundle` at `verification_time` (Unix seconds; the clock is never read).
// Returns Revocation::kChecked when every non-root certificate is covered as described
// above, Revocation::kAbsent when `bundle` is empty or holds no responses.
// Errors: kInvalidArgument (a malformed bundle or chain), kResourceExhausted (a cap),
// kUnauthenticated (revoked, unknown, badly signed, expired or missing responses; the
// message names the certificate's subject).
Result<Revocation> CheckChainRevocation(const std::vector<Certificate>& chain, ByteSpan bundle,
                                        int64_t verification_time);

// The bundle text for these DER OCSPResponses, in the format above.
std::string EncodeOcspBundle(const std::vector<Bytes>& der_responses);

}  // namespace crypta::attest::nvidia

#endif  // CRYPTA_ATTEST_NVIDIA_OCSP_H_
