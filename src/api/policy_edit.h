// Editing a key-release policy's reference values in place (issue 12; the role Trustee's
// reference value provider plays): add or remove measurements and host data without
// replacing the rest of the policy. Used by `crypta policy add-measurement | remove-measurement
// | add-host-data | remove-host-data` and by deployments' --register-measurement.
#ifndef CRYPTA_API_POLICY_EDIT_H_
#define CRYPTA_API_POLICY_EDIT_H_

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace crypta::api {

// (field, value): field is "measurements" or "host_data", value lowercase hex.
using ReferenceValue = std::pair<std::string, std::string>;

struct PolicyEdit {
  std::vector<ReferenceValue> add;
  std::vector<ReferenceValue> remove;
  // Lists removed entirely when they become empty (host_data lists a registration created;
  // an empty "measurements" list stays: it allows nothing).
  std::set<std::string> drop_when_empty;
};

struct EditedPolicy {
  std::string text;                     // the new policy (YAML)
  std::vector<ReferenceValue> added;    // values that were not there before
  std::vector<ReferenceValue> removed;  // values that were there
  std::set<std::string> created_lists;  // fields that had no list before
};

// Applies `edit` to `existing` (YAML or JSON; none: the smallest policy for `tee`, with
// allow_simulated only for "sim"). kInvalidArgument for a field other than measurements or
// host_data or a value that is not hex; kFailedPrecondition when the policy's list is not a
// plain list (e.g. measurements per TEE): those are edited by hand with `policy set`.
Result<EditedPolicy> EditPolicyLists(const std::optional<std::string>& existing,
                                     const std::string& tee, const PolicyEdit& edit);

}  // namespace crypta::api

#endif  // CRYPTA_API_POLICY_EDIT_H_
