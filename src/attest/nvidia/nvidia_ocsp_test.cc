// CheckChainRevocation on a test CA (root -> intermediate -> leaf) with OCSP responses that
// the test signs itself (MANIFEST "Gaps": NVIDIA's vectors hold no OCSP responses): good,
// revoked, unknown, expired, not yet valid, wrong or undelegated signers, a missing
// response, and malformed bundles. Each negative case changes one thing of a good bundle.
#include <gtest/gtest.h>
#include <openssl/ocsp.h>

#include <optional>
#include <string>
#include <vector>

#include "attest/nvidia/ocsp.h"
#include "common/encoding.h"
#include "crypto/x509_builder.h"
#include "testing/test_util.h"

namespace crypta::attest::nvidia {
namespace {

constexpr int64_t kNow = 1748736000;  // 2025-06-01T00:00:00Z
constexpr int64_t kDay = 86400;

struct Issued {
  Certificate cert;
  PrivateKey key;
};

Issued Issue(const std::string& cn, const Issued* issuer, bool ca,
             std::vector<std::string> eku = {}, int64_t not_after = kNow + 365 * kDay) {
  PrivateKey key = *PrivateKey::Generate(KeyType::kEcP256);
  CertificateTemplate t;
  t.common_name = cn;
  t.organization = "crypta OCSP test";
  t.not_before = kNow - 365 * kDay;
  t.not_after = not_after;
  t.is_ca = ca;
  t.extended_key_usage = std::move(eku);
  auto cert = issuer == nullptr
                  ? IssueCertificate(t, key.GetPublicKey(), nullptr, key)
                  : IssueCertificate(t, key.GetPublicKey(), &issuer->cert, issuer->key);
  EXPECT_TRUE(cert.has_value()) << cn << ": " << cert.error().ToString();
  return Issued{*cert, key};
}

// What one single response says.
struct Single {
  const Certificate* cert;
  const Certificate* issuer;
  int status = V_OCSP_CERTSTATUS_GOOD;
  int64_t this_update = kNow - kDay;
  std::optional<int64_t> next_update = kNow + 7 * kDay;
  const EVP_MD* id_md = EVP_sha384();  // NV asks with SHA-384 CertIDs
};

using TimePtr = OpensslPtr<ASN1_TIME, ASN1_TIME_free>;

// A successful OCSPResponse with these single responses, signed by `signer`.
Bytes SignResponse(const std::vector<Single>& singles, const Issued& signer,
                   bool include_certs = true) {
  OpensslPtr<OCSP_BASICRESP, OCSP_BASICRESP_free> basic(OCSP_BASICRESP_new());
  for (const Single& s : singles) {
    OpensslPtr<OCSP_CERTID, OCSP_CERTID_free> id(
        OCSP_cert_to_id(s.id_md, s.cert->x509(), s.issuer->x509()));
    TimePtr this_update(ASN1_GENERALIZEDTIME_set(nullptr, s.this_update));
    TimePtr next_update(s.next_update ? ASN1_GENERALIZEDTIME_set(nullptr, *s.next_update)
                                      : nullptr);
    TimePtr revoked(ASN1_GENERALIZEDTIME_set(nullptr, kNow - 2 * kDay));
    EXPECT_NE(OCSP_basic_add1_status(
                  basic.get(), id.get(), s.status,
                  s.status == V_OCSP_CERTSTATUS_REVOKED ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : -1,
                  s.status == V_OCSP_CERTSTATUS_REVOKED ? revoked.get() : nullptr,
                  this_update.get(), next_update.get()),
              nullptr);
  }
  EXPECT_EQ(OCSP_basic_sign(basic.get(), signer.cert.x509(), signer.key.pkey(), EVP_sha256(),
                            nullptr, include_certs ? 0 : OCSP_NOCERTS),
            1);
  OpensslPtr<OCSP_RESPONSE, OCSP_RESPONSE_free> response(
      OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_RESPONSE(response.get(), &der);
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

class OcspTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new Issued(Issue("Test OCSP Root", nullptr, true));
    inter_ = new Issued(Issue("Test OCSP Intermediate", root_, true));
    leaf_ = new Issued(Issue("Test OCSP Leaf", inter_, false));
    responder_ = new Issued(Issue("Test OCSP Responder", inter_, false, {"OCSPSigning"}));
    plain_ = new Issued(Issue("Test Plain Signer", inter_, false));
    other_ = new Issued(Issue("Test Other Root", nullptr, true));
  }
  static void TearDownTestSuite() {
    for (Issued* p : {root_, inter_, leaf_, responder_, plain_, other_}) delete p;
  }

  std::vector<Certificate> Chain() const { return {leaf_->cert, inter_->cert, root_->cert}; }
  Single LeafGood() const { return Single{&leaf_->cert, &inter_->cert}; }
  Single InterGood() const { return Single{&inter_->cert, &root_->cert}; }
  // Leaf signed by its issuer, intermediate by the root.
  std::vector<Bytes> GoodResponses() const {
    return {SignResponse({LeafGood()}, *inter_), SignResponse({InterGood()}, *root_)};
  }
  Result<Revocation> Check(const std::vector<Bytes>& responses, int64_t time = kNow) const {
    const std::string bundle = EncodeOcspBundle(responses);
    return CheckChainRevocation(Chain(), AsBytes(bundle), time);
  }
  std::string ErrorOf(const std::vector<Bytes>& responses, int64_t time = kNow) const {
    auto r = Check(responses, time);
    return r.has_value() ? "(checked)" : r.error().message();
  }
  std::string BundleError(const std::string& bundle) const {
    auto r = CheckChainRevocation(Chain(), AsBytes(bundle), kNow);
    return r.has_value() ? "(accepted)" : r.error().message();
  }

  static Issued* root_;
  static Issued* inter_;
  static Issued* leaf_;
  static Issued* responder_;
  static Issued* plain_;
  static Issued* other_;
};
Issued* OcspTest::root_ = nullptr;
Issued* OcspTest::inter_ = nullptr;
Issued* OcspTest::leaf_ = nullptr;
Issued* OcspTest::responder_ = nullptr;
Issued* OcspTest::plain_ = nullptr;
Issued* OcspTest::other_ = nullptr;

TEST_F(OcspTest, NoBundleIsAbsent) {
  auto empty = CheckChainRevocation(Chain(), {}, kNow);
  ASSERT_TRUE(empty.has_value()) << empty.error().ToString();
  EXPECT_EQ(*empty, Revocation::kAbsent);
  auto none = CheckChainRevocation(Chain(), AsBytes(std::string(R"({"responses":[]})")), kNow);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(*none, Revocation::kAbsent);
}

TEST_F(OcspTest, GoodResponsesFromEachIssuerAreChecked) {
  CRYPTA_ASSIGN_OR_FAIL(Revocation r, Check(GoodResponses()));
  EXPECT_EQ(r, Revocation::kChecked);
}

TEST_F(OcspTest, OneResponseMayCoverSeveralCertificatesOfOneIssuerAndOrderDoesNotMatter) {
  // The bundle in reverse order, plus a SHA-1 CertID for the leaf (responders differ).
  Single sha1_leaf = LeafGood();
  sha1_leaf.id_md = EVP_sha1();
  const Bytes leaf_again = SignResponse({sha1_leaf}, *inter_);
  std::vector<Bytes> responses = GoodResponses();
  std::reverse(responses.begin(), responses.end());
  responses.push_back(leaf_again);
  CRYPTA_ASSIGN_OR_FAIL(Revocation r, Check(responses));
  EXPECT_EQ(r, Revocation::kChecked);
}

TEST_F(OcspTest, ResponsesAboutOtherChainsAreIgnored) {
  Issued stranger = Issue("Stranger", other_, false);
  std::vector<Bytes> responses = GoodResponses();
  responses.push_back(SignResponse({Single{&stranger.cert, &other_->cert}}, *other_));
  CRYPTA_ASSIGN_OR_FAIL(Revocation r, Check(responses));
  EXPECT_EQ(r, Revocation::kChecked);
}

TEST_F(OcspTest, DelegatedResponderWithOcspSigningIsAccepted) {
  CRYPTA_ASSIGN_OR_FAIL(Revocation r, Check({SignResponse({LeafGood()}, *responder_),
                                             SignResponse({InterGood()}, *root_)}));
  EXPECT_EQ(r, Revocation::kChecked);
}

TEST_F(OcspTest, RevokedLeafIsAnErrorNamingIt) {
  Single revoked = LeafGood();
  revoked.status = V_OCSP_CERTSTATUS_REVOKED;
  auto r = Check({SignResponse({revoked}, *inter_), SignResponse({InterGood()}, *root_)});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(r.error().message().find("CN=Test OCSP Leaf"), std::string::npos);
  EXPECT_NE(r.error().message().find("revoked at 2025-05-30T00:00:00Z, reason keyCompromise"),
            std::string::npos)
      << r.error().message();
}

TEST_F(OcspTest, RevokedIntermediateIsAnError) {
  Single revoked = InterGood();
  revoked.status = V_OCSP_CERTSTATUS_REVOKED;
  const std::string error =
      ErrorOf({SignResponse({LeafGood()}, *inter_), SignResponse({revoked}, *root_)});
  EXPECT_NE(error.find("CN=Test OCSP Intermediate"), std::string::npos) << error;
  EXPECT_NE(error.find("revoked"), std::string::npos) << error;
}

TEST_F(OcspTest, UnknownStatusIsAnError) {
  Single unknown = LeafGood();
  unknown.status = V_OCSP_CERTSTATUS_UNKNOWN;
  EXPECT_NE(ErrorOf({SignResponse({unknown}, *inter_), SignResponse({InterGood()}, *root_)})
                .find("status unknown"),
            std::string::npos);
}

TEST_F(OcspTest, ValidityWindowIsInclusiveAndJudgedAtTheGivenTime) {
  const std::vector<Bytes> good = GoodResponses();
  const int64_t this_update = kNow - kDay;
  const int64_t next_update = kNow + 7 * kDay;
  CRYPTA_EXPECT_OK(Check(good, this_update));
  CRYPTA_EXPECT_OK(Check(good, next_update));
  const std::string late = ErrorOf(good, next_update + 1);
  EXPECT_NE(late.find("response expired (nextUpdate 2025-06-08T00:00:00Z"), std::string::npos)
      << late;
  EXPECT_NE(late.find("CN=Test OCSP Leaf"), std::string::npos) << late;
  EXPECT_NE(ErrorOf(good, this_update - 1).find("not yet valid"), std::string::npos);
}

TEST_F(OcspTest, ResponseWithoutNextUpdateIsRefused) {
  Single open_ended = LeafGood();
  open_ended.next_update.reset();
  EXPECT_NE(ErrorOf({SignResponse({open_ended}, *inter_), SignResponse({InterGood()}, *root_)})
                .find("no nextUpdate"),
            std::string::npos);
}

TEST_F(OcspTest, MissingResponseForOneCertificateIsAnError) {
  const std::string error = ErrorOf({SignResponse({LeafGood()}, *inter_)});
  EXPECT_NE(error.find("no response in the bundle for CN=Test OCSP Intermediate"),
            std::string::npos)
      << error;
  EXPECT_NE(ErrorOf({SignResponse({InterGood()}, *root_)}).find("for CN=Test OCSP Leaf"),
            std::string::npos);
}

TEST_F(OcspTest, WrongSignersAreRejected) {
  const Bytes inter_ok = SignResponse({InterGood()}, *root_);
  struct Case {
    const char* what;
    Bytes leaf_response;
  } cases[] = {
      {"an unrelated CA", SignResponse({LeafGood()}, *other_)},
      {"the root, which did not issue the leaf", SignResponse({LeafGood()}, *root_)},
      {"a certificate of the issuer without id-kp-OCSPSigning",
       SignResponse({LeafGood()}, *plain_)},
      {"the leaf itself", SignResponse({LeafGood()}, *leaf_)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto r = Check({c.leaf_response, inter_ok});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
    EXPECT_NE(r.error().message().find("CN=Test OCSP Leaf"), std::string::npos)
        << r.error().message();
    EXPECT_NE(r.error().message().find("OCSP response signature or responder"), std::string::npos)
        << r.error().message();
  }
  // A delegated responder issued by another CA (the root) for the leaf.
  Issued root_responder = Issue("Root Responder", root_, false, {"OCSPSigning"});
  EXPECT_FALSE(Check({SignResponse({LeafGood()}, root_responder), inter_ok}).has_value());
}

TEST_F(OcspTest, ExpiredResponderCertificateIsRejected) {
  Issued expired = Issue("Expired Responder", inter_, false, {"OCSPSigning"}, kNow - kDay);
  EXPECT_NE(ErrorOf({SignResponse({LeafGood()}, expired), SignResponse({InterGood()}, *root_)})
                .find("OCSP response signature or responder"),
            std::string::npos);
}

TEST_F(OcspTest, TamperedSignatureIsRejected) {
  Bytes leaf = SignResponse({LeafGood()}, *inter_, /*include_certs=*/false);
  leaf.back() ^= 0x01;  // last byte of the ECDSA signature's s
  const std::string error = ErrorOf({leaf, SignResponse({InterGood()}, *root_)});
  EXPECT_NE(error.find("OCSP response signature"), std::string::npos) << error;
}

TEST_F(OcspTest, RefusesMalformedBundles) {
  EXPECT_NE(BundleError("not json").find("OCSP bundle"), std::string::npos);
  EXPECT_NE(BundleError("[]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(BundleError(R"({"responses":[],"extra":1})").find("unknown member \"extra\""),
            std::string::npos);
  EXPECT_NE(BundleError(R"({"responses":{}})").find("not an array"), std::string::npos);
  EXPECT_NE(BundleError(R"({"responses":[1]})").find("not a base64 string"), std::string::npos);
  EXPECT_NE(BundleError(R"({"responses":["***"]})").find("response 0"), std::string::npos);
  EXPECT_NE(BundleError(R"({"responses":["AAAA"]})").find("not a DER OCSPResponse"),
            std::string::npos);
  // Trailing bytes after the DER.
  Bytes trailing = SignResponse({LeafGood()}, *inter_);
  trailing.push_back(0);
  EXPECT_NE(ErrorOf({trailing}).find("not a DER OCSPResponse"), std::string::npos);
  // A responder that said tryLater.
  OpensslPtr<OCSP_RESPONSE, OCSP_RESPONSE_free> later(
      OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, nullptr));
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_RESPONSE(later.get(), &der);
  Bytes try_later(der, der + len);
  OPENSSL_free(der);
  EXPECT_NE(ErrorOf({try_later}).find("responder status trylater"), std::string::npos)
      << ErrorOf({try_later});
  // Caps.
  auto big = CheckChainRevocation(Chain(), Bytes(kMaxOcspBundleSize + 1, ' '), kNow);
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code(), ErrorCode::kResourceExhausted);
  std::vector<Bytes> many(kMaxOcspResponses + 1, Bytes{0x30, 0x00});
  auto too_many = Check(many);
  ASSERT_FALSE(too_many.has_value());
  EXPECT_EQ(too_many.error().code(), ErrorCode::kResourceExhausted);
}

TEST_F(OcspTest, RefusesUnusableChains) {
  const std::string bundle = EncodeOcspBundle(GoodResponses());
  std::vector<Certificate> alone = {root_->cert};
  EXPECT_EQ(CheckChainRevocation(alone, AsBytes(bundle), kNow).error().code(),
            ErrorCode::kInvalidArgument);
  std::vector<Certificate> broken = {leaf_->cert, root_->cert};
  auto r = CheckChainRevocation(broken, AsBytes(bundle), kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("is not issued by"), std::string::npos);
  EXPECT_FALSE(CheckChainRevocation(Chain(), AsBytes(bundle), -1).has_value());
}

TEST(OcspBundleTest, EncodesTheDocumentedFormat) {
  EXPECT_EQ(EncodeOcspBundle({Bytes{1, 2, 3}, Bytes{0xff}}), R"({"responses":["AQID","/w=="]})");
}

}  // namespace
}  // namespace crypta::attest::nvidia
