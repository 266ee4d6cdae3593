#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "kbs/broker.h"
#include "kbs/kbs_test_util.h"
#include "kbs/tokens.h"
#include "testing/test_util.h"

namespace crypta::kbs {
namespace {

using ::testing::HasSubstr;

class TokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::shared_ptr<store::Database>(*store::Database::Open(dir_.path() + "/kbs.db"));
    broker_ = *KeyBroker::Open(db_, SecretBytes(Bytes(32, 7)));
    ASSERT_TRUE(broker_->CreateTenant("radiology"));
    ASSERT_TRUE(broker_->CreateTenant("oncology"));
    tokens_ = *TokenStore::Open(db_, [] { return int64_t{1000}; });
  }
  testing::TempDir dir_;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<KeyBroker> broker_;
  std::unique_ptr<TokenStore> tokens_;
};

TEST_F(TokensTest, CreateAuthenticateRevoke) {
  CRYPTA_ASSIGN_OR_FAIL(NewToken t, tokens_->CreateToken("radiology", Role::kTenantUser));
  ASSERT_EQ(t.token.rfind("crypta_", 0), 0u);
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw, Base64UrlDecode(t.token.substr(7)));
  EXPECT_EQ(raw.size(), 32u);
  CRYPTA_ASSIGN_OR_FAIL(Principal p, tokens_->Authenticate(t.token));
  EXPECT_EQ(p.tenant, "radiology");
  EXPECT_EQ(p.role, Role::kTenantUser);
  EXPECT_EQ(p.token_id, t.token_id);

  // Only the hash is stored: the token text appears nowhere in the table.
  auto q = *db_->Prepare("SELECT hash, token_id FROM tokens");
  ASSERT_TRUE(*q.Step());
  EXPECT_EQ(q.ColumnBlob(0), Sha256(AsBytes(t.token)));
  EXPECT_EQ(t.token.find(q.ColumnText(1)), std::string::npos);

  CRYPTA_ASSIGN_OR_FAIL(auto listed, tokens_->ListTokens("radiology"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_FALSE(listed[0].revoked);
  CRYPTA_ASSERT_OK(tokens_->RevokeToken(t.token_id));
  CRYPTA_ASSERT_OK(tokens_->RevokeToken(t.token_id));
  EXPECT_EQ(tokens_->RevokeToken("0000").error().code(), ErrorCode::kNotFound);
  auto r = tokens_->Authenticate(t.token);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_TRUE((*tokens_->ListTokens("radiology"))[0].revoked);
}

TEST_F(TokensTest, RejectsForgedAndMalformedTokens) {
  CRYPTA_ASSIGN_OR_FAIL(NewToken t, tokens_->CreateToken("radiology", Role::kTenantAdmin));
  std::string flipped = t.token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       std::vector<std::string>{flipped, "", "crypta_", t.token.substr(7), t.token + "x",
                                std::string(5000, 'a'), "Crypta_" + t.token.substr(7)}) {
    auto r = tokens_->Authenticate(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
    EXPECT_EQ(r.error().message(), "invalid or revoked API token");
  }
}

TEST_F(TokensTest, RoleAndTenantMustFit) {
  EXPECT_EQ(tokens_->CreateToken("radiology", Role::kPlatformAdmin).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(tokens_->CreateToken("", Role::kWorkload).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(tokens_->CreateToken("nobody", Role::kWorkload).error().code(), ErrorCode::kNotFound);
  CRYPTA_ASSIGN_OR_FAIL(NewToken admin, tokens_->CreateToken("", Role::kPlatformAdmin));
  CRYPTA_ASSIGN_OR_FAIL(Principal p, tokens_->Authenticate(admin.token));
  EXPECT_EQ(p.role, Role::kPlatformAdmin);
  EXPECT_EQ(p.tenant, "");
  EXPECT_EQ(*ParseRole("tenant-admin"), Role::kTenantAdmin);
  EXPECT_FALSE(ParseRole("root"));
}

TEST(AuthorizeTest, RolesAndCrossTenant) {
  const Principal platform{"", Role::kPlatformAdmin, "a"};
  const Principal admin{"radiology", Role::kTenantAdmin, "b"};
  const Principal user{"radiology", Role::kTenantUser, "c"};
  const Principal workload{"radiology", Role::kWorkload, "d"};
  auto ok = [](const Principal& p, Action a, const std::string& t) {
    return Authorize(p, a, t).has_value();
  };
  EXPECT_TRUE(ok(platform, Action::kManageTenants, ""));
  EXPECT_TRUE(ok(platform, Action::kManageKeys, "oncology"));
  EXPECT_FALSE(ok(platform, Action::kRcar, "radiology"));

  EXPECT_TRUE(ok(admin, Action::kManageKeys, "radiology"));
  EXPECT_TRUE(ok(admin, Action::kSetPolicy, "radiology"));
  EXPECT_TRUE(ok(admin, Action::kManageTokens, "radiology"));
  EXPECT_FALSE(ok(admin, Action::kManageTenants, "radiology"));
  EXPECT_FALSE(ok(admin, Action::kRcar, "radiology"));

  EXPECT_TRUE(ok(user, Action::kPushModel, "radiology"));
  EXPECT_TRUE(ok(user, Action::kReadModel, "radiology"));
  EXPECT_TRUE(ok(user, Action::kListKeys, "radiology"));
  EXPECT_FALSE(ok(user, Action::kManageKeys, "radiology"));
  EXPECT_FALSE(ok(user, Action::kSetPolicy, "radiology"));
  EXPECT_FALSE(ok(user, Action::kManageTokens, "radiology"));

  EXPECT_TRUE(ok(workload, Action::kRcar, "radiology"));
  EXPECT_FALSE(ok(workload, Action::kReadModel, "radiology"));

  for (const Principal& p : {admin, user, workload}) {
    auto r = Authorize(p, Action::kListKeys, "oncology");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
    EXPECT_THAT(r.error().message(), HasSubstr("cross-tenant"));
  }
  auto r = Authorize(workload, Action::kRcar, "oncology");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("cross-tenant"));
}

}  // namespace
}  // namespace crypta::kbs
