// A Merkle log's size and frontier (merkle.h MerkleFrontier) kept in two tables of the
// store: <prefix>_tree(id = 1, size) and <prefix>_frontier(level, hash), the audit log's
// ("audit") and the release transparency log's ("tlog"). Appending stays O(log n) and
// never re-hashes the log.
#ifndef CRYPTA_AUDIT_FRONTIER_STORE_H_
#define CRYPTA_AUDIT_FRONTIER_STORE_H_

#include <string_view>

#include "audit/merkle.h"
#include "common/status.h"
#include "store/database.h"

namespace crypta::audit {

// The stored size and frontier, read by one statement so both come from one snapshot even
// while another connection appends. kDataLoss when they disagree or a level is out of range.
Result<MerkleFrontier> LoadFrontier(store::Database& db, std::string_view prefix);

// Replaces the stored frontier and size with `frontier` (inside the caller's transaction).
Status StoreFrontier(store::Database& db, std::string_view prefix, const MerkleFrontier& frontier);

}  // namespace crypta::audit

#endif  // CRYPTA_AUDIT_FRONTIER_STORE_H_
