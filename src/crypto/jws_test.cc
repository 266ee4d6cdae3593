#include "crypto/jws.h"

#include <gtest/gtest.h>

#include <set>

#include "common/encoding.h"
#include "crypto/ecdsa_presign.h"
#include "crypto/hash.h"
#include "crypto/signature.h"
#include "testing/rfc7515_vectors.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

using Json = nlohmann::json;

// RFC 7515 Appendix A.3: ES256.
const Json& kA3Key = testing::kRfc7515A3Key;
constexpr const char* kA3Token = testing::kRfc7515A3Token;
const char kA3Payload[] =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

// RFC 7515 Appendix A.4: ES512.
const Json kA4Key = {
    {"kty", "EC"},
    {"crv", "P-521"},
    {"x",
     "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk"},
    {"y",
     "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"}};
const char kA4Token[] =
    "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA."
    "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8G"
    "aSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

// RFC 8037 Appendix A.1 (key) and A.4 (signature).
const Json kEdKey = {{"kty", "OKP"},
                     {"crv", "Ed25519"},
                     {"d", "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"},
                     {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}};
const char kEdToken[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

PublicKey A3Key() { return ParsePublicJwk(kA3Key)->key; }

JwsVerifyOptions Allow(std::vector<JwsAlg> algs) {
  JwsVerifyOptions o;
  o.allowed_algs = std::move(algs);
  return o;
}

// Builds a token with an arbitrary header text, signed with ECDSA raw over `hash`.
std::string SignWithHeader(const PrivateKey& key, HashAlg hash, const std::string& header,
                           std::string_view payload = "hello") {
  std::string input = Base64UrlEncode(AsBytes(header)) + "." + Base64UrlEncode(AsBytes(payload));
  Result<Bytes> sig = key.type() == KeyType::kEd25519
                          ? Ed25519Sign(key, AsBytes(input))
                          : EcdsaSign(key, hash, AsBytes(input), {EcdsaFormat::kRaw});
  return input + "." + Base64UrlEncode(*sig);
}

TEST(JwsTest, VerifiesRfc7515A3Es256) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedJws v,
                        JwsVerifyCompact(kA3Token, A3Key(), Allow({JwsAlg::kEs256})));
  EXPECT_EQ(v.alg, JwsAlg::kEs256);
  EXPECT_EQ(ToString(v.payload), kA3Payload);
  EXPECT_EQ(v.header, Json({{"alg", "ES256"}}));
}

TEST(JwsTest, VerifiesRfc7515A4Es512) {
  CRYPTA_ASSIGN_OR_FAIL(Jwk jwk, ParsePublicJwk(kA4Key));
  CRYPTA_ASSIGN_OR_FAIL(VerifiedJws v,
                        JwsVerifyCompact(kA4Token, jwk.key, Allow({JwsAlg::kEs512})));
  EXPECT_EQ(ToString(v.payload), "Payload");
}

TEST(JwsTest, SignsRfc8037A4ByteForByteAndVerifiesA5) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, ParsePrivateJwk(kEdKey));
  CRYPTA_ASSIGN_OR_FAIL(std::string token,
                        JwsSignCompact(key, AsBytes("Example of Ed25519 signing")));
  EXPECT_EQ(token, kEdToken);
  CRYPTA_ASSIGN_OR_FAIL(VerifiedJws v,
                        JwsVerifyCompact(kEdToken, key.GetPublicKey(), Allow({JwsAlg::kEdDsa})));
  EXPECT_EQ(ToString(v.payload), "Example of Ed25519 signing");
}

TEST(JwsTest, RoundTripsEveryAlgWithExtraHeader) {
  for (KeyType type : {KeyType::kEcP256, KeyType::kEcP384, KeyType::kEcP521, KeyType::kEd25519}) {
    SCOPED_TRACE(std::string(KeyTypeName(type)));
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(type));
    CRYPTA_ASSIGN_OR_FAIL(std::string token,
                          JwsSignCompact(key, AsBytes("payload"), Json{{"kid", "k1"}}));
    CRYPTA_ASSIGN_OR_FAIL(JwsAlg alg, JwsAlgForKeyType(type));
    CRYPTA_ASSIGN_OR_FAIL(VerifiedJws v, JwsVerifyCompact(token, key.GetPublicKey(), Allow({alg})));
    EXPECT_EQ(v.header["kid"], "k1");
    EXPECT_EQ(v.header["alg"], JwsAlgName(alg));
    EXPECT_EQ(ToString(v.payload), "payload");
  }
}

TEST(JwsTest, Es256WithAPresignatureVerifiesAndConsumesIt) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEcP256));
  std::set<std::string> signatures;
  for (int i = 0; i < 8; ++i) {
    CRYPTA_ASSIGN_OR_FAIL(EcdsaPresignature presig, PresignEcdsa(key));
    ASSERT_FALSE(presig.empty());
    CRYPTA_ASSIGN_OR_FAIL(std::string token,
                          JwsSignCompact(key, AsBytes("payload"), Json{{"kid", "k1"}}, &presig));
    EXPECT_TRUE(presig.empty()) << "a presignature signs once";
    CRYPTA_ASSIGN_OR_FAIL(VerifiedJws v,
                          JwsVerifyCompact(token, key.GetPublicKey(), Allow({JwsAlg::kEs256})));
    EXPECT_EQ(ToString(v.payload), "payload");
    signatures.insert(token.substr(token.rfind('.')));
  }
  EXPECT_EQ(signatures.size(), 8u) << "every presignature has its own nonce";
  // Used up, for another key type, or a wrong digest: refused.
  EcdsaPresignature used;
  EXPECT_EQ(SignEcdsaPresigned(key, Sha256(AsBytes("x")), std::move(used)).error().code(),
            ErrorCode::kInvalidArgument);
  CRYPTA_ASSIGN_OR_FAIL(EcdsaPresignature presig, PresignEcdsa(key));
  EXPECT_FALSE(SignEcdsaPresigned(key, AsBytes("short"), std::move(presig)).has_value());
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey p384, PrivateKey::Generate(KeyType::kEcP384));
  EXPECT_FALSE(PresignEcdsa(p384).has_value());
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey ed, PrivateKey::Generate(KeyType::kEd25519));
  CRYPTA_ASSIGN_OR_FAIL(EcdsaPresignature for_ed, PresignEcdsa(key));
  EXPECT_FALSE(JwsSignCompact(ed, AsBytes("p"), Json::object(), &for_ed).has_value());
}

TEST(JwsTest, RefusesAlgNone) {
  std::string token = Base64UrlEncode(AsBytes(R"({"alg":"none"})")) + ".aGVsbG8.";
  Result<VerifiedJws> r = JwsVerifyCompact(token, A3Key(), Allow({JwsAlg::kEs256}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message().find("none"), std::string::npos);
}

TEST(JwsTest, RefusesAlgOutsideTheAllowList) {
  Result<VerifiedJws> r = JwsVerifyCompact(kA3Token, A3Key(), Allow({JwsAlg::kEs384}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_FALSE(JwsVerifyCompact(kA3Token, A3Key(), Allow({})));
}

TEST(JwsTest, RefusesAlgThatDoesNotMatchTheKey) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey p256, PrivateKey::Generate(KeyType::kEcP256));
  // Header says ES384 but a P-256 key signed (SHA-384): the curve does not match.
  std::string token = SignWithHeader(p256, HashAlg::kSha384, R"({"alg":"ES384"})");
  Result<VerifiedJws> r =
      JwsVerifyCompact(token, p256.GetPublicKey(), Allow({JwsAlg::kEs256, JwsAlg::kEs384}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  // An ES256 token presented with a P-384 key, and with an Ed25519 key.
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey p384, PrivateKey::Generate(KeyType::kEcP384));
  EXPECT_FALSE(JwsVerifyCompact(kA3Token, p384.GetPublicKey(), Allow({JwsAlg::kEs256})));
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey ed, ParsePrivateJwk(kEdKey));
  EXPECT_FALSE(
      JwsVerifyCompact(kA3Token, ed.GetPublicKey(), Allow({JwsAlg::kEs256, JwsAlg::kEdDsa})));
}

TEST(JwsTest, RefusesHmacKeyedWithThePublicKey) {
  // The classic confusion attack: HS256 keyed with the verifier's public key bytes.
  PublicKey pub = A3Key();
  CRYPTA_ASSIGN_OR_FAIL(Bytes point, pub.EcPoint());
  std::string input = Base64UrlEncode(AsBytes(R"({"alg":"HS256"})")) + ".aGVsbG8";
  std::string token = input + "." + Base64UrlEncode(Hmac(HashAlg::kSha256, point, AsBytes(input)));
  Result<VerifiedJws> r =
      JwsVerifyCompact(token, pub, Allow({JwsAlg::kEs256, JwsAlg::kEs384, JwsAlg::kEdDsa}));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("HMAC"), std::string::npos);
}

TEST(JwsTest, RefusesUnknownCritButAcceptsUnderstoodOnes) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEcP256));
  std::string token =
      SignWithHeader(key, HashAlg::kSha256, R"({"alg":"ES256","crit":["exp2"],"exp2":1})");
  Result<VerifiedJws> r = JwsVerifyCompact(token, key.GetPublicKey(), Allow({JwsAlg::kEs256}));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("exp2"), std::string::npos);
  JwsVerifyOptions understood = Allow({JwsAlg::kEs256});
  understood.understood_crit = {"exp2"};
  CRYPTA_EXPECT_OK(JwsVerifyCompact(token, key.GetPublicKey(), understood));

  // Registered names, absent names and empty lists are malformed "crit" values.
  for (const char* header :
       {R"({"alg":"ES256","crit":["alg"]})", R"({"alg":"ES256","crit":["exp2"]})",
        R"({"alg":"ES256","crit":[]})"}) {
    EXPECT_FALSE(JwsVerifyCompact(SignWithHeader(key, HashAlg::kSha256, header), key.GetPublicKey(),
                                  understood))
        << header;
  }
}

TEST(JwsTest, RefusesUnencodedPayloadHeader) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEcP256));
  std::string token =
      SignWithHeader(key, HashAlg::kSha256, R"({"alg":"ES256","b64":false,"crit":["b64"]})");
  JwsVerifyOptions o = Allow({JwsAlg::kEs256});
  o.understood_crit = {"b64"};
  EXPECT_FALSE(JwsVerifyCompact(token, key.GetPublicKey(), o));
}

TEST(JwsTest, EnforcesTheSizeCap) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEcP256));
  std::string big(70 * 1024, 'a');
  CRYPTA_ASSIGN_OR_FAIL(std::string token, JwsSignCompact(key, AsBytes(big)));
  Result<VerifiedJws> r = JwsVerifyCompact(token, key.GetPublicKey(), Allow({JwsAlg::kEs256}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted);
  JwsVerifyOptions larger = Allow({JwsAlg::kEs256});
  larger.max_token_bytes = 128 * 1024;
  CRYPTA_EXPECT_OK(JwsVerifyCompact(token, key.GetPublicKey(), larger));
}

TEST(JwsTest, RefusesMalformedCompactForms) {
  const std::string t = kA3Token;
  size_t dot2 = t.rfind('.');
  const std::vector<std::string> bad = {
      t.substr(0, dot2),                       // two segments
      t + ".",                                 // four segments
      t + "==",                                // padded signature
      "eyJhbGciOiJFUzI1NiJ9=" + t.substr(20),  // padded header
      t.substr(0, dot2 + 1) +
          "DtEhU3ljbEg8L38VWAfUAqOyKAM6+Xx+F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3+Kg6NU1Q",
      Base64UrlEncode(AsBytes(R"(["ES256"])")) + t.substr(20),                      // array header
      Base64UrlEncode(AsBytes(R"({"alg":"ES256","alg":"ES256"})")) + t.substr(20),  // duplicate
      Base64UrlEncode(AsBytes(R"({"alg":256})")) + t.substr(20),                    // alg type
      "." + t.substr(21),                                                           // empty header
  };
  for (const std::string& token : bad) {
    Result<VerifiedJws> r = JwsVerifyCompact(token, A3Key(), Allow({JwsAlg::kEs256}));
    ASSERT_FALSE(r) << token;
    EXPECT_NE(r.error().code(), ErrorCode::kUnauthenticated) << token;
  }
}

TEST(JwsTest, RefusesTamperedTokensAndWrongKeys) {
  std::string t = kA3Token;
  size_t dot1 = t.find('.');
  std::string payload_changed = t;
  payload_changed[dot1 + 5] = payload_changed[dot1 + 5] == 'A' ? 'B' : 'A';
  std::string sig_changed = t;
  sig_changed[t.size() - 3] = sig_changed[t.size() - 3] == 'A' ? 'B' : 'A';
  for (const std::string& token : {payload_changed, sig_changed}) {
    Result<VerifiedJws> r = JwsVerifyCompact(token, A3Key(), Allow({JwsAlg::kEs256}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  }
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, PrivateKey::Generate(KeyType::kEcP256));
  Result<VerifiedJws> r = JwsVerifyCompact(t, other.GetPublicKey(), Allow({JwsAlg::kEs256}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
}

TEST(JwsTest, VerifiesWithJwksByKid) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey a, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey b, PrivateKey::Generate(KeyType::kEd25519));
  CRYPTA_ASSIGN_OR_FAIL(Json ja, PublicKeyToJwk(a.GetPublicKey(), "a"));
  CRYPTA_ASSIGN_OR_FAIL(Json jb, PublicKeyToJwk(b.GetPublicKey(), "b"));
  ja["alg"] = "ES256";
  CRYPTA_ASSIGN_OR_FAIL(Jwks jwks, Jwks::Parse(Json{{"keys", {ja, jb}}}));
  JwsVerifyOptions o = Allow({JwsAlg::kEs256, JwsAlg::kEdDsa});

  CRYPTA_ASSIGN_OR_FAIL(std::string ta, JwsSignCompact(a, AsBytes("x"), Json{{"kid", "a"}}));
  CRYPTA_EXPECT_OK(JwsVerifyCompactWithJwks(ta, jwks, o));
  CRYPTA_ASSIGN_OR_FAIL(std::string tb, JwsSignCompact(b, AsBytes("x"), Json{{"kid", "b"}}));
  CRYPTA_EXPECT_OK(JwsVerifyCompactWithJwks(tb, jwks, o));
  // Signed by b but claiming kid "a": a's key does not verify it.
  CRYPTA_ASSIGN_OR_FAIL(std::string lie, JwsSignCompact(b, AsBytes("x"), Json{{"kid", "a"}}));
  EXPECT_FALSE(JwsVerifyCompactWithJwks(lie, jwks, o));
  CRYPTA_ASSIGN_OR_FAIL(std::string unknown, JwsSignCompact(a, AsBytes("x"), Json{{"kid", "z"}}));
  EXPECT_EQ(JwsVerifyCompactWithJwks(unknown, jwks, o).error().code(), ErrorCode::kNotFound);
  CRYPTA_ASSIGN_OR_FAIL(std::string no_kid, JwsSignCompact(a, AsBytes("x")));
  EXPECT_FALSE(JwsVerifyCompactWithJwks(no_kid, jwks, o));  // two keys, no kid

  // With a single key, no kid is needed; a JWK "use":"enc" refuses signatures.
  CRYPTA_ASSIGN_OR_FAIL(Jwks single, Jwks::Parse(Json{{"keys", {ja}}}));
  CRYPTA_EXPECT_OK(JwsVerifyCompactWithJwks(no_kid, single, o));
  CRYPTA_ASSIGN_OR_FAIL(Json enc_only, PublicKeyToJwk(a.GetPublicKey(), "a"));
  enc_only["use"] = "enc";
  CRYPTA_ASSIGN_OR_FAIL(Jwks enc_set, Jwks::Parse(Json{{"keys", {enc_only}}}));
  EXPECT_EQ(JwsVerifyCompactWithJwks(ta, enc_set, o).error().code(), ErrorCode::kPermissionDenied);
}

TEST(JwsTest, SignRefusesHeadersThatSetAlgOrCrit) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEcP256));
  EXPECT_FALSE(JwsSignCompact(key, AsBytes("x"), Json{{"alg", "none"}}));
  EXPECT_FALSE(JwsSignCompact(key, AsBytes("x"), Json{{"crit", {"a"}}}));
  EXPECT_FALSE(JwsSignCompact(key, AsBytes("x"), Json::array()));
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey x, PrivateKey::Generate(KeyType::kX25519));
  EXPECT_FALSE(JwsSignCompact(x, AsBytes("x")));
}

TEST(JwsTest, ParsesAlgNames) {
  EXPECT_EQ(*ParseJwsAlg("ES384"), JwsAlg::kEs384);
  for (const char* name : {"none", "None", "HS256", "RS256", "PS256", "es256", ""}) {
    EXPECT_FALSE(ParseJwsAlg(name)) << name;
  }
}

}  // namespace
}  // namespace crypta
