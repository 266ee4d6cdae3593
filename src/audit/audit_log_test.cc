#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "audit/log.h"
#include "audit/merkle.h"
#include "common/encoding.h"
#include "crypto/random.h"
#include "testing/test_util.h"

namespace crypta::audit {
namespace {

using ::testing::HasSubstr;

constexpr char kOrigin[] = "test.crypta/audit";

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("audit_log_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    Cleanup();
    auto key = PrivateKey::Generate(KeyType::kEcP256);
    ASSERT_TRUE(key);
    key_.emplace(std::move(*key));
    keys_.emplace("k1", key_->GetPublicKey());
    Reopen();
  }
  void TearDown() override {
    log_.reset();
    db_.reset();
    Cleanup();
  }
  void Cleanup() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix);
    }
  }
  void Reopen() {
    log_.reset();
    db_.reset();
    auto db = store::Database::Open(path_.string());
    ASSERT_TRUE(db) << db.error().ToString();
    db_ = std::move(*db);
    AuditLogOptions options;
    options.origin = kOrigin;
    options.clock = [this] { return now_++; };
    auto log = AuditLog::Open(*db_, std::move(options));
    ASSERT_TRUE(log) << log.error().ToString();
    log_ = std::move(*log);
  }
  AuditEntry Entry(int i) {
    AuditEntry e;
    e.actor = "svc-" + std::to_string(i % 3);
    e.tenant = "tenant-a";
    e.action = "kbs.release_key";
    e.outcome = i % 2 ? "allow" : "deny";
    e.reason = "request " + std::to_string(i);
    e.details = {{"i", i}, {"key", "k" + std::to_string(i)}};
    return e;
  }
  void AppendN(int n) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(log_->Append(Entry(i)));
  }
  // Raw SQL, as an attacker with write access would use it (dropping the triggers).
  void Tamper(const std::string& sql) {
    CRYPTA_ASSERT_OK(
        db_->Exec("DROP TRIGGER IF EXISTS audit_entries_no_update;"
                  "DROP TRIGGER IF EXISTS audit_entries_no_delete;"
                  "DROP TRIGGER IF EXISTS audit_checkpoints_no_update;"
                  "DROP TRIGGER IF EXISTS audit_checkpoints_no_delete;"));
    CRYPTA_ASSERT_OK(db_->Exec(sql));
  }
  Result<AuditVerifyReport> Verify() { return AuditLog::Verify(*db_, kOrigin, keys_); }
  void ExpectVerifyFails(ErrorCode code, const std::string& names) {
    auto report = Verify();
    ASSERT_FALSE(report) << "tampering was not detected";
    EXPECT_EQ(report.error().code(), code) << report.error().ToString();
    EXPECT_THAT(report.error().message(), HasSubstr(names));
  }

  std::filesystem::path path_;
  int64_t now_ = 1700000000;
  std::optional<PrivateKey> key_;
  std::map<std::string, PublicKey> keys_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, AppendCheckpointAndProofsRoundTrip) {
  AppendN(5);
  CRYPTA_ASSIGN_OR_FAIL(SignedCheckpoint cp5, log_->Checkpoint(*key_, "k1"));
  EXPECT_EQ(cp5.tree_size, 5u);
  AppendN(8);
  CRYPTA_ASSIGN_OR_FAIL(SignedCheckpoint cp13, log_->Checkpoint(*key_, "k1"));
  EXPECT_EQ(cp13.tree_size, 13u);

  CRYPTA_ASSIGN_OR_FAIL(auto entries, log_->Tail(100));
  ASSERT_EQ(entries.size(), 13u);
  for (uint64_t seq = 0; seq < 13; ++seq) {
    EXPECT_EQ(entries[seq].seq, seq);
    CRYPTA_ASSIGN_OR_FAIL(InclusionProof proof, log_->ProveInclusion(seq, 13));
    CRYPTA_EXPECT_OK(VerifyInclusion(entries[seq].leaf_hash, seq, 13, proof.path, cp13.root_hash));
    if (seq < 5) {
      CRYPTA_ASSIGN_OR_FAIL(InclusionProof old, log_->ProveInclusion(seq, 5));
      CRYPTA_EXPECT_OK(VerifyInclusion(entries[seq].leaf_hash, seq, 5, old.path, cp5.root_hash));
    }
  }
  CRYPTA_ASSIGN_OR_FAIL(ConsistencyProof consistency, log_->ProveConsistency(5, 13));
  CRYPTA_EXPECT_OK(VerifyConsistency(5, 13, cp5.root_hash, cp13.root_hash, consistency.path));
  EXPECT_FALSE(log_->ProveInclusion(13, 13));
  EXPECT_FALSE(log_->ProveConsistency(5, 14));

  CRYPTA_ASSIGN_OR_FAIL(auto report, Verify());
  EXPECT_EQ(report.entries, 13u);
  EXPECT_EQ(report.checkpoints, 2u);
  EXPECT_EQ(report.root, cp13.root_hash);
  CRYPTA_ASSIGN_OR_FAIL(auto tail, log_->Tail(2));
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].seq, 11u);
  EXPECT_EQ(tail[1].seq, 12u);
  CRYPTA_ASSIGN_OR_FAIL(auto latest, log_->LatestCheckpoint());
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->id, cp13.id);
}

TEST_F(AuditLogTest, FrontierRootMatchesFullRecomputationAfterEveryAppendAndReopen) {
  for (int i = 0; i < 20; ++i) {
    CRYPTA_ASSIGN_OR_FAIL(uint64_t seq, log_->Append(Entry(i)));
    EXPECT_EQ(seq, static_cast<uint64_t>(i));
    CRYPTA_ASSIGN_OR_FAIL(Bytes root, log_->Root());
    CRYPTA_ASSIGN_OR_FAIL(Bytes full, log_->RootAt(seq + 1));
    EXPECT_EQ(root, full) << "after seq " << seq;
    if (i == 9) Reopen();
  }
  CRYPTA_ASSIGN_OR_FAIL(uint64_t size, log_->Size());
  EXPECT_EQ(size, 20u);
  CRYPTA_EXPECT_OK(Verify());
}

TEST_F(AuditLogTest, RedactsBeforeHashingAndStoring) {
  AuditEntry e = Entry(0);
  e.reason = "denied for alice@example.com from 10.1.2.3";
  e.details = {{"card", "4111 1111 1111 1111"}, {"count", 3}};
  CRYPTA_ASSIGN_OR_FAIL(uint64_t seq, log_->Append(e));
  CRYPTA_ASSIGN_OR_FAIL(auto tail, log_->Tail(1));
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].reason, "denied for [REDACTED:email] from [REDACTED:ipv4]");
  EXPECT_EQ(tail[0].details, R"({"card":"[REDACTED:card]","count":3})");
  // The leaf commits to the redacted text only.
  CRYPTA_ASSIGN_OR_FAIL(std::string leaf_data, EntryLeafData(tail[0]));
  EXPECT_EQ(LeafHash(AsBytes(leaf_data)), tail[0].leaf_hash);
  EXPECT_EQ(leaf_data.find("alice"), std::string::npos);
  EXPECT_EQ(seq, 0u);
  CRYPTA_EXPECT_OK(Verify());
}

TEST_F(AuditLogTest, RejectsOversizedAndInvalidInput) {
  AuditEntry e = Entry(0);
  e.reason = std::string(kMaxAuditReasonBytes + 1, 'x');
  auto r = log_->Append(e);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().message(), HasSubstr("reason"));
  e = Entry(0);
  e.actor = "bad\xff";
  EXPECT_FALSE(log_->Append(e));
  CRYPTA_ASSIGN_OR_FAIL(uint64_t size, log_->Size());
  EXPECT_EQ(size, 0u);
  auto rsa_like = PrivateKey::Generate(KeyType::kEd25519);
  ASSERT_TRUE(rsa_like);
  EXPECT_FALSE(log_->Checkpoint(*rsa_like, "k1"));
}

TEST_F(AuditLogTest, TriggersRefuseUpdateAndDelete) {
  AppendN(2);
  EXPECT_FALSE(db_->Exec("UPDATE audit_entries SET reason = 'x' WHERE seq = 0"));
  EXPECT_FALSE(db_->Exec("DELETE FROM audit_entries WHERE seq = 1"));
  CRYPTA_EXPECT_OK(Verify());
}

TEST_F(AuditLogTest, DetectsEditedEntryField) {
  AppendN(6);
  ASSERT_TRUE(log_->Checkpoint(*key_, "k1"));
  Tamper("UPDATE audit_entries SET outcome = 'allow' WHERE seq = 2");
  ExpectVerifyFails(ErrorCode::kDataLoss, "seq 2 ");
}

TEST_F(AuditLogTest, DetectsEditWithRecomputedLeafHashThroughCheckpoint) {
  AppendN(6);
  CRYPTA_ASSIGN_OR_FAIL(SignedCheckpoint cp, log_->Checkpoint(*key_, "k1"));
  CRYPTA_ASSIGN_OR_FAIL(auto entries, log_->Tail(6));
  StoredEntry forged = entries[3];
  forged.reason = "nothing happened";
  CRYPTA_ASSIGN_OR_FAIL(std::string data, EntryLeafData(forged));
  Tamper("UPDATE audit_entries SET reason = 'nothing happened', leaf_hash = X'" +
         HexEncode(LeafHash(AsBytes(data))) + "' WHERE seq = 3");
  ExpectVerifyFails(ErrorCode::kDataLoss, "checkpoint #" + std::to_string(cp.id));
}

TEST_F(AuditLogTest, DetectsDeletedEntry) {
  AppendN(6);
  Tamper("DELETE FROM audit_entries WHERE seq = 1");
  ExpectVerifyFails(ErrorCode::kDataLoss, "seq 1 is missing");
}

TEST_F(AuditLogTest, DetectsTruncatedLog) {
  AppendN(6);
  CRYPTA_ASSIGN_OR_FAIL(SignedCheckpoint cp, log_->Checkpoint(*key_, "k1"));
  Tamper("DELETE FROM audit_entries WHERE seq = 5");
  ExpectVerifyFails(ErrorCode::kDataLoss, "checkpoint #" + std::to_string(cp.id));
  // Without a checkpoint, the stored tree size still gives it away.
  Tamper("DELETE FROM audit_checkpoints");
  ExpectVerifyFails(ErrorCode::kDataLoss, "seq 5 onwards");
}

TEST_F(AuditLogTest, DetectsSwappedEntries) {
  AppendN(6);
  Tamper(
      "CREATE TEMP TABLE t AS SELECT * FROM audit_entries WHERE seq IN (1, 4);"
      "UPDATE audit_entries SET time = (SELECT time FROM t WHERE seq = 4),"
      " actor = (SELECT actor FROM t WHERE seq = 4), reason = (SELECT reason FROM t WHERE seq = 4),"
      " outcome = (SELECT outcome FROM t WHERE seq = 4),"
      " details = (SELECT details FROM t WHERE seq = 4),"
      " leaf_hash = (SELECT leaf_hash FROM t WHERE seq = 4) WHERE seq = 1;"
      "UPDATE audit_entries SET time = (SELECT time FROM t WHERE seq = 1),"
      " actor = (SELECT actor FROM t WHERE seq = 1), reason = (SELECT reason FROM t WHERE seq = 1),"
      " outcome = (SELECT outcome FROM t WHERE seq = 1),"
      " details = (SELECT details FROM t WHERE seq = 1),"
      " leaf_hash = (SELECT leaf_hash FROM t WHERE seq = 1) WHERE seq = 4;");
  ExpectVerifyFails(ErrorCode::kDataLoss, "seq 1 ");
}

TEST_F(AuditLogTest, DetectsEditedCheckpointRoot) {
  AppendN(4);
  CRYPTA_ASSIGN_OR_FAIL(SignedCheckpoint cp, log_->Checkpoint(*key_, "k1"));
  Tamper("UPDATE audit_checkpoints SET root_hash = X'" + std::string(64, '0') +
         "' WHERE id = " + std::to_string(cp.id));
  ExpectVerifyFails(ErrorCode::kUnauthenticated, "checkpoint #" + std::to_string(cp.id));
}

TEST_F(AuditLogTest, RejectsCheckpointByUnknownKeyOrForeignOrigin) {
  AppendN(3);
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_FAIL(SignedCheckpoint cp, log_->Checkpoint(other, "k2"));
  ExpectVerifyFails(ErrorCode::kUnauthenticated, "unknown key 'k2'");
  // Claiming a known kid does not help: the signature must verify under it.
  Tamper("UPDATE audit_checkpoints SET key_id = 'k1' WHERE id = " + std::to_string(cp.id));
  ExpectVerifyFails(ErrorCode::kUnauthenticated, "does not verify");
  keys_.emplace("k2", other.GetPublicKey());
  Tamper("UPDATE audit_checkpoints SET key_id = 'k2' WHERE id = " + std::to_string(cp.id));
  CRYPTA_EXPECT_OK(Verify());
  EXPECT_FALSE(AuditLog::Verify(*db_, "another.origin", keys_));
}

TEST_F(AuditLogTest, ConcurrentAppendsAllLand) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (!log_->Append(Entry(t * 100 + i))) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  CRYPTA_ASSIGN_OR_FAIL(auto report, Verify());
  EXPECT_EQ(report.entries, 100u);
}

TEST_F(AuditLogTest, VerifySeesAConsistentSnapshotWhileAnotherConnectionAppends) {
  AppendN(10);
  ASSERT_TRUE(log_->Checkpoint(*key_, "k1"));
  CRYPTA_ASSIGN_OR_FAIL(auto reader, store::Database::Open(path_.string()));
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 40; ++i) (void)log_->Append(Entry(i));
    done = true;
  });
  int verified = 0;
  while (!done || verified == 0) {
    auto report = AuditLog::Verify(*reader, kOrigin, keys_);
    ASSERT_TRUE(report) << report.error().ToString();
    ++verified;
  }
  writer.join();
  CRYPTA_ASSIGN_OR_FAIL(auto report, AuditLog::Verify(*reader, kOrigin, keys_));
  EXPECT_EQ(report.entries, 50u);
}

}  // namespace
}  // namespace crypta::audit
