// The client-side check (client_check.h) against real logs (ReleaseLog on SQLite): a release
// that is in the log passes and advances the remembered state; one that is not, a checkpoint by
// another key or for another origin, a rollback and a fork (two logs that share a prefix, then
// diverge, signed by the same key) are refused, each naming the failed step.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "testing/test_util.h"
#include "transparency/client_check.h"
#include "transparency/release_log.h"

namespace crypta::transparency {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kOrigin[] = "crypta.test/releases";

ReleaseEntry Release(int i) {
  ReleaseEntry e;
  e.tenant = "acme";
  e.workload = "scan";
  e.measurement = std::string(96, "0123456789abcdef"[i % 16]);
  e.model_digest = "sha256:" + std::string(64, "0123456789abcdef"[(i / 16) % 16]);
  e.time = 1700000000 + i;
  return e;
}

struct Log {
  std::unique_ptr<ReleaseLog> log;
  static Log Make() {
    auto db = store::Database::Open(":memory:");
    EXPECT_TRUE(db.has_value());
    auto log = ReleaseLog::Open(std::move(*db));
    EXPECT_TRUE(log.has_value());
    return Log{std::move(*log)};
  }
  // Appends Release(first) .. Release(first + n - 1).
  void Append(int first, int n) {
    for (int i = first; i < first + n; ++i) ASSERT_TRUE(log->Append(Release(i)).has_value());
  }
};

class ClientCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEd25519));
    key_.emplace(std::move(key));
    CRYPTA_ASSIGN_OR_FAIL(std::string vkey, VerifierKeyString(kOrigin, key_->GetPublicKey()));
    CRYPTA_ASSIGN_OR_FAIL(NoteVerifier v, ParseVerifierKey(vkey));
    verifier_.emplace(std::move(v));
  }
  std::string Note(Log& log) {
    auto head = log.log->SignedCheckpoint(*key_, kOrigin, kOrigin);
    EXPECT_TRUE(head.has_value()) << head.error().ToString();
    return head ? head->note : "";
  }
  std::vector<Bytes> Inclusion(Log& log, uint64_t index) {
    auto size = log.log->Size().value();
    return log.log->ProveInclusion(index, size).value().path;
  }
  std::vector<Bytes> Consistency(Log& log, uint64_t old_size) {
    auto size = log.log->Size().value();
    return log.log->ProveConsistency(old_size, size).value().path;
  }
  // The state a client holding `log` at its current size would remember.
  TransparencyState StateOf(Log& log) {
    auto size = log.log->Size().value();
    return TransparencyState{kOrigin, size, log.log->Root(size).value()};
  }
  Result<TransparencyVerdict> Check(Log& log, int release, uint64_t index,
                                    std::optional<TransparencyState> remembered,
                                    std::vector<Bytes> consistency = {}) {
    return CheckRelease(Note(log), *verifier_, kOrigin, Release(release), index,
                        Inclusion(log, index), remembered, consistency);
  }

  std::optional<PrivateKey> key_;
  std::optional<NoteVerifier> verifier_;
};

TEST_F(ClientCheckTest, AcceptsAPublishedReleaseOnFirstContact) {
  Log log = Log::Make();
  log.Append(0, 10);
  CRYPTA_ASSIGN_OR_FAIL(TransparencyVerdict verdict, Check(log, 7, 7, std::nullopt));
  EXPECT_EQ(verdict.checkpoint.size, 10u);
  EXPECT_EQ(verdict.remember, StateOf(log));
  EXPECT_EQ(verdict.leaf_hash, ReleaseLeafHash(Release(7), 7).value());
}

TEST_F(ClientCheckTest, AdvancesTheRememberedStateWithAConsistencyProof) {
  Log log = Log::Make();
  log.Append(0, 5);
  CRYPTA_ASSIGN_OR_FAIL(TransparencyVerdict first, Check(log, 2, 2, std::nullopt));
  log.Append(5, 8);
  CRYPTA_ASSIGN_OR_FAIL(TransparencyVerdict second,
                        Check(log, 11, 11, first.remember, Consistency(log, 5)));
  EXPECT_EQ(second.remember.size, 13u);
  // Same size again: equal roots, no proof needed.
  CRYPTA_ASSIGN_OR_FAIL(TransparencyVerdict third, Check(log, 0, 0, second.remember));
  EXPECT_EQ(third.remember, second.remember);
}

TEST_F(ClientCheckTest, AcceptsAFirstEntryAfterAnEmptyRememberedLog) {
  Log log = Log::Make();
  Note(log);
  TransparencyState empty = StateOf(log);
  log.Append(0, 1);
  CRYPTA_EXPECT_OK(Check(log, 0, 0, empty, Consistency(log, 0)));
}

TEST_F(ClientCheckTest, RefusesAReleaseThatIsNotInTheLog) {
  Log log = Log::Make();
  log.Append(0, 6);
  // Another measurement at a real index, with that index's proof.
  auto other = CheckRelease(Note(log), *verifier_, kOrigin, Release(40), 3, Inclusion(log, 3),
                            std::nullopt, {});
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_THAT(other.error().message(), StartsWith("not in the log: the inclusion proof"));
  // The right entry claimed at another index.
  auto moved = CheckRelease(Note(log), *verifier_, kOrigin, Release(3), 4, Inclusion(log, 4),
                            std::nullopt, {});
  ASSERT_FALSE(moved.has_value());
  EXPECT_THAT(moved.error().message(), StartsWith("not in the log"));
  // An index past the checkpoint.
  auto beyond = CheckRelease(Note(log), *verifier_, kOrigin, Release(6), 6, Inclusion(log, 5),
                             std::nullopt, {});
  ASSERT_FALSE(beyond.has_value());
  EXPECT_THAT(beyond.error().message(), HasSubstr("not below the checkpoint size 6"));
  // A truncated proof.
  auto proof = Inclusion(log, 3);
  proof.pop_back();
  auto short_proof =
      CheckRelease(Note(log), *verifier_, kOrigin, Release(3), 3, proof, std::nullopt, {});
  ASSERT_FALSE(short_proof.has_value());
  EXPECT_THAT(short_proof.error().message(), StartsWith("not in the log"));
  // An invalid entry.
  ReleaseEntry bad = Release(3);
  bad.measurement = "zz";
  auto invalid =
      CheckRelease(Note(log), *verifier_, kOrigin, bad, 3, Inclusion(log, 3), std::nullopt, {});
  ASSERT_FALSE(invalid.has_value());
  EXPECT_THAT(invalid.error().message(), StartsWith("not in the log"));
}

TEST_F(ClientCheckTest, RefusesACheckpointByAnotherKey) {
  Log log = Log::Make();
  log.Append(0, 3);
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, PrivateKey::Generate(KeyType::kEd25519));
  CRYPTA_ASSIGN_OR_FAIL(SignedTreeHead head, log.log->SignedCheckpoint(other, kOrigin, kOrigin));
  auto verdict = CheckRelease(head.note, *verifier_, kOrigin, Release(1), 1, Inclusion(log, 1),
                              std::nullopt, {});
  ASSERT_FALSE(verdict.has_value());
  EXPECT_EQ(verdict.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(verdict.error().message(), StartsWith("checkpoint signature: "));
}

TEST_F(ClientCheckTest, RefusesACheckpointForAnotherOrigin) {
  Log log = Log::Make();
  log.Append(0, 3);
  CRYPTA_ASSIGN_OR_FAIL(SignedTreeHead head,
                        log.log->SignedCheckpoint(*key_, kOrigin, "crypta.test/other"));
  auto verdict = CheckRelease(head.note, *verifier_, kOrigin, Release(1), 1, Inclusion(log, 1),
                              std::nullopt, {});
  ASSERT_FALSE(verdict.has_value());
  EXPECT_THAT(verdict.error().message(), StartsWith("checkpoint origin: "));
}

TEST_F(ClientCheckTest, RefusesARollback) {
  Log log = Log::Make();
  log.Append(0, 4);
  const std::string old_note = Note(log);
  const auto old_proof = Inclusion(log, 1);
  log.Append(4, 4);
  const TransparencyState remembered = StateOf(log);
  auto verdict =
      CheckRelease(old_note, *verifier_, kOrigin, Release(1), 1, old_proof, remembered, {});
  ASSERT_FALSE(verdict.has_value());
  EXPECT_EQ(verdict.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_THAT(
      verdict.error().message(),
      StartsWith("rollback: the checkpoint has size 4, smaller than the remembered size 8"));
}

TEST_F(ClientCheckTest, RefusesAForkOfTheSameSize) {
  Log a = Log::Make();
  Log b = Log::Make();
  a.Append(0, 3);
  b.Append(0, 3);
  a.Append(3, 2);
  b.Append(100, 2);  // diverges at index 3
  const TransparencyState remembered = StateOf(a);
  auto verdict = Check(b, 0, 0, remembered);
  ASSERT_FALSE(verdict.has_value());
  EXPECT_EQ(verdict.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_THAT(verdict.error().message(),
              StartsWith("fork: the checkpoint at size 5 has another root"));
}

TEST_F(ClientCheckTest, RefusesAForkThatGrew) {
  Log a = Log::Make();
  Log b = Log::Make();
  a.Append(0, 3);
  b.Append(0, 3);
  a.Append(3, 1);
  b.Append(100, 4);
  // The client saw a at size 4; b (size 7) shares only the first 3 entries.
  const TransparencyState remembered = StateOf(a);
  auto verdict = Check(b, 1, 1, remembered, Consistency(b, 4));
  ASSERT_FALSE(verdict.has_value());
  EXPECT_EQ(verdict.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_THAT(verdict.error().message(),
              StartsWith("fork: the checkpoint at size 7 is not consistent with the remembered "
                         "checkpoint at size 4"));
  // The honest continuation of a is accepted.
  a.Append(4, 3);
  CRYPTA_EXPECT_OK(Check(a, 1, 1, remembered, Consistency(a, 4)));
}

TEST_F(ClientCheckTest, RefusesAStateForAnotherOriginAndAProofWithoutState) {
  Log log = Log::Make();
  log.Append(0, 2);
  TransparencyState other = StateOf(log);
  other.origin = "crypta.test/other";
  auto verdict = Check(log, 0, 0, other);
  ASSERT_FALSE(verdict.has_value());
  EXPECT_THAT(verdict.error().message(), StartsWith("remembered state: "));
  auto stray = Check(log, 0, 0, std::nullopt, {Bytes(32, 1)});
  ASSERT_FALSE(stray.has_value());
  EXPECT_THAT(stray.error().message(), StartsWith("remembered state: "));
}

TEST(TransparencyState, RoundTripsThroughJsonAndAPrivateFile) {
  TransparencyState state{kOrigin, 1234, Bytes(32, 0x5a)};
  CRYPTA_ASSIGN_OR_FAIL(std::string json, TransparencyStateJson(state));
  EXPECT_EQ(json,
            "{\"origin\":\"crypta.test/releases\",\"root\":\"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpa"
            "WlpaWlo=\",\"size\":1234,\"v\":1}");
  CRYPTA_ASSIGN_OR_FAIL(TransparencyState parsed, ParseTransparencyState(json));
  EXPECT_EQ(parsed, state);

  const std::string path = ::testing::TempDir() + "/tlog_state_" + std::to_string(::getpid());
  std::filesystem::remove(path);
  auto missing = LoadTransparencyState(path);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  CRYPTA_ASSERT_OK(SaveTransparencyState(path, state));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  state.size = 1235;
  CRYPTA_ASSERT_OK(SaveTransparencyState(path, state));  // replaces
  CRYPTA_ASSIGN_OR_FAIL(TransparencyState loaded, LoadTransparencyState(path));
  EXPECT_EQ(loaded, state);
  std::ofstream(path, std::ios::trunc) << "{}";
  auto corrupt = LoadTransparencyState(path);
  ASSERT_FALSE(corrupt.has_value());
  EXPECT_EQ(corrupt.error().code(), ErrorCode::kInvalidArgument);
  std::filesystem::remove(path);
}

TEST(TransparencyState, RejectsMalformedStates) {
  const char* bad[] = {
      "",
      "[]",
      R"({"origin":"o","root":"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=","size":1})",
      R"({"origin":"o","root":"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=","size":1,"v":2})",
      R"({"origin":"o","root":"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=","size":-1,"v":1})",
      R"({"origin":"o","root":"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWg==","size":1,"v":1})",
      R"({"origin":"a b","root":"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=","size":1,"v":1})",
      R"({"origin":"o","root":"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=","size":1,"v":1,"x":0})",
      R"({"origin":"o","origin":"o","root":"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=","size":1})",
  };
  for (const char* json : bad) {
    EXPECT_FALSE(ParseTransparencyState(json).has_value()) << json;
  }
}

}  // namespace
}  // namespace crypta::transparency
