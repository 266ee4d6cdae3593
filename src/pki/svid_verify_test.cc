// VerifySvid against a hand-built hierarchy, so each negative case changes one thing in an
// otherwise valid SVID (the platform CA never issues these malformed leaves).
#include "pki/svid_verify.h"

#include <gtest/gtest.h>

#include "crypto/x509_builder.h"
#include "pki/ca_store.h"
#include "pki/pki_test_util.h"

namespace crypta::pki {
namespace {

constexpr int64_t kNow = testing::kTestNow;
const char kId[] = "spiffe://crypta.local/tenant/hr/workload/payroll";

class SvidVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_key_ = *PrivateKey::Generate(KeyType::kEcP384);
    int_key_ = *PrivateKey::Generate(KeyType::kEcP384);
    leaf_key_ = *PrivateKey::Generate(KeyType::kEcP256);
    CertificateTemplate root;
    root.common_name = "test root";
    root.not_before = kNow - 86400;
    root.not_after = kNow + 86400 * 365;
    root.is_ca = true;
    root.path_len = 1;
    root_ = *IssueCertificate(root, root_key_->GetPublicKey(), nullptr, *root_key_);
    CertificateTemplate inter = root;
    inter.common_name = "test intermediate";
    inter.path_len = 0;
    intermediate_ = *IssueCertificate(inter, int_key_->GetPublicKey(), &*root_, *root_key_);
  }

  CertificateTemplate LeafTemplate() {
    CertificateTemplate t;
    t.common_name = "payroll";
    t.not_before = kNow - 60;
    t.not_after = kNow + 3600;
    t.san_uris = {kId};
    t.extended_key_usage = {"serverAuth", "clientAuth"};
    return t;
  }
  Result<Certificate> Leaf(const CertificateTemplate& t) {
    return IssueCertificate(t, leaf_key_->GetPublicKey(), &*intermediate_, *int_key_);
  }
  VerifyExpectations Expect(int64_t now = kNow) {
    VerifyExpectations e;
    e.trust_domain = "crypta.local";
    e.now = now;
    return e;
  }
  Result<VerifiedSvid> Verify(const Certificate& leaf, const VerifyExpectations& e,
                              std::span<const Crl> crls = {}) {
    std::vector<Certificate> chain{leaf, *intermediate_};
    std::vector<Certificate> bundle{*root_};
    return VerifySvid(chain, bundle, crls, e);
  }
  // Asserts a refusal with `code` whose message contains `words`.
  void ExpectRefused(const Result<VerifiedSvid>& r, ErrorCode code, const std::string& words) {
    ASSERT_FALSE(r.has_value()) << "accepted; wanted: " << words;
    EXPECT_EQ(r.error().code(), code) << r.error().ToString();
    EXPECT_NE(r.error().message().find(words), std::string::npos) << r.error().message();
  }

  std::optional<PrivateKey> root_key_, int_key_, leaf_key_;
  std::optional<Certificate> root_, intermediate_;
};

TEST_F(SvidVerifyTest, AcceptsAValidSvidAndReturnsItsId) {
  CRYPTA_ASSIGN_OR_FAIL(Certificate leaf, Leaf(LeafTemplate()));
  CRYPTA_ASSIGN_OR_FAIL(VerifiedSvid v, Verify(leaf, Expect()));
  EXPECT_EQ(v.uri, kId);
  EXPECT_EQ(v.id.tenant, "hr");
  EXPECT_EQ(v.id.workload, "payroll");
  VerifyExpectations e = Expect();
  e.allowed_ids = {"spiffe://crypta.local/tenant/finance/workload/*",
                   "spiffe://crypta.local/tenant/hr/workload/*"};
  CRYPTA_EXPECT_OK(Verify(leaf, e));
}

TEST_F(SvidVerifyTest, RefusesAnExpiredSvid) {
  CRYPTA_ASSIGN_OR_FAIL(Certificate leaf, Leaf(LeafTemplate()));
  ExpectRefused(Verify(leaf, Expect(kNow + 3601)), ErrorCode::kUnauthenticated, "expired");
}

TEST_F(SvidVerifyTest, RefusesANotYetValidSvid) {
  CRYPTA_ASSIGN_OR_FAIL(Certificate leaf, Leaf(LeafTemplate()));
  ExpectRefused(Verify(leaf, Expect(kNow - 61)), ErrorCode::kUnauthenticated, "not yet valid");
}

TEST_F(SvidVerifyTest, RefusesTheWrongTrustDomain) {
  CRYPTA_ASSIGN_OR_FAIL(Certificate leaf, Leaf(LeafTemplate()));
  VerifyExpectations e = Expect();
  e.trust_domain = "other.example";
  ExpectRefused(Verify(leaf, e), ErrorCode::kPermissionDenied, "wrong trust domain");
}

TEST_F(SvidVerifyTest, RefusesAnIdOutsideTheAllowedPatterns) {
  CRYPTA_ASSIGN_OR_FAIL(Certificate leaf, Leaf(LeafTemplate()));
  VerifyExpectations e = Expect();
  e.allowed_ids = {"spiffe://crypta.local/tenant/finance/workload/*"};
  ExpectRefused(Verify(leaf, e), ErrorCode::kPermissionDenied, "matches none");
}

TEST_F(SvidVerifyTest, RefusesTwoUriSans) {
  CertificateTemplate t = LeafTemplate();
  t.san_uris.push_back("spiffe://crypta.local/tenant/hr/workload/other");
  CRYPTA_ASSIGN_OR_FAIL(Certificate leaf, Leaf(t));
  ExpectRefused(Verify(leaf, Expect()), ErrorCode::kUnauthenticated, "has 2 URI SANs");
}

TEST_F(SvidVerifyTest, RefusesNoUriSan) {
  CertificateTemplate t = LeafTemplate();
  t.san_uris.clear();
  t.san_dns = {"payroll.example"};
  CRYPTA_ASSIGN_OR_FAIL(Certificate leaf, Leaf(t));
  ExpectRefused(Verify(leaf, Expect()), ErrorCode::kUnauthenticated, "has 0 URI SANs");
}

TEST_F(SvidVerifyTest, RefusesANonCryptaSpiffeId) {
  CertificateTemplate t = LeafTemplate();
  t.san_uris = {"spiffe://crypta.local/ns/default/sa/payroll"};
  CRYPTA_ASSIGN_OR_FAIL(Certificate leaf, Leaf(t));
  ExpectRefused(Verify(leaf, Expect()), ErrorCode::kUnauthenticated, "not of the form");
}

TEST_F(SvidVerifyTest, RefusesACaLeaf) {
  CertificateTemplate t = LeafTemplate();
  t.is_ca = true;
  CRYPTA_ASSIGN_OR_FAIL(Certificate leaf, Leaf(t));
  ExpectRefused(Verify(leaf, Expect()), ErrorCode::kUnauthenticated, "cA=TRUE");
}

TEST_F(SvidVerifyTest, RefusesAnUnknownIssuer) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey stranger_key, PrivateKey::Generate(KeyType::kEcP256));
  CertificateTemplate stranger = LeafTemplate();
  stranger.common_name = "stranger CA";
  stranger.san_uris.clear();
  stranger.extended_key_usage.clear();
  stranger.is_ca = true;
  CRYPTA_ASSIGN_OR_FAIL(
      Certificate stranger_root,
      IssueCertificate(stranger, stranger_key.GetPublicKey(), nullptr, stranger_key));
  CRYPTA_ASSIGN_OR_FAIL(
      Certificate leaf,
      IssueCertificate(LeafTemplate(), leaf_key_->GetPublicKey(), &stranger_root, stranger_key));
  ExpectRefused(Verify(leaf, Expect()), ErrorCode::kUnauthenticated, "unknown issuer");
}

TEST_F(SvidVerifyTest, RefusesARevokedSvidAndAcceptsOthers) {
  CRYPTA_ASSIGN_OR_FAIL(Certificate revoked, Leaf(LeafTemplate()));
  CRYPTA_ASSIGN_OR_FAIL(Certificate fine, Leaf(LeafTemplate()));
  CRYPTA_ASSIGN_OR_FAIL(
      Bytes crl_der, internal::BuildCrl(*intermediate_, *int_key_,
                                        {{revoked.serial_hex(), kNow - 5}}, kNow - 5, kNow + 1800));
  CRYPTA_ASSIGN_OR_FAIL(Crl crl, Crl::FromDer(crl_der));
  std::vector<Crl> crls{crl};
  ExpectRefused(Verify(revoked, Expect(), crls), ErrorCode::kUnauthenticated, "revoked");
  CRYPTA_EXPECT_OK(Verify(fine, Expect(), crls));
  // A stale CRL is not silently accepted.
  ExpectRefused(Verify(fine, Expect(kNow + 1801), crls), ErrorCode::kUnauthenticated,
                "CRL expired");
  // require_crl: no CRL at all is a refusal.
  VerifyExpectations strict = Expect();
  strict.require_crl = true;
  ExpectRefused(Verify(fine, strict), ErrorCode::kUnauthenticated, "no CRL");
  CRYPTA_EXPECT_OK(Verify(fine, strict, crls));
}

TEST_F(SvidVerifyTest, NameConstraintsKeepAnIntermediateInsideItsTrustDomain) {
  CertificateTemplate inter;
  inter.common_name = "constrained intermediate";
  inter.not_before = kNow - 86400;
  inter.not_after = kNow + 86400;
  inter.is_ca = true;
  inter.path_len = 0;
  inter.permitted_uri_hosts = {"crypta.local"};
  CRYPTA_ASSIGN_OR_FAIL(Certificate constrained,
                        IssueCertificate(inter, int_key_->GetPublicKey(), &*root_, *root_key_));
  std::vector<Certificate> bundle{*root_};
  CertificateTemplate t = LeafTemplate();
  CRYPTA_ASSIGN_OR_FAIL(Certificate inside,
                        IssueCertificate(t, leaf_key_->GetPublicKey(), &constrained, *int_key_));
  std::vector<Certificate> ok_chain{inside, constrained};
  CRYPTA_EXPECT_OK(VerifySvid(ok_chain, bundle, {}, Expect()));
  t.san_uris = {"spiffe://other.local/tenant/hr/workload/payroll"};
  CRYPTA_ASSIGN_OR_FAIL(Certificate outside,
                        IssueCertificate(t, leaf_key_->GetPublicKey(), &constrained, *int_key_));
  std::vector<Certificate> bad_chain{outside, constrained};
  VerifyExpectations e = Expect();
  e.trust_domain = "other.local";
  auto r = VerifySvid(bad_chain, bundle, {}, e);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated) << r.error().ToString();
  // Name constraints on a leaf are refused by the builder.
  CertificateTemplate leaf_nc = LeafTemplate();
  leaf_nc.permitted_uri_hosts = {"crypta.local"};
  EXPECT_FALSE(Leaf(leaf_nc).has_value());
}

TEST_F(SvidVerifyTest, EncodedInputsAndArgumentErrors) {
  CRYPTA_ASSIGN_OR_FAIL(Certificate leaf, Leaf(LeafTemplate()));
  const std::string chain = CertificatesToPem({leaf, *intermediate_});
  const std::string bundle = CertificatesToPem({*root_});
  CRYPTA_EXPECT_OK(VerifySvidEncoded(AsBytes(chain), bundle, {}, Expect()));
  // DER leaf alone: the intermediate is missing.
  ExpectRefused(VerifySvidEncoded(leaf.der(), bundle, {}, Expect()), ErrorCode::kUnauthenticated,
                "unknown issuer");
  EXPECT_EQ(VerifySvidEncoded(ToBytes("junk"), bundle, {}, Expect()).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Verify(leaf, Expect(0)).error().code(), ErrorCode::kInvalidArgument);
  VerifyExpectations bad = Expect();
  bad.allowed_ids = {"spiffe://crypta.local/tenant/hr/workload/pay*"};
  EXPECT_EQ(Verify(leaf, bad).error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace crypta::pki
