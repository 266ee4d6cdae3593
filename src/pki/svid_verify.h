// Verifying a peer's X.509-SVID (SPIFFE X509-SVID specification) against a trust bundle,
// CRLs and an authorization policy, at an explicit time. What the runtime's mTLS server,
// the client SDK and service-to-service callers use after (or instead of) the TLS stack's
// own chain check. Pure and thread-safe.
#ifndef CRYPTA_PKI_SVID_VERIFY_H_
#define CRYPTA_PKI_SVID_VERIFY_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/x509.h"
#include "pki/spiffe_id.h"

namespace crypta::pki {

struct VerifyExpectations {
  std::string trust_domain;  // required
  // SPIFFE ID patterns (see MatchesSpiffePattern), e.g.
  // "spiffe://crypta.local/tenant/hr/workload/*". Empty = any workload of the trust domain.
  std::vector<std::string> allowed_ids;
  int64_t now = 0;  // verification time, Unix seconds (required, > 0; the clock is not read)
  // When true, the leaf's issuer must have a CRL among those given (without it, a CRL is
  // checked when one from the issuer is given, and its absence is not an error).
  bool require_crl = false;
};

struct VerifiedSvid {
  SpiffeId id;
  std::string uri;  // id.ToString()
  Certificate leaf;
};

// Checks, in this order, each failing with a message that starts "SVID" and says why:
//  - the leaf is not a CA (basicConstraints cA=TRUE refused, X509-SVID §4.1) and its
//    keyUsage has digitalSignature without keyCertSign/cRLSign (§4.3)     kUnauthenticated
//  - exactly one URI SAN, a crypta SPIFFE ID (§2)                         kUnauthenticated
//  - the chain (leaf, then intermediates in `chain`) verifies to a root of `bundle` at `now`
//    with `crls`: "expired", "not yet valid", "unknown issuer", "revoked", "bad signature"
//    (VerifyChain's words)                                                  kUnauthenticated
//  - the ID's trust domain is the expected one                            kPermissionDenied
//  - the ID matches one of allowed_ids                                    kPermissionDenied
// kInvalidArgument for an empty chain or bundle, bad expectations or patterns.
Result<VerifiedSvid> VerifySvid(std::span<const Certificate> chain,
                                std::span<const Certificate> bundle, std::span<const Crl> crls,
                                const VerifyExpectations& expect);

// The same from encodings: `chain` is one DER certificate or PEM blocks (leaf first),
// `bundle_pem` PEM roots, each CRL DER or PEM.
Result<VerifiedSvid> VerifySvidEncoded(ByteSpan chain, std::string_view bundle_pem,
                                       std::span<const Bytes> crls,
                                       const VerifyExpectations& expect);

}  // namespace crypta::pki

#endif  // CRYPTA_PKI_SVID_VERIFY_H_
