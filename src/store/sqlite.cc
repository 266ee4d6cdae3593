// The SQLite backend of store/database.h.
#include <sqlite3.h>
#include <sys/stat.h>

#include <utility>

#include "store/database.h"

namespace crypta::store {
namespace {

Error SqlError(sqlite3* db, std::string_view what) {
  int code = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  ErrorCode ec = ErrorCode::kInternal;
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      ec = ErrorCode::kUnavailable;
      break;
    case SQLITE_CONSTRAINT:
      ec = (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
               ? ErrorCode::kAlreadyExists
               : ErrorCode::kFailedPrecondition;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      ec = ErrorCode::kDataLoss;
      break;
    case SQLITE_FULL:
      ec = ErrorCode::kResourceExhausted;
      break;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
      ec = ErrorCode::kUnavailable;
      break;
    default:
      break;
  }
  return Error(ec, std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

class SqliteStatement final : public StatementBackend {
 public:
  SqliteStatement(std::shared_ptr<std::recursive_mutex> mu, sqlite3* db, sqlite3_stmt* stmt,
                  std::string sql)
      : mu_(std::move(mu)), db_(db), stmt_(stmt), sql_(std::move(sql)) {}
  ~SqliteStatement() override {
    std::lock_guard<std::recursive_mutex> lock(*mu_);
    sqlite3_finalize(stmt_);
  }

  Status Bind(int index, int64_t value) override {
    if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) return MakeError(Fail("bind"));
    return OkStatus();
  }
  Status Bind(int index, std::string_view text) override {
    if (sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                          SQLITE_TRANSIENT) != SQLITE_OK) {
      return MakeError(Fail("bind"));
    }
    return OkStatus();
  }
  Status BindBlob(int index, ByteSpan blob) override {
    static const uint8_t kEmpty = 0;
    if (sqlite3_bind_blob(stmt_, index, blob.empty() ? &kEmpty : blob.data(),
                          static_cast<int>(blob.size()), SQLITE_TRANSIENT) != SQLITE_OK) {
      return MakeError(Fail("bind"));
    }
    return OkStatus();
  }
  Status BindNull(int index) override {
    if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) return MakeError(Fail("bind"));
    return OkStatus();
  }

  Result<bool> Step() override {
    std::lock_guard<std::recursive_mutex> lock(*mu_);
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return MakeError(Fail("step"));
  }
  // changes() is read under the connection's lock, so another thread's statement cannot
  // interleave.
  Status Run() override {
    std::lock_guard<std::recursive_mutex> lock(*mu_);
    CRYPTA_ASSIGN_OR_RETURN(bool row, Step());
    if (row) {
      return MakeError(ErrorCode::kInternal, "statement returned rows: " + sql_.substr(0, 60));
    }
    changes_ = sqlite3_changes(db_);
    return Reset();
  }
  Status Reset() override {
    std::lock_guard<std::recursive_mutex> lock(*mu_);
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return OkStatus();
  }
  int changes() const override { return changes_; }

  int64_t ColumnInt(int column) const override { return sqlite3_column_int64(stmt_, column); }
  std::string ColumnText(int column) const override {
    const unsigned char* t = sqlite3_column_text(stmt_, column);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, column)))
             : std::string();
  }
  Bytes ColumnBlob(int column) const override {
    const auto* b = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
    int n = sqlite3_column_bytes(stmt_, column);
    return b ? Bytes(b, b + n) : Bytes();
  }
  bool ColumnIsNull(int column) const override {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
  }

 private:
  Error Fail(std::string_view what) const {
    return SqlError(db_, std::string(what) + " \"" + sql_.substr(0, 60) + "\"");
  }

  std::shared_ptr<std::recursive_mutex> mu_;
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
  int changes_ = 0;
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  // sqlite3_close_v2 defers until the last statement is finalized.
  ~SqliteDatabase() override { sqlite3_close_v2(db_); }

  Dialect dialect() const override { return Dialect::kSqlite; }

  Status Exec(std::string_view sql) override {
    std::lock_guard<std::recursive_mutex> lock(*mu_);
    std::string s(sql);
    char* err = nullptr;
    if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      Error e = SqlError(db_, "exec");
      return MakeError(e.code(), "SQL \"" + s.substr(0, 60) + "\": " + msg);
    }
    return OkStatus();
  }

  Result<Statement> Prepare(std::string_view sql) override {
    std::lock_guard<std::recursive_mutex> lock(*mu_);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK) {
      return MakeError(SqlError(db_, "prepare \"" + std::string(sql.substr(0, 60)) + "\""));
    }
    return Statement(std::make_unique<SqliteStatement>(mu_, db_, stmt, std::string(sql)));
  }

  Result<bool> HasColumn(std::string_view table, std::string_view column) override {
    CRYPTA_ASSIGN_OR_RETURN(Statement stmt,
                            Prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = ?"));
    CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, table));
    CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, column));
    return stmt.Step();
  }

  Status Ping() override {
    CRYPTA_ASSIGN_OR_RETURN(Statement stmt, Prepare("SELECT 1"));
    CRYPTA_RETURN_IF_ERROR(stmt.Step());
    return OkStatus();
  }

  Result<bool> TryLeadership(int64_t) override { return true; }
  std::string Describe() const override { return "sqlite:" + path_; }

 protected:
  Status BeginTransaction() override { return Exec("BEGIN IMMEDIATE"); }
  Status BeginReadTransaction() override { return Exec("BEGIN DEFERRED"); }
  Status EndTransaction(bool commit) override {
    Status s = Exec(commit ? "COMMIT" : "ROLLBACK");
    // A failed COMMIT (a full disk) may leave SQLite's transaction open: roll it back so the
    // connection stays usable and nothing half-written remains.
    if (!s && commit) (void)Exec("ROLLBACK");
    return s;
  }

 private:
  sqlite3* db_;
  std::string path_;
};

}  // namespace

namespace internal {

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  mode_t old = ::umask(077);  // the database and its WAL files are owner-only
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  ::umask(old);
  if (rc != SQLITE_OK) {
    Error e = SqlError(db, "open " + path);
    sqlite3_close(db);
    return MakeError(e);
  }
  auto out = std::make_unique<SqliteDatabase>(db, path);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
  CRYPTA_RETURN_IF_ERROR(
      out->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  return std::unique_ptr<Database>(std::move(out));
}

}  // namespace internal
}  // namespace crypta::store
