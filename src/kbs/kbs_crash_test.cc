// Crash consistency: a process rotating KEKs, wrapping DEKs and appending audit entries is
// killed with SIGKILL at random moments, again and again. After every kill, every DEK ever
// committed must still unwrap to its value through the release path, and the audit log
// must verify. (SQLite WAL + synchronous=FULL + one transaction per operation.)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "audit/log.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "kbs/broker.h"
#include "kbs/kbs_test_util.h"
#include "store/database.h"
#include "testing/test_util.h"

namespace crypta::kbs {
namespace {

using testing::SimWorld;
using testing::TempDir;

constexpr char kPolicy[] =
    "tee: [sim]\nallow_simulated: true\nmeasurements: "
    "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaa]\n";

// The DEK of an object is derived from its id, so any process can check it.
SecretBytes DekFor(const std::string& object_id) {
  return SecretBytes(Sha256(AsBytes("crash-test dek " + object_id)));
}

struct Opened {
  std::shared_ptr<store::Database> db;
  std::unique_ptr<KeyBroker> broker;
  std::unique_ptr<audit::AuditLog> log;
};

Result<Opened> OpenAll(const std::string& path, const SecretBytes& root) {
  Opened o;
  CRYPTA_ASSIGN_OR_RETURN(std::unique_ptr<store::Database> db, store::Database::Open(path));
  o.db = std::move(db);
  CRYPTA_ASSIGN_OR_RETURN(o.broker, KeyBroker::Open(o.db, root.Clone()));
  CRYPTA_ASSIGN_OR_RETURN(o.log, audit::AuditLog::Open(*o.db, {}));
  return o;
}

// The child: rotate, wrap and audit until killed. Never returns.
[[noreturn]] void Churn(const std::string& path, const SecretBytes& root, int round) {
  Result<Opened> o = OpenAll(path, root);
  if (!o) _exit(3);
  for (int n = 0;; ++n) {
    if (!o->broker->RotateKek("t", "k")) _exit(4);
    std::string object = "child-" + std::to_string(round) + "-" + std::to_string(n);
    if (!o->broker->WrapDek("t", "k", DekFor(object), object)) _exit(5);
    if (!o->log->Append(
            {"crash-test", "t", "kbs.rotate", "allow", object, nlohmann::json::object()})) {
      _exit(6);
    }
  }
}

TEST(KbsCrashTest, SigkillDuringRotationsAndWrapsLosesNothingCommitted) {
  TempDir dir;
  const std::string path = dir.path() + "/crypta.db";
  SecretBytes root = *RandomSecret(32);
  SimWorld world = SimWorld::Create();
  CRYPTA_ASSIGN_OR_FAIL(attest::VerifiedEvidence evidence, world.Verified());
  std::vector<std::string> objects;
  {
    CRYPTA_ASSIGN_OR_FAIL(Opened o, OpenAll(path, root));
    CRYPTA_ASSERT_OK(o.broker->CreateTenant("t"));
    CRYPTA_ASSERT_OK(o.broker->CreateKek("t", "k", std::nullopt));
    CRYPTA_ASSERT_OK(o.broker->SetPolicy("t", "", kPolicy));
    for (int i = 0; i < 10; ++i) {
      objects.push_back("model-" + std::to_string(i));
      CRYPTA_ASSERT_OK(o.broker->WrapDek("t", "k", DekFor(objects.back()), objects.back()));
    }
  }  // every handle closed before forking

  std::mt19937 rng(12345);
  uint32_t last_version = 1;
  size_t last_committed = 0;
  for (int round = 0; round < 8; ++round) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) Churn(path, root, round);
    ::usleep(20000 + rng() % 130000);  // 20..150 ms into the churn
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status))
        << "the child stopped by itself with status " << WEXITSTATUS(status);

    CRYPTA_ASSIGN_OR_FAIL(Opened o, OpenAll(path, root));
    CRYPTA_ASSIGN_OR_FAIL(KekInfo kek, o.broker->GetKek("t", "k"));
    EXPECT_GE(kek.current_version, last_version);
    last_version = kek.current_version;
    // Every object the child committed is now known too.
    CRYPTA_ASSIGN_OR_FAIL(
        store::Statement q,
        o.db->Prepare("SELECT object_id FROM wrapped_deks WHERE tenant = 't' AND key = 'k'"));
    std::vector<std::string> committed;
    while (*q.Step()) committed.push_back(q.ColumnText(0));
    EXPECT_GE(committed.size(), objects.size());
    EXPECT_GE(committed.size(), last_committed) << "committed DEKs disappeared";
    last_committed = committed.size();
    for (const std::string& object : committed) {
      Result<DekRelease> r = o.broker->UnwrapDekForRelease("t", "k", object, evidence);
      ASSERT_TRUE(r.has_value()) << "round " << round << ", " << object << ": "
                                 << r.error().ToString();
      EXPECT_EQ(ToString(r->dek.Reveal()), ToString(DekFor(object).Reveal())) << object;
      EXPECT_EQ(r->kek_version, kek.current_version) << object << " was not rewrapped";
    }
    Result<audit::AuditVerifyReport> verified = audit::AuditLog::Verify(*o.db, "crypta.audit", {});
    ASSERT_TRUE(verified.has_value()) << "round " << round << ": " << verified.error().ToString();
  }
  EXPECT_GT(last_version, 1u) << "the churn never committed a rotation";
  EXPECT_GT(last_committed, objects.size()) << "the churn never committed a wrap";
}

}  // namespace
}  // namespace crypta::kbs
