#include "store/database.h"

#include <utility>

namespace crypta::store {

bool IsPostgresUrl(std::string_view url) {
  return url.starts_with("postgres://") || url.starts_with("postgresql://");
}

std::string RedactStoreUrl(std::string_view url) {
  if (!IsPostgresUrl(url)) return std::string(url);
  // scheme://user:password@host… → scheme://user:***@host…
  const size_t authority = url.find("://") + 3;
  const size_t at = url.find('@', authority);
  const size_t slash = url.find('/', authority);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url);
  }
  const size_t colon = url.find(':', authority);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path_or_url) {
  if (IsPostgresUrl(path_or_url)) return internal::OpenPostgres(path_or_url);
  return internal::OpenSqlite(path_or_url);
}

Result<Transaction> Transaction::Begin(Database& db) { return Start(db, /*write=*/true); }
Result<Transaction> Transaction::BeginRead(Database& db) { return Start(db, /*write=*/false); }

Result<Transaction> Transaction::Start(Database& db, bool write) {
  std::unique_lock<std::recursive_mutex> lock(*db.mu_);
  const int depth = db.transaction_depth_;
  CRYPTA_RETURN_IF_ERROR(depth > 0 ? db.Exec("SAVEPOINT tx" + std::to_string(depth))
                         : write   ? db.BeginTransaction()
                                   : db.BeginReadTransaction());
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
  Status s = depth_ == 0 ? db_->EndTransaction(commit)
             : commit    ? db_->Exec("RELEASE " + name)
                         : db_->Exec("ROLLBACK TO " + name + "; RELEASE " + name);
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
