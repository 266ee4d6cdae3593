// The key broker's SQLite schema, in one place. Migrations are numbered and applied in
// order inside one IMMEDIATE transaction; schema_version records the last one applied.
#ifndef CRYPTA_KBS_SCHEMA_H_
#define CRYPTA_KBS_SCHEMA_H_

#include <cstdint>

#include "common/status.h"
#include "store/database.h"

namespace crypta::kbs {

// The schema version this build writes.
int64_t CurrentSchemaVersion();

// Brings `db` up to CurrentSchemaVersion(). Idempotent; all-or-nothing. Fails with
// kFailedPrecondition for a database written by a newer build (never downgrades).
// Not thread-safe with other writers on the same Database object.
Status MigrateSchema(store::Database& db);

}  // namespace crypta::kbs

#endif  // CRYPTA_KBS_SCHEMA_H_
