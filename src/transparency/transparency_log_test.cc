// ReleaseLog (release_log.h) on SQLite and on the PostgreSQL test server: appends, lookups,
// roots and proofs against merkle.h's reference functions, signed checkpoints, and dumps
// (written, verified, and refused when an entry is edited or dropped or the checkpoint swapped).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "audit/merkle.h"
#include "common/encoding.h"
#include "common/json_canonical.h"
#include "testing/postgres_test_util.h"
#include "testing/test_util.h"
#include "transparency/release_log.h"

namespace crypta::transparency {
namespace {

using ::testing::HasSubstr;

constexpr char kOrigin[] = "crypta.test/releases";

ReleaseEntry Release(int i) {
  ReleaseEntry e;
  e.tenant = i % 2 == 0 ? "acme" : "globex";
  e.workload = "scan-" + std::to_string(i % 3);
  e.measurement = std::string(96, "0123456789abcdef"[i % 16]);
  e.model_digest = "sha256:" + std::string(64, "fedcba9876543210"[i % 16]);
  if (i % 4 == 1) e.host_data = "00ff" + std::string(60, 'a');
  if (i % 5 == 2) e.note = "release " + std::to_string(i) + " \xE2\x80\x94 fixes";
  e.time = 1700000000 + i;
  return e;
}

class ReleaseLogTest : public ::testing::TestWithParam<store::Dialect> {
 protected:
  void SetUp() override {
    std::string url = ":memory:";
    if (GetParam() == store::Dialect::kPostgres) {
      auto pg = testing::FreshPostgresDatabase();
      ASSERT_TRUE(pg.has_value()) << pg.error().ToString();
      url = *pg;
    }
    CRYPTA_ASSIGN_OR_FAIL(auto db, store::Database::Open(url));
    db_ = std::move(db);
    ReleaseLogOptions options;
    options.clock = [] { return int64_t{1750000000}; };
    CRYPTA_ASSIGN_OR_FAIL(log_, ReleaseLog::Open(db_, options));
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEd25519));
    key_.emplace(std::move(key));
    CRYPTA_ASSIGN_OR_FAIL(vkey_, VerifierKeyString(kOrigin, key_->GetPublicKey()));
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("tlog_dump_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void AppendN(int n) {
    for (int i = 0; i < n; ++i) {
      auto index = log_->Append(Release(i));
      ASSERT_TRUE(index.has_value()) << index.error().ToString();
      ASSERT_EQ(*index, static_cast<uint64_t>(i));
    }
  }
  std::vector<Bytes> LeafHashes(int n) {
    std::vector<Bytes> out;
    for (int i = 0; i < n; ++i) out.push_back(ReleaseLeafHash(Release(i), i).value());
    return out;
  }
  std::string File(const char* name) { return (dir_ / name).string(); }
  std::vector<std::string> ReadLines(const char* name) {
    std::ifstream in(File(name));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  void WriteLines(const char* name, const std::vector<std::string>& lines) {
    std::ofstream out(File(name), std::ios::trunc);
    for (const std::string& line : lines) out << line << "\n";
  }
  Result<DumpReport> Verify() {
    return ReleaseLog::VerifyDump(dir_.string(), {.pinned_key = vkey_, .origin = kOrigin});
  }

  std::shared_ptr<store::Database> db_;
  std::unique_ptr<ReleaseLog> log_;
  std::optional<PrivateKey> key_;
  std::string vkey_;
  std::filesystem::path dir_;
};

TEST_P(ReleaseLogTest, AppendsAndReadsBackEntries) {
  AppendN(7);
  CRYPTA_ASSIGN_OR_FAIL(uint64_t size, log_->Size());
  EXPECT_EQ(size, 7u);
  CRYPTA_ASSIGN_OR_FAIL(auto entries, log_->Entries(2, 5));
  ASSERT_EQ(entries.size(), 3u);
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].index, 2 + i);
    EXPECT_EQ(entries[i].entry, Release(2 + i));
    EXPECT_EQ(entries[i].leaf_hash, ReleaseLeafHash(Release(2 + i), 2 + i).value());
  }
  EXPECT_FALSE(log_->Entries(5, 8).has_value());
  EXPECT_FALSE(log_->Entries(5, 4).has_value());
  CRYPTA_ASSIGN_OR_FAIL(auto none, log_->Entries(7, 7));
  EXPECT_TRUE(none.empty());
}

TEST_P(ReleaseLogTest, StampsTimeZeroWithTheClock) {
  ReleaseEntry e = Release(0);
  e.time = 0;
  CRYPTA_ASSERT_OK(log_->Append(e));
  CRYPTA_ASSIGN_OR_FAIL(auto entries, log_->Entries(0, 1));
  EXPECT_EQ(entries[0].entry.time, 1750000000);
}

TEST_P(ReleaseLogTest, RefusesInvalidEntriesAndWritesNothing) {
  AppendN(2);
  auto bad = [&](auto edit, const std::string& message) {
    ReleaseEntry e = Release(0);
    edit(e);
    auto index = log_->Append(e);
    ASSERT_FALSE(index.has_value()) << message;
    EXPECT_EQ(index.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(index.error().message(), HasSubstr(message));
  };
  bad([](ReleaseEntry& e) { e.tenant = "Acme"; }, "tenant");
  bad([](ReleaseEntry& e) { e.workload = ""; }, "workload");
  bad([](ReleaseEntry& e) { e.measurement = std::string(96, 'A'); }, "measurement");
  bad([](ReleaseEntry& e) { e.measurement = std::string(95, 'a'); }, "measurement");
  bad([](ReleaseEntry& e) { e.measurement = std::string(128, 'a'); }, "measurement");
  bad([](ReleaseEntry& e) { e.model_digest = "sha512:" + std::string(64, 'a'); }, "model_digest");
  bad([](ReleaseEntry& e) { e.model_digest = "sha256:" + std::string(63, 'a'); }, "model_digest");
  bad([](ReleaseEntry& e) { e.host_data = "abc"; }, "host_data");
  bad([](ReleaseEntry& e) { e.host_data = std::string(130, 'a'); }, "host_data");
  bad([](ReleaseEntry& e) { e.note = std::string(1025, 'n'); }, "note");
  bad([](ReleaseEntry& e) { e.note = "line\nbreak"; }, "control character");
  bad([](ReleaseEntry& e) { e.note = "bad \xC3"; }, "invalid UTF-8");
  bad([](ReleaseEntry& e) { e.time = -5; }, "time");
  CRYPTA_ASSIGN_OR_FAIL(uint64_t size, log_->Size());
  EXPECT_EQ(size, 2u);
}

TEST_P(ReleaseLogTest, FindsReleasesByTenantMeasurementAndDigest) {
  AppendN(20);
  const ReleaseEntry e = Release(5);
  CRYPTA_ASSIGN_OR_FAIL(auto found, log_->FindRelease(e.tenant, e.measurement, e.model_digest));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, 5u);  // the lowest index (Release(5) and Release(21) would be equal)
  CRYPTA_ASSIGN_OR_FAIL(auto other_tenant,
                        log_->FindRelease("acme", e.measurement, e.model_digest));
  EXPECT_FALSE(other_tenant.has_value());
  CRYPTA_ASSIGN_OR_FAIL(auto other_digest, log_->FindRelease(e.tenant, e.measurement,
                                                             "sha256:" + std::string(64, '0')));
  EXPECT_FALSE(other_digest.has_value());
  EXPECT_FALSE(log_->FindRelease(e.tenant, "nothex", e.model_digest).has_value());
}

TEST_P(ReleaseLogTest, RootsAndProofsMatchTheReferenceTree) {
  constexpr int kN = 21;
  AppendN(kN);
  const std::vector<Bytes> leaves = LeafHashes(kN);
  for (uint64_t size = 0; size <= kN; ++size) {
    CRYPTA_ASSIGN_OR_FAIL(Bytes root, log_->Root(size));
    EXPECT_EQ(root, audit::MerkleRoot(std::span(leaves).first(size)).value()) << size;
    for (uint64_t index = 0; index < size; ++index) {
      CRYPTA_ASSIGN_OR_FAIL(auto proof, log_->ProveInclusion(index, size));
      CRYPTA_EXPECT_OK(audit::VerifyInclusion(leaves[index], index, size, proof.path, root));
    }
    for (uint64_t old_size = 0; old_size <= size; ++old_size) {
      CRYPTA_ASSIGN_OR_FAIL(auto proof, log_->ProveConsistency(old_size, size));
      CRYPTA_EXPECT_OK(audit::VerifyConsistency(
          old_size, size, audit::MerkleRoot(std::span(leaves).first(old_size)).value(), root,
          proof.path));
    }
  }
  EXPECT_FALSE(log_->ProveInclusion(kN, kN).has_value());
  EXPECT_FALSE(log_->ProveInclusion(0, kN + 1).has_value());
  EXPECT_FALSE(log_->ProveConsistency(3, 2).has_value());
}

TEST_P(ReleaseLogTest, SignsACheckpointOncePerSizeAndKey) {
  AppendN(3);
  CRYPTA_ASSIGN_OR_FAIL(SignedTreeHead head, log_->SignedCheckpoint(*key_, kOrigin, kOrigin));
  EXPECT_EQ(head.checkpoint.size, 3u);
  CRYPTA_ASSIGN_OR_FAIL(NoteVerifier verifier, ParseVerifierKey(vkey_));
  CRYPTA_ASSIGN_OR_FAIL(Checkpoint cp, VerifyCheckpointNote(head.note, verifier, kOrigin));
  EXPECT_EQ(cp, head.checkpoint);
  EXPECT_EQ(cp.root, log_->Root(3).value());
  CRYPTA_ASSIGN_OR_FAIL(SignedTreeHead again, log_->SignedCheckpoint(*key_, kOrigin, kOrigin));
  EXPECT_EQ(again.note, head.note);
  CRYPTA_ASSIGN_OR_FAIL(auto count, db_->Prepare("SELECT COUNT(*) FROM tlog_checkpoints"));
  ASSERT_TRUE(count.Step().value());
  EXPECT_EQ(count.ColumnInt(0), 1);

  CRYPTA_ASSERT_OK(log_->Append(Release(3)));
  CRYPTA_ASSIGN_OR_FAIL(SignedTreeHead next, log_->SignedCheckpoint(*key_, kOrigin, kOrigin));
  EXPECT_EQ(next.checkpoint.size, 4u);
  CRYPTA_ASSIGN_OR_FAIL(auto proof, log_->ProveConsistency(3, 4));
  CRYPTA_EXPECT_OK(
      audit::VerifyConsistency(3, 4, head.checkpoint.root, next.checkpoint.root, proof.path));
}

TEST_P(ReleaseLogTest, RefusesBadSigningInputs) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey ec, PrivateKey::Generate(KeyType::kEcP256));
  EXPECT_FALSE(log_->SignedCheckpoint(ec, kOrigin, kOrigin).has_value());
  EXPECT_FALSE(log_->SignedCheckpoint(*key_, "a b", kOrigin).has_value());
  EXPECT_FALSE(log_->SignedCheckpoint(*key_, kOrigin, "").has_value());
}

TEST_P(ReleaseLogTest, RefusesToSignOverARewrittenStore) {
  if (GetParam() != store::Dialect::kSqlite) GTEST_SKIP() << "drops the SQLite triggers";
  AppendN(4);
  CRYPTA_ASSERT_OK(log_->SignedCheckpoint(*key_, kOrigin, kOrigin));
  CRYPTA_ASSERT_OK(log_->Append(Release(4)));
  // Someone with raw access rewrites an old leaf hash (the triggers are defence in depth).
  CRYPTA_ASSERT_OK(db_->Exec("DROP TRIGGER tlog_entries_no_update"));
  CRYPTA_ASSERT_OK(
      db_->Exec("UPDATE tlog_entries SET leaf_hash = randomblob(32) WHERE leaf_index = 1"));
  // A fresh log object (no cached tree) must not sign the rewritten tree.
  CRYPTA_ASSIGN_OR_FAIL(auto reopened, ReleaseLog::Open(db_));
  auto head = reopened->SignedCheckpoint(*key_, kOrigin, kOrigin);
  ASSERT_FALSE(head.has_value());
  EXPECT_EQ(head.error().code(), ErrorCode::kDataLoss);
}

TEST_P(ReleaseLogTest, RefusesUpdatesThroughSql) {
  AppendN(1);
  EXPECT_FALSE(db_->Exec("UPDATE tlog_entries SET note = 'x'").has_value());
  EXPECT_FALSE(db_->Exec("DELETE FROM tlog_entries").has_value());
}

TEST_P(ReleaseLogTest, WritesADumpThatVerifies) {
  AppendN(13);
  CRYPTA_ASSERT_OK(log_->WriteDump(dir_.string(), *key_, kOrigin, kOrigin));
  CRYPTA_ASSIGN_OR_FAIL(DumpReport report, Verify());
  EXPECT_EQ(report.entries, 13u);
  EXPECT_EQ(report.checkpoint.root, log_->Root(13).value());
  EXPECT_EQ(report.verifier_key, vkey_);
  // Without a pinned key or origin: key.txt and its name.
  CRYPTA_ASSIGN_OR_FAIL(DumpReport self, ReleaseLog::VerifyDump(dir_.string()));
  EXPECT_EQ(self.entries, 13u);
  EXPECT_EQ(ReadLines("entries.jsonl").size(), 13u);
}

TEST_P(ReleaseLogTest, VerifiesAnEmptyLogDump) {
  CRYPTA_ASSERT_OK(log_->WriteDump(dir_.string(), *key_, kOrigin, kOrigin));
  CRYPTA_ASSIGN_OR_FAIL(DumpReport report, Verify());
  EXPECT_EQ(report.entries, 0u);
}

TEST_P(ReleaseLogTest, DumpWithAnEditedEntryFailsNamingIt) {
  AppendN(6);
  CRYPTA_ASSERT_OK(log_->WriteDump(dir_.string(), *key_, kOrigin, kOrigin));
  auto lines = ReadLines("entries.jsonl");
  const std::string original = lines[3];
  lines[3].replace(lines[3].find("\"time\":1700000003"), 17, "\"time\":1700000004");
  WriteLines("entries.jsonl", lines);
  auto report = Verify();
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code(), ErrorCode::kDataLoss);
  EXPECT_THAT(report.error().message(), HasSubstr("line 4: entry 3 does not match its leaf_hash"));

  // Edited together with its leaf hash: the root no longer matches the checkpoint.
  auto parsed = nlohmann::json::parse(lines[3]);
  auto entry = ReleaseFromLeafObject(parsed["release"]).value();
  parsed["leaf_hash"] = HexEncode(ReleaseLeafHash(entry.entry, entry.index).value());
  lines[3] = CanonicalizeJson(parsed).value();
  WriteLines("entries.jsonl", lines);
  report = Verify();
  ASSERT_FALSE(report.has_value());
  EXPECT_THAT(report.error().message(), HasSubstr("does not match checkpoint.txt"));
}

TEST_P(ReleaseLogTest, DumpWithADroppedEntryFailsNamingIt) {
  AppendN(6);
  CRYPTA_ASSERT_OK(log_->WriteDump(dir_.string(), *key_, kOrigin, kOrigin));
  auto lines = ReadLines("entries.jsonl");
  lines.erase(lines.begin() + 2);
  WriteLines("entries.jsonl", lines);
  auto report = Verify();
  ASSERT_FALSE(report.has_value());
  EXPECT_THAT(report.error().message(), HasSubstr("line 3: entry index 3, want 2"));
}

TEST_P(ReleaseLogTest, DumpMissingItsLastEntryFailsNamingIt) {
  AppendN(6);
  CRYPTA_ASSERT_OK(log_->WriteDump(dir_.string(), *key_, kOrigin, kOrigin));
  auto lines = ReadLines("entries.jsonl");
  lines.pop_back();
  WriteLines("entries.jsonl", lines);
  auto report = Verify();
  ASSERT_FALSE(report.has_value());
  EXPECT_THAT(report.error().message(), HasSubstr("has 5 entries, checkpoint.txt covers 6"));
  lines.push_back(lines.back());
  lines.push_back(lines.back());
  WriteLines("entries.jsonl", lines);
  report = Verify();
  ASSERT_FALSE(report.has_value());
  EXPECT_THAT(report.error().message(), HasSubstr("line 6: entry index 4, want 5"));
}

TEST_P(ReleaseLogTest, DumpWithASwappedCheckpointFailsNamingIt) {
  AppendN(5);
  CRYPTA_ASSERT_OK(log_->WriteDump(dir_.string(), *key_, kOrigin, kOrigin));
  // Another log's checkpoint, same key, same size: the root does not match.
  {
    CRYPTA_ASSIGN_OR_FAIL(auto other_db, store::Database::Open(":memory:"));
    CRYPTA_ASSIGN_OR_FAIL(auto other, ReleaseLog::Open(std::move(other_db)));
    for (int i = 10; i < 15; ++i) CRYPTA_ASSERT_OK(other->Append(Release(i)));
    CRYPTA_ASSIGN_OR_FAIL(auto head, other->SignedCheckpoint(*key_, kOrigin, kOrigin));
    std::ofstream(File("checkpoint.txt"), std::ios::trunc) << head.note;
  }
  auto report = Verify();
  ASSERT_FALSE(report.has_value());
  EXPECT_THAT(report.error().message(),
              HasSubstr("entries in entries.jsonl does not match checkpoint.txt"));
  // A checkpoint by another key.
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other_key, PrivateKey::Generate(KeyType::kEd25519));
  CRYPTA_ASSIGN_OR_FAIL(auto head, log_->SignedCheckpoint(other_key, kOrigin, kOrigin));
  std::ofstream(File("checkpoint.txt"), std::ios::trunc) << head.note;
  report = Verify();
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(report.error().message(), HasSubstr("checkpoint.txt: checkpoint signature"));
}

TEST_P(ReleaseLogTest, DumpWithAnotherKeyFileFailsAgainstThePinnedKey) {
  AppendN(2);
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other_key, PrivateKey::Generate(KeyType::kEd25519));
  CRYPTA_ASSERT_OK(log_->WriteDump(dir_.string(), other_key, kOrigin, kOrigin));
  auto report = Verify();
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(report.error().message(), HasSubstr("key.txt is not the pinned log key"));
}

TEST_P(ReleaseLogTest, DumpWithMalformedLinesFails) {
  AppendN(3);
  CRYPTA_ASSERT_OK(log_->WriteDump(dir_.string(), *key_, kOrigin, kOrigin));
  const auto lines = ReadLines("entries.jsonl");
  auto with_line1 = [&](const std::string& line) {
    auto edited = lines;
    edited[1] = line;
    WriteLines("entries.jsonl", edited);
    return Verify();
  };
  auto spaced = with_line1(" " + lines[1]);
  ASSERT_FALSE(spaced.has_value());
  EXPECT_THAT(spaced.error().message(), HasSubstr("line 2 is not in RFC 8785 canonical form"));
  auto garbage = with_line1("{");
  ASSERT_FALSE(garbage.has_value());
  EXPECT_THAT(garbage.error().message(), HasSubstr("entries.jsonl line 2"));
  auto huge = with_line1(std::string(20000, 'x'));
  ASSERT_FALSE(huge.has_value());
  EXPECT_EQ(huge.error().code(), ErrorCode::kResourceExhausted);
  // No final newline.
  std::ofstream(File("entries.jsonl"), std::ios::trunc) << lines[0] << "\n" << lines[1];
  auto unterminated = Verify();
  ASSERT_FALSE(unterminated.has_value());
  EXPECT_THAT(unterminated.error().message(), HasSubstr("does not end in a newline"));
}

TEST_P(ReleaseLogTest, SurvivesReopening) {
  AppendN(5);
  CRYPTA_ASSIGN_OR_FAIL(Bytes root, log_->Root(5));
  CRYPTA_ASSIGN_OR_FAIL(auto reopened, ReleaseLog::Open(db_));
  CRYPTA_ASSIGN_OR_FAIL(Bytes again, reopened->Root(5));
  EXPECT_EQ(again, root);
  CRYPTA_ASSIGN_OR_FAIL(uint64_t index, reopened->Append(Release(5)));
  EXPECT_EQ(index, 5u);
}

INSTANTIATE_TEST_SUITE_P(Backends, ReleaseLogTest,
                         ::testing::Values(store::Dialect::kSqlite, store::Dialect::kPostgres),
                         [](const auto& info) {
                           return info.param == store::Dialect::kSqlite ? "Sqlite" : "Postgres";
                         });

}  // namespace
}  // namespace crypta::transparency
