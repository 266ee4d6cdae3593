// Internal to src/audit: schema and row helpers shared by log.cc and log_verify.cc.
#ifndef CRYPTA_AUDIT_LOG_INTERNAL_H_
#define CRYPTA_AUDIT_LOG_INTERNAL_H_

#include <cstdint>
#include <vector>

#include "audit/log.h"
#include "store/database.h"

namespace crypta::audit::internal {

inline constexpr char kEntryColumns[] =
    "seq, time, actor, tenant, action, outcome, reason, details, leaf_hash";

// Reads a row selected with kEntryColumns.
StoredEntry ReadEntryRow(const store::Statement& stmt);
SignedCheckpoint ReadCheckpointRow(const store::Statement& stmt);
inline constexpr char kCheckpointColumns[] = "id, tree_size, root_hash, time, signature, key_id";

// The stored tree size and frontier (kDataLoss if they disagree).
Result<MerkleFrontier> LoadFrontier(store::Database& db);

}  // namespace crypta::audit::internal

#endif  // CRYPTA_AUDIT_LOG_INTERNAL_H_
