// VerifyChain against a small PKI generated at test time (EC P-256, OpenSSL builders), for
// the cases the real vectors cannot show: revocation, a non-CA issuer, a substituted root,
// bad CRL signatures and subjectAltName reading. Each test changes one thing from a chain
// that verifies.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/keys.h"
#include "crypto/x509.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

using ::testing::HasSubstr;

using X509ExtensionPtr = OpensslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using Asn1TimePtr = OpensslPtr<ASN1_TIME, ASN1_STRING_free>;

constexpr int64_t kNow = 1750000000;  // 2025-06-15
constexpr int64_t kYear = 365 * 86400;

struct CertSpec {
  std::string cn = "";
  long serial = 1;
  int64_t not_before = kNow - kYear;
  int64_t not_after = kNow + kYear;
  // basicConstraints / keyUsage / subjectAltName values in openssl.cnf syntax; empty = absent.
  std::string basic_constraints = "";
  std::string key_usage = "";
  std::string san = "";
};

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  if (value.empty()) return;
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &v3, nid, value.c_str()));
  ASSERT_TRUE(ext) << value;
  ASSERT_EQ(X509_add_ext(cert, ext.get(), -1), 1);
}

// A certificate for `key` issued by `issuer` (self-signed when null) under `issuer_key`.
Certificate MakeCert(const CertSpec& spec, const PrivateKey& key, const Certificate* issuer,
                     const PrivateKey& issuer_key) {
  X509Ptr x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), spec.serial);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(spec.not_after));
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Crypta Test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer->x509()) : name);
  X509_set_pubkey(x.get(), key.pkey());
  X509* issuer_x509 = issuer ? issuer->x509() : nullptr;
  AddExtension(x.get(), issuer_x509, NID_basic_constraints, spec.basic_constraints);
  AddExtension(x.get(), issuer_x509, NID_key_usage, spec.key_usage);
  AddExtension(x.get(), issuer_x509, NID_subject_alt_name, spec.san);
  EXPECT_GT(X509_sign(x.get(), issuer_key.pkey(), EVP_sha256()), 0);
  unsigned char* der = nullptr;
  int len = i2d_X509(x.get(), &der);
  Result<Certificate> cert = Certificate::FromDer(ByteSpan(der, static_cast<size_t>(len)));
  OPENSSL_free(der);
  EXPECT_TRUE(cert.has_value()) << cert.error().ToString();
  return *cert;
}

Crl MakeCrl(const Certificate& issuer, const PrivateKey& issuer_key, int64_t this_update,
            int64_t next_update, const std::vector<long>& revoked_serials) {
  X509CrlPtr crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);  // v2
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.x509()));
  Asn1TimePtr last(ASN1_TIME_set(nullptr, static_cast<time_t>(this_update)));
  Asn1TimePtr next(ASN1_TIME_set(nullptr, static_cast<time_t>(next_update)));
  X509_CRL_set1_lastUpdate(crl.get(), last.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  for (long serial : revoked_serials) {
    X509_REVOKED* entry = X509_REVOKED_new();
    ASN1_INTEGER* number = ASN1_INTEGER_new();
    ASN1_INTEGER_set(number, serial);
    X509_REVOKED_set_serialNumber(entry, number);
    X509_REVOKED_set_revocationDate(entry, last.get());
    ASN1_INTEGER_free(number);
    X509_CRL_add0_revoked(crl.get(), entry);
  }
  X509_CRL_sort(crl.get());
  EXPECT_GT(X509_CRL_sign(crl.get(), issuer_key.pkey(), EVP_sha256()), 0);
  unsigned char* der = nullptr;
  int len = i2d_X509_CRL(crl.get(), &der);
  Result<Crl> out = Crl::FromDer(ByteSpan(der, static_cast<size_t>(len)));
  OPENSSL_free(der);
  EXPECT_TRUE(out.has_value()) << out.error().ToString();
  return *out;
}

PrivateKey NewKey() { return *PrivateKey::Generate(KeyType::kEcP256); }

// Root -> Intermediate -> Leaf, all valid at kNow.
class GeneratedPkiTest : public ::testing::Test {
 protected:
  PrivateKey root_key_ = NewKey();
  PrivateKey inter_key_ = NewKey();
  PrivateKey leaf_key_ = NewKey();
  Certificate root_ = MakeCert({.cn = "Test Root",
                                .serial = 1,
                                .basic_constraints = "critical,CA:TRUE",
                                .key_usage = "critical,keyCertSign,cRLSign"},
                               root_key_, nullptr, root_key_);
  Certificate inter_ = MakeCert({.cn = "Test Intermediate",
                                 .serial = 2,
                                 .basic_constraints = "critical,CA:TRUE,pathlen:0",
                                 .key_usage = "critical,keyCertSign,cRLSign"},
                                inter_key_, &root_, root_key_);
  Certificate leaf_ = MakeCert({.cn = "Test Leaf",
                                .serial = 3,
                                .basic_constraints = "critical,CA:FALSE",
                                .key_usage = "critical,digitalSignature",
                                .san = "URI:spiffe://crypta.test/workload,DNS:svc.crypta.test"},
                               leaf_key_, &inter_, inter_key_);
  std::vector<Certificate> inters_ = {inter_};
  std::vector<Certificate> roots_ = {root_};

  Crl RootCrl(std::vector<long> revoked = {}) {
    return MakeCrl(root_, root_key_, kNow - 86400, kNow + 86400, revoked);
  }
  Crl InterCrl(std::vector<long> revoked = {}) {
    return MakeCrl(inter_, inter_key_, kNow - 86400, kNow + 86400, revoked);
  }
  std::string VerifyError(const Certificate& leaf, std::span<const Certificate> inters,
                          std::span<const Crl> crls = {}, ChainVerifyOptions options = {}) {
    Result<VerifiedChain> r = VerifyChain(leaf, inters, roots_, kNow, crls, options);
    EXPECT_FALSE(r.has_value());
    return r ? std::string() : r.error().message();
  }
};

TEST_F(GeneratedPkiTest, ValidChainVerifiesWithAndWithoutCrls) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedChain chain, VerifyChain(leaf_, inters_, roots_, kNow));
  ASSERT_EQ(chain.certificates.size(), 3u);
  EXPECT_EQ(chain.leaf().subject(), "CN=Test Leaf,O=Crypta Test");
  EXPECT_EQ(chain.root().subject(), "CN=Test Root,O=Crypta Test");
  std::vector<Crl> crls = {RootCrl(), InterCrl({77})};
  CRYPTA_EXPECT_OK(VerifyChain(leaf_, inters_, roots_, kNow, crls, {.require_crls = true}));
}

TEST_F(GeneratedPkiTest, RevokedLeafFailsNamingTheSerial) {
  std::vector<Crl> crls = {InterCrl({3})};
  ASSERT_TRUE(crls[0].ListsSerial(leaf_.serial_hex()));
  std::string error = VerifyError(leaf_, inters_, crls);
  EXPECT_THAT(error, HasSubstr("CN=Test Leaf"));
  EXPECT_THAT(error, HasSubstr("revoked (serial 3"));
}

TEST_F(GeneratedPkiTest, RevokedIntermediateFails) {
  std::vector<Crl> crls = {RootCrl({2})};
  std::string error = VerifyError(leaf_, inters_, crls);
  EXPECT_THAT(error, HasSubstr("CN=Test Intermediate"));
  EXPECT_THAT(error, HasSubstr("revoked"));
}

TEST_F(GeneratedPkiTest, ExpiredCrlFails) {
  std::vector<Crl> crls = {MakeCrl(inter_, inter_key_, kNow - 3 * 86400, kNow - 86400, {})};
  EXPECT_THAT(VerifyError(leaf_, inters_, crls), HasSubstr("CRL expired"));
}

TEST_F(GeneratedPkiTest, CrlSignedByAnotherKeyFails) {
  std::vector<Crl> crls = {MakeCrl(inter_, NewKey(), kNow - 86400, kNow + 86400, {})};
  EXPECT_THAT(VerifyError(leaf_, inters_, crls), HasSubstr("bad CRL signature"));
}

TEST_F(GeneratedPkiTest, NonCaIssuerFails) {
  PrivateKey key = NewKey();
  Certificate not_ca =
      MakeCert({.cn = "Not A CA", .serial = 5, .basic_constraints = "critical,CA:FALSE"}, key,
               &root_, root_key_);
  Certificate leaf = MakeCert({.cn = "Leaf Under Non-CA", .serial = 6}, NewKey(), &not_ca, key);
  std::vector<Certificate> inters = {not_ca};
  std::string error = VerifyError(leaf, inters);
  EXPECT_THAT(error, HasSubstr("CN=Not A CA"));
  EXPECT_THAT(error, HasSubstr("not a CA"));
}

TEST_F(GeneratedPkiTest, NotYetValidIntermediateFails) {
  Certificate future = MakeCert({.cn = "Test Intermediate",
                                 .serial = 2,
                                 .not_before = kNow + 86400,
                                 .basic_constraints = "critical,CA:TRUE"},
                                inter_key_, &root_, root_key_);
  std::vector<Certificate> inters = {future};
  std::string error = VerifyError(leaf_, inters);
  EXPECT_THAT(error, HasSubstr("CN=Test Intermediate"));
  EXPECT_THAT(error, HasSubstr("not yet valid"));
}

TEST_F(GeneratedPkiTest, SubstitutedRootWithTheSameNameIsNotTrusted) {
  // An attacker's self-signed "Test Root" and intermediate, passed as intermediates.
  PrivateKey evil_key = NewKey();
  Certificate evil_root = MakeCert({.cn = "Test Root", .basic_constraints = "critical,CA:TRUE"},
                                   evil_key, nullptr, evil_key);
  Certificate evil_inter =
      MakeCert({.cn = "Test Intermediate", .serial = 2, .basic_constraints = "critical,CA:TRUE"},
               inter_key_, &evil_root, evil_key);
  std::vector<Certificate> inters = {evil_inter, evil_root};
  std::string error = VerifyError(leaf_, inters);
  EXPECT_THAT(error, HasSubstr("CN=Test Intermediate"));
  EXPECT_THAT(error, HasSubstr("bad signature"));
}

TEST_F(GeneratedPkiTest, SelfSignedLeafThatIsNotPinnedFails) {
  PrivateKey key = NewKey();
  Certificate self = MakeCert({.cn = "Lonely"}, key, nullptr, key);
  EXPECT_THAT(VerifyError(self, {}), HasSubstr("unknown issuer"));
}

TEST_F(GeneratedPkiTest, MissingIntermediateFails) {
  std::string error = VerifyError(leaf_, {});
  EXPECT_THAT(error, HasSubstr("CN=Test Leaf"));
  EXPECT_THAT(error, HasSubstr("unknown issuer \"CN=Test Intermediate"));
}

TEST_F(GeneratedPkiTest, DepthLimitApplies) {
  std::string error = VerifyError(leaf_, inters_, {}, {.max_depth = 0});
  EXPECT_FALSE(error.empty());
}

// RFC 5280 §4.1.2.5: the validity period includes notBefore and notAfter, to the second.
class ValidityBoundaryTest : public GeneratedPkiTest {
 protected:
  static constexpr int64_t kNotBefore = kNow - 1000;
  static constexpr int64_t kNotAfter = kNow + 1000;
  Certificate short_leaf_ = MakeCert({.cn = "Short Leaf",
                                      .serial = 9,
                                      .not_before = kNotBefore,
                                      .not_after = kNotAfter,
                                      .basic_constraints = "critical,CA:FALSE"},
                                     NewKey(), &inter_, inter_key_);
  Result<VerifiedChain> VerifyAt(int64_t time) {
    return VerifyChain(short_leaf_, inters_, roots_, time);
  }
};

TEST_F(ValidityBoundaryTest, CertificateIsNotYetValidOneSecondBeforeNotBefore) {
  Result<VerifiedChain> r = VerifyAt(kNotBefore - 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(r.error().message(), HasSubstr("CN=Short Leaf"));
  EXPECT_THAT(r.error().message(),
              HasSubstr("not yet valid: notBefore " + FormatUnixTime(kNotBefore) +
                        " is after the verification time " + FormatUnixTime(kNotBefore - 1)));
}

TEST_F(ValidityBoundaryTest, CertificateIsValidAtExactlyNotBefore) {
  CRYPTA_EXPECT_OK(VerifyAt(kNotBefore));
}

TEST_F(ValidityBoundaryTest, CertificateIsStillValidAtExactlyNotAfter) {
  CRYPTA_EXPECT_OK(VerifyAt(kNotAfter));
}

TEST_F(ValidityBoundaryTest, CertificateIsExpiredOneSecondAfterNotAfter) {
  Result<VerifiedChain> r = VerifyAt(kNotAfter + 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(r.error().message(), HasSubstr("CN=Short Leaf"));
  EXPECT_THAT(r.error().message(),
              HasSubstr("expired: notAfter " + FormatUnixTime(kNotAfter) +
                        " is before the verification time " + FormatUnixTime(kNotAfter + 1)));
}

TEST_F(ValidityBoundaryTest, IntermediateIsStillValidAtExactlyItsNotAfter) {
  Certificate inter = MakeCert({.cn = "Test Intermediate",
                                .serial = 2,
                                .not_after = kNotAfter,
                                .basic_constraints = "critical,CA:TRUE,pathlen:0",
                                .key_usage = "critical,keyCertSign,cRLSign"},
                               inter_key_, &root_, root_key_);
  std::vector<Certificate> inters = {inter};
  CRYPTA_EXPECT_OK(VerifyChain(short_leaf_, inters, roots_, kNotAfter));
  Result<VerifiedChain> r = VerifyChain(short_leaf_, inters, roots_, kNotAfter + 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("expired"));
}

// RFC 5280 §5.1.2.4-5: a CRL is current from thisUpdate through nextUpdate.
class CrlWindowBoundaryTest : public GeneratedPkiTest {
 protected:
  static constexpr int64_t kThisUpdate = kNow - 1000;
  static constexpr int64_t kNextUpdate = kNow + 1000;
  Result<VerifiedChain> VerifyAt(int64_t time, std::vector<long> revoked = {}) {
    std::vector<Crl> crls = {MakeCrl(root_, root_key_, kNow - kYear, kNow + kYear, {}),
                             MakeCrl(inter_, inter_key_, kThisUpdate, kNextUpdate, revoked)};
    return VerifyChain(leaf_, inters_, roots_, time, crls, {.require_crls = true});
  }
};

TEST_F(CrlWindowBoundaryTest, CrlIsNotYetValidOneSecondBeforeThisUpdate) {
  Result<VerifiedChain> r = VerifyAt(kThisUpdate - 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(r.error().message(), HasSubstr("CRL not yet valid"));
  EXPECT_THAT(r.error().message(), HasSubstr(FormatUnixTime(kThisUpdate)));
}

TEST_F(CrlWindowBoundaryTest, CrlIsCurrentAtExactlyThisUpdate) {
  CRYPTA_EXPECT_OK(VerifyAt(kThisUpdate));
}

TEST_F(CrlWindowBoundaryTest, CrlIsStillCurrentAtExactlyNextUpdate) {
  CRYPTA_EXPECT_OK(VerifyAt(kNextUpdate));
}

TEST_F(CrlWindowBoundaryTest, CrlIsExpiredOneSecondAfterNextUpdate) {
  Result<VerifiedChain> r = VerifyAt(kNextUpdate + 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(r.error().message(), HasSubstr("CRL expired"));
  EXPECT_THAT(r.error().message(), HasSubstr("nextUpdate " + FormatUnixTime(kNextUpdate)));
}

TEST_F(CrlWindowBoundaryTest, CrlAtExactlyNextUpdateStillRevokesItsSerials) {
  Result<VerifiedChain> r = VerifyAt(kNextUpdate, {3});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("revoked (serial 3"));
}

TEST_F(GeneratedPkiTest, ReadsSubjectAltNames) {
  CRYPTA_ASSIGN_OR_FAIL(std::vector<std::string> uris, leaf_.SanUris());
  EXPECT_EQ(uris, std::vector<std::string>{"spiffe://crypta.test/workload"});
  CRYPTA_ASSIGN_OR_FAIL(std::vector<std::string> dns, leaf_.SanDnsNames());
  EXPECT_EQ(dns, std::vector<std::string>{"svc.crypta.test"});
  CRYPTA_ASSIGN_OR_FAIL(std::vector<std::string> none, root_.SanUris());
  EXPECT_TRUE(none.empty());
  CRYPTA_ASSIGN_OR_FAIL(CertificateExtension bc, leaf_.FindExtension("2.5.29.19"));
  EXPECT_TRUE(bc.critical);
  EXPECT_EQ(bc.value, (Bytes{0x30, 0x00}));  // BasicConstraints with cA defaulted to FALSE
  EXPECT_TRUE(inter_.is_ca());
  EXPECT_FALSE(leaf_.is_ca());
}

}  // namespace
}  // namespace crypta
