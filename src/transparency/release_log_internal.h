// Pieces of release_log.cc shared with release_log_dump.cc (internal to src/transparency).
#ifndef CRYPTA_TRANSPARENCY_RELEASE_LOG_INTERNAL_H_
#define CRYPTA_TRANSPARENCY_RELEASE_LOG_INTERNAL_H_

#include "audit/merkle.h"
#include "common/status.h"
#include "store/database.h"
#include "transparency/release_log.h"

namespace crypta::transparency::internal {

// The columns ReadEntryRow reads, in order.
inline constexpr char kEntryColumns[] =
    "leaf_index, time, tenant, workload, measurement, model_digest, host_data, note, leaf_hash";

// The stored size and frontier, from one statement (kDataLoss when they disagree).
Result<audit::MerkleFrontier> LoadFrontier(store::Database& db);
StoredRelease ReadEntryRow(const store::Statement& stmt);

}  // namespace crypta::transparency::internal

#endif  // CRYPTA_TRANSPARENCY_RELEASE_LOG_INTERNAL_H_
