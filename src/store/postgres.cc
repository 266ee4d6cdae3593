// The PostgreSQL backend of store/database.h, over libpq (Debian libpq-dev). One connection
// per Database; parameters are sent as text (integers, text) or binary (blobs) and results
// read in text format, so the same store SQL and the same column accessors serve both
// backends.
#include <libpq-fe.h>

#include <cctype>
#include <cstdlib>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "store/database.h"

namespace crypta::store {
namespace {

// pg_type OIDs (src/include/catalog/pg_type.dat).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;

// The store-wide advisory lock key every writing transaction takes ("cryptaTX").
constexpr int64_t kWriteLockKey = 0x6372797074615458;

// SQLSTATE classes and codes (PostgreSQL documentation, Appendix A).
ErrorCode CodeForSqlState(std::string_view state) {
  if (state == "23505") return ErrorCode::kAlreadyExists;  // unique_violation
  if (state.starts_with("23")) return ErrorCode::kFailedPrecondition;
  if (state == "P0001") return ErrorCode::kFailedPrecondition;  // raise_exception (triggers)
  if (state == "40001" || state == "40P01") return ErrorCode::kUnavailable;
  if (state.starts_with("08") || state.starts_with("57")) return ErrorCode::kUnavailable;
  if (state.starts_with("53")) return ErrorCode::kResourceExhausted;
  if (state == "XX001" || state == "XX002") return ErrorCode::kDataLoss;
  return ErrorCode::kInternal;
}

std::string FirstLine(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (size_t nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// The connection, shared with statements (which may outlive the Database).
struct PgConnection {
  PGconn* conn = nullptr;
  std::string url;  // for messages: password redacted
  bool in_transaction = false;
  uint64_t generation = 0;  // bumped by each reconnect (session advisory locks are lost)
  // Server-side prepared statements of this connection, by translated SQL (parsed and
  // planned once, not at every execution); forgotten at a reconnect.
  std::unordered_map<std::string, std::string> prepared;
  ~PgConnection() {
    if (conn) PQfinish(conn);
  }

  // Before a statement: a connection lost outside a transaction is re-established once
  // (inside one, the transaction is gone and the statement fails).
  Status Ensure() {
    if (PQstatus(conn) == CONNECTION_OK) return OkStatus();
    if (!in_transaction) {
      PQreset(conn);
      if (PQstatus(conn) == CONNECTION_OK) {
        ++generation;
        prepared.clear();
        PQsetNoticeProcessor(
            conn, [](void*, const char*) {}, nullptr);
        return OkStatus();
      }
    }
    return MakeError(ErrorCode::kUnavailable,
                     "store " + url + " is unreachable: " + FirstLine(PQerrorMessage(conn)));
  }

  Error Fail(const PGresult* res, std::string_view what) const {
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    std::string message = res ? FirstLine(PQresultErrorMessage(res)) : "";
    if (message.empty()) message = FirstLine(PQerrorMessage(conn));
    ErrorCode code = state ? CodeForSqlState(state) : ErrorCode::kUnavailable;
    if (PQstatus(conn) != CONNECTION_OK) code = ErrorCode::kUnavailable;
    return Error(code, std::string(what) + ": " + message);
  }

  // Runs parameterless SQL (several statements allowed).
  Status Exec(const std::string& sql) {
    CRYPTA_RETURN_IF_ERROR(Ensure());
    PgResult res(PQexec(conn, sql.c_str()));
    const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      return MakeError(Fail(res.get(), "SQL \"" + sql.substr(0, 60) + "\""));
    }
    return OkStatus();
  }
};

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

class PgStatement final : public StatementBackend {
 public:
  PgStatement(std::shared_ptr<std::recursive_mutex> mu, std::shared_ptr<PgConnection> conn,
              std::string sql, std::string translated, int params)
      : mu_(std::move(mu)),
        conn_(std::move(conn)),
        sql_(std::move(sql)),
        translated_(std::move(translated)),
        values_(static_cast<size_t>(params)),
        binary_(static_cast<size_t>(params), 0) {}

  Status Bind(int index, int64_t value) override {
    return Set(index, std::to_string(value), false);
  }
  Status Bind(int index, std::string_view text) override {
    return Set(index, std::string(text), false);
  }
  Status BindBlob(int index, ByteSpan blob) override {
    return Set(index, std::string(blob.begin(), blob.end()), true);
  }
  Status BindNull(int index) override {
    CRYPTA_RETURN_IF_ERROR(Check(index));
    values_[static_cast<size_t>(index - 1)].reset();
    return OkStatus();
  }

  Result<bool> Step() override {
    std::lock_guard<std::recursive_mutex> lock(*mu_);
    if (!res_) CRYPTA_RETURN_IF_ERROR(Execute());
    ++row_;
    return row_ < PQntuples(res_.get());
  }
  Status Run() override {
    std::lock_guard<std::recursive_mutex> lock(*mu_);
    CRYPTA_RETURN_IF_ERROR(Execute());
    if (PQntuples(res_.get()) > 0) {
      return MakeError(ErrorCode::kInternal, "statement returned rows: " + sql_.substr(0, 60));
    }
    const char* n = PQcmdTuples(res_.get());
    changes_ = (n && *n) ? std::atoi(n) : 0;
    return Reset();
  }
  Status Reset() override {
    res_.reset();
    row_ = -1;
    for (auto& v : values_) v.reset();
    return OkStatus();
  }
  int changes() const override { return changes_; }

  int64_t ColumnInt(int column) const override {
    const char* v = Value(column);
    if (v == nullptr) return 0;
    if (PQftype(res_.get(), column) == kBoolOid) return *v == 't' ? 1 : 0;
    return std::strtoll(v, nullptr, 10);
  }
  std::string ColumnText(int column) const override {
    const char* v = Value(column);
    if (v == nullptr) return {};
    if (PQftype(res_.get(), column) == kByteaOid) {
      Bytes b = ColumnBlob(column);
      return std::string(b.begin(), b.end());
    }
    return std::string(v, static_cast<size_t>(PQgetlength(res_.get(), row_, column)));
  }
  Bytes ColumnBlob(int column) const override {
    const char* v = Value(column);
    if (v == nullptr) return {};
    const size_t n = static_cast<size_t>(PQgetlength(res_.get(), row_, column));
    if (PQftype(res_.get(), column) != kByteaOid) return Bytes(v, v + n);
    // bytea_output = hex (the default since PostgreSQL 9.0): "\x" then two digits a byte.
    if (n >= 2 && v[0] == '\\' && v[1] == 'x') {
      auto decoded = HexDecode(std::string_view(v + 2, n - 2));
      if (decoded) return std::move(*decoded);
    }
    return {};
  }
  bool ColumnIsNull(int column) const override { return Value(column) == nullptr; }

 private:
  Status Check(int index) const {
    if (index < 1 || static_cast<size_t>(index) > values_.size()) {
      return MakeError(ErrorCode::kInternal, "bind: no parameter " + std::to_string(index) +
                                                 " in \"" + sql_.substr(0, 60) + "\"");
    }
    return OkStatus();
  }
  Status Set(int index, std::string value, bool binary) {
    CRYPTA_RETURN_IF_ERROR(Check(index));
    values_[static_cast<size_t>(index - 1)] = std::move(value);
    binary_[static_cast<size_t>(index - 1)] = binary ? 1 : 0;
    return OkStatus();
  }
  const char* Value(int column) const {
    if (!res_ || row_ < 0 || row_ >= PQntuples(res_.get()) || column < 0 ||
        column >= PQnfields(res_.get()) || PQgetisnull(res_.get(), row_, column)) {
      return nullptr;
    }
    return PQgetvalue(res_.get(), row_, column);
  }
  Status Execute() {
    CRYPTA_RETURN_IF_ERROR(conn_->Ensure());
    std::vector<const char*> values(values_.size());
    std::vector<int> lengths(values_.size());
    for (size_t i = 0; i < values_.size(); ++i) {
      values[i] = values_[i] ? values_[i]->data() : nullptr;
      lengths[i] = values_[i] ? static_cast<int>(values_[i]->size()) : 0;
    }
    CRYPTA_ASSIGN_OR_RETURN(const std::string* name, PrepareOnce());
    res_.reset(PQexecPrepared(conn_->conn, name->c_str(), static_cast<int>(values.size()),
                              values.data(), lengths.data(), binary_.data(),
                              /*resultFormat=*/0));
    row_ = -1;
    const ExecStatusType st = res_ ? PQresultStatus(res_.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      Error e = conn_->Fail(res_.get(), "\"" + sql_.substr(0, 60) + "\"");
      res_.reset();
      return MakeError(e);
    }
    return OkStatus();
  }

  // The connection's prepared statement for this SQL, preparing it the first time.
  Result<const std::string*> PrepareOnce() {
    auto it = conn_->prepared.find(translated_);
    if (it != conn_->prepared.end()) return &it->second;
    const std::string name = "s" + std::to_string(conn_->prepared.size());
    PgResult prepared(PQprepare(conn_->conn, name.c_str(), translated_.c_str(),
                                static_cast<int>(values_.size()), nullptr));
    if (!prepared || PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
      return MakeError(conn_->Fail(prepared.get(), "\"" + sql_.substr(0, 60) + "\""));
    }
    return &conn_->prepared.emplace(translated_, name).first->second;
  }

  std::shared_ptr<std::recursive_mutex> mu_;
  std::shared_ptr<PgConnection> conn_;
  std::string sql_, translated_;
  std::vector<std::optional<std::string>> values_;
  std::vector<int> binary_;
  PgResult res_;
  int row_ = -1;
  int changes_ = 0;
};

class PgDatabase final : public Database {
 public:
  explicit PgDatabase(std::shared_ptr<PgConnection> conn) : conn_(std::move(conn)) {}

  Dialect dialect() const override { return Dialect::kPostgres; }

  Status Exec(std::string_view sql) override {
    std::lock_guard<std::recursive_mutex> lock(*mu_);
    int params = 0;
    std::string translated = internal::TranslateForPostgres(sql, &params);
    if (params != 0) {
      return MakeError(ErrorCode::kInternal,
                       "Exec takes no parameters: " + std::string(sql.substr(0, 60)));
    }
    return conn_->Exec(translated);
  }

  Result<Statement> Prepare(std::string_view sql) override {
    int params = 0;
    std::string translated = internal::TranslateForPostgres(sql, &params);
    return Statement(
        std::make_unique<PgStatement>(mu_, conn_, std::string(sql), std::move(translated), params));
  }

  Result<bool> HasColumn(std::string_view table, std::string_view column) override {
    CRYPTA_ASSIGN_OR_RETURN(Statement stmt,
                            Prepare("SELECT 1 FROM information_schema.columns WHERE "
                                    "table_schema = current_schema() AND table_name = ? AND "
                                    "column_name = ?"));
    CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, table));
    CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, column));
    return stmt.Step();
  }

  Status Ping() override {
    std::lock_guard<std::recursive_mutex> lock(*mu_);
    return conn_->Exec("SELECT 1");
  }

  Result<bool> TryLeadership(int64_t key) override {
    std::lock_guard<std::recursive_mutex> lock(*mu_);
    CRYPTA_RETURN_IF_ERROR(conn_->Ensure());
    if (leader_generation_ == conn_->generation && leader_key_ == key) return true;
    CRYPTA_ASSIGN_OR_RETURN(Statement stmt, Prepare("SELECT pg_try_advisory_lock(?)"));
    CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, key));
    CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row || stmt.ColumnInt(0) == 0) return false;
    leader_key_ = key;
    leader_generation_ = conn_->generation;
    return true;
  }

  std::string Describe() const override { return conn_->url; }

 protected:
  Status BeginTransaction() override {
    CRYPTA_RETURN_IF_ERROR(conn_->Ensure());
    CRYPTA_RETURN_IF_ERROR(
        conn_->Exec("BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kWriteLockKey) + ")"));
    conn_->in_transaction = true;
    return OkStatus();
  }
  Status BeginReadTransaction() override {
    CRYPTA_RETURN_IF_ERROR(conn_->Ensure());
    CRYPTA_RETURN_IF_ERROR(conn_->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    conn_->in_transaction = true;
    return OkStatus();
  }
  Status EndTransaction(bool commit) override {
    conn_->in_transaction = false;
    // COMMIT of a transaction that a failed statement aborted answers ROLLBACK: report it.
    PgResult res(PQexec(conn_->conn, commit ? "COMMIT" : "ROLLBACK"));
    const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK) return MakeError(conn_->Fail(res.get(), "COMMIT"));
    if (commit && std::string_view(PQcmdStatus(res.get())) == "ROLLBACK") {
      return MakeError(ErrorCode::kUnavailable,
                       "COMMIT: the transaction was rolled back after an "
                       "earlier statement in it failed");
    }
    return OkStatus();
  }

 private:
  std::shared_ptr<PgConnection> conn_;
  int64_t leader_key_ = 0;
  uint64_t leader_generation_ = ~uint64_t{0};
};

}  // namespace

namespace internal {

std::string TranslateForPostgres(std::string_view sql, int* params) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  size_t i = 0;
  auto next_word = [&](size_t from) {
    while (from < sql.size() && std::isspace(static_cast<unsigned char>(sql[from]))) ++from;
    size_t end = from;
    while (end < sql.size() && IsWordChar(sql[end])) ++end;
    return std::pair<std::string, size_t>(Upper(sql.substr(from, end - from)), end);
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // quoted text or identifier, copied as is ('' and "" escape)
      size_t end = i + 1;
      while (end < sql.size() && sql[end] != c) ++end;
      end = std::min(end + 1, sql.size());
      out.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      if (end == std::string_view::npos) end = sql.size();
      out.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '?') {
      out += "$" + std::to_string(++n);
      ++i;
    } else if (IsWordChar(c) && (i == 0 || !IsWordChar(sql[i - 1]))) {
      size_t end = i;
      while (end < sql.size() && IsWordChar(sql[end])) ++end;
      const std::string word = Upper(sql.substr(i, end - i));
      if (word == "INTEGER") {
        auto [w1, e1] = next_word(end);
        auto [w2, e2] = next_word(e1);
        // SQLite's rowid alias assigns ids when none is given: an identity column does.
        out +=
            (w1 == "PRIMARY" && w2 == "KEY") ? "BIGINT GENERATED BY DEFAULT AS IDENTITY" : "BIGINT";
      } else if (word == "BLOB") {
        out += "BYTEA";
      } else if (word == "AUTOINCREMENT") {
        // implied by the identity column
      } else {
        out.append(sql.substr(i, end - i));
      }
      i = end;
    } else {
      out += c;
      ++i;
    }
  }
  *params = n;
  return out;
}

Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url) {
  auto conn = std::make_shared<PgConnection>();
  conn->url = RedactStoreUrl(url);
  // Later keywords override what the URL says only where it says nothing of them.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"5", "crypta", url.c_str(), nullptr};
  conn->conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn->conn == nullptr) {
    return MakeError(ErrorCode::kResourceExhausted, "store " + conn->url + ": out of memory");
  }
  if (PQstatus(conn->conn) != CONNECTION_OK) {
    return MakeError(ErrorCode::kUnavailable, "cannot connect to the store " + conn->url + ": " +
                                                  FirstLine(PQerrorMessage(conn->conn)));
  }
  // CREATE … IF NOT EXISTS and the like send NOTICEs; they are not for the operator.
  PQsetNoticeProcessor(
      conn->conn, [](void*, const char*) {}, nullptr);
  CRYPTA_RETURN_IF_ERROR(conn->Exec("SET client_min_messages = warning"));
  if (PQserverVersion(conn->conn) < 150000) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "store " + conn->url + ": PostgreSQL " +
                         std::to_string(PQserverVersion(conn->conn) / 10000) +
                         " is too old; crypta needs PostgreSQL 15 or newer");
  }
  return std::unique_ptr<Database>(std::make_unique<PgDatabase>(std::move(conn)));
}

}  // namespace internal
}  // namespace crypta::store
