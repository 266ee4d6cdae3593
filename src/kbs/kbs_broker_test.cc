#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "common/constant_time.h"
#include "crypto/random.h"
#include "kbs/broker.h"
#include "kbs/kbs_test_util.h"
#include "kbs/root_key.h"
#include "kbs/schema.h"
#include "testing/test_util.h"

namespace crypta::kbs {
namespace {

using ::crypta::kbs::testing::kTestNow;
using ::crypta::kbs::testing::SimWorld;
using ::crypta::kbs::testing::TempDir;
using ::testing::HasSubstr;

SecretBytes Dek(uint8_t fill) { return SecretBytes(Bytes(kDataKeySize, fill)); }

class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *LoadOrCreateRootKey(dir_.path());
    Reopen();
  }
  void Reopen() {
    broker_.reset();
    db_.reset();
    db_ = std::shared_ptr<store::Database>(*store::Database::Open(dir_.path() + "/kbs.db"));
    KeyBrokerOptions options;
    options.clock = [this] { return now_; };
    auto opened = KeyBroker::Open(db_, root_.Clone(), options);
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    broker_ = std::move(*opened);
  }
  // Every wrapped DEK blob in the database, for checking what rotation left behind.
  std::vector<Bytes> AllWrappedDekBlobs() {
    std::vector<Bytes> out;
    auto q = *db_->Prepare("SELECT wrapped FROM wrapped_deks ORDER BY object_id");
    while (*q.Step()) out.push_back(q.ColumnBlob(0));
    return out;
  }
  void SetUpKeyWithDeks(int count) {
    ASSERT_TRUE(broker_->CreateTenant("radiology"));
    ASSERT_TRUE(broker_->CreateKek("radiology", "models"));
    ASSERT_TRUE(broker_->SetPolicy("radiology", "", sim_.AllowPolicy()));
    for (int i = 0; i < count; ++i) {
      ASSERT_TRUE(broker_->WrapDek("radiology", "models", Dek(i + 1), "obj-" + std::to_string(i)));
    }
  }
  SecretBytes Release(const std::string& object_id) {
    auto ev = sim_.Verified();
    EXPECT_TRUE(ev.has_value());
    auto r = broker_->UnwrapDekForRelease("radiology", "models", object_id, *ev);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? std::move(r->dek) : SecretBytes();
  }

  TempDir dir_;
  SecretBytes root_;
  int64_t now_ = kTestNow;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<KeyBroker> broker_;
  SimWorld sim_ = SimWorld::Create();
};

TEST(RootKeyTest, CreatedOwnerOnlyAndReused) {
  TempDir dir;
  CRYPTA_ASSIGN_OR_FAIL(SecretBytes first, LoadOrCreateRootKey(dir.path()));
  EXPECT_EQ(first.size(), kRootKeySize);
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() + "/root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  CRYPTA_ASSIGN_OR_FAIL(SecretBytes second, LoadOrCreateRootKey(dir.path()));
  EXPECT_TRUE(std::equal(first.Reveal().begin(), first.Reveal().end(), second.Reveal().begin()));
}

TEST(RootKeyTest, RefusesWrongModeSizeAndSymlink) {
  TempDir dir;
  const std::string path = dir.path() + "/root.key";
  ASSERT_TRUE(LoadOrCreateRootKey(dir.path()));
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  auto r = LoadOrCreateRootKey(dir.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(r.error().message(), HasSubstr("0640"));

  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  { std::ofstream(path, std::ios::app) << "x"; }
  r = LoadOrCreateRootKey(dir.path());
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("33 bytes"));

  TempDir other;
  ASSERT_EQ(::symlink(path.c_str(), (other.path() + "/root.key").c_str()), 0);
  r = LoadOrCreateRootKey(other.path());
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("symbolic link"));
}

TEST_F(BrokerTest, TenantsValidatedAndListed) {
  CRYPTA_ASSERT_OK(broker_->CreateTenant("radiology"));
  CRYPTA_ASSERT_OK(broker_->CreateTenant("0-lab"));
  EXPECT_EQ(broker_->CreateTenant("radiology").error().code(), ErrorCode::kAlreadyExists);
  for (const std::string& bad :
       std::vector<std::string>{"", "Radiology", "-lab", "a_b", "a b", "é", std::string(64, 'a')}) {
    auto r = broker_->CreateTenant(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  CRYPTA_ASSERT_OK(broker_->CreateTenant(std::string(63, 'a')));
  CRYPTA_ASSIGN_OR_FAIL(auto tenants, broker_->ListTenants());
  ASSERT_EQ(tenants.size(), 3u);
  EXPECT_EQ(tenants[0].name, "0-lab");
  EXPECT_EQ(tenants[2].name, "radiology");
  EXPECT_EQ(tenants[2].created, kTestNow);
}

TEST_F(BrokerTest, KekCreateAndList) {
  CRYPTA_ASSERT_OK(broker_->CreateTenant("radiology"));
  EXPECT_EQ(broker_->CreateKek("nobody", "k").error().code(), ErrorCode::kNotFound);
  CRYPTA_ASSIGN_OR_FAIL(KekInfo k, broker_->CreateKek("radiology", "models", 90));
  EXPECT_EQ(k.current_version, 1u);
  ASSERT_EQ(k.versions.size(), 1u);
  EXPECT_EQ(k.versions[0].state, KekState::kActive);
  EXPECT_EQ(k.next_rotation, kTestNow + 90 * 86400);
  EXPECT_EQ(broker_->CreateKek("radiology", "models").error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(broker_->CreateKek("radiology", "x", 0).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(broker_->CreateKek("radiology", "BAD").error().code(), ErrorCode::kInvalidArgument);
  CRYPTA_ASSERT_OK(broker_->CreateKek("radiology", "audit"));
  CRYPTA_ASSIGN_OR_FAIL(auto list, broker_->ListKeks("radiology"));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "audit");
  EXPECT_FALSE(list[0].rotate_days.has_value());
  EXPECT_FALSE(list[0].next_rotation.has_value());
  EXPECT_EQ(list[1].rotate_days, 90);
}

TEST_F(BrokerTest, ReleaseAllowedByPolicyReturnsTheDek) {
  SetUpKeyWithDeks(1);
  CRYPTA_ASSIGN_OR_FAIL(WrappedDek w, broker_->GetWrappedDek("radiology", "models", "obj-0"));
  EXPECT_EQ(w.ref.kek_version, 1u);
  EXPECT_EQ(w.wrapped.size(), 12u + 32u + 16u);
  SecretBytes dek = Release("obj-0");
  EXPECT_TRUE(ConstantTimeEquals(dek.Reveal(), Dek(1).Reveal()));
  EXPECT_EQ(broker_->WrapDek("radiology", "models", Dek(9), "obj-0").error().code(),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(broker_->WrapDek("radiology", "models", SecretBytes(Bytes(16, 1)), "o").error().code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(BrokerTest, ReleaseDeniedListsEveryViolation) {
  SetUpKeyWithDeks(1);
  // A key-level policy overrides the tenant-wide one: hardware only, another measurement.
  CRYPTA_ASSERT_OK(broker_->SetPolicy(
      "radiology", "models", "tee: [sev-snp]\nmeasurements: [" + std::string(96, 'b') + "]\n"));
  CRYPTA_ASSIGN_OR_FAIL(auto ev, sim_.Verified());
  attest::Verdict verdict;
  auto r = broker_->UnwrapDekForRelease("radiology", "models", "obj-0", ev, &verdict);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_FALSE(verdict.allowed);
  ASSERT_GE(verdict.violations.size(), 3u) << "tee, simulated and measurement all fail";
  for (const auto& v : verdict.violations) EXPECT_THAT(r.error().message(), HasSubstr(v));

  // Debug evidence against the otherwise matching tenant policy is denied too.
  CRYPTA_ASSERT_OK(broker_->SetPolicy("radiology", "models", sim_.AllowPolicy()));
  sim_.launch.debug = true;
  CRYPTA_ASSIGN_OR_FAIL(auto debug_ev, sim_.Verified());
  r = broker_->UnwrapDekForRelease("radiology", "models", "obj-0", debug_ev, &verdict);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("debug"));
}

TEST_F(BrokerTest, RequirePublishedAsksThePublishedCheckWithTheReleasedObject) {
  SetUpKeyWithDeks(1);
  CRYPTA_ASSERT_OK(broker_->SetPolicy(
      "radiology", "models", "tee: [sim]\nallow_simulated: true\nrequire_published: true\n"));
  CRYPTA_ASSIGN_OR_FAIL(auto ev, sim_.Verified());
  // Without a check (no release log): refused.
  auto r = broker_->UnwrapDekForRelease("radiology", "models", "obj-0", ev);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("require_published: no release log"));
  // With one: it sees the tenant, key, object and claims, and decides.
  std::vector<std::string> asked;
  bool published = false;
  KeyBrokerOptions options;
  options.clock = [this] { return now_; };
  options.published_check = [&](const std::string& tenant, const std::string& key,
                                const std::string& object_id, const attest::Claims& claims) {
    asked.push_back(tenant + "/" + key + "/" + object_id + " " + HexEncode(claims.measurement));
    return published ? OkStatus()
                     : Status(MakeError(ErrorCode::kPermissionDenied, "not in the log"));
  };
  broker_.reset();
  broker_ = *KeyBroker::Open(db_, root_.Clone(), options);
  r = broker_->UnwrapDekForRelease("radiology", "models", "obj-0", ev);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_THAT(r.error().message(), HasSubstr("require_published: not in the log"));
  published = true;
  CRYPTA_ASSERT_OK(broker_->UnwrapDekForRelease("radiology", "models", "obj-0", ev));
  CRYPTA_ASSERT_OK(broker_->CheckReleasePolicy("radiology", "models", ev.claims()));
  const std::string m = sim_.MeasurementHex();
  EXPECT_THAT(asked,
              ::testing::ElementsAre("radiology/models/obj-0 " + m, "radiology/models/obj-0 " + m,
                                     "radiology/models/ " + m));
}

TEST_F(BrokerTest, NoPolicyMeansDeny) {
  CRYPTA_ASSERT_OK(broker_->CreateTenant("radiology"));
  CRYPTA_ASSERT_OK(broker_->CreateKek("radiology", "models"));
  CRYPTA_ASSERT_OK(broker_->WrapDek("radiology", "models", Dek(1), "obj"));
  CRYPTA_ASSIGN_OR_FAIL(auto ev, sim_.Verified());
  auto r = broker_->UnwrapDekForRelease("radiology", "models", "obj", ev);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_THAT(r.error().message(), HasSubstr("no key-release policy"));
  EXPECT_EQ(broker_->GetPolicy("radiology", "").error().code(), ErrorCode::kNotFound);
  // Invalid policies are refused and name the problem; unknown keys are refused.
  auto bad = broker_->SetPolicy("radiology", "", "tee: [sim]\nallow_everything: true\n");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), HasSubstr("allow_everything"));
  EXPECT_EQ(broker_->SetPolicy("radiology", "nope", sim_.AllowPolicy()).error().code(),
            ErrorCode::kNotFound);
  CRYPTA_ASSIGN_OR_FAIL(std::string id, broker_->SetPolicy("radiology", "", sim_.AllowPolicy()));
  CRYPTA_ASSIGN_OR_FAIL(StoredPolicy stored, broker_->GetPolicy("radiology", ""));
  EXPECT_EQ(stored.policy_id, id);
  EXPECT_EQ(stored.text, sim_.AllowPolicy());
}

TEST_F(BrokerTest, RotationRewrapsEveryDek) {
  SetUpKeyWithDeks(3);
  std::vector<Bytes> before = AllWrappedDekBlobs();
  ASSERT_EQ(before.size(), 3u);
  CRYPTA_ASSIGN_OR_FAIL(uint32_t v2, broker_->RotateKek("radiology", "models"));
  EXPECT_EQ(v2, 2u);
  std::vector<Bytes> after = AllWrappedDekBlobs();
  ASSERT_EQ(after.size(), 3u);
  for (const Bytes& old : before) {
    for (const Bytes& now : after) EXPECT_NE(old, now);
  }
  for (int i = 0; i < 3; ++i) {
    CRYPTA_ASSIGN_OR_FAIL(
        WrappedDek w, broker_->GetWrappedDek("radiology", "models", "obj-" + std::to_string(i)));
    EXPECT_EQ(w.ref.kek_version, 2u);
    EXPECT_TRUE(
        ConstantTimeEquals(Release("obj-" + std::to_string(i)).Reveal(), Dek(i + 1).Reveal()));
  }
  CRYPTA_ASSIGN_OR_FAIL(KekInfo k, broker_->GetKek("radiology", "models"));
  EXPECT_EQ(k.current_version, 2u);
  ASSERT_EQ(k.versions.size(), 2u);
  EXPECT_EQ(k.versions[0].state, KekState::kDecryptOnly);
  EXPECT_EQ(k.versions[0].wrapped_deks, 0);
  EXPECT_EQ(k.versions[1].state, KekState::kActive);
  EXPECT_EQ(k.versions[1].wrapped_deks, 3);
  // New wraps use the new version.
  CRYPTA_ASSIGN_OR_FAIL(WrappedDek w, broker_->WrapDek("radiology", "models", Dek(7), "new"));
  EXPECT_EQ(w.ref.kek_version, 2u);
}

TEST_F(BrokerTest, FailedRotationChangesNothing) {
  SetUpKeyWithDeks(3);
  std::vector<Bytes> before = AllWrappedDekBlobs();
  broker_->SetRewrapHookForTesting([](const std::string& object_id) -> Status {
    if (object_id == "obj-2") return MakeError(ErrorCode::kInternal, "injected failure");
    return OkStatus();
  });
  auto r = broker_->RotateKek("radiology", "models");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("injected failure"));
  EXPECT_EQ(AllWrappedDekBlobs(), before);
  CRYPTA_ASSIGN_OR_FAIL(KekInfo k, broker_->GetKek("radiology", "models"));
  EXPECT_EQ(k.current_version, 1u);
  ASSERT_EQ(k.versions.size(), 1u);
  EXPECT_EQ(k.versions[0].state, KekState::kActive);
  EXPECT_EQ(k.last_rotated, kTestNow);
  EXPECT_TRUE(ConstantTimeEquals(Release("obj-0").Reveal(), Dek(1).Reveal()));

  broker_->SetRewrapHookForTesting(nullptr);
  CRYPTA_ASSIGN_OR_FAIL(uint32_t v, broker_->RotateKek("radiology", "models"));
  EXPECT_EQ(v, 2u);
}

TEST_F(BrokerTest, RetireVersionRules) {
  SetUpKeyWithDeks(2);
  auto r = broker_->RetireVersion("radiology", "models", 1);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("current version"));
  ASSERT_TRUE(broker_->RotateKek("radiology", "models"));
  ASSERT_TRUE(broker_->RotateKek("radiology", "models"));
  // Force a DEK back onto version 2 to model one that was never rewrapped.
  CRYPTA_ASSERT_OK(db_->Exec("UPDATE wrapped_deks SET version = 2 WHERE object_id = 'obj-0'"));
  r = broker_->RetireVersion("radiology", "models", 2);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(r.error().message(), HasSubstr("still wraps 1 DEK"));
  CRYPTA_ASSERT_OK(broker_->RetireVersion("radiology", "models", 1));
  EXPECT_EQ(broker_->RetireVersion("radiology", "models", 1).error().code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(broker_->RetireVersion("radiology", "models", 9).error().code(), ErrorCode::kNotFound);
  CRYPTA_ASSIGN_OR_FAIL(KekInfo k, broker_->GetKek("radiology", "models"));
  EXPECT_EQ(k.versions[0].state, KekState::kRetired);
  auto material = *db_->Prepare("SELECT wrapped IS NULL FROM kek_versions WHERE version = 1");
  ASSERT_TRUE(*material.Step());
  EXPECT_EQ(material.ColumnInt(0), 1) << "retiring deletes the wrapped key material";
}

TEST_F(BrokerTest, WrappedKekMovedToAnotherNameOrVersionFails) {
  SetUpKeyWithDeks(1);
  CRYPTA_ASSERT_OK(broker_->CreateKek("radiology", "other"));
  CRYPTA_ASSERT_OK(db_->Exec(
      "UPDATE kek_versions SET wrapped = (SELECT wrapped FROM kek_versions WHERE name = 'models')"
      " WHERE name = 'other'"));
  auto r = broker_->WrapDek("radiology", "other", Dek(3), "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kDataLoss);
  EXPECT_THAT(r.error().message(), HasSubstr("does not authenticate"));

  SecretBytes kek = *RandomSecret(kKekSize);
  CRYPTA_ASSIGN_OR_FAIL(Bytes wrapped, WrapKek(root_.Reveal(), {"t", "k", 1}, kek));
  EXPECT_TRUE(UnwrapKek(root_.Reveal(), {"t", "k", 1}, wrapped));
  EXPECT_FALSE(UnwrapKek(root_.Reveal(), {"t", "k", 2}, wrapped));
  EXPECT_FALSE(UnwrapKek(root_.Reveal(), {"t", "k2", 1}, wrapped));
  EXPECT_FALSE(UnwrapKek(root_.Reveal(), {"t2", "k", 1}, wrapped));
  // The DEK format is domain-separated from the KEK format.
  EXPECT_FALSE(UnwrapDekUnderKek(root_.Reveal(), {"t", "k", 1}, "", wrapped));
  CRYPTA_ASSIGN_OR_FAIL(Bytes dw, WrapDekUnderKek(kek.Reveal(), {"t", "k", 1}, "obj", Dek(5)));
  EXPECT_TRUE(UnwrapDekUnderKek(kek.Reveal(), {"t", "k", 1}, "obj", dw));
  EXPECT_FALSE(UnwrapDekUnderKek(kek.Reveal(), {"t", "k", 1}, "obj2", dw));
}

TEST_F(BrokerTest, DueRotations) {
  CRYPTA_ASSERT_OK(broker_->CreateTenant("radiology"));
  CRYPTA_ASSERT_OK(broker_->CreateKek("radiology", "weekly", 7));
  CRYPTA_ASSERT_OK(broker_->CreateKek("radiology", "manual"));
  EXPECT_TRUE(broker_->DueRotations(kTestNow + 7 * 86400 - 1)->empty());
  CRYPTA_ASSIGN_OR_FAIL(auto due, broker_->DueRotations(kTestNow + 7 * 86400));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key_name, "weekly");
  CRYPTA_ASSIGN_OR_FAIL(auto rotated, broker_->RotateDue(kTestNow + 8 * 86400));
  ASSERT_EQ(rotated.size(), 1u);
  EXPECT_EQ(rotated[0].kek_version, 2u);
  EXPECT_TRUE(broker_->DueRotations(kTestNow + 8 * 86400)->empty());
  CRYPTA_ASSIGN_OR_FAIL(KekInfo k, broker_->GetKek("radiology", "weekly"));
  EXPECT_EQ(k.next_rotation, kTestNow + 15 * 86400);
}

TEST_F(BrokerTest, ReopenKeepsEverything) {
  SetUpKeyWithDeks(2);
  ASSERT_TRUE(broker_->RotateKek("radiology", "models"));
  Reopen();
  CRYPTA_ASSIGN_OR_FAIL(auto tenants, broker_->ListTenants());
  ASSERT_EQ(tenants.size(), 1u);
  CRYPTA_ASSIGN_OR_FAIL(KekInfo k, broker_->GetKek("radiology", "models"));
  EXPECT_EQ(k.current_version, 2u);
  EXPECT_TRUE(broker_->GetPolicy("radiology", ""));
  EXPECT_TRUE(ConstantTimeEquals(Release("obj-1").Reveal(), Dek(2).Reveal()));
  auto version = *db_->Prepare("SELECT version FROM schema_version");
  ASSERT_TRUE(*version.Step());
  EXPECT_EQ(version.ColumnInt(0), CurrentSchemaVersion());

  // Under another root key nothing unwraps.
  root_ = *RandomSecret(kRootKeySize);
  Reopen();
  CRYPTA_ASSIGN_OR_FAIL(auto ev, sim_.Verified());
  auto r = broker_->UnwrapDekForRelease("radiology", "models", "obj-1", ev);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace crypta::kbs
