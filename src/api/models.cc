// Model registry: the `models` table and the checks on an uploaded sealed blob.
#include "api/models.h"

#include <utility>

#include "crypto/sealed_file.h"

namespace crypta::api {

Status CreateModelTable(store::Database& db) {
  CRYPTA_RETURN_IF_ERROR(
      db.Exec("CREATE TABLE IF NOT EXISTS models ("
              " id INTEGER PRIMARY KEY,"
              " tenant TEXT NOT NULL,"
              " name TEXT NOT NULL,"
              " digest TEXT NOT NULL,"
              " key TEXT NOT NULL,"
              " object_id TEXT NOT NULL,"
              " size INTEGER NOT NULL,"
              " tees TEXT NOT NULL DEFAULT '[]',"
              " created INTEGER NOT NULL,"
              " UNIQUE (tenant, name, digest));"));
  // Columns added after the first release: present in new tables, added to old ones.
  CRYPTA_ASSIGN_OR_RETURN(bool has_backend, db.HasColumn("models", "backend"));
  CRYPTA_ASSIGN_OR_RETURN(bool has_signature, db.HasColumn("models", "signature"));
  CRYPTA_ASSIGN_OR_RETURN(bool has_content, db.HasColumn("models", "content_sha256"));
  if (!has_backend) {
    CRYPTA_RETURN_IF_ERROR(
        db.Exec("ALTER TABLE models ADD COLUMN backend TEXT NOT NULL DEFAULT ''"));
  }
  if (!has_signature) {
    CRYPTA_RETURN_IF_ERROR(
        db.Exec("ALTER TABLE models ADD COLUMN signature TEXT NOT NULL DEFAULT ''"));
  }
  if (!has_content) {
    CRYPTA_RETURN_IF_ERROR(
        db.Exec("ALTER TABLE models ADD COLUMN content_sha256 TEXT NOT NULL DEFAULT ''"));
  }
  return OkStatus();
}

Status ValidateModelName(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') {
    return MakeError(ErrorCode::kInvalidArgument,
                     "model name must be 1-128 characters and not start with '.'");
  }
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "model name may only contain letters, digits, '.', '_' and '-'");
    }
  }
  return OkStatus();
}

Result<ModelRecord> StoreModel(store::Database& db, store::BlobStore& blobs, ModelRecord record,
                               const std::string& sealed_path, int64_t now) {
  CRYPTA_RETURN_IF_ERROR(ValidateModelName(record.name));
  auto digest = store::ParseSha256Digest(record.digest);
  if (!digest) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "query parameter \"digest\" must be sha256:<64 hex>: " + digest.error().message());
  }
  record.digest = *digest;
  if (record.object_id.empty() || record.object_id.size() > 256) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "query parameter \"object_id\" must be 1-256 characters");
  }
  // The header is not authenticated here (the server has no DEK), but a blob whose key
  // reference names another tenant's key could never be opened by this tenant's workloads.
  auto opened = ReadSealedFileHeader(sealed_path);
  if (!opened) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "body is not a sealed blob: " + opened.error().message());
  }
  const KeyReference& ref = opened->header.key_ref;
  if (ref.tenant != record.tenant || ref.key_name != record.key) {
    return MakeError(ErrorCode::kInvalidArgument, "sealed header's key reference (" + ref.tenant +
                                                      "/" + ref.key_name + ") does not name key " +
                                                      record.tenant + "/" + record.key);
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string stored, blobs.PutFile(sealed_path, record.digest));
  CRYPTA_ASSIGN_OR_RETURN(uint64_t size, blobs.SizeOf(stored));
  record.size = size;
  record.created = now;
  if (record.tees.empty()) record.tees = "[]";

  CRYPTA_ASSIGN_OR_RETURN(auto stmt,
                          db.Prepare("INSERT INTO models (tenant, name, digest, key, "
                                     "object_id, size, tees, created, backend, signature, "
                                     "content_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                     "ON CONFLICT DO NOTHING"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, record.tenant));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, record.name));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(3, record.digest));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(4, record.key));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(5, record.object_id));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(6, static_cast<int64_t>(record.size)));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(7, record.tees));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(8, record.created));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(9, record.backend));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(10, record.signature));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(11, record.content_sha256));
  CRYPTA_RETURN_IF_ERROR(stmt.Run());
  if (stmt.changes() == 0) {
    return MakeError(ErrorCode::kAlreadyExists,
                     "model " + ModelReference(record) + " was already pushed");
  }
  return record;
}

namespace {

constexpr char kSelectModels[] =
    "SELECT tenant, name, digest, key, object_id, size, tees, created, backend, signature, "
    "content_sha256 FROM models ";

// Rows of `stmt` (a kSelectModels query) in order.
Result<std::vector<ModelRecord>> ReadModels(store::Statement& stmt) {
  std::vector<ModelRecord> out;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out.push_back({stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnText(2), stmt.ColumnText(3),
                   stmt.ColumnText(4), static_cast<uint64_t>(stmt.ColumnInt(5)), stmt.ColumnText(6),
                   stmt.ColumnInt(7), stmt.ColumnText(8), stmt.ColumnText(9), stmt.ColumnText(10)});
  }
  return out;
}

// Selects (tenant, name[, digest]) rows, newest first.
Result<std::vector<ModelRecord>> SelectModels(store::Database& db, const std::string& tenant,
                                              const std::string& name, const std::string& digest) {
  std::string hex;
  if (!digest.empty()) {
    auto parsed = store::ParseSha256Digest(digest);
    if (!parsed) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "digest must be sha256:<64 hex>: " + parsed.error().message());
    }
    hex = *parsed;
  }
  CRYPTA_ASSIGN_OR_RETURN(auto stmt,
                          db.Prepare(std::string(kSelectModels) +
                                     "WHERE tenant = ? AND name = ? AND (? = '' OR digest = ?) "
                                     "ORDER BY created DESC, id DESC"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, name));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(3, hex));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(4, hex));
  CRYPTA_ASSIGN_OR_RETURN(std::vector<ModelRecord> rows, ReadModels(stmt));
  if (rows.empty()) {
    return MakeError(ErrorCode::kNotFound,
                     "no model " + tenant + "/" + name + (hex.empty() ? "" : "@sha256:" + hex));
  }
  return rows;
}

}  // namespace

Result<std::vector<ModelRecord>> ListModels(store::Database& db, const std::string& tenant) {
  CRYPTA_ASSIGN_OR_RETURN(auto stmt, db.Prepare(std::string(kSelectModels) +
                                                "WHERE tenant = ? ORDER BY created DESC, id DESC"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, tenant));
  return ReadModels(stmt);
}

Result<ModelRecord> FindModel(store::Database& db, const std::string& tenant,
                              const std::string& name, const std::string& digest) {
  CRYPTA_ASSIGN_OR_RETURN(std::vector<ModelRecord> rows, SelectModels(db, tenant, name, digest));
  return rows.front();
}

Result<std::optional<ModelRecord>> FindModelByObject(store::Database& db, const std::string& tenant,
                                                     const std::string& key,
                                                     const std::string& object_id) {
  CRYPTA_ASSIGN_OR_RETURN(
      auto stmt, db.Prepare(std::string(kSelectModels) +
                            "WHERE tenant = ? AND key = ? AND object_id = ? ORDER BY id LIMIT 1"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, key));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(3, object_id));
  CRYPTA_ASSIGN_OR_RETURN(std::vector<ModelRecord> rows, ReadModels(stmt));
  if (rows.empty()) return std::optional<ModelRecord>();
  return std::optional<ModelRecord>(rows.front());
}

Result<std::vector<ModelRecord>> DeleteModelRows(store::Database& db, const std::string& tenant,
                                                 const std::string& name,
                                                 const std::string& digest) {
  CRYPTA_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(db));
  CRYPTA_ASSIGN_OR_RETURN(std::vector<ModelRecord> rows, SelectModels(db, tenant, name, digest));
  for (const ModelRecord& row : rows) {
    CRYPTA_ASSIGN_OR_RETURN(
        auto del, db.Prepare("DELETE FROM models WHERE tenant = ? AND name = ? AND digest = ?"));
    CRYPTA_RETURN_IF_ERROR(del.Bind(1, tenant));
    CRYPTA_RETURN_IF_ERROR(del.Bind(2, name));
    CRYPTA_RETURN_IF_ERROR(del.Bind(3, row.digest));
    CRYPTA_RETURN_IF_ERROR(del.Run());
  }
  CRYPTA_RETURN_IF_ERROR(txn.Commit());
  return rows;
}

Status RemoveUnusedBlobs(store::Database& db, store::BlobStore& blobs,
                         const std::vector<ModelRecord>& rows) {
  for (const ModelRecord& row : rows) {
    CRYPTA_ASSIGN_OR_RETURN(auto uses, db.Prepare("SELECT COUNT(*) FROM models WHERE digest = ?"));
    CRYPTA_RETURN_IF_ERROR(uses.Bind(1, row.digest));
    CRYPTA_ASSIGN_OR_RETURN(bool has_row, uses.Step());
    if (has_row && uses.ColumnInt(0) == 0) CRYPTA_RETURN_IF_ERROR(blobs.Remove(row.digest));
  }
  return OkStatus();
}

std::string ModelReference(const ModelRecord& record) {
  return "store://" + record.tenant + "/" + record.name + "@sha256:" + record.digest;
}

}  // namespace crypta::api
