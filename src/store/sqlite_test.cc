#include "store/sqlite.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "testing/test_util.h"

namespace crypta::store {
namespace {

TEST(SqliteTest, BindsStepsAndReadsEveryType) {
  CRYPTA_ASSIGN_OR_FAIL(auto db, Database::Open(":memory:"));
  CRYPTA_ASSERT_OK(db->Exec("CREATE TABLE t (i INTEGER, s TEXT, b BLOB, n TEXT)"));
  CRYPTA_ASSIGN_OR_FAIL(Statement ins, db->Prepare("INSERT INTO t VALUES (?, ?, ?, ?)"));
  CRYPTA_ASSERT_OK(ins.Bind(1, int64_t{1} << 40));
  CRYPTA_ASSERT_OK(ins.Bind(2, std::string_view("héllo")));
  CRYPTA_ASSERT_OK(ins.BindBlob(3, Bytes{0, 1, 2}));
  CRYPTA_ASSERT_OK(ins.BindNull(4));
  CRYPTA_ASSERT_OK(ins.Run());
  CRYPTA_ASSIGN_OR_FAIL(Statement sel, db->Prepare("SELECT i, s, b, n FROM t"));
  CRYPTA_ASSIGN_OR_FAIL(bool row, sel.Step());
  ASSERT_TRUE(row);
  EXPECT_EQ(sel.ColumnInt(0), int64_t{1} << 40);
  EXPECT_EQ(sel.ColumnText(1), "héllo");
  EXPECT_EQ(sel.ColumnBlob(2), (Bytes{0, 1, 2}));
  EXPECT_TRUE(sel.ColumnIsNull(3));
  CRYPTA_ASSIGN_OR_FAIL(bool more, sel.Step());
  EXPECT_FALSE(more);
}

TEST(SqliteTest, UncommittedTransactionsRollBack) {
  CRYPTA_ASSIGN_OR_FAIL(auto db, Database::Open(":memory:"));
  CRYPTA_ASSERT_OK(db->Exec("CREATE TABLE t (k TEXT PRIMARY KEY)"));
  {
    CRYPTA_ASSIGN_OR_FAIL(Transaction tx, Transaction::Begin(*db));
    CRYPTA_ASSERT_OK(db->Exec("INSERT INTO t VALUES ('a')"));
  }  // no commit
  {
    CRYPTA_ASSIGN_OR_FAIL(Transaction tx, Transaction::Begin(*db));
    CRYPTA_ASSERT_OK(db->Exec("INSERT INTO t VALUES ('b')"));
    CRYPTA_ASSERT_OK(tx.Commit());
  }
  CRYPTA_ASSIGN_OR_FAIL(Statement sel, db->Prepare("SELECT group_concat(k) FROM t"));
  ASSERT_TRUE(*sel.Step());
  EXPECT_EQ(sel.ColumnText(0), "b");
}

// An inner transaction is a savepoint: committed, it becomes part of the outer one (and
// vanishes with it); abandoned, only its own writes are undone.
TEST(SqliteTest, NestedTransactionsAreSavepointsOfTheOuterOne) {
  CRYPTA_ASSIGN_OR_FAIL(auto db, Database::Open(":memory:"));
  CRYPTA_ASSERT_OK(db->Exec("CREATE TABLE t (k TEXT PRIMARY KEY)"));
  auto contents = [&] {
    auto sel =
        db->Prepare("SELECT coalesce(group_concat(k), '') FROM (SELECT k FROM t ORDER BY k)");
    EXPECT_TRUE(sel && *sel->Step());
    return sel ? sel->ColumnText(0) : std::string("?");
  };
  {
    CRYPTA_ASSIGN_OR_FAIL(Transaction outer, Transaction::Begin(*db));
    CRYPTA_ASSERT_OK(db->Exec("INSERT INTO t VALUES ('a')"));
    {
      CRYPTA_ASSIGN_OR_FAIL(Transaction inner, Transaction::Begin(*db));
      CRYPTA_ASSERT_OK(db->Exec("INSERT INTO t VALUES ('b')"));
      CRYPTA_ASSERT_OK(inner.Commit());
    }
    {
      CRYPTA_ASSIGN_OR_FAIL(Transaction inner, Transaction::Begin(*db));
      CRYPTA_ASSERT_OK(db->Exec("INSERT INTO t VALUES ('c')"));
    }  // abandoned: 'c' only
    EXPECT_EQ(contents(), "a,b");
  }  // the outer one abandoned: everything
  EXPECT_EQ(contents(), "");
  {
    CRYPTA_ASSIGN_OR_FAIL(Transaction outer, Transaction::Begin(*db));
    CRYPTA_ASSIGN_OR_FAIL(Transaction inner, Transaction::Begin(*db));
    CRYPTA_ASSERT_OK(db->Exec("INSERT INTO t VALUES ('d')"));
    CRYPTA_ASSERT_OK(inner.Commit());
    CRYPTA_ASSERT_OK(outer.Commit());
  }
  EXPECT_EQ(contents(), "d");
  // A plain transaction after the nested ones starts at the top again.
  CRYPTA_ASSIGN_OR_FAIL(Transaction again, Transaction::Begin(*db));
  CRYPTA_ASSERT_OK(again.Commit());
  EXPECT_FALSE(again.Commit().has_value()) << "a transaction ends once";
}

TEST(SqliteTest, ErrorsNameTheSqlAndMapConstraintCodes) {
  CRYPTA_ASSIGN_OR_FAIL(auto db, Database::Open(":memory:"));
  CRYPTA_ASSERT_OK(db->Exec("CREATE TABLE t (k TEXT PRIMARY KEY)"));
  CRYPTA_ASSERT_OK(db->Exec("INSERT INTO t VALUES ('a')"));
  CRYPTA_ASSIGN_OR_FAIL(Statement ins, db->Prepare("INSERT INTO t VALUES (?)"));
  CRYPTA_ASSERT_OK(ins.Bind(1, std::string_view("a")));
  Status dup = ins.Run();
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  Result<Statement> bad = db->Prepare("SELEC nonsense");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("SELEC nonsense"), std::string::npos);
}

// Components share one connection: a transaction on one thread must neither collide with
// another thread's BEGIN nor absorb another thread's statements (which would then be
// rolled back with it).
TEST(SqliteTest, ThreadsSharingAConnectionDoNotInterleaveTransactions) {
  CRYPTA_ASSIGN_OR_FAIL(auto db, Database::Open(":memory:"));
  CRYPTA_ASSERT_OK(db->Exec("CREATE TABLE t (thread INTEGER, n INTEGER)"));
  constexpr int kThreads = 4, kRounds = 50;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        auto insert = [&](int n) {
          auto stmt = db->Prepare("INSERT INTO t VALUES (?, ?)");
          return stmt && stmt->Bind(1, t) && stmt->Bind(2, n) && stmt->Run();
        };
        if (t % 2 == 0) {
          // Even threads: two inserts in a transaction that is rolled back every other time.
          auto txn = Transaction::Begin(*db);
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
    auto stmt = *db->Prepare("SELECT COUNT(*) FROM t WHERE thread = ?");
    EXPECT_TRUE(stmt.Bind(1, thread));
    EXPECT_TRUE(*stmt.Step());
    return stmt.ColumnInt(0);
  };
  for (int t = 0; t < kThreads; ++t) {
    // Even threads: half their rounds committed, 2 rows each; odd threads: every row.
    const int64_t want = t % 2 == 0 ? (kRounds / 2) * 2 : kRounds;
    EXPECT_EQ(count(t), want) << "thread " << t;
  }
}

}  // namespace
}  // namespace crypta::store
