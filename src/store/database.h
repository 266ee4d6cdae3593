// The control plane's metadata store (DESIGN.md §5): one small query interface with two
// backends, SQLite (the embedded default: a file in the data dir) and PostgreSQL 15 (shared by
// several `crypta up` replicas, issue 15). Components write "store SQL": the subset both
// engines run the same way, with `?` placeholders, INTEGER/TEXT/BLOB column types, ON CONFLICT
// upserts and RETURNING. The PostgreSQL backend maps placeholders to $n, INTEGER to BIGINT,
// BLOB to BYTEA and `INTEGER PRIMARY KEY` to an identity column (SQLite's rowid alias); the
// few statements that differ (triggers, catalog queries) branch on dialect() or use
// HasColumn. Every failure is a Result error naming the SQL; nothing throws.
//
// A Database may be shared by several threads and components: it serializes its users on one
// recursive mutex (one connection per Database), and a Transaction holds that mutex from BEGIN
// to COMMIT/ROLLBACK, so no other thread's statement can run inside (or start) another
// thread's transaction on the shared connection. A Statement or Transaction belongs to one
// thread at a time.
//
// Transactions are single-writer on both backends: SQLite's BEGIN IMMEDIATE takes the
// database's write lock; on PostgreSQL BEGIN is followed by pg_advisory_xact_lock on one
// store-wide key, so the transactions of every replica run one after another (READ COMMITTED:
// each statement sees everything committed before the lock was granted). Read-modify-write
// code written for SQLite is therefore correct across replicas. Statements outside a
// transaction run in autocommit mode.
//
// Transactions nest: Begin inside a transaction of the same thread opens a SAVEPOINT, whose
// Commit releases it into the outer transaction and whose destruction without Commit rolls
// back to it. So a caller can make several components' writes one atomic unit (a state
// change and its audit entry) by opening the outer transaction itself. On PostgreSQL a failed
// statement aborts the transaction it runs in (SQLite's does not): callers treat a failed
// statement inside a transaction as the end of that transaction.
//
// Lock order: components that guard their own state with a mutex take this database's
// mutex first (Lock()), then their own, so an outer transaction can call into them.
#ifndef CRYPTA_STORE_DATABASE_H_
#define CRYPTA_STORE_DATABASE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta::store {

enum class Dialect { kSqlite, kPostgres };

class Statement;

// One backend's prepared statement (Statement forwards to it).
class StatementBackend {
 public:
  virtual ~StatementBackend() = default;
  virtual Status Bind(int index, int64_t value) = 0;
  virtual Status Bind(int index, std::string_view text) = 0;
  virtual Status BindBlob(int index, ByteSpan blob) = 0;
  virtual Status BindNull(int index) = 0;
  virtual Result<bool> Step() = 0;
  virtual Status Run() = 0;
  virtual Status Reset() = 0;
  virtual int changes() const = 0;
  virtual int64_t ColumnInt(int column) const = 0;
  virtual std::string ColumnText(int column) const = 0;
  virtual Bytes ColumnBlob(int column) const = 0;
  virtual bool ColumnIsNull(int column) const = 0;
};

class Database {
 public:
  // Opens a store:
  //   postgres://… or postgresql://…  a PostgreSQL database (libpq connection URI); the
  //                                   database must exist; tables are created by the
  //                                   components' migrations.
  //   anything else                   a SQLite file, created if needed with mode 0600, WAL
  //                                   journaling, synchronous=FULL, foreign keys on and a 5 s
  //                                   busy timeout. ":memory:" for tests.
  static Result<std::unique_ptr<Database>> Open(const std::string& path_or_url);
  virtual ~Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  virtual Dialect dialect() const = 0;
  // Runs one or more statements without parameters or results (schema).
  virtual Status Exec(std::string_view sql) = 0;
  virtual Result<Statement> Prepare(std::string_view sql) = 0;
  // Whether `table` has a column named `column` (for additive migrations).
  virtual Result<bool> HasColumn(std::string_view table, std::string_view column) = 0;
  // A cheap round trip to the store (readiness): kUnavailable when it cannot be reached.
  virtual Status Ping() = 0;
  // PostgreSQL: tries to take (or confirms this connection still holds) the session-level
  // advisory lock `key`; false when another connection holds it. It is released when the
  // connection closes (the process dies) — a lease that ends with its holder. SQLite: one
  // process owns the file (crypta up's data-dir lock), so always true.
  virtual Result<bool> TryLeadership(int64_t key) = 0;
  // The store as a user would name it, without a password.
  virtual std::string Describe() const = 0;

  // The connection's mutex, for the lock order above.
  std::unique_lock<std::recursive_mutex> Lock() { return std::unique_lock(*mu_); }

 protected:
  Database() = default;
  friend class Transaction;
  // BEGIN (depth 0, taking the store's write lock) or a SAVEPOINT; COMMIT/ROLLBACK likewise.
  virtual Status BeginTransaction() = 0;
  // A read-only snapshot without the write lock (Transaction::BeginRead).
  virtual Status BeginReadTransaction() = 0;
  virtual Status EndTransaction(bool commit) = 0;
  // Shared with statements, which may outlive the Database.
  std::shared_ptr<std::recursive_mutex> mu_ = std::make_shared<std::recursive_mutex>();
  int transaction_depth_ = 0;  // guarded by mu_
};

class Statement {
 public:
  explicit Statement(std::unique_ptr<StatementBackend> impl) : impl_(std::move(impl)) {}
  Statement(Statement&& other) noexcept = default;
  Statement& operator=(Statement&&) = delete;

  // Binds are 1-based, as in SQLite.
  Status Bind(int index, int64_t value) { return impl_->Bind(index, value); }
  Status Bind(int index, std::string_view text) { return impl_->Bind(index, text); }
  Status BindBlob(int index, ByteSpan blob) { return impl_->BindBlob(index, blob); }
  Status BindNull(int index) { return impl_->BindNull(index); }

  // Advances: true when a row is available, false when done.
  Result<bool> Step() { return impl_->Step(); }
  // Step() for statements without result rows; fails if one is returned. Afterwards
  // changes() holds the number of rows the statement changed.
  Status Run() { return impl_->Run(); }
  int changes() const { return impl_->changes(); }
  // Rewinds for another execution and clears the bindings.
  Status Reset() { return impl_->Reset(); }

  int64_t ColumnInt(int column) const { return impl_->ColumnInt(column); }
  std::string ColumnText(int column) const { return impl_->ColumnText(column); }
  Bytes ColumnBlob(int column) const { return impl_->ColumnBlob(column); }
  bool ColumnIsNull(int column) const { return impl_->ColumnIsNull(column); }

 private:
  std::unique_ptr<StatementBackend> impl_;
};

// BEGIN (the store's single-writer lock up front, so two writers never deadlock on upgrade);
// ROLLBACK on destruction unless Commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> Begin(Database& db);
  // A consistent read-only snapshot that does not take the store's write lock (SQLite: BEGIN
  // DEFERRED; PostgreSQL: REPEATABLE READ READ ONLY), for reads that must agree with each
  // other (a policy, a wrapped DEK and its KEK). Nothing may be written inside it. Inside
  // another transaction it is a savepoint of that one.
  static Result<Transaction> BeginRead(Database& db);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status Commit();

 private:
  Transaction(Database* db, std::unique_lock<std::recursive_mutex> lock, int depth)
      : db_(db), lock_(std::move(lock)), depth_(depth) {}
  static Result<Transaction> Start(Database& db, bool write);
  Status End(bool commit);
  Database* db_;
  std::unique_lock<std::recursive_mutex> lock_;  // held until COMMIT or ROLLBACK
  int depth_ = 0;                                // 0: the outermost (BEGIN), n > 0: SAVEPOINT tx<n>
  bool done_ = false;
};

// True for postgres:// and postgresql:// URLs.
bool IsPostgresUrl(std::string_view url);
// A store URL with any password replaced by "***" (for logs and errors).
std::string RedactStoreUrl(std::string_view url);

namespace internal {
Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path);
Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url);
// Store SQL → PostgreSQL (placeholders and column types, outside quoted text); `params`
// receives the number of placeholders. Exposed for tests.
std::string TranslateForPostgres(std::string_view sql, int* params);
}  // namespace internal

}  // namespace crypta::store

#endif  // CRYPTA_STORE_DATABASE_H_
