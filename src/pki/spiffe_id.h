// SPIFFE IDs of crypta workloads (SPIFFE-ID specification §2):
//
//   spiffe://<trust-domain>/tenant/<tenant>/workload/<workload>
//
// The trust domain is lowercase letters, digits, '.', '-' and '_' (SPIFFE-ID §2.1, at most
// 255 bytes); tenant and workload names follow the key broker's rule
// [a-z0-9][a-z0-9-]{0,62} (kbs::ValidateName), so an ID never needs percent-encoding and
// has exactly one spelling. Everything here is pure and thread-safe.
#ifndef CRYPTA_PKI_SPIFFE_ID_H_
#define CRYPTA_PKI_SPIFFE_ID_H_

#include <string>
#include <string_view>

#include "common/status.h"

namespace crypta::pki {

inline constexpr size_t kMaxTrustDomainSize = 255;
inline constexpr size_t kMaxSpiffeIdSize = 2048;  // SPIFFE-ID §2.3

struct SpiffeId {
  std::string trust_domain;
  std::string tenant;
  std::string workload;

  // "spiffe://td/tenant/t/workload/w".
  std::string ToString() const;
};

// kInvalidArgument naming the offending character or length.
[[nodiscard]] Status ValidateTrustDomain(std::string_view trust_domain);

// Validates the three parts; kInvalidArgument naming the part that is wrong.
Result<SpiffeId> MakeSpiffeId(std::string_view trust_domain, std::string_view tenant,
                              std::string_view workload);

// Parses exactly the crypta form above (no query, fragment, port, userinfo, trailing '/',
// empty or dot segments). kInvalidArgument with what was wrong for anything else, including
// SPIFFE IDs that are valid in general but not crypta workload IDs.
Result<SpiffeId> ParseSpiffeId(std::string_view uri);

// An authorization pattern: a SPIFFE ID whose path segments may be "*" (matches exactly one
// segment), e.g. "spiffe://crypta.local/tenant/hr/workload/*". A trailing "/**" matches any
// remaining path (one or more segments). The trust domain is never a wildcard.
// kInvalidArgument for a malformed pattern.
[[nodiscard]] Status ValidateSpiffePattern(std::string_view pattern);

// Whether `id` matches `pattern` (false for a malformed pattern).
bool MatchesSpiffePattern(std::string_view id, std::string_view pattern);

}  // namespace crypta::pki

#endif  // CRYPTA_PKI_SPIFFE_ID_H_
