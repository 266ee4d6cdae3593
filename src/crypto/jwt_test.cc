#include "crypto/jwt.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "crypto/signature.h"
#include "testing/rfc7515_vectors.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

using Json = nlohmann::json;

// RFC 7515 Appendix A.3: an ES256 JWT with {"iss":"joe","exp":1300819380,...}.
const Json& kA3Key = testing::kRfc7515A3Key;
constexpr const char* kA3Token = testing::kRfc7515A3Token;
constexpr int64_t kA3Exp = testing::kRfc7515A3Exp;

constexpr int64_t kNow = 1700000000;

JwtVerifyOptions Options(int64_t now = kNow) {
  JwtVerifyOptions o;
  o.jws.allowed_algs = {JwsAlg::kEs256, JwsAlg::kEdDsa};
  o.now_unix_s = now;
  return o;
}

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = PrivateKey::Generate(KeyType::kEcP256);
    ASSERT_TRUE(key.has_value());
    key_.emplace(std::move(*key));
  }
  std::string Sign(const Json& claims, const Json& header = Json::object()) {
    Result<std::string> token = JwtSign(*key_, claims, header);
    EXPECT_TRUE(token.has_value());
    return token.value_or("");
  }
  Result<Json> Verify(const std::string& token, const JwtVerifyOptions& o = Options()) {
    return JwtVerify(token, key_->GetPublicKey(), o);
  }
  static Json Valid() {
    return {{"iss", "crypta"}, {"aud", "kbs"}, {"iat", kNow - 10}, {"exp", kNow + 300}};
  }
  std::optional<PrivateKey> key_;
};

TEST_F(JwtTest, VerifiesRfc7515A3TokenBeforeItsExpiry) {
  PublicKey key = ParsePublicJwk(kA3Key)->key;
  JwtVerifyOptions o = Options(kA3Exp - 100);
  o.expected_issuer = "joe";
  CRYPTA_ASSIGN_OR_FAIL(Json claims, JwtVerify(kA3Token, key, o));
  EXPECT_EQ(claims["iss"], "joe");
  EXPECT_EQ(claims["http://example.com/is_root"], true);
  // Within the 60 s skew after exp it still verifies; at exp + skew it does not.
  CRYPTA_EXPECT_OK(JwtVerify(kA3Token, key, Options(kA3Exp + 59)));
  Result<Json> expired = JwtVerify(kA3Token, key, Options(kA3Exp + 60));
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(expired.error().message().find("expired"), std::string::npos);
}

TEST_F(JwtTest, SignsAndVerifiesClaimsWithTypJwt) {
  std::string token = Sign(Valid());
  CRYPTA_ASSIGN_OR_FAIL(Json header, JwsPeekHeader(token));
  EXPECT_EQ(header["typ"], "JWT");
  JwtVerifyOptions o = Options();
  o.expected_issuer = "crypta";
  o.expected_audience = "kbs";
  o.expected_typ = "jwt";  // case-insensitive (RFC 7515 §4.1.9)
  CRYPTA_ASSIGN_OR_FAIL(Json claims, Verify(token, o));
  EXPECT_EQ(claims, Valid());
}

TEST_F(JwtTest, RejectsExpiredAndMissingExp) {
  Json expired = Valid();
  expired["exp"] = kNow - 61;
  EXPECT_FALSE(Verify(Sign(expired)));
  Json no_exp = Valid();
  no_exp.erase("exp");
  EXPECT_FALSE(Verify(Sign(no_exp)));
  JwtVerifyOptions lax = Options();
  lax.require_exp = false;
  CRYPTA_EXPECT_OK(Verify(Sign(no_exp), lax));
}

TEST_F(JwtTest, RejectsNotYetValidBeyondSkew) {
  Json early = Valid();
  early["nbf"] = kNow + 61;
  EXPECT_FALSE(Verify(Sign(early)));
  early["nbf"] = kNow + 60;
  CRYPTA_EXPECT_OK(Verify(Sign(early)));
  JwtVerifyOptions strict = Options();
  strict.clock_skew = std::chrono::seconds(0);
  EXPECT_FALSE(Verify(Sign(early), strict));
}

TEST_F(JwtTest, RejectsIssuedInTheFuture) {
  Json future = Valid();
  future["iat"] = kNow + 120;
  Result<Json> r = Verify(Sign(future));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("iat"), std::string::npos);
}

TEST_F(JwtTest, RejectsNonNumericTimeClaims) {
  Json bad = Valid();
  bad["exp"] = "tomorrow";
  EXPECT_FALSE(Verify(Sign(bad)));
  bad = Valid();
  bad["nbf"] = true;
  EXPECT_FALSE(Verify(Sign(bad)));
}

TEST_F(JwtTest, ChecksIssuerAndAudience) {
  JwtVerifyOptions o = Options();
  o.expected_issuer = "someone-else";
  EXPECT_FALSE(Verify(Sign(Valid()), o));

  o = Options();
  o.expected_audience = "api";
  EXPECT_FALSE(Verify(Sign(Valid()), o));
  Json multi = Valid();
  multi["aud"] = {"kbs", "api"};
  CRYPTA_EXPECT_OK(Verify(Sign(multi), o));
  Json none = Valid();
  none.erase("aud");
  EXPECT_FALSE(Verify(Sign(none), o));
  Json bad = Valid();
  bad["aud"] = {"api", 7};
  EXPECT_FALSE(Verify(Sign(bad), o));
}

TEST_F(JwtTest, ChecksTypAndRefusesNestedJwts) {
  JwtVerifyOptions o = Options();
  o.expected_typ = "at+jwt";
  EXPECT_FALSE(Verify(Sign(Valid()), o));
  CRYPTA_EXPECT_OK(Verify(Sign(Valid(), Json{{"typ", "at+jwt"}}), o));
  EXPECT_FALSE(Verify(Sign(Valid(), Json{{"cty", "JWT"}})));
}

TEST_F(JwtTest, RefusesBadOptions) {
  JwtVerifyOptions o = Options();
  o.clock_skew = std::chrono::seconds(301);
  EXPECT_EQ(Verify(Sign(Valid()), o).error().code(), ErrorCode::kInvalidArgument);
  o = Options();
  o.clock_skew = std::chrono::seconds(-1);
  EXPECT_FALSE(Verify(Sign(Valid()), o));
  EXPECT_FALSE(Verify(Sign(Valid()), Options(0)));  // no time given
  o = Options();
  o.jws.allowed_algs.clear();
  EXPECT_FALSE(Verify(Sign(Valid()), o));
}

TEST_F(JwtTest, RejectsClaimsThatAreNotAnObjectOrHaveDuplicates) {
  // Hand-built tokens: the JWT API cannot produce these.
  auto sign_payload = [&](std::string_view payload) {
    return JwsSignCompact(*key_, AsBytes(payload), Json{{"typ", "JWT"}}).value_or("");
  };
  EXPECT_FALSE(Verify(sign_payload("[1,2]")));
  EXPECT_FALSE(Verify(sign_payload("not json")));
  Result<Json> dup = Verify(sign_payload(R"({"exp":1,"exp":9999999999})"));
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message().find("duplicate"), std::string::npos);
  EXPECT_FALSE(JwtSign(*key_, Json::array()));
}

TEST_F(JwtTest, VerifiesWithJwks) {
  CRYPTA_ASSIGN_OR_FAIL(Json jwk, PublicKeyToJwk(key_->GetPublicKey(), "ear-1"));
  CRYPTA_ASSIGN_OR_FAIL(Jwks jwks, Jwks::Parse(Json{{"keys", {jwk}}}));
  std::string token = Sign(Valid(), Json{{"kid", "ear-1"}});
  CRYPTA_ASSIGN_OR_FAIL(Json claims, JwtVerifyWithJwks(token, jwks, Options()));
  EXPECT_EQ(claims["iss"], "crypta");
  Json expired = Valid();
  expired["exp"] = kNow - 100;
  EXPECT_FALSE(JwtVerifyWithJwks(Sign(expired, Json{{"kid", "ear-1"}}), jwks, Options()));
}

}  // namespace
}  // namespace crypta
