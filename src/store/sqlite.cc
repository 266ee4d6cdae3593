#include "store/sqlite.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <utility>

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

}  // namespace

Result<std::unique_ptr<Database>> Database::Open(const std::string& path) {
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
  std::unique_ptr<Database> out(new Database(db));
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
  CRYPTA_RETURN_IF_ERROR(
      out->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  return out;
}

Database::~Database() { sqlite3_close_v2(db_); }

Status Database::Exec(std::string_view sql) {
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

Result<Statement> Database::Prepare(std::string_view sql) {
  std::lock_guard<std::recursive_mutex> lock(*mu_);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    return MakeError(SqlError(db_, "prepare \"" + std::string(sql.substr(0, 60)) + "\""));
  }
  return Statement(this, stmt, std::string(sql));
}

Statement::Statement(Statement&& other) noexcept
    : mu_(other.mu_),
      db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      sql_(std::move(other.sql_)),
      changes_(other.changes_),
      last_insert_rowid_(other.last_insert_rowid_) {}

Statement::~Statement() {
  if (stmt_) {
    std::lock_guard<std::recursive_mutex> lock(*mu_);
    sqlite3_finalize(stmt_);
  }
}

Error Statement::Fail(std::string_view what) const {
  return SqlError(db_, std::string(what) + " \"" + sql_.substr(0, 60) + "\"");
}

Status Statement::Bind(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) return MakeError(Fail("bind"));
  return OkStatus();
}
Status Statement::Bind(int index, std::string_view text) {
  if (sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK) {
    return MakeError(Fail("bind"));
  }
  return OkStatus();
}
Status Statement::BindBlob(int index, ByteSpan blob) {
  static const uint8_t kEmpty = 0;
  if (sqlite3_bind_blob(stmt_, index, blob.empty() ? &kEmpty : blob.data(),
                        static_cast<int>(blob.size()), SQLITE_TRANSIENT) != SQLITE_OK) {
    return MakeError(Fail("bind"));
  }
  return OkStatus();
}
Status Statement::BindNull(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) return MakeError(Fail("bind"));
  return OkStatus();
}

Result<bool> Statement::Step() {
  std::lock_guard<std::recursive_mutex> lock(*mu_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return MakeError(Fail("step"));
}

Status Statement::Run() {
  std::lock_guard<std::recursive_mutex> lock(*mu_);
  CRYPTA_ASSIGN_OR_RETURN(bool row, Step());
  if (row) return MakeError(ErrorCode::kInternal, "statement returned rows: " + sql_.substr(0, 60));
  changes_ = sqlite3_changes(db_);
  last_insert_rowid_ = sqlite3_last_insert_rowid(db_);
  return Reset();
}

Status Statement::Reset() {
  std::lock_guard<std::recursive_mutex> lock(*mu_);
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  return OkStatus();
}

int64_t Statement::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }
std::string Statement::ColumnText(int column) const {
  const unsigned char* t = sqlite3_column_text(stmt_, column);
  return t ? std::string(reinterpret_cast<const char*>(t),
                         static_cast<size_t>(sqlite3_column_bytes(stmt_, column)))
           : std::string();
}
Bytes Statement::ColumnBlob(int column) const {
  const auto* b = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  int n = sqlite3_column_bytes(stmt_, column);
  return b ? Bytes(b, b + n) : Bytes();
}
bool Statement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Result<Transaction> Transaction::Begin(Database& db) {
  std::unique_lock<std::recursive_mutex> lock(*db.mu_);
  const int depth = db.transaction_depth_;
  CRYPTA_RETURN_IF_ERROR(db.Exec(depth == 0 ? std::string("BEGIN IMMEDIATE")
                                            : "SAVEPOINT tx" + std::to_string(depth)));
  ++db.transaction_depth_;
  return Transaction(&db, std::move(lock), depth);
}

Transaction::Transaction(Transaction&& other) noexcept
    : db_(other.db_),
      lock_(std::move(other.lock_)),
      depth_(other.depth_),
      done_(std::exchange(other.done_, true)) {}

Status Transaction::End(bool commit) {
  done_ = true;
  const std::string name = "tx" + std::to_string(depth_);
  Status s = depth_ == 0 ? db_->Exec(commit ? "COMMIT" : "ROLLBACK")
             : commit    ? db_->Exec("RELEASE " + name)
                         : db_->Exec("ROLLBACK TO " + name + "; RELEASE " + name);
  // A failed COMMIT (a full disk) may leave SQLite's transaction open: roll it back so the
  // connection stays usable and nothing half-written remains.
  if (!s && commit && depth_ == 0) (void)db_->Exec("ROLLBACK");
  --db_->transaction_depth_;
  lock_.unlock();
  return s;
}

Transaction::~Transaction() {
  if (!done_) (void)End(/*commit=*/false);
}

Status Transaction::Commit() {
  if (done_) return MakeError(ErrorCode::kFailedPrecondition, "transaction already ended");
  return End(/*commit=*/true);
}

}  // namespace crypta::store
