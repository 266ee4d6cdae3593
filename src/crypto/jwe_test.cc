#include "crypto/jwe.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/jwk.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

using Json = nlohmann::json;

// RFC 7518 Appendix C: Alice's ephemeral key and Bob's static key.
const Json kAlice = {{"kty", "EC"},
                     {"crv", "P-256"},
                     {"x", "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0"},
                     {"y", "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"},
                     {"d", "0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"}};
const Json kBob = {{"kty", "EC"},
                   {"crv", "P-256"},
                   {"x", "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ"},
                   {"y", "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck"},
                   {"d", "VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"}};

PrivateKey Key(const Json& jwk) { return *ParsePrivateJwk(jwk); }

const PrivateKey& RsaKey() {
  static const PrivateKey* key = new PrivateKey(*PrivateKey::GenerateRsa(2048));
  return *key;
}

Json DecodeHeader(const Json& jwe) {
  Bytes b = *Base64UrlDecode(jwe["protected"].get<std::string>());
  return Json::parse(ToString(b));
}

// Replaces the protected header (re-encoded canonically), keeping everything else.
Json WithHeader(Json jwe, const Json& header) {
  jwe["protected"] = Base64UrlEncode(AsBytes(*CanonicalizeJson(header)));
  return jwe;
}

// Flips one bit in the decoded value of a base64url member.
Json FlipBit(Json jwe, const std::string& member, size_t byte = 0) {
  Bytes b = *Base64UrlDecode(jwe[member].get<std::string>());
  b[byte] ^= 0x01;
  jwe[member] = Base64UrlEncode(b);
  return jwe;
}

std::string Plain(const DecryptedJwe& d) { return ToString(d.plaintext.Reveal()); }

// RFC 7518 Appendix C: ECDH-ES with A128GCM, apu "Alice", apv "Bob".
TEST(JweTest, ConcatKdfMatchesRfc7518AppendixC) {
  PrivateKey alice = Key(kAlice);
  PrivateKey bob = Key(kBob);
  CRYPTA_ASSIGN_OR_FAIL(SecretBytes z, DeriveSharedSecret(alice, bob.GetPublicKey()));
  const Bytes want_z = {158, 86,  217, 29,  129, 113, 53,  211, 114, 131, 66,
                        131, 191, 132, 38,  156, 251, 49,  110, 163, 218, 128,
                        106, 72,  246, 218, 167, 121, 140, 254, 144, 196};
  EXPECT_EQ(Bytes(z.Reveal().begin(), z.Reveal().end()), want_z);
  CRYPTA_ASSIGN_OR_FAIL(SecretBytes z2, DeriveSharedSecret(bob, alice.GetPublicKey()));
  EXPECT_EQ(Bytes(z2.Reveal().begin(), z2.Reveal().end()), want_z);

  CRYPTA_ASSIGN_OR_FAIL(SecretBytes key,
                        JoseConcatKdf(z.Reveal(), "A128GCM", AsBytes("Alice"), AsBytes("Bob"), 16));
  EXPECT_EQ(Base64UrlEncode(key.Reveal()), "VqqN6vgjbSBcIijNcacQGg");
  EXPECT_FALSE(JoseConcatKdf(z.Reveal(), "A128GCM", {}, {}, 0));
}

TEST(JweTest, ConcatKdfProducesMultipleBlocks) {
  Bytes z(32, 7);
  CRYPTA_ASSIGN_OR_FAIL(SecretBytes k64, JoseConcatKdf(z, "X", {}, {}, 64));
  CRYPTA_ASSIGN_OR_FAIL(SecretBytes k32, JoseConcatKdf(z, "X", {}, {}, 32));
  EXPECT_EQ(k64.size(), 64u);
  // keydatalen is part of OtherInfo, so the 32-byte key is not a prefix of the 64-byte one.
  EXPECT_NE(Bytes(k64.Reveal().begin(), k64.Reveal().begin() + 32),
            Bytes(k32.Reveal().begin(), k32.Reveal().end()));
}

TEST(JweTest, EcdhEsA256KwRoundTrips) {
  PrivateKey bob = Key(kBob);
  JweEncryptOptions o;
  o.apu = ToBytes("Alice");
  o.apv = ToBytes("Bob");
  o.kid = "tee-key";
  CRYPTA_ASSIGN_OR_FAIL(Json jwe, JweEncrypt(bob.GetPublicKey(), AsBytes("model key"), o));
  Json header = DecodeHeader(jwe);
  EXPECT_EQ(header["alg"], "ECDH-ES+A256KW");
  EXPECT_EQ(header["enc"], "A256GCM");
  EXPECT_EQ(header["apu"], "QWxpY2U");
  EXPECT_EQ(header["apv"], "Qm9i");
  EXPECT_EQ(header["kid"], "tee-key");
  EXPECT_EQ(header["epk"]["crv"], "P-256");
  EXPECT_FALSE(header["epk"].contains("d"));
  EXPECT_EQ(Base64UrlDecode(jwe["encrypted_key"].get<std::string>())->size(), 40u);

  CRYPTA_ASSIGN_OR_FAIL(DecryptedJwe d, JweDecryptText(jwe.dump(), bob));
  EXPECT_EQ(Plain(d), "model key");
  EXPECT_EQ(d.protected_header, header);
}

TEST(JweTest, RsaOaep256RoundTrips) {
  CRYPTA_ASSIGN_OR_FAIL(Json jwe, JweEncrypt(RsaKey().GetPublicKey(), AsBytes("secret")));
  EXPECT_EQ(DecodeHeader(jwe)["alg"], "RSA-OAEP-256");
  EXPECT_EQ(Base64UrlDecode(jwe["encrypted_key"].get<std::string>())->size(), 256u);
  CRYPTA_ASSIGN_OR_FAIL(DecryptedJwe d, JweDecrypt(jwe, RsaKey()));
  EXPECT_EQ(Plain(d), "secret");
}

TEST(JweTest, EmptyPlaintextRoundTrips) {
  PrivateKey bob = Key(kBob);
  CRYPTA_ASSIGN_OR_FAIL(Json jwe, JweEncrypt(bob.GetPublicKey(), {}));
  EXPECT_EQ(jwe["ciphertext"], "");
  CRYPTA_ASSIGN_OR_FAIL(DecryptedJwe d, JweDecrypt(jwe, bob));
  EXPECT_EQ(d.plaintext.size(), 0u);
}

TEST(JweTest, EachTamperedFieldFailsAuthentication) {
  PrivateKey bob = Key(kBob);
  CRYPTA_ASSIGN_OR_FAIL(Json jwe, JweEncrypt(bob.GetPublicKey(), AsBytes("attack at dawn")));
  Json header = DecodeHeader(jwe);
  Json other_epk = *PublicKeyToJwk(Key(kAlice).GetPublicKey());
  Json with_kid = header;
  with_kid["kid"] = "x";
  Json with_epk = header;
  with_epk["epk"] = other_epk;
  Json with_aad = jwe;
  with_aad["aad"] = "YWFk";
  const std::vector<std::pair<std::string, Json>> cases = {
      {"protected", WithHeader(jwe, with_kid)},
      {"iv", FlipBit(jwe, "iv", 11)},
      {"ciphertext", FlipBit(jwe, "ciphertext", 3)},
      {"tag", FlipBit(jwe, "tag", 15)},
      {"encrypted_key", FlipBit(jwe, "encrypted_key", 20)},
      {"epk", WithHeader(jwe, with_epk)},
      {"aad", with_aad},
  };
  for (const auto& [name, bad] : cases) {
    Result<DecryptedJwe> r = JweDecrypt(bad, bob);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated) << name;
    EXPECT_EQ(r.error().message(), "JWE: decryption failed") << name;
  }
  CRYPTA_EXPECT_OK(JweDecrypt(jwe, bob));  // the original still decrypts
}

TEST(JweTest, RsaTamperingGivesTheSameErrorAsGcmFailure) {
  CRYPTA_ASSIGN_OR_FAIL(Json jwe, JweEncrypt(RsaKey().GetPublicKey(), AsBytes("secret")));
  for (const Json& bad : {FlipBit(jwe, "encrypted_key", 100), FlipBit(jwe, "tag")}) {
    Result<DecryptedJwe> r = JweDecrypt(bad, RsaKey());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "JWE: decryption failed");
  }
}

TEST(JweTest, RejectsTheWrongRecipientKey) {
  CRYPTA_ASSIGN_OR_FAIL(Json jwe, JweEncrypt(Key(kBob).GetPublicKey(), AsBytes("x")));
  Result<DecryptedJwe> r = JweDecrypt(jwe, Key(kAlice));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  // An RSA key for an ECDH-ES JWE, and a P-384 key: the alg does not match the key.
  EXPECT_EQ(JweDecrypt(jwe, RsaKey()).error().code(), ErrorCode::kPermissionDenied);
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey p384, PrivateKey::Generate(KeyType::kEcP384));
  EXPECT_EQ(JweDecrypt(jwe, p384).error().code(), ErrorCode::kPermissionDenied);
}

TEST(JweTest, RefusesOtherAlgsEncsZipAndCrit) {
  PrivateKey bob = Key(kBob);
  CRYPTA_ASSIGN_OR_FAIL(Json jwe, JweEncrypt(bob.GetPublicKey(), AsBytes("x")));
  const Json header = DecodeHeader(jwe);
  std::vector<Json> headers;
  for (const char* alg :
       {"dir", "ECDH-ES", "ECDH-ES+A128KW", "RSA1_5", "RSA-OAEP", "A256KW", "none"}) {
    Json h = header;
    h["alg"] = alg;
    headers.push_back(h);
  }
  for (const char* enc : {"A128GCM", "A256CBC-HS512", "a256gcm"}) {
    Json h = header;
    h["enc"] = enc;
    headers.push_back(h);
  }
  Json zip = header;
  zip["zip"] = "DEF";
  headers.push_back(zip);
  Json crit = header;
  crit["crit"] = {"exp"};
  crit["exp"] = 1;
  headers.push_back(crit);
  for (const Json& h : headers) {
    Result<DecryptedJwe> r = JweDecrypt(WithHeader(jwe, h), bob);
    ASSERT_FALSE(r) << h.dump();
    EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied) << h.dump();
  }
  JweDecryptOptions rsa_only;
  rsa_only.allowed_algs = {JweAlg::kRsaOaep256};
  EXPECT_EQ(JweDecrypt(jwe, bob, rsa_only).error().code(), ErrorCode::kPermissionDenied);
}

TEST(JweTest, RefusesBadEphemeralKeys) {
  PrivateKey bob = Key(kBob);
  CRYPTA_ASSIGN_OR_FAIL(Json jwe, JweEncrypt(bob.GetPublicKey(), AsBytes("x")));
  const Json header = DecodeHeader(jwe);
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey p384, PrivateKey::Generate(KeyType::kEcP384));
  Json off_curve = header;
  std::string y = off_curve["epk"]["y"];
  y[5] = y[5] == 'A' ? 'B' : 'A';
  off_curve["epk"]["y"] = y;
  Json wrong_curve = header;
  wrong_curve["epk"] = *PublicKeyToJwk(p384.GetPublicKey());
  Json with_d = header;
  with_d["epk"]["d"] = kAlice["d"];
  Json missing = header;
  missing.erase("epk");
  for (const Json& h : {off_curve, wrong_curve, with_d, missing}) {
    Result<DecryptedJwe> r = JweDecrypt(WithHeader(jwe, h), bob);
    ASSERT_FALSE(r) << h.dump();
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().ToString();
  }
}

TEST(JweTest, RefusesMalformedStructure) {
  PrivateKey bob = Key(kBob);
  CRYPTA_ASSIGN_OR_FAIL(Json jwe, JweEncrypt(bob.GetPublicKey(), AsBytes("x")));
  Json long_iv = jwe;
  long_iv["iv"] = Base64UrlEncode(Bytes(16, 1));
  Json short_tag = jwe;
  short_tag["tag"] = Base64UrlEncode(Bytes(12, 1));
  Json no_key = jwe;
  no_key.erase("encrypted_key");
  Json padded = jwe;
  padded["iv"] = padded["iv"].get<std::string>() + "=";
  Json unprotected_alg = jwe;
  unprotected_alg["unprotected"] = {{"alg", "ECDH-ES+A256KW"}};
  Json general = jwe;
  general["recipients"] = Json::array();
  Json not_object = WithHeader(jwe, Json::array());
  const std::vector<Json> cases = {long_iv,         short_tag, no_key,     padded,
                                   unprotected_alg, general,   not_object, Json("x")};
  for (const Json& bad : cases) {
    Result<DecryptedJwe> r = JweDecrypt(bad, bob);
    ASSERT_FALSE(r) << bad.dump();
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().ToString();
  }
  // A harmless unprotected parameter is fine.
  Json with_kid = jwe;
  with_kid["header"] = {{"kid", "bob"}};
  CRYPTA_EXPECT_OK(JweDecrypt(with_kid, bob));
}

TEST(JweTest, EnforcesSizeCapAndStrictJson) {
  PrivateKey bob = Key(kBob);
  CRYPTA_ASSIGN_OR_FAIL(Json jwe, JweEncrypt(bob.GetPublicKey(), Bytes(4096, 0x41)));
  JweDecryptOptions small;
  small.max_bytes = 1024;
  EXPECT_EQ(JweDecryptText(jwe.dump(), bob, small).error().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(JweDecrypt(jwe, bob, small).error().code(), ErrorCode::kResourceExhausted);
  std::string text = jwe.dump();
  text.insert(1, "\"iv\":\"AAAA\",");  // duplicate member
  EXPECT_FALSE(JweDecryptText(text, bob));
}

TEST(JweTest, EncryptRefusesUnsupportedRecipients) {
  for (KeyType type : {KeyType::kEcP384, KeyType::kEd25519, KeyType::kX25519}) {
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey k, PrivateKey::Generate(type));
    EXPECT_FALSE(JweEncrypt(k.GetPublicKey(), AsBytes("x"))) << KeyTypeName(type);
  }
}

}  // namespace
}  // namespace crypta
