// The store interface (store/database.h) on both backends: SQLite in memory and a fresh
// database on the PostgreSQL test server. The same store SQL must behave the same.
#include "store/database.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "testing/postgres_test_util.h"
#include "testing/test_util.h"

namespace crypta::store {
namespace {

class DatabaseTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    if (GetParam() == Dialect::kSqlite) {
      url_ = ":memory:";
    } else {
      auto url = testing::FreshPostgresDatabase();
      ASSERT_TRUE(url.has_value()) << url.error().ToString();
      url_ = *url;
    }
    auto db = Database::Open(url_);
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
  }
  // The table's keys in order, joined by ','.
  std::string Contents() {
    auto sel = db_->Prepare("SELECT k FROM t ORDER BY k");
    EXPECT_TRUE(sel.has_value());
    std::string out;
    while (sel) {
      auto row = sel->Step();
      EXPECT_TRUE(row.has_value());
      if (!row || !*row) break;
      out += (out.empty() ? "" : ",") + sel->ColumnText(0);
    }
    return out;
  }
  // SQLite: an in-memory database belongs to one connection; switch to a file so a test can
  // open a second one (PostgreSQL databases are shared already).
  void AllowSecondConnection(const std::string& name) {
    if (GetParam() != Dialect::kSqlite) return;
    url_ = ::testing::TempDir() + "/" + name + "-" + std::to_string(::getpid()) + ".db";
    std::remove(url_.c_str());
    CRYPTA_ASSIGN_OR_FAIL(db_, Database::Open(url_));
  }
  std::string url_;
  std::unique_ptr<Database> db_;
};

TEST_P(DatabaseTest, BindsStepsAndReadsEveryType) {
  CRYPTA_ASSERT_OK(db_->Exec("CREATE TABLE t (i INTEGER, s TEXT, b BLOB, n TEXT)"));
  CRYPTA_ASSIGN_OR_FAIL(Statement ins, db_->Prepare("INSERT INTO t VALUES (?, ?, ?, ?)"));
  CRYPTA_ASSERT_OK(ins.Bind(1, int64_t{1} << 40));
  CRYPTA_ASSERT_OK(ins.Bind(2, std::string_view("héllo 'quoted' ?")));
  CRYPTA_ASSERT_OK(ins.BindBlob(3, Bytes{0, 1, 2, 0xff}));
  CRYPTA_ASSERT_OK(ins.BindNull(4));
  CRYPTA_ASSERT_OK(ins.Run());
  EXPECT_EQ(ins.changes(), 1);
  CRYPTA_ASSIGN_OR_FAIL(Statement sel, db_->Prepare("SELECT i, s, b, n, i > 0 FROM t"));
  CRYPTA_ASSIGN_OR_FAIL(bool row, sel.Step());
  ASSERT_TRUE(row);
  EXPECT_EQ(sel.ColumnInt(0), int64_t{1} << 40);
  EXPECT_EQ(sel.ColumnText(1), "héllo 'quoted' ?");
  EXPECT_EQ(sel.ColumnBlob(2), (Bytes{0, 1, 2, 0xff}));
  EXPECT_TRUE(sel.ColumnIsNull(3));
  EXPECT_EQ(sel.ColumnInt(4), 1) << "a comparison reads as 1 on both backends";
  CRYPTA_ASSIGN_OR_FAIL(bool more, sel.Step());
  EXPECT_FALSE(more);
  // Reset re-runs the statement.
  CRYPTA_ASSERT_OK(sel.Reset());
  CRYPTA_ASSIGN_OR_FAIL(bool again, sel.Step());
  EXPECT_TRUE(again);
}

TEST_P(DatabaseTest, IntegerPrimaryKeysAreAssignedAndReturned) {
  CRYPTA_ASSERT_OK(db_->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT)"));
  for (int64_t want : {1, 2}) {
    CRYPTA_ASSIGN_OR_FAIL(Statement ins, db_->Prepare("INSERT INTO t (k) VALUES (?) RETURNING id"));
    CRYPTA_ASSERT_OK(ins.Bind(1, std::string_view("x")));
    CRYPTA_ASSIGN_OR_FAIL(bool row, ins.Step());
    ASSERT_TRUE(row);
    EXPECT_EQ(ins.ColumnInt(0), want);
  }
  CRYPTA_ASSIGN_OR_FAIL(bool has, db_->HasColumn("t", "k"));
  EXPECT_TRUE(has);
  CRYPTA_ASSIGN_OR_FAIL(bool hasnt, db_->HasColumn("t", "nope"));
  EXPECT_FALSE(hasnt);
}

TEST_P(DatabaseTest, UpsertsAndIgnoredConflicts) {
  CRYPTA_ASSERT_OK(db_->Exec("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL)"));
  for (int i = 0; i < 3; ++i) {
    CRYPTA_ASSIGN_OR_FAIL(Statement up, db_->Prepare("INSERT INTO t (k, n) VALUES ('a', 1) ON "
                                                     "CONFLICT (k) DO UPDATE SET n = t.n + 1"));
    CRYPTA_ASSERT_OK(up.Run());
  }
  CRYPTA_ASSIGN_OR_FAIL(Statement ignore,
                        db_->Prepare("INSERT INTO t (k, n) VALUES (?, 9) ON CONFLICT DO NOTHING"));
  CRYPTA_ASSERT_OK(ignore.Bind(1, std::string_view("a")));
  CRYPTA_ASSERT_OK(ignore.Run());
  EXPECT_EQ(ignore.changes(), 0);
  CRYPTA_ASSIGN_OR_FAIL(Statement sel, db_->Prepare("SELECT n FROM t WHERE k = 'a'"));
  ASSERT_TRUE(*sel.Step());
  EXPECT_EQ(sel.ColumnInt(0), 3);
}

TEST_P(DatabaseTest, UncommittedTransactionsRollBack) {
  CRYPTA_ASSERT_OK(db_->Exec("CREATE TABLE t (k TEXT PRIMARY KEY)"));
  {
    CRYPTA_ASSIGN_OR_FAIL(Transaction tx, Transaction::Begin(*db_));
    CRYPTA_ASSERT_OK(db_->Exec("INSERT INTO t VALUES ('a')"));
  }  // no commit
  {
    CRYPTA_ASSIGN_OR_FAIL(Transaction tx, Transaction::Begin(*db_));
    CRYPTA_ASSERT_OK(db_->Exec("INSERT INTO t VALUES ('b')"));
    CRYPTA_ASSERT_OK(tx.Commit());
  }
  EXPECT_EQ(Contents(), "b");
}

// An inner transaction is a savepoint: committed, it becomes part of the outer one (and
// vanishes with it); abandoned, only its own writes are undone.
TEST_P(DatabaseTest, NestedTransactionsAreSavepointsOfTheOuterOne) {
  CRYPTA_ASSERT_OK(db_->Exec("CREATE TABLE t (k TEXT PRIMARY KEY)"));
  {
    CRYPTA_ASSIGN_OR_FAIL(Transaction outer, Transaction::Begin(*db_));
    CRYPTA_ASSERT_OK(db_->Exec("INSERT INTO t VALUES ('a')"));
    {
      CRYPTA_ASSIGN_OR_FAIL(Transaction inner, Transaction::Begin(*db_));
      CRYPTA_ASSERT_OK(db_->Exec("INSERT INTO t VALUES ('b')"));
      CRYPTA_ASSERT_OK(inner.Commit());
    }
    {
      CRYPTA_ASSIGN_OR_FAIL(Transaction inner, Transaction::Begin(*db_));
      CRYPTA_ASSERT_OK(db_->Exec("INSERT INTO t VALUES ('c')"));
    }  // abandoned: 'c' only
    EXPECT_EQ(Contents(), "a,b");
  }  // the outer one abandoned: everything
  EXPECT_EQ(Contents(), "");
  {
    CRYPTA_ASSIGN_OR_FAIL(Transaction outer, Transaction::Begin(*db_));
    CRYPTA_ASSIGN_OR_FAIL(Transaction inner, Transaction::Begin(*db_));
    CRYPTA_ASSERT_OK(db_->Exec("INSERT INTO t VALUES ('d')"));
    CRYPTA_ASSERT_OK(inner.Commit());
    CRYPTA_ASSERT_OK(outer.Commit());
  }
  EXPECT_EQ(Contents(), "d");
  // A plain transaction after the nested ones starts at the top again.
  CRYPTA_ASSIGN_OR_FAIL(Transaction again, Transaction::Begin(*db_));
  CRYPTA_ASSERT_OK(again.Commit());
  EXPECT_FALSE(again.Commit().has_value()) << "a transaction ends once";
}

TEST_P(DatabaseTest, ErrorsNameTheSqlAndMapConstraintCodes) {
  CRYPTA_ASSERT_OK(db_->Exec("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER CHECK (n > 0))"));
  CRYPTA_ASSERT_OK(db_->Exec("INSERT INTO t VALUES ('a', 1)"));
  CRYPTA_ASSIGN_OR_FAIL(Statement ins, db_->Prepare("INSERT INTO t VALUES (?, ?)"));
  CRYPTA_ASSERT_OK(ins.Bind(1, std::string_view("a")));
  CRYPTA_ASSERT_OK(ins.Bind(2, 1));
  Status dup = ins.Run();
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  CRYPTA_ASSERT_OK(ins.Reset());
  CRYPTA_ASSERT_OK(ins.Bind(1, std::string_view("b")));
  CRYPTA_ASSERT_OK(ins.Bind(2, -1));
  Status check = ins.Run();
  ASSERT_FALSE(check.has_value());
  EXPECT_EQ(check.error().code(), ErrorCode::kFailedPrecondition);
  // SQLite refuses bad SQL when preparing it, PostgreSQL when running it: both name it.
  std::string message;
  auto bad = db_->Prepare("SELEC nonsense");
  if (!bad) {
    message = bad.error().message();
  } else {
    auto stepped = bad->Step();
    ASSERT_FALSE(stepped.has_value());
    message = stepped.error().message();
  }
  EXPECT_NE(message.find("SELEC nonsense"), std::string::npos) << message;
}

// A failed statement ends the transaction it ran in as far as callers are concerned:
// abandoned, nothing of it stays.
TEST_P(DatabaseTest, AFailedStatementInATransactionLosesTheWholeTransaction) {
  CRYPTA_ASSERT_OK(db_->Exec("CREATE TABLE t (k TEXT PRIMARY KEY)"));
  CRYPTA_ASSERT_OK(db_->Exec("INSERT INTO t VALUES ('a')"));
  {
    CRYPTA_ASSIGN_OR_FAIL(Transaction tx, Transaction::Begin(*db_));
    CRYPTA_ASSERT_OK(db_->Exec("INSERT INTO t VALUES ('b')"));
    EXPECT_FALSE(db_->Exec("INSERT INTO t VALUES ('a')").has_value());
  }
  EXPECT_EQ(Contents(), "a");
}

// Components share one connection: a transaction on one thread must neither collide with
// another thread's BEGIN nor absorb another thread's statements (which would then be
// rolled back with it).
TEST_P(DatabaseTest, ThreadsSharingAConnectionDoNotInterleaveTransactions) {
  CRYPTA_ASSERT_OK(db_->Exec("CREATE TABLE t (thread INTEGER, n INTEGER)"));
  constexpr int kThreads = 4, kRounds = 30;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        auto insert = [&](int n) {
          auto stmt = db_->Prepare("INSERT INTO t VALUES (?, ?)");
          return stmt && stmt->Bind(1, t) && stmt->Bind(2, n) && stmt->Run();
        };
        if (t % 2 == 0) {
          // Even threads: two inserts in a transaction that is rolled back every other time.
          auto txn = Transaction::Begin(*db_);
          if (!txn || !insert(i) || !insert(-i)) ++failures[t];
          if (i % 2 == 0 && !txn->Commit()) ++failures[t];
        } else if (!insert(i)) {  // odd threads: plain autocommit inserts
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
  auto count = [&](int thread) {
    auto stmt = *db_->Prepare("SELECT COUNT(*) FROM t WHERE thread = ?");
    EXPECT_TRUE(stmt.Bind(1, thread));
    EXPECT_TRUE(*stmt.Step());
    return stmt.ColumnInt(0);
  };
  for (int t = 0; t < kThreads; ++t) {
    const int64_t want = t % 2 == 0 ? (kRounds / 2) * 2 : kRounds;
    EXPECT_EQ(count(t), want) << "thread " << t;
  }
}

// Two connections to one store (two replicas): their read-modify-write transactions run one
// after another, so no increment is lost.
TEST_P(DatabaseTest, TransactionsOfTwoConnectionsAreSerialized) {
  ASSERT_NO_FATAL_FAILURE(AllowSecondConnection("serialized"));
  CRYPTA_ASSERT_OK(db_->Exec("CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"));
  CRYPTA_ASSERT_OK(db_->Exec("INSERT INTO c VALUES (1, 0)"));
  CRYPTA_ASSIGN_OR_FAIL(std::unique_ptr<Database> other, Database::Open(url_));
  constexpr int kRounds = 40;
  auto worker = [&](Database* db, int* failures) {
    for (int i = 0; i < kRounds; ++i) {
      auto tx = Transaction::Begin(*db);
      if (!tx) {
        ++*failures;
        continue;
      }
      auto read = db->Prepare("SELECT n FROM c WHERE id = 1");
      auto row = read ? read->Step() : Result<bool>(false);
      if (!row || !*row) {
        ++*failures;
        continue;
      }
      const int64_t n = read->ColumnInt(0);
      auto write = db->Prepare("UPDATE c SET n = ? WHERE id = 1");
      if (!write || !write->Bind(1, n + 1) || !write->Run() || !tx->Commit()) ++*failures;
    }
  };
  int f1 = 0, f2 = 0;
  std::thread a(worker, db_.get(), &f1), b(worker, other.get(), &f2);
  a.join();
  b.join();
  EXPECT_EQ(f1 + f2, 0);
  CRYPTA_ASSIGN_OR_FAIL(Statement sel, db_->Prepare("SELECT n FROM c"));
  ASSERT_TRUE(*sel.Step());
  EXPECT_EQ(sel.ColumnInt(0), 2 * kRounds);
  CRYPTA_EXPECT_OK(db_->Ping());
}

// A read transaction is one snapshot and does not hold the write lock: another connection
// writes meanwhile, and the reader keeps seeing what it saw first.
TEST_P(DatabaseTest, ReadTransactionsAreSnapshotsThatDoNotBlockWriters) {
  ASSERT_NO_FATAL_FAILURE(AllowSecondConnection("snapshot"));
  CRYPTA_ASSERT_OK(db_->Exec("CREATE TABLE t (k TEXT PRIMARY KEY)"));
  CRYPTA_ASSERT_OK(db_->Exec("INSERT INTO t VALUES ('a')"));
  CRYPTA_ASSIGN_OR_FAIL(std::unique_ptr<Database> writer, Database::Open(url_));
  CRYPTA_ASSIGN_OR_FAIL(Transaction read, Transaction::BeginRead(*db_));
  EXPECT_EQ(Contents(), "a");
  {
    CRYPTA_ASSIGN_OR_FAIL(Transaction write, Transaction::Begin(*writer));
    CRYPTA_ASSERT_OK(writer->Exec("INSERT INTO t VALUES ('b')"));
    CRYPTA_ASSERT_OK(write.Commit());
  }
  EXPECT_EQ(Contents(), "a") << "the snapshot moved";
  CRYPTA_ASSERT_OK(read.Commit());
  EXPECT_EQ(Contents(), "a,b");
}

// Leadership (background work on one replica at a time) is held by one connection until it
// closes.
TEST_P(DatabaseTest, LeadershipBelongsToOneConnectionUntilItCloses) {
  if (GetParam() == Dialect::kSqlite) {
    CRYPTA_ASSIGN_OR_FAIL(bool leader, db_->TryLeadership(42));
    EXPECT_TRUE(leader) << "one process owns a SQLite store";
    return;
  }
  CRYPTA_ASSIGN_OR_FAIL(std::unique_ptr<Database> other, Database::Open(url_));
  CRYPTA_ASSIGN_OR_FAIL(bool first, db_->TryLeadership(42));
  CRYPTA_ASSIGN_OR_FAIL(bool second, other->TryLeadership(42));
  CRYPTA_ASSIGN_OR_FAIL(bool still, db_->TryLeadership(42));
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  EXPECT_TRUE(still);
  db_.reset();  // the leader goes away
  // The server ends the closed session (and frees its locks) asynchronously: a moment later.
  bool taken_over = false;
  for (int i = 0; i < 100 && !taken_over; ++i) {
    CRYPTA_ASSIGN_OR_FAIL(taken_over, other->TryLeadership(42));
    if (!taken_over) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(taken_over);
}

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kPostgres),
                         [](const auto& info) {
                           return info.param == Dialect::kSqlite ? "sqlite" : "postgres";
                         });

TEST(PostgresTranslationTest, PlaceholdersAndTypesOutsideQuotes) {
  int params = 0;
  EXPECT_EQ(
      internal::TranslateForPostgres(
          "CREATE TABLE x (id INTEGER PRIMARY KEY AUTOINCREMENT, b BLOB, n integer)", &params),
      "CREATE TABLE x (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY , b BYTEA, n "
      "BIGINT)");
  EXPECT_EQ(params, 0);
  EXPECT_EQ(
      internal::TranslateForPostgres(
          "SELECT a FROM t WHERE s = '?' AND b = ? AND \"blob\" = ? -- ?\n AND c = ?", &params),
      "SELECT a FROM t WHERE s = '?' AND b = $1 AND \"blob\" = $2 -- ?\n AND c = $3");
  EXPECT_EQ(params, 3);
  EXPECT_EQ(internal::TranslateForPostgres("SELECT integers, blobby FROM t", &params),
            "SELECT integers, blobby FROM t");
}

TEST(StoreUrlTest, PasswordsAreRedacted) {
  EXPECT_EQ(RedactStoreUrl("postgresql://crypta:s3cret@db.example:5432/crypta"),
            "postgresql://crypta:***@db.example:5432/crypta");
  EXPECT_EQ(RedactStoreUrl("postgres://crypta@db/crypta"), "postgres://crypta@db/crypta");
  EXPECT_EQ(RedactStoreUrl("/var/lib/crypta/crypta.db"), "/var/lib/crypta/crypta.db");
  EXPECT_TRUE(IsPostgresUrl("postgres://x"));
  EXPECT_FALSE(IsPostgresUrl("sqlite:/x"));
}

}  // namespace
}  // namespace crypta::store
