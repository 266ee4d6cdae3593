#include "crypto/jwk.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

using Json = nlohmann::json;

// RFC 7515 Appendix A.3.1: the ES256 example key.
const Json kRfc7515EcKey = {{"kty", "EC"},
                            {"crv", "P-256"},
                            {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                            {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};
const char kRfc7515EcD[] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";

// RFC 8037 Appendix A.1/A.2: the Ed25519 example key.
const Json kRfc8037EdKey = {
    {"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}};
const char kRfc8037EdD[] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";

Json With(Json j, const std::string& name, Json value) {
  j[name] = std::move(value);
  return j;
}
Json Without(Json j, const std::string& name) {
  j.erase(name);
  return j;
}

// RFC 7638 §3.1.
TEST(JwkTest, ThumbprintMatchesRfc7638Example) {
  Json rsa = crypta::testing::ReadTestdataJson("jose/rfc7638_rsa_jwk.json");
  CRYPTA_ASSIGN_OR_FAIL(Jwk jwk, ParsePublicJwk(rsa));
  EXPECT_EQ(jwk.key.type(), KeyType::kRsa);
  EXPECT_EQ(jwk.key.RsaBits(), 2048);
  EXPECT_EQ(jwk.kid, "2011-04-29");
  EXPECT_EQ(jwk.alg, "RS256");
  CRYPTA_ASSIGN_OR_FAIL(std::string thumbprint, JwkThumbprint(jwk.key));
  EXPECT_EQ(thumbprint, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

// RFC 8037 Appendix A.3.
TEST(JwkTest, ThumbprintMatchesRfc8037Example) {
  CRYPTA_ASSIGN_OR_FAIL(Jwk jwk, ParsePublicJwk(kRfc8037EdKey));
  EXPECT_EQ(jwk.key.type(), KeyType::kEd25519);
  CRYPTA_ASSIGN_OR_FAIL(std::string thumbprint, JwkThumbprint(jwk.key));
  EXPECT_EQ(thumbprint, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

TEST(JwkTest, PrivateJwksMatchTheirRfcPublicKeys) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey ec, ParsePrivateJwk(With(kRfc7515EcKey, "d", kRfc7515EcD)));
  EXPECT_EQ(ec.type(), KeyType::kEcP256);
  CRYPTA_ASSIGN_OR_FAIL(Json ec_out, PrivateKeyToJwk(ec));
  EXPECT_EQ(ec_out, With(kRfc7515EcKey, "d", kRfc7515EcD));

  CRYPTA_ASSIGN_OR_FAIL(PrivateKey ed, ParsePrivateJwk(With(kRfc8037EdKey, "d", kRfc8037EdD)));
  EXPECT_EQ(ed.type(), KeyType::kEd25519);
  CRYPTA_ASSIGN_OR_FAIL(Json ed_out, PublicKeyToJwk(ed.GetPublicKey()));
  EXPECT_EQ(ed_out, kRfc8037EdKey);
}

TEST(JwkTest, PrivateJwkRejectsMismatchedOrShortD) {
  // The d of the Ed25519 example does not belong to the P-256 example key.
  Result<PrivateKey> r = ParsePrivateJwk(With(kRfc7515EcKey, "d", kRfc8037EdD));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("does not match"), std::string::npos);
  EXPECT_FALSE(ParsePrivateJwk(With(kRfc7515EcKey, "d", "AQAB")));  // 3 bytes
  EXPECT_FALSE(ParsePrivateJwk(kRfc7515EcKey));                     // no d
}

TEST(JwkTest, RoundTripsEveryKeyType) {
  for (KeyType type : {KeyType::kEcP256, KeyType::kEcP384, KeyType::kEcP521, KeyType::kEd25519,
                       KeyType::kX25519}) {
    SCOPED_TRACE(std::string(KeyTypeName(type)));
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey priv, PrivateKey::Generate(type));
    CRYPTA_ASSIGN_OR_FAIL(Json pub_json, PublicKeyToJwk(priv.GetPublicKey(), "k1"));
    CRYPTA_ASSIGN_OR_FAIL(Jwk parsed, ParsePublicJwk(pub_json));
    EXPECT_EQ(parsed.kid, "k1");
    CRYPTA_ASSIGN_OR_FAIL(Bytes a, parsed.key.ToSpkiDer());
    CRYPTA_ASSIGN_OR_FAIL(Bytes b, priv.GetPublicKey().ToSpkiDer());
    EXPECT_EQ(a, b);
    CRYPTA_ASSIGN_OR_FAIL(Json priv_json, PrivateKeyToJwk(priv));
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey back, ParsePrivateJwk(priv_json));
    CRYPTA_ASSIGN_OR_FAIL(SecretBytes d1, priv.RawSecret());
    CRYPTA_ASSIGN_OR_FAIL(SecretBytes d2, back.RawSecret());
    EXPECT_TRUE(
        std::equal(d1.Reveal().begin(), d1.Reveal().end(), d2.Reveal().begin(), d2.Reveal().end()));
  }
}

TEST(JwkTest, RejectsUnknownKtyAndCurveAsUnimplemented) {
  Result<Jwk> oct = ParsePublicJwk(Json{{"kty", "oct"}, {"k", "AAAA"}});
  ASSERT_FALSE(oct);  // private member "k" is refused first
  EXPECT_EQ(ParsePublicJwk(Json{{"kty", "foo"}}).error().code(), ErrorCode::kUnimplemented);
  EXPECT_EQ(ParsePublicJwk(With(kRfc7515EcKey, "crv", "secp256k1")).error().code(),
            ErrorCode::kUnimplemented);
  EXPECT_EQ(ParsePublicJwk(With(kRfc8037EdKey, "crv", "Ed448")).error().code(),
            ErrorCode::kUnimplemented);
}

TEST(JwkTest, RejectsMissingMembers) {
  for (const char* name : {"kty", "crv", "x", "y"}) {
    Result<Jwk> r = ParsePublicJwk(Without(kRfc7515EcKey, name));
    ASSERT_FALSE(r) << name;
    EXPECT_NE(r.error().message().find(std::string("\"") + name + "\""), std::string::npos)
        << r.error().message();
  }
  EXPECT_FALSE(ParsePublicJwk(Without(kRfc8037EdKey, "x")));
  EXPECT_FALSE(ParsePublicJwk(Json::array()));
}

TEST(JwkTest, RejectsWrongLengthsAndEncodings) {
  // 31-byte x (one leading byte dropped).
  EXPECT_FALSE(
      ParsePublicJwk(With(kRfc7515EcKey, "x", "3OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU")));
  // Padding and the standard alphabet are not base64url.
  EXPECT_FALSE(
      ParsePublicJwk(With(kRfc8037EdKey, "x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=")));
  EXPECT_FALSE(
      ParsePublicJwk(With(kRfc8037EdKey, "x", "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo")));
  EXPECT_FALSE(ParsePublicJwk(With(kRfc7515EcKey, "x", 42)));  // not a string
  // A P-256 key presented as P-384 has the wrong coordinate length.
  EXPECT_FALSE(ParsePublicJwk(With(kRfc7515EcKey, "crv", "P-384")));
}

TEST(JwkTest, RejectsPointOffTheCurve) {
  // y of the RFC 7515 key with its last bit flipped.
  Result<Jwk> r =
      ParsePublicJwk(With(kRfc7515EcKey, "y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST(JwkTest, RejectsWeakOrMalformedRsa) {
  Json rsa = crypta::testing::ReadTestdataJson("jose/rfc7638_rsa_jwk.json");
  CRYPTA_ASSIGN_OR_FAIL(Bytes n, Base64UrlDecode(rsa["n"].get<std::string>()));
  Bytes short_n(n.begin(), n.begin() + 128);  // 1024 bits
  EXPECT_FALSE(ParsePublicJwk(With(rsa, "n", Base64UrlEncode(short_n))));
  Bytes zero_n = n;
  zero_n.insert(zero_n.begin(), 0);
  EXPECT_FALSE(ParsePublicJwk(With(rsa, "n", Base64UrlEncode(zero_n))));
  EXPECT_FALSE(ParsePublicJwk(With(rsa, "e", "AAEAAQ")));  // zero-prefixed exponent
  EXPECT_FALSE(ParsePublicJwk(With(rsa, "d", "AQAB")));    // private member
}

TEST(JwkTest, ChecksUseAndKeyOps) {
  CRYPTA_EXPECT_OK(ParsePublicJwk(With(kRfc7515EcKey, "use", "sig")));
  CRYPTA_EXPECT_OK(ParsePublicJwk(With(kRfc7515EcKey, "key_ops", Json{"verify"})));
  EXPECT_FALSE(ParsePublicJwk(With(kRfc7515EcKey, "use", "signing")));
  EXPECT_FALSE(ParsePublicJwk(With(kRfc7515EcKey, "key_ops", Json{"verify", "verify"})));
  EXPECT_FALSE(ParsePublicJwk(With(kRfc7515EcKey, "key_ops", "verify")));
  Json both = With(With(kRfc7515EcKey, "use", "sig"), "key_ops", Json{"wrapKey"});
  Result<Jwk> r = ParsePublicJwk(both);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("disagree"), std::string::npos);
  EXPECT_FALSE(ParsePublicJwk(With(kRfc8037EdKey, "use", "enc")));  // Ed25519 cannot encrypt
}

TEST(JwkTest, JwksFindsKeysByKidAndSkipsUnsupportedTypes) {
  Json rsa = crypta::testing::ReadTestdataJson("jose/rfc7638_rsa_jwk.json");
  Json set = {{"keys",
               {With(kRfc7515EcKey, "kid", "ec"), With(kRfc8037EdKey, "kid", "ed"), rsa,
                Json{{"kty", "EC"}, {"crv", "P-192"}, {"kid", "old"}}}}};
  CRYPTA_ASSIGN_OR_FAIL(Jwks jwks, Jwks::Parse(set));
  EXPECT_EQ(jwks.keys().size(), 3u);
  CRYPTA_ASSIGN_OR_FAIL(const Jwk* ed, jwks.FindByKid("ed"));
  EXPECT_EQ(ed->key.type(), KeyType::kEd25519);
  CRYPTA_ASSIGN_OR_FAIL(const Jwk* r, jwks.FindByKid("2011-04-29"));
  EXPECT_EQ(r->key.type(), KeyType::kRsa);
  EXPECT_EQ(jwks.FindByKid("old").error().code(), ErrorCode::kNotFound);

  CRYPTA_ASSIGN_OR_FAIL(Json out, jwks.ToJson());
  CRYPTA_ASSIGN_OR_FAIL(Jwks again, Jwks::ParseText(out.dump()));
  EXPECT_EQ(again.keys().size(), 3u);
}

TEST(JwkTest, JwksRejectsDuplicateKidsAndMalformedMembers) {
  Json dup = {{"keys", {With(kRfc7515EcKey, "kid", "a"), With(kRfc8037EdKey, "kid", "a")}}};
  EXPECT_FALSE(Jwks::Parse(dup));
  Json bad = {{"keys", {Without(kRfc7515EcKey, "y")}}};
  Result<Jwks> r = Jwks::Parse(bad);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("keys[0]"), std::string::npos);
  EXPECT_FALSE(Jwks::Parse(Json{{"keys", "x"}}));
  EXPECT_FALSE(Jwks::ParseText(R"({"keys":[],"keys":[]})"));  // duplicate member
}

}  // namespace
}  // namespace crypta
