// A thin RAII layer over SQLite 3 (libsqlite3): databases in WAL mode, prepared statements
// with typed binds and columns, and IMMEDIATE transactions that roll back unless committed.
// Every failure is a Result error naming the SQL; nothing throws.
//
// A Database may be shared by several threads and components: it serializes its users on one
// recursive mutex, and a Transaction holds that mutex from BEGIN to COMMIT/ROLLBACK, so no
// other thread's statement can run inside (or start) another thread's transaction on the
// shared connection. A Statement or Transaction belongs to one thread at a time.
//
// Transactions nest: Begin inside a transaction of the same thread opens a SAVEPOINT, whose
// Commit releases it into the outer transaction and whose destruction without Commit rolls
// back to it. So a caller can make several components' writes one atomic unit (a state
// change and its audit entry) by opening the outer transaction itself.
//
// Lock order: components that guard their own state with a mutex take this database's
// mutex first (Lock()), then their own, so an outer transaction can call into them.
#ifndef CRYPTA_STORE_SQLITE_H_
#define CRYPTA_STORE_SQLITE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace crypta::store {

class Statement;

class Database {
 public:
  // Opens (creating if needed) a database file with mode 0600, WAL journaling,
  // synchronous=FULL, foreign keys on and a 5 s busy timeout. ":memory:" for tests.
  static Result<std::unique_ptr<Database>> Open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements without results (schema, pragmas).
  Status Exec(std::string_view sql);
  Result<Statement> Prepare(std::string_view sql);
  sqlite3* handle() const { return db_; }
  // The connection's mutex, for the lock order above.
  std::unique_lock<std::recursive_mutex> Lock() { return std::unique_lock(*mu_); }

 private:
  friend class Statement;
  friend class Transaction;
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  // Shared with Statements, which may outlive the Database (sqlite3_close_v2 defers).
  std::shared_ptr<std::recursive_mutex> mu_ = std::make_shared<std::recursive_mutex>();
  int transaction_depth_ = 0;  // guarded by mu_
};

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // Binds are 1-based, as in SQLite.
  Status Bind(int index, int64_t value);
  Status Bind(int index, std::string_view text);
  Status BindBlob(int index, ByteSpan blob);
  Status BindNull(int index);

  // Advances: true when a row is available, false when done.
  Result<bool> Step();
  // Step() for statements without result rows; fails if one is returned. Afterwards
  // changes() and last_insert_rowid() hold this statement's effect (read under the
  // connection's lock, so another thread's statement cannot interleave).
  Status Run();
  int changes() const { return changes_; }
  int64_t last_insert_rowid() const { return last_insert_rowid_; }
  Status Reset();

  int64_t ColumnInt(int column) const;
  std::string ColumnText(int column) const;
  Bytes ColumnBlob(int column) const;
  bool ColumnIsNull(int column) const;

 private:
  friend class Database;
  Statement(Database* owner, sqlite3_stmt* stmt, std::string sql)
      : mu_(owner->mu_), db_(owner->db_), stmt_(stmt), sql_(std::move(sql)) {}
  Error Fail(std::string_view what) const;

  std::shared_ptr<std::recursive_mutex> mu_;
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
  int changes_ = 0;
  int64_t last_insert_rowid_ = 0;
};

// BEGIN IMMEDIATE on construction (takes the write lock up front, so two writers never
// deadlock on upgrade); ROLLBACK on destruction unless Commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> Begin(Database& db);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status Commit();

 private:
  Transaction(Database* db, std::unique_lock<std::recursive_mutex> lock, int depth)
      : db_(db), lock_(std::move(lock)), depth_(depth) {}
  Status End(bool commit);
  Database* db_;
  std::unique_lock<std::recursive_mutex> lock_;  // held until COMMIT or ROLLBACK
  int depth_ = 0;                                // 0: the outermost (BEGIN), n > 0: SAVEPOINT tx<n>
  bool done_ = false;
};

}  // namespace crypta::store

#endif  // CRYPTA_STORE_SQLITE_H_
