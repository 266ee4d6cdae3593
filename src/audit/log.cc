#include "audit/log.h"

#include <algorithm>
#include <utility>

#include "audit/frontier_store.h"
#include "audit/log_internal.h"
#include "common/encoding.h"
#include "common/json_canonical.h"
#include "common/time_util.h"
#include "crypto/hash.h"
#include "crypto/signature.h"

namespace crypta::audit {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS audit_entries(
  seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, actor TEXT NOT NULL, tenant TEXT NOT NULL,
  action TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL, details TEXT NOT NULL,
  leaf_hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit_tree(
  id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit_frontier(level INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit_checkpoints(
  id INTEGER PRIMARY KEY AUTOINCREMENT, tree_size INTEGER NOT NULL, root_hash BLOB NOT NULL,
  time INTEGER NOT NULL, signature BLOB NOT NULL, key_id TEXT NOT NULL);
)sql";

// Append-only, enforced by the database too (SQLite triggers).
constexpr char kSqliteTriggers[] = R"sql(
CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
  BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
  BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
  BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
  BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
)sql";

// The same for PostgreSQL (PL/pgSQL trigger functions; TRUNCATE refused as well).
constexpr char kPostgresTriggers[] = R"sql(
CREATE OR REPLACE FUNCTION crypta_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '% are append-only', TG_ARGV[0]; END $$;
CREATE OR REPLACE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
  FOR EACH ROW EXECUTE FUNCTION crypta_append_only('audit entries');
CREATE OR REPLACE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
  FOR EACH STATEMENT EXECUTE FUNCTION crypta_append_only('audit entries');
CREATE OR REPLACE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE
  ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION crypta_append_only('audit checkpoints');
CREATE OR REPLACE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION crypta_append_only('audit checkpoints');
)sql";

Status CheckField(std::string_view name, std::string_view value, size_t cap) {
  if (value.size() > cap) {
    return MakeError(ErrorCode::kInvalidArgument, "audit entry " + std::string(name) + " is " +
                                                      std::to_string(value.size()) +
                                                      " bytes, at most " + std::to_string(cap));
  }
  return OkStatus();
}

Status CheckOrigin(std::string_view origin) {
  bool printable =
      std::all_of(origin.begin(), origin.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  if (origin.empty() || origin.size() > 256 || !printable) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "audit log origin must be 1-256 bytes of printable ASCII");
  }
  return OkStatus();
}

}  // namespace

namespace internal {

StoredEntry ReadEntryRow(const store::Statement& stmt) {
  StoredEntry e;
  e.seq = static_cast<uint64_t>(stmt.ColumnInt(0));
  e.time = stmt.ColumnInt(1);
  e.actor = stmt.ColumnText(2);
  e.tenant = stmt.ColumnText(3);
  e.action = stmt.ColumnText(4);
  e.outcome = stmt.ColumnText(5);
  e.reason = stmt.ColumnText(6);
  e.details = stmt.ColumnText(7);
  e.leaf_hash = stmt.ColumnBlob(8);
  return e;
}

SignedCheckpoint ReadCheckpointRow(const store::Statement& stmt) {
  SignedCheckpoint c;
  c.id = stmt.ColumnInt(0);
  c.tree_size = static_cast<uint64_t>(stmt.ColumnInt(1));
  c.root_hash = stmt.ColumnBlob(2);
  c.time = stmt.ColumnInt(3);
  c.signature = stmt.ColumnBlob(4);
  c.key_id = stmt.ColumnText(5);
  return c;
}

Result<MerkleFrontier> LoadFrontier(store::Database& db) {
  return audit::LoadFrontier(db, "audit");
}

}  // namespace internal

std::string CheckpointText(std::string_view origin, uint64_t tree_size, ByteSpan root,
                           int64_t time) {
  return std::string(origin) + "\n" + std::to_string(tree_size) + "\n" + Base64Encode(root) + "\n" +
         std::to_string(time) + "\n";
}

Result<std::string> EntryLeafData(const StoredEntry& entry) {
  auto details = ParseJsonStrict(entry.details, {.max_bytes = kMaxAuditDetailsBytes});
  if (!details) {
    return MakeError(ErrorCode::kDataLoss,
                     "audit entry seq " + std::to_string(entry.seq) +
                         ": details are not valid JSON: " + details.error().message());
  }
  nlohmann::json leaf = {{"v", 1},
                         {"seq", entry.seq},
                         {"time", entry.time},
                         {"actor", entry.actor},
                         {"tenant", entry.tenant},
                         {"action", entry.action},
                         {"outcome", entry.outcome},
                         {"reason", entry.reason},
                         {"details", std::move(*details)}};
  auto text = CanonicalizeJson(leaf);
  if (!text) {
    return MakeError(ErrorCode::kDataLoss,
                     "audit entry seq " + std::to_string(entry.seq) +
                         " cannot be canonicalized: " + text.error().message());
  }
  return std::move(*text);
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(store::Database& db, AuditLogOptions options) {
  CRYPTA_RETURN_IF_ERROR(CheckOrigin(options.origin));
  CRYPTA_ASSIGN_OR_RETURN(Redactor redactor, Redactor::Create(options.redaction));
  if (!options.clock) options.clock = [] { return UnixNow(); };
  CRYPTA_RETURN_IF_ERROR(db.Exec(kSchema));
  CRYPTA_RETURN_IF_ERROR(
      db.Exec(db.dialect() == store::Dialect::kPostgres ? kPostgresTriggers : kSqliteTriggers));
  return std::unique_ptr<AuditLog>(new AuditLog(db, std::move(options), std::move(redactor)));
}

Result<uint64_t> AuditLog::Append(const AuditEntry& entry) {
  CRYPTA_RETURN_IF_ERROR(CheckField("actor", entry.actor, kMaxAuditIdentifierBytes));
  CRYPTA_RETURN_IF_ERROR(CheckField("tenant", entry.tenant, kMaxAuditIdentifierBytes));
  CRYPTA_RETURN_IF_ERROR(CheckField("action", entry.action, kMaxAuditIdentifierBytes));
  CRYPTA_RETURN_IF_ERROR(CheckField("outcome", entry.outcome, kMaxAuditIdentifierBytes));
  CRYPTA_RETURN_IF_ERROR(CheckField("reason", entry.reason, kMaxAuditReasonBytes));
  // Redact before anything is hashed or stored.
  StoredEntry stored;
  stored.actor = redactor_.Redact(entry.actor);
  stored.tenant = redactor_.Redact(entry.tenant);
  stored.action = redactor_.Redact(entry.action);
  stored.outcome = redactor_.Redact(entry.outcome);
  stored.reason = redactor_.Redact(entry.reason);
  auto details = CanonicalizeJson(redactor_.RedactJson(entry.details));
  if (!details) return MakeError(details.error().WithContext("audit entry details"));
  stored.details = std::move(*details);
  CRYPTA_RETURN_IF_ERROR(CheckField("details", stored.details, kMaxAuditDetailsBytes));

  auto db_lock = db_.Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(db_));
  CRYPTA_ASSIGN_OR_RETURN(MerkleFrontier frontier, internal::LoadFrontier(db_));
  stored.seq = frontier.size();
  stored.time = options_.clock();
  auto leaf_data = EntryLeafData(stored);
  if (!leaf_data) {  // e.g. invalid UTF-8 in a field: the caller's input, not data loss
    return MakeError(ErrorCode::kInvalidArgument, leaf_data.error().message());
  }
  stored.leaf_hash = LeafHash(AsBytes(*leaf_data));
  CRYPTA_RETURN_IF_ERROR(frontier.Append(stored.leaf_hash));
  {
    CRYPTA_ASSIGN_OR_RETURN(
        auto insert, db_.Prepare("INSERT INTO audit_entries(seq, time, actor, tenant, action, "
                                 "outcome, reason, details, leaf_hash) VALUES(?,?,?,?,?,?,?,?,?)"));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(1, static_cast<int64_t>(stored.seq)));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(2, stored.time));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(3, std::string_view(stored.actor)));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(4, std::string_view(stored.tenant)));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(5, std::string_view(stored.action)));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(6, std::string_view(stored.outcome)));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(7, std::string_view(stored.reason)));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(8, std::string_view(stored.details)));
    CRYPTA_RETURN_IF_ERROR(insert.BindBlob(9, stored.leaf_hash));
    CRYPTA_RETURN_IF_ERROR(insert.Run());
  }
  CRYPTA_RETURN_IF_ERROR(StoreFrontier(db_, "audit", frontier));
  CRYPTA_RETURN_IF_ERROR(tx.Commit());
  return stored.seq;
}

Result<SignedCheckpoint> AuditLog::Checkpoint(const PrivateKey& key, std::string_view key_id) {
  if (key.type() != KeyType::kEcP256) {
    return MakeError(ErrorCode::kInvalidArgument, "audit checkpoint key must be EC P-256, got " +
                                                      std::string(KeyTypeName(key.type())));
  }
  if (key_id.empty() || key_id.size() > 128) {
    return MakeError(ErrorCode::kInvalidArgument, "audit checkpoint key_id must be 1-128 bytes");
  }
  auto db_lock = db_.Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(db_));
  CRYPTA_ASSIGN_OR_RETURN(MerkleFrontier frontier, internal::LoadFrontier(db_));
  SignedCheckpoint cp;
  cp.tree_size = frontier.size();
  cp.root_hash = frontier.Root();
  cp.time = options_.clock();
  cp.key_id = std::string(key_id);
  std::string text = CheckpointText(options_.origin, cp.tree_size, cp.root_hash, cp.time);
  CRYPTA_ASSIGN_OR_RETURN(cp.signature, EcdsaSign(key, HashAlg::kSha256, AsBytes(text)));
  CRYPTA_ASSIGN_OR_RETURN(auto insert,
                          db_.Prepare("INSERT INTO audit_checkpoints(tree_size, root_hash, time, "
                                      "signature, key_id) VALUES(?,?,?,?,?) RETURNING id"));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(1, static_cast<int64_t>(cp.tree_size)));
  CRYPTA_RETURN_IF_ERROR(insert.BindBlob(2, cp.root_hash));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(3, cp.time));
  CRYPTA_RETURN_IF_ERROR(insert.BindBlob(4, cp.signature));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(5, std::string_view(cp.key_id)));
  CRYPTA_ASSIGN_OR_RETURN(bool returned, insert.Step());
  if (!returned) return MakeError(ErrorCode::kInternal, "audit checkpoint insert returned no id");
  cp.id = insert.ColumnInt(0);
  CRYPTA_RETURN_IF_ERROR(insert.Reset());
  CRYPTA_RETURN_IF_ERROR(tx.Commit());
  return cp;
}

Result<uint64_t> AuditLog::Size() {
  CRYPTA_ASSIGN_OR_RETURN(MerkleFrontier frontier, internal::LoadFrontier(db_));
  return frontier.size();
}

Result<Bytes> AuditLog::Root() {
  CRYPTA_ASSIGN_OR_RETURN(MerkleFrontier frontier, internal::LoadFrontier(db_));
  return frontier.Root();
}

Result<const MerkleTree*> AuditLog::SyncTreeLocked() {
  // Entries are append-only, so only the rows past the cached size are new.
  CRYPTA_ASSIGN_OR_RETURN(
      auto stmt,
      db_.Prepare("SELECT seq, leaf_hash FROM audit_entries WHERE seq >= ? ORDER BY seq"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, static_cast<int64_t>(tree_.size())));
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    if (static_cast<uint64_t>(stmt.ColumnInt(0)) != tree_.size()) {
      return MakeError(ErrorCode::kDataLoss,
                       "audit entry seq " + std::to_string(tree_.size()) + " is missing");
    }
    CRYPTA_RETURN_IF_ERROR(tree_.Append(stmt.ColumnBlob(1)));
  }
  return &tree_;
}

Result<Bytes> AuditLog::RootAt(uint64_t tree_size) {
  auto db_lock = db_.Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(const MerkleTree* tree, SyncTreeLocked());
  return tree->Root(tree_size);
}

Result<InclusionProof> AuditLog::ProveInclusion(uint64_t seq, uint64_t tree_size) {
  auto db_lock = db_.Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(const MerkleTree* tree, SyncTreeLocked());
  CRYPTA_ASSIGN_OR_RETURN(auto path, tree->InclusionProof(seq, tree_size));
  return InclusionProof{seq, tree_size, std::move(path)};
}

Result<ConsistencyProof> AuditLog::ProveConsistency(uint64_t old_size, uint64_t new_size) {
  auto db_lock = db_.Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(const MerkleTree* tree, SyncTreeLocked());
  CRYPTA_ASSIGN_OR_RETURN(auto path, tree->ConsistencyProof(old_size, new_size));
  return ConsistencyProof{old_size, new_size, std::move(path)};
}

Result<std::vector<StoredEntry>> AuditLog::Tail(size_t n) {
  n = std::min(n, kMaxTailEntries);
  CRYPTA_ASSIGN_OR_RETURN(auto stmt, db_.Prepare(std::string("SELECT ") + internal::kEntryColumns +
                                                 " FROM audit_entries ORDER BY seq DESC LIMIT ?"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, static_cast<int64_t>(n)));
  std::vector<StoredEntry> entries;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    entries.push_back(internal::ReadEntryRow(stmt));
  }
  std::reverse(entries.begin(), entries.end());
  return entries;
}

Result<std::optional<SignedCheckpoint>> AuditLog::LatestCheckpoint() {
  CRYPTA_ASSIGN_OR_RETURN(auto stmt,
                          db_.Prepare(std::string("SELECT ") + internal::kCheckpointColumns +
                                      " FROM audit_checkpoints ORDER BY id DESC LIMIT 1"));
  CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<SignedCheckpoint>();
  return std::optional<SignedCheckpoint>(internal::ReadCheckpointRow(stmt));
}

}  // namespace crypta::audit
