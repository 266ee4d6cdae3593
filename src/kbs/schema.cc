#include "kbs/schema.h"

#include <string>

namespace crypta::kbs {
namespace {

// Each entry moves the schema from version i to i + 1. Append only; never edit a shipped one.
constexpr const char* kMigrations[] = {
    // 1: tenants, KEK versions, wrapped DEKs, key-release policies, API tokens.
    R"sql(
CREATE TABLE tenants (
  name    TEXT PRIMARY KEY NOT NULL,
  created INTEGER NOT NULL
);
CREATE TABLE keks (
  tenant          TEXT NOT NULL REFERENCES tenants(name),
  name            TEXT NOT NULL,
  current_version INTEGER NOT NULL,
  rotate_days     INTEGER,
  created         INTEGER NOT NULL,
  last_rotated    INTEGER NOT NULL,
  PRIMARY KEY (tenant, name)
);
CREATE TABLE kek_versions (
  tenant  TEXT NOT NULL,
  name    TEXT NOT NULL,
  version INTEGER NOT NULL,
  state   TEXT NOT NULL CHECK (state IN ('active', 'decrypt-only', 'retired')),
  wrapped BLOB,
  created INTEGER NOT NULL,
  PRIMARY KEY (tenant, name, version),
  FOREIGN KEY (tenant, name) REFERENCES keks(tenant, name)
);
CREATE TABLE wrapped_deks (
  tenant    TEXT NOT NULL,
  key       TEXT NOT NULL,
  object_id TEXT NOT NULL,
  version   INTEGER NOT NULL,
  wrapped   BLOB NOT NULL,
  created   INTEGER NOT NULL,
  PRIMARY KEY (tenant, key, object_id),
  FOREIGN KEY (tenant, key, version) REFERENCES kek_versions(tenant, name, version)
);
CREATE INDEX wrapped_deks_by_version ON wrapped_deks (tenant, key, version);
CREATE TABLE policies (
  tenant    TEXT NOT NULL REFERENCES tenants(name),
  key       TEXT NOT NULL,
  text      TEXT NOT NULL,
  policy_id TEXT NOT NULL,
  updated   INTEGER NOT NULL,
  PRIMARY KEY (tenant, key)
);
CREATE TABLE tokens (
  token_id TEXT PRIMARY KEY NOT NULL,
  hash     BLOB NOT NULL,
  tenant   TEXT NOT NULL,
  role     TEXT NOT NULL,
  created  INTEGER NOT NULL,
  revoked  INTEGER
);
)sql",
    // 2: the platform's attestation policy (one row when set; unset = the release policies).
    R"sql(
CREATE TABLE attestation_policy (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  text      TEXT NOT NULL,
  policy_id TEXT NOT NULL,
  updated   INTEGER NOT NULL
);
)sql",
};

constexpr int64_t kMigrationCount = sizeof(kMigrations) / sizeof(kMigrations[0]);

}  // namespace

int64_t CurrentSchemaVersion() { return kMigrationCount; }

Status MigrateSchema(store::Database& db) {
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(db));
  CRYPTA_RETURN_IF_ERROR(
      db.Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  CRYPTA_ASSIGN_OR_RETURN(store::Statement read, db.Prepare("SELECT version FROM schema_version"));
  int64_t version = 0;
  bool have_row = false;
  CRYPTA_ASSIGN_OR_RETURN(bool row, read.Step());
  if (row) {
    version = read.ColumnInt(0);
    have_row = true;
  }
  CRYPTA_RETURN_IF_ERROR(read.Reset());  // no statement left pending while DDL runs
  if (version > kMigrationCount) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "key broker database has schema version " + std::to_string(version) +
                         ", newer than this build's " + std::to_string(kMigrationCount));
  }
  if (version == kMigrationCount) return tx.Commit();
  for (int64_t v = version; v < kMigrationCount; ++v) {
    auto applied = db.Exec(kMigrations[v]);
    if (!applied) {
      return MakeError(applied.error().WithContext("schema migration " + std::to_string(v + 1)));
    }
  }
  CRYPTA_ASSIGN_OR_RETURN(store::Statement write,
                          db.Prepare(have_row ? "UPDATE schema_version SET version = ?"
                                              : "INSERT INTO schema_version (version) VALUES (?)"));
  CRYPTA_RETURN_IF_ERROR(write.Bind(1, kMigrationCount));
  CRYPTA_RETURN_IF_ERROR(write.Run());
  return tx.Commit();
}

}  // namespace crypta::kbs
