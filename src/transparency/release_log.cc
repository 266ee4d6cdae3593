#include "transparency/release_log.h"

#include <algorithm>
#include <utility>

#include "audit/frontier_store.h"
#include "common/constant_time.h"
#include "common/time_util.h"
#include "transparency/release_log_internal.h"

namespace crypta::transparency {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS tlog_entries(
  leaf_index INTEGER PRIMARY KEY, time INTEGER NOT NULL, tenant TEXT NOT NULL,
  workload TEXT NOT NULL, measurement TEXT NOT NULL, model_digest TEXT NOT NULL,
  host_data TEXT NOT NULL, note TEXT NOT NULL, leaf_hash BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS tlog_entries_release
  ON tlog_entries(measurement, tenant, model_digest, leaf_index);
CREATE TABLE IF NOT EXISTS tlog_tree(id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tlog_frontier(level INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tlog_checkpoints(
  tree_size INTEGER NOT NULL, origin TEXT NOT NULL, verifier_key TEXT NOT NULL,
  root BLOB NOT NULL, note TEXT NOT NULL, time INTEGER NOT NULL,
  PRIMARY KEY (tree_size, origin, verifier_key));
)sql";

// Append-only, enforced by the database too.
constexpr char kSqliteTriggers[] = R"sql(
CREATE TRIGGER IF NOT EXISTS tlog_entries_no_update BEFORE UPDATE ON tlog_entries
  BEGIN SELECT RAISE(ABORT, 'release log entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS tlog_entries_no_delete BEFORE DELETE ON tlog_entries
  BEGIN SELECT RAISE(ABORT, 'release log entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS tlog_checkpoints_no_update BEFORE UPDATE ON tlog_checkpoints
  BEGIN SELECT RAISE(ABORT, 'release log checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS tlog_checkpoints_no_delete BEFORE DELETE ON tlog_checkpoints
  BEGIN SELECT RAISE(ABORT, 'release log checkpoints are append-only'); END;
)sql";

constexpr char kPostgresTriggers[] = R"sql(
CREATE OR REPLACE FUNCTION tlog_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '% are append-only', TG_ARGV[0]; END $$;
CREATE OR REPLACE TRIGGER tlog_entries_append_only BEFORE UPDATE OR DELETE ON tlog_entries
  FOR EACH ROW EXECUTE FUNCTION tlog_append_only('release log entries');
CREATE OR REPLACE TRIGGER tlog_entries_no_truncate BEFORE TRUNCATE ON tlog_entries
  FOR EACH STATEMENT EXECUTE FUNCTION tlog_append_only('release log entries');
CREATE OR REPLACE TRIGGER tlog_checkpoints_append_only BEFORE UPDATE OR DELETE
  ON tlog_checkpoints FOR EACH ROW EXECUTE FUNCTION tlog_append_only('release log checkpoints');
CREATE OR REPLACE TRIGGER tlog_checkpoints_no_truncate BEFORE TRUNCATE ON tlog_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION tlog_append_only('release log checkpoints');
)sql";

Status CheckSigningInputs(const PrivateKey& key, const std::string& key_name,
                          const std::string& origin) {
  if (key.type() != KeyType::kEd25519) {
    return MakeError(ErrorCode::kInvalidArgument, "release log signing key must be Ed25519, got " +
                                                      std::string(KeyTypeName(key.type())));
  }
  CRYPTA_RETURN_IF_ERROR(ValidateNoteKeyName(key_name, "release log key name"));
  // tlog-checkpoint §Note text 1 allows more; we keep the recommended form.
  return ValidateNoteKeyName(origin, "release log origin");
}

}  // namespace

namespace internal {

Result<audit::MerkleFrontier> LoadFrontier(store::Database& db) {
  return audit::LoadFrontier(db, "tlog");
}

StoredRelease ReadEntryRow(const store::Statement& stmt) {
  StoredRelease r;
  r.index = static_cast<uint64_t>(stmt.ColumnInt(0));
  r.entry.time = stmt.ColumnInt(1);
  r.entry.tenant = stmt.ColumnText(2);
  r.entry.workload = stmt.ColumnText(3);
  r.entry.measurement = stmt.ColumnText(4);
  r.entry.model_digest = stmt.ColumnText(5);
  r.entry.host_data = stmt.ColumnText(6);
  r.entry.note = stmt.ColumnText(7);
  r.leaf_hash = stmt.ColumnBlob(8);
  return r;
}

}  // namespace internal

Result<std::unique_ptr<ReleaseLog>> ReleaseLog::Open(std::shared_ptr<store::Database> db,
                                                     ReleaseLogOptions options) {
  if (!db) return MakeError(ErrorCode::kInvalidArgument, "release log needs a database");
  if (!options.clock) options.clock = [] { return UnixNow(); };
  {
    CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db));
    CRYPTA_RETURN_IF_ERROR(db->Exec(kSchema));
    CRYPTA_RETURN_IF_ERROR(
        db->Exec(db->dialect() == store::Dialect::kPostgres ? kPostgresTriggers : kSqliteTriggers));
    CRYPTA_RETURN_IF_ERROR(tx.Commit());
  }
  return std::unique_ptr<ReleaseLog>(new ReleaseLog(std::move(db), std::move(options)));
}

Result<uint64_t> ReleaseLog::Append(ReleaseEntry entry) {
  if (entry.time == 0) entry.time = options_.clock();
  CRYPTA_RETURN_IF_ERROR(ValidateReleaseEntry(entry));

  auto db_lock = db_->Lock();  // store/database.h lock order: the database first
  std::lock_guard<std::mutex> lock(mu_);
  store::Database& db = *db_;
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(db));
  CRYPTA_ASSIGN_OR_RETURN(audit::MerkleFrontier frontier, internal::LoadFrontier(db));
  const uint64_t index = frontier.size();
  CRYPTA_ASSIGN_OR_RETURN(Bytes leaf_hash, ReleaseLeafHash(entry, index));
  CRYPTA_RETURN_IF_ERROR(frontier.Append(leaf_hash));
  {
    CRYPTA_ASSIGN_OR_RETURN(
        auto insert,
        db.Prepare("INSERT INTO tlog_entries(leaf_index, time, tenant, workload, measurement, "
                   "model_digest, host_data, note, leaf_hash) VALUES(?,?,?,?,?,?,?,?,?)"));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(1, static_cast<int64_t>(index)));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(2, entry.time));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(3, std::string_view(entry.tenant)));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(4, std::string_view(entry.workload)));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(5, std::string_view(entry.measurement)));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(6, std::string_view(entry.model_digest)));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(7, std::string_view(entry.host_data)));
    CRYPTA_RETURN_IF_ERROR(insert.Bind(8, std::string_view(entry.note)));
    CRYPTA_RETURN_IF_ERROR(insert.BindBlob(9, leaf_hash));
    CRYPTA_RETURN_IF_ERROR(insert.Run());
  }
  CRYPTA_RETURN_IF_ERROR(audit::StoreFrontier(db, "tlog", frontier));
  CRYPTA_RETURN_IF_ERROR(tx.Commit());
  return index;
}

Result<uint64_t> ReleaseLog::Size() {
  CRYPTA_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT size FROM tlog_tree WHERE id = 1"));
  CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? static_cast<uint64_t>(stmt.ColumnInt(0)) : 0;
}

Result<const audit::MerkleTree*> ReleaseLog::SyncTreeLocked() {
  // Entries are append-only, so only the rows past the cached size are new.
  CRYPTA_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT leaf_index, leaf_hash FROM tlog_entries "
                                                  "WHERE leaf_index >= ? ORDER BY leaf_index"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, static_cast<int64_t>(tree_.size())));
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    if (static_cast<uint64_t>(stmt.ColumnInt(0)) != tree_.size()) {
      return MakeError(ErrorCode::kDataLoss,
                       "release log entry " + std::to_string(tree_.size()) + " is missing");
    }
    auto appended = tree_.Append(stmt.ColumnBlob(1));
    if (!appended) {
      return MakeError(ErrorCode::kDataLoss, "release log entry " + std::to_string(tree_.size()) +
                                                 ": " + appended.error().message());
    }
  }
  return &tree_;
}

Result<Bytes> ReleaseLog::Root(uint64_t size) {
  auto db_lock = db_->Lock();
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(const audit::MerkleTree* tree, SyncTreeLocked());
  return tree->Root(size);
}

Result<SignedTreeHead> ReleaseLog::SignedCheckpoint(const PrivateKey& key,
                                                    const std::string& key_name,
                                                    const std::string& origin) {
  auto db_lock = db_->Lock();
  std::lock_guard<std::mutex> lock(mu_);
  return SignedCheckpointLocked(key, key_name, origin);
}

// The checkpoint of the current tree already signed for (origin, vkey), if any: the head with
// its stored note (kDataLoss when the stored root is not the tree's: a rewritten store), or
// the head with an empty note.
Result<SignedTreeHead> ReleaseLog::CurrentHead(const std::string& origin, const std::string& vkey) {
  store::Database& db = *db_;
  CRYPTA_ASSIGN_OR_RETURN(audit::MerkleFrontier frontier, internal::LoadFrontier(db));
  SignedTreeHead head;
  head.checkpoint.origin = origin;
  head.checkpoint.size = frontier.size();
  head.checkpoint.root = frontier.Root();
  const int64_t size = static_cast<int64_t>(head.checkpoint.size);
  CRYPTA_ASSIGN_OR_RETURN(auto cached,
                          db.Prepare("SELECT root, note FROM tlog_checkpoints WHERE "
                                     "tree_size = ? AND origin = ? AND verifier_key = ?"));
  CRYPTA_RETURN_IF_ERROR(cached.Bind(1, size));
  CRYPTA_RETURN_IF_ERROR(cached.Bind(2, std::string_view(origin)));
  CRYPTA_RETURN_IF_ERROR(cached.Bind(3, std::string_view(vkey)));
  CRYPTA_ASSIGN_OR_RETURN(bool row, cached.Step());
  if (row) {
    if (!ConstantTimeEquals(cached.ColumnBlob(0), head.checkpoint.root)) {
      return MakeError(ErrorCode::kDataLoss,
                       "release log: the stored checkpoint at size " + std::to_string(size) +
                           " has another root than the tree (the store was rewritten)");
    }
    head.note = cached.ColumnText(1);
  }
  return head;
}

Result<SignedTreeHead> ReleaseLog::SignedCheckpointLocked(const PrivateKey& key,
                                                          const std::string& key_name,
                                                          const std::string& origin) {
  CRYPTA_RETURN_IF_ERROR(CheckSigningInputs(key, key_name, origin));
  CRYPTA_ASSIGN_OR_RETURN(std::string vkey, VerifierKeyString(key_name, key.GetPublicKey()));
  store::Database& db = *db_;
  {  // Signed before at this size with this key (the common case): a read, no write lock.
    CRYPTA_ASSIGN_OR_RETURN(store::Transaction read, store::Transaction::BeginRead(db));
    CRYPTA_ASSIGN_OR_RETURN(SignedTreeHead head, CurrentHead(origin, vkey));
    if (!head.note.empty()) return head;
  }
  CRYPTA_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(db));
  CRYPTA_ASSIGN_OR_RETURN(SignedTreeHead head, CurrentHead(origin, vkey));
  if (!head.note.empty()) return head;  // another replica signed it meanwhile
  const int64_t size = static_cast<int64_t>(head.checkpoint.size);
  // tlog-checkpoint §Signatures: never sign a tree inconsistent with one signed before. The
  // leaf hashes must give the frontier's root, and the largest earlier checkpoint's root at its
  // size.
  CRYPTA_ASSIGN_OR_RETURN(const audit::MerkleTree* tree, SyncTreeLocked());
  if (tree->size() != head.checkpoint.size) {
    return MakeError(ErrorCode::kDataLoss, "release log: " + std::to_string(tree->size()) +
                                               " leaf hashes stored for a tree of size " +
                                               std::to_string(size));
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes leaves_root, tree->Root(head.checkpoint.size));
  if (leaves_root != head.checkpoint.root) {
    return MakeError(ErrorCode::kDataLoss,
                     "release log: the stored leaf hashes do not give the frontier's root");
  }
  {
    CRYPTA_ASSIGN_OR_RETURN(auto latest,
                            db.Prepare("SELECT tree_size, root FROM tlog_checkpoints WHERE "
                                       "origin = ? ORDER BY tree_size DESC LIMIT 1"));
    CRYPTA_RETURN_IF_ERROR(latest.Bind(1, std::string_view(origin)));
    CRYPTA_ASSIGN_OR_RETURN(bool row, latest.Step());
    if (row) {
      const uint64_t old_size = static_cast<uint64_t>(latest.ColumnInt(0));
      if (old_size > head.checkpoint.size) {
        return MakeError(ErrorCode::kDataLoss,
                         "release log: refusing to sign size " + std::to_string(size) +
                             ", a checkpoint at size " + std::to_string(old_size) + " exists");
      }
      CRYPTA_ASSIGN_OR_RETURN(Bytes old_root, tree->Root(old_size));
      if (old_root != latest.ColumnBlob(1)) {
        return MakeError(ErrorCode::kDataLoss,
                         "release log: refusing to sign, the first " + std::to_string(old_size) +
                             " entries no longer match the checkpoint signed at that size");
      }
    }
  }
  CRYPTA_ASSIGN_OR_RETURN(head.note, SignNote(CheckpointBody(head.checkpoint), key_name, key));
  CRYPTA_ASSIGN_OR_RETURN(
      auto insert, db.Prepare("INSERT INTO tlog_checkpoints(tree_size, origin, verifier_key, "
                              "root, note, time) VALUES(?,?,?,?,?,?)"));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(1, size));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(2, std::string_view(origin)));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(3, std::string_view(vkey)));
  CRYPTA_RETURN_IF_ERROR(insert.BindBlob(4, head.checkpoint.root));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(5, std::string_view(head.note)));
  CRYPTA_RETURN_IF_ERROR(insert.Bind(6, options_.clock()));
  CRYPTA_RETURN_IF_ERROR(insert.Run());
  CRYPTA_RETURN_IF_ERROR(tx.Commit());
  return head;
}

Result<std::vector<StoredRelease>> ReleaseLog::Entries(uint64_t start, uint64_t end) {
  CRYPTA_ASSIGN_OR_RETURN(uint64_t size, Size());
  if (start > end || end > size) {
    return MakeError(ErrorCode::kOutOfRange,
                     "release log entries [" + std::to_string(start) + ", " + std::to_string(end) +
                         ") are not within the log's " + std::to_string(size) + " entries");
  }
  end = std::min(end, start + kMaxEntriesPerCall);
  CRYPTA_ASSIGN_OR_RETURN(
      auto stmt, db_->Prepare(std::string("SELECT ") + internal::kEntryColumns +
                              " FROM tlog_entries WHERE leaf_index >= ? AND leaf_index < ? "
                              "ORDER BY leaf_index"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, static_cast<int64_t>(start)));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, static_cast<int64_t>(end)));
  std::vector<StoredRelease> out;
  out.reserve(end - start);
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    StoredRelease r = internal::ReadEntryRow(stmt);
    if (r.index != start + out.size()) break;  // reported below
    out.push_back(std::move(r));
  }
  if (out.size() != end - start) {
    return MakeError(ErrorCode::kDataLoss,
                     "release log entry " + std::to_string(start + out.size()) + " is missing");
  }
  return out;
}

Result<audit::InclusionProof> ReleaseLog::ProveInclusion(uint64_t index, uint64_t size) {
  auto db_lock = db_->Lock();
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(const audit::MerkleTree* tree, SyncTreeLocked());
  CRYPTA_ASSIGN_OR_RETURN(auto path, tree->InclusionProof(index, size));
  return audit::InclusionProof{index, size, std::move(path)};
}

Result<audit::ConsistencyProof> ReleaseLog::ProveConsistency(uint64_t old_size, uint64_t new_size) {
  auto db_lock = db_->Lock();
  std::lock_guard<std::mutex> lock(mu_);
  CRYPTA_ASSIGN_OR_RETURN(const audit::MerkleTree* tree, SyncTreeLocked());
  CRYPTA_ASSIGN_OR_RETURN(auto path, tree->ConsistencyProof(old_size, new_size));
  return audit::ConsistencyProof{old_size, new_size, std::move(path)};
}

Result<std::optional<uint64_t>> ReleaseLog::FindRelease(std::string_view tenant,
                                                        std::string_view measurement,
                                                        std::string_view model_digest) {
  CRYPTA_RETURN_IF_ERROR(ValidateMeasurement(measurement));
  if (!model_digest.empty()) CRYPTA_RETURN_IF_ERROR(ValidateModelDigest(model_digest));
  std::string sql = "SELECT leaf_index FROM tlog_entries WHERE measurement = ?";
  if (!tenant.empty()) sql += " AND tenant = ?";
  if (!model_digest.empty()) sql += " AND model_digest = ?";
  sql += " ORDER BY leaf_index LIMIT 1";
  CRYPTA_ASSIGN_OR_RETURN(auto stmt, db_->Prepare(sql));
  int column = 1;
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(column++, measurement));
  if (!tenant.empty()) CRYPTA_RETURN_IF_ERROR(stmt.Bind(column++, tenant));
  if (!model_digest.empty()) CRYPTA_RETURN_IF_ERROR(stmt.Bind(column++, model_digest));
  CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(stmt.ColumnInt(0)));
}

}  // namespace crypta::transparency
