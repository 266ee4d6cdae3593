#include "runtime/tls_identity.h"

#include <gtest/gtest.h>

#include "pki/pki_test_util.h"

namespace crypta::runtime {
namespace {

using pki::testing::kTestNow;

class TlsIdentityTest : public pki::testing::PkiTest {
 protected:
  // An SVID for tenant/workload from `ca`, with its key.
  TlsCredential Issue(pki::PlatformCa& ca, const std::string& tenant, const std::string& workload) {
    TlsCredential c{*PrivateKey::Generate(KeyType::kEcP256), {}};
    auto csr = pki::CreateCsr(c.key, workload);
    EXPECT_TRUE(csr.has_value());
    auto svid = ca.IssueSvid(*csr, tenant, workload);
    EXPECT_TRUE(svid.has_value()) << (svid ? "" : svid.error().message());
    if (svid) c.chain = svid->FullChain();
    return c;
  }
  std::unique_ptr<PeerPolicy> Policy(std::vector<std::string> allowed) {
    auto now = now_;
    auto policy =
        PeerPolicy::Create("crypta.local", std::move(allowed), [now] { return now->load(); });
    EXPECT_TRUE(policy.has_value());
    return policy ? std::move(*policy) : nullptr;
  }
  static Status Trust(PeerPolicy& policy, pki::PlatformCa& ca) {
    CRYPTA_ASSIGN_OR_RETURN(std::string bundle, ca.TrustBundle());
    CRYPTA_ASSIGN_OR_RETURN(std::vector<Bytes> crls, ca.Crls());
    return policy.Update(bundle, crls);
  }
};

TEST_F(TlsIdentityTest, SetSwapsCredentialsAndRefusesAMismatchedKey) {
  CRYPTA_ASSIGN_OR_FAIL(auto ca, OpenCa());
  TlsIdentity identity;
  EXPECT_EQ(identity.Current(), nullptr);
  TlsCredential first = Issue(*ca, "radiology", "model");
  CRYPTA_ASSERT_OK(identity.Set(first));
  EXPECT_EQ(identity.generation(), 1u);
  EXPECT_EQ(identity.Current()->not_after, first.chain[0].not_after());

  TlsCredential second = Issue(*ca, "radiology", "model");
  CRYPTA_ASSERT_OK(identity.Set(second));
  EXPECT_EQ(identity.generation(), 2u);
  EXPECT_EQ(identity.Current()->chain[0].serial_hex(), second.chain[0].serial_hex());

  TlsCredential mismatched = Issue(*ca, "radiology", "model");
  mismatched.key = first.key;
  auto refused = identity.Set(mismatched);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("does not match"), std::string::npos);
  TlsCredential empty{first.key, {}};
  EXPECT_FALSE(identity.Set(empty).has_value());
  EXPECT_EQ(identity.generation(), 2u);  // the refusals changed nothing
}

TEST_F(TlsIdentityTest, ParseMtlsMode) {
  EXPECT_EQ(*ParseMtlsMode("off"), MtlsMode::kOff);
  EXPECT_EQ(*ParseMtlsMode("optional"), MtlsMode::kOptional);
  EXPECT_EQ(*ParseMtlsMode("required"), MtlsMode::kRequired);
  EXPECT_FALSE(ParseMtlsMode("Required").has_value());
}

TEST_F(TlsIdentityTest, PolicyRefusesBadPatterns) {
  auto clock = [] { return kTestNow; };
  EXPECT_FALSE(PeerPolicy::Create("crypta.local", {"spiffe://crypta.local/tenant/*/bad/"}, clock)
                   .has_value());
  auto other =
      PeerPolicy::Create("crypta.local", {"spiffe://other.org/tenant/hr/workload/*"}, clock);
  ASSERT_FALSE(other.has_value());
  EXPECT_NE(other.error().message().find("not in trust domain"), std::string::npos);
  EXPECT_FALSE(PeerPolicy::Create("Bad Domain", {}, clock).has_value());
}

TEST_F(TlsIdentityTest, PolicyVerifiesPeersByPatternRevocationAndRotation) {
  CRYPTA_ASSIGN_OR_FAIL(auto ca, OpenCa());
  auto policy = Policy({"spiffe://crypta.local/tenant/hr/workload/*"});
  ASSERT_NE(policy, nullptr);
  TlsCredential hr = Issue(*ca, "hr", "caller");
  TlsCredential radiology = Issue(*ca, "radiology", "caller");

  auto no_bundle = policy->Verify(hr.chain);
  ASSERT_FALSE(no_bundle.has_value());
  EXPECT_EQ(no_bundle.error().code(), ErrorCode::kUnavailable);

  CRYPTA_ASSERT_OK(Trust(*policy, *ca));
  CRYPTA_ASSIGN_OR_FAIL(std::string id, policy->Verify(hr.chain));
  EXPECT_EQ(id, "spiffe://crypta.local/tenant/hr/workload/caller");
  auto other_tenant = policy->Verify(radiology.chain);
  ASSERT_FALSE(other_tenant.has_value());
  EXPECT_EQ(other_tenant.error().code(), ErrorCode::kPermissionDenied);
  // The leaf alone does not reach a root (the intermediate is missing).
  EXPECT_FALSE(policy->Verify({hr.chain[0]}).has_value());

  // Expired: the policy's clock is past the leaf's notAfter.
  now_->store(hr.chain[0].not_after() + 1);
  EXPECT_FALSE(policy->Verify(hr.chain).has_value());
  now_->store(kTestNow);

  // Revoked: refused once the policy has the new CRL, not before.
  CRYPTA_ASSIGN_OR_FAIL(int revoked, ca->RevokeWorkload("hr", "caller"));
  EXPECT_EQ(revoked, 1);
  EXPECT_TRUE(policy->Verify(hr.chain).has_value());
  CRYPTA_ASSERT_OK(Trust(*policy, *ca));
  auto refused = policy->Verify(hr.chain);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("revoked"), std::string::npos);

  // Rotation: a new-generation SVID verifies once the bundle is refreshed; old ones still do.
  CRYPTA_ASSERT_OK(ca->AllowWorkload("hr", "caller"));
  TlsCredential old_gen = Issue(*ca, "hr", "old");
  CRYPTA_ASSIGN_OR_FAIL(uint32_t generation, ca->RotateRoot(7200));
  EXPECT_EQ(generation, 2u);
  TlsCredential new_gen = Issue(*ca, "hr", "new");
  EXPECT_FALSE(policy->Verify(new_gen.chain).has_value());
  CRYPTA_ASSERT_OK(Trust(*policy, *ca));
  EXPECT_TRUE(policy->Verify(new_gen.chain).has_value());
  EXPECT_TRUE(policy->Verify(old_gen.chain).has_value());

  // A bad bundle keeps the old trust.
  EXPECT_FALSE(policy->Update("not PEM", {}).has_value());
  EXPECT_TRUE(policy->Verify(new_gen.chain).has_value());
}

}  // namespace
}  // namespace crypta::runtime
