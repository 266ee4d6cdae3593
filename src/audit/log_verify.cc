// AuditLog::Verify: recomputes the whole log from the stored entry fields.
#include <memory>
#include <string>
#include <vector>

#include "audit/log.h"
#include "audit/log_internal.h"
#include "crypto/hash.h"
#include "crypto/signature.h"

namespace crypta::audit {
namespace {

std::string Seq(uint64_t seq) { return "audit entry seq " + std::to_string(seq); }

std::string Name(const SignedCheckpoint& cp) {
  return "audit checkpoint #" + std::to_string(cp.id) + " (tree size " +
         std::to_string(cp.tree_size) + ")";
}

Result<std::vector<SignedCheckpoint>> LoadCheckpoints(store::Database& db) {
  CRYPTA_ASSIGN_OR_RETURN(auto stmt,
                          db.Prepare(std::string("SELECT ") + internal::kCheckpointColumns +
                                     " FROM audit_checkpoints ORDER BY id"));
  std::vector<SignedCheckpoint> out;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out.push_back(internal::ReadCheckpointRow(stmt));
  }
  return out;
}

// Signature first, so an edited root or size is reported as a forgery.
Status CheckSignature(const SignedCheckpoint& cp, std::string_view origin,
                      const std::map<std::string, PublicKey>& keys) {
  auto key = keys.find(cp.key_id);
  if (key == keys.end()) {
    return MakeError(ErrorCode::kUnauthenticated,
                     Name(cp) + " is signed by unknown key '" + cp.key_id + "'");
  }
  std::string text = CheckpointText(origin, cp.tree_size, cp.root_hash, cp.time);
  auto ok = EcdsaVerify(key->second, HashAlg::kSha256, AsBytes(text), cp.signature);
  if (!ok) {
    return MakeError(ErrorCode::kUnauthenticated,
                     Name(cp) + ": signature by '" + cp.key_id + "' does not verify");
  }
  return OkStatus();
}

// Holds a read transaction so every query sees one snapshot; rolls it back on exit.
class ReadSnapshot {
 public:
  static Result<std::unique_ptr<ReadSnapshot>> Begin(store::Database& db) {
    // PostgreSQL: REPEATABLE READ is one snapshot for the whole transaction (READ COMMITTED
    // would take one per statement).
    CRYPTA_RETURN_IF_ERROR(db.Exec(db.dialect() == store::Dialect::kPostgres
                                       ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                                       : "BEGIN DEFERRED"));
    return std::unique_ptr<ReadSnapshot>(new ReadSnapshot(db));
  }
  ~ReadSnapshot() { (void)db_.Exec("ROLLBACK"); }

 private:
  explicit ReadSnapshot(store::Database& db) : db_(db) {}
  store::Database& db_;
};

Result<AuditVerifyReport> VerifySnapshot(store::Database& db, std::string_view origin,
                                         const std::map<std::string, PublicKey>& keys);

}  // namespace

Result<AuditVerifyReport> AuditLog::Verify(store::Database& db, std::string_view origin,
                                           const std::map<std::string, PublicKey>& keys) {
  auto snapshot = ReadSnapshot::Begin(db);
  if (!snapshot) return MakeError(snapshot.error().WithContext("audit verify"));
  return VerifySnapshot(db, origin, keys);
}

namespace {

Result<AuditVerifyReport> VerifySnapshot(store::Database& db, std::string_view origin,
                                         const std::map<std::string, PublicKey>& keys) {
  CRYPTA_ASSIGN_OR_RETURN(std::vector<SignedCheckpoint> checkpoints, LoadCheckpoints(db));
  uint64_t previous_size = 0;
  for (const SignedCheckpoint& cp : checkpoints) {
    CRYPTA_RETURN_IF_ERROR(CheckSignature(cp, origin, keys));
    if (cp.tree_size < previous_size) {
      return MakeError(ErrorCode::kDataLoss, Name(cp) +
                                                 " is smaller than the checkpoint before it (" +
                                                 std::to_string(previous_size) + ")");
    }
    previous_size = cp.tree_size;
  }

  // One pass over the entries, in seq order, rebuilding the tree; the root at each
  // checkpoint's size is taken as the frontier passes it.
  MerkleFrontier frontier;
  size_t next_checkpoint = 0;
  auto check_checkpoints_at = [&](uint64_t size) -> Status {
    for (; next_checkpoint < checkpoints.size() && checkpoints[next_checkpoint].tree_size == size;
         ++next_checkpoint) {
      const SignedCheckpoint& cp = checkpoints[next_checkpoint];
      if (cp.root_hash != frontier.Root()) {
        return MakeError(ErrorCode::kDataLoss,
                         Name(cp) + ": root does not match the entries (an entry before seq " +
                             std::to_string(size) + " was changed)");
      }
    }
    return OkStatus();
  };
  CRYPTA_RETURN_IF_ERROR(check_checkpoints_at(0));
  {
    CRYPTA_ASSIGN_OR_RETURN(auto stmt, db.Prepare(std::string("SELECT ") + internal::kEntryColumns +
                                                  " FROM audit_entries ORDER BY seq"));
    while (true) {
      CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      StoredEntry entry = internal::ReadEntryRow(stmt);
      uint64_t want = frontier.size();
      if (entry.seq != want) {
        return MakeError(ErrorCode::kDataLoss, Seq(want) + " is missing (next stored is seq " +
                                                   std::to_string(entry.seq) + ")");
      }
      CRYPTA_ASSIGN_OR_RETURN(std::string leaf_data, EntryLeafData(entry));
      Bytes leaf = LeafHash(AsBytes(leaf_data));
      if (leaf != entry.leaf_hash) {
        return MakeError(ErrorCode::kDataLoss,
                         Seq(entry.seq) + " does not match its leaf hash (edited or moved)");
      }
      CRYPTA_RETURN_IF_ERROR(frontier.Append(leaf));
      CRYPTA_RETURN_IF_ERROR(check_checkpoints_at(frontier.size()));
    }
  }
  if (next_checkpoint < checkpoints.size()) {
    return MakeError(ErrorCode::kDataLoss, Name(checkpoints[next_checkpoint]) +
                                               " covers entries missing from the log "
                                               "(" +
                                               Seq(frontier.size()) + " onwards)");
  }

  // The stored frontier and size must describe the same tree.
  auto stored = internal::LoadFrontier(db);
  if (!stored) return MakeError(stored.error().WithContext("audit frontier"));
  if (stored->size() != frontier.size()) {
    return MakeError(ErrorCode::kDataLoss, "audit log records " + std::to_string(stored->size()) +
                                               " entries but " + std::to_string(frontier.size()) +
                                               " are stored (" + Seq(frontier.size()) +
                                               " onwards missing)");
  }
  if (stored->Root() != frontier.Root()) {
    return MakeError(ErrorCode::kDataLoss, "audit frontier does not match the entries");
  }
  return AuditVerifyReport{frontier.size(), checkpoints.size(), frontier.Root()};
}

}  // namespace

}  // namespace crypta::audit
