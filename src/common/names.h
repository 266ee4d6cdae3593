// The names crypta lets users choose for tenants, keys, workloads, deployments and nodes:
// DNS-label-like, so they fit in URLs, SPIFFE IDs, Kubernetes objects and file names alike.
#ifndef CRYPTA_COMMON_NAMES_H_
#define CRYPTA_COMMON_NAMES_H_

#include <string_view>

#include "common/status.h"

namespace crypta {

// OK for [a-z0-9][a-z0-9-]{0,62}; otherwise kInvalidArgument naming `what`, the value and
// the problem (empty, too long, the position of a character not allowed).
Status ValidateName(std::string_view name, std::string_view what);

}  // namespace crypta

#endif  // CRYPTA_COMMON_NAMES_H_
