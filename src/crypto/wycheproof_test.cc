// Project Wycheproof tables (testdata/wycheproof, C2SP snapshot dac1dd4) run against the
// crypta primitives. Every failure names file, tcId and comment. Each file's processed test
// count must equal its numberOfTests, so a skipped group cannot go unnoticed.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/signature.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

using ::crypta::testing::ReadTestdataJson;
using ::crypta::testing::Unhex;
using Json = nlohmann::json;

struct Tally {
  int total = 0;
  int valid = 0;
  int invalid = 0;
  int acceptable = 0;
  int rejected_by_api = 0;  // outside what the API supports, and it said so
};

std::string Where(const std::string& file, const Json& test) {
  return file + " tcId " + std::to_string(test.at("tcId").get<int>()) + " (" +
         test.at("comment").get<std::string>() + ")";
}

Json Load(const std::string& file) { return ReadTestdataJson("wycheproof/" + file); }

void CountResult(const Json& test, Tally& tally) {
  ++tally.total;
  const std::string result = test.at("result").get<std::string>();
  if (result == "valid") ++tally.valid;
  if (result == "invalid") ++tally.invalid;
  if (result == "acceptable") ++tally.acceptable;
}

// ------------------------------------------------------------------ AES-GCM

// The Aead API supports 128/256-bit keys, 96-bit nonces and 128-bit tags, by design.
// Vectors outside that must be rejected by the API (and are counted); all others must
// give the exact ciphertext and tag and decrypt, or (invalid) fail to decrypt.
TEST(WycheproofTest, AesGcm) {
  const std::string file = "aes_gcm_test.json";
  Json doc = Load(file);
  Tally tally;
  for (const Json& group : doc.at("testGroups")) {
    const int key_bits = group.at("keySize").get<int>();
    for (const Json& test : group.at("tests")) {
      CountResult(test, tally);
      const std::string where = Where(file, test);
      Bytes key = Unhex(test.at("key")), iv = Unhex(test.at("iv")), aad = Unhex(test.at("aad"));
      Bytes msg = Unhex(test.at("msg")), ct = Unhex(test.at("ct")), tag = Unhex(test.at("tag"));
      const bool valid = test.at("result") == "valid";
      if (key_bits != 128 && key_bits != 256) {
        EXPECT_FALSE(Aead::Create(AeadAlg::kAes128Gcm, key).has_value()) << where;
        EXPECT_FALSE(Aead::Create(AeadAlg::kAes256Gcm, key).has_value()) << where;
        ++tally.rejected_by_api;
        continue;
      }
      AeadAlg alg = key_bits == 128 ? AeadAlg::kAes128Gcm : AeadAlg::kAes256Gcm;
      Result<Aead> aead = Aead::Create(alg, key);
      ASSERT_TRUE(aead.has_value()) << where << ": " << aead.error().ToString();
      if (iv.size() != kAeadNonceSize || tag.size() != kAeadTagSize) {
        Bytes out(msg.size()), tag_out(tag.size()), plain(ct.size());
        Status sealed = aead->SealInPlace(iv, aad, msg, out, tag_out);
        Status opened = aead->OpenInPlace(iv, aad, ct, tag, plain);
        ASSERT_FALSE(sealed.has_value()) << where;
        ASSERT_FALSE(opened.has_value()) << where;
        EXPECT_EQ(sealed.error().code(), ErrorCode::kInvalidArgument) << where;
        EXPECT_EQ(opened.error().code(), ErrorCode::kInvalidArgument) << where;
        ++tally.rejected_by_api;
        continue;
      }
      Bytes ct_and_tag = Concat(ct, tag);
      Result<Bytes> opened = aead->Open(iv, aad, ct_and_tag);
      if (valid) {
        Result<Bytes> sealed = aead->Seal(iv, aad, msg);
        ASSERT_TRUE(sealed.has_value()) << where;
        EXPECT_EQ(*sealed, ct_and_tag) << where;
        ASSERT_TRUE(opened.has_value()) << where << ": " << opened.error().ToString();
        EXPECT_EQ(*opened, msg) << where;
      } else {
        EXPECT_FALSE(opened.has_value()) << where;
      }
    }
  }
  EXPECT_EQ(tally.total, doc.at("numberOfTests").get<int>());
  // 192-bit keys (64+19+12+8 vectors) and non-96-bit IVs.
  EXPECT_EQ(tally.rejected_by_api, 316 - 67 - 66);
  EXPECT_EQ(tally.acceptable, 0);
}

// ------------------------------------------------------------------ ECDSA

void RunEcdsaFile(const std::string& file, KeyType curve, HashAlg hash, EcdsaFormat format) {
  Json doc = Load(file);
  Tally tally;
  for (const Json& group : doc.at("testGroups")) {
    ASSERT_EQ(group.at("sha").get<std::string>(), HashName(hash)) << file;
    Result<PublicKey> key =
        PublicKey::FromEcPoint(curve, Unhex(group.at("publicKey").at("uncompressed")));
    for (const Json& test : group.at("tests")) {
      CountResult(test, tally);
      const std::string where = Where(file, test);
      const std::string result = test.at("result").get<std::string>();
      ASSERT_NE(result, "acceptable") << where << ": no acceptable cases expected";
      if (!key) {
        EXPECT_EQ(result, "invalid") << where << ": key rejected: " << key.error().ToString();
        continue;
      }
      Status verified = EcdsaVerify(*key, hash, Unhex(test.at("msg")), Unhex(test.at("sig")),
                                    EcdsaOptions{.format = format});
      if (result == "valid") {
        EXPECT_TRUE(verified.has_value()) << where << ": " << verified.error().ToString();
      } else {
        EXPECT_FALSE(verified.has_value()) << where << ": invalid signature accepted";
      }
    }
  }
  EXPECT_EQ(tally.total, doc.at("numberOfTests").get<int>()) << file;
  EXPECT_GT(tally.valid, 100) << file;
  EXPECT_GT(tally.invalid, 50) << file;
}

TEST(WycheproofTest, EcdsaP256Sha256Der) {
  RunEcdsaFile("ecdsa_secp256r1_sha256_test.json", KeyType::kEcP256, HashAlg::kSha256,
               EcdsaFormat::kDer);
}
TEST(WycheproofTest, EcdsaP384Sha384Der) {
  RunEcdsaFile("ecdsa_secp384r1_sha384_test.json", KeyType::kEcP384, HashAlg::kSha384,
               EcdsaFormat::kDer);
}
TEST(WycheproofTest, EcdsaP256Sha256P1363) {
  RunEcdsaFile("ecdsa_secp256r1_sha256_p1363_test.json", KeyType::kEcP256, HashAlg::kSha256,
               EcdsaFormat::kRaw);
}
TEST(WycheproofTest, EcdsaP384Sha384P1363) {
  RunEcdsaFile("ecdsa_secp384r1_sha384_p1363_test.json", KeyType::kEcP384, HashAlg::kSha384,
               EcdsaFormat::kRaw);
}

// ------------------------------------------------------------------ X25519

// Our choice for "acceptable" vectors (low-order, twist and non-canonical public keys):
// DeriveSharedSecret rejects an all-zero shared secret (RFC 7748 §6.1 check, so a
// contributory exchange is guaranteed); for every other acceptable vector the result must
// equal `shared`, exactly as for valid ones.
TEST(WycheproofTest, X25519) {
  const std::string file = "x25519_test.json";
  Json doc = Load(file);
  Tally tally;
  int acceptable_zero_rejected = 0;
  int acceptable_matched = 0;
  const Bytes zeros(32, 0);
  for (const Json& group : doc.at("testGroups")) {
    ASSERT_EQ(group.at("curve").get<std::string>(), "curve25519");
    for (const Json& test : group.at("tests")) {
      CountResult(test, tally);
      const std::string where = Where(file, test);
      const std::string result = test.at("result").get<std::string>();
      Bytes shared = Unhex(test.at("shared"));
      Result<PrivateKey> own = PrivateKey::FromRaw(KeyType::kX25519, Unhex(test.at("private")));
      ASSERT_TRUE(own.has_value()) << where;
      Result<PublicKey> peer = PublicKey::FromRaw(KeyType::kX25519, Unhex(test.at("public")));
      Result<SecretBytes> derived =
          peer ? DeriveSharedSecret(*own, *peer) : Result<SecretBytes>(MakeError(peer.error()));
      if (result == "invalid") {
        EXPECT_FALSE(derived.has_value()) << where;
      } else if (result == "valid" || shared != zeros) {
        ASSERT_TRUE(derived.has_value()) << where << ": " << derived.error().ToString();
        EXPECT_EQ(Bytes(derived->Reveal().begin(), derived->Reveal().end()), shared) << where;
        if (result == "acceptable") ++acceptable_matched;
      } else {
        EXPECT_FALSE(derived.has_value()) << where << ": all-zero shared secret accepted";
        ++acceptable_zero_rejected;
      }
    }
  }
  EXPECT_EQ(tally.total, doc.at("numberOfTests").get<int>());
  EXPECT_EQ(tally.valid, 264);
  EXPECT_EQ(acceptable_zero_rejected, 31);
  EXPECT_EQ(acceptable_matched, 223);
}

// ------------------------------------------------------------------ HKDF

void RunHkdfFile(const std::string& file, HashAlg hash) {
  Json doc = Load(file);
  Tally tally;
  for (const Json& group : doc.at("testGroups")) {
    for (const Json& test : group.at("tests")) {
      CountResult(test, tally);
      const std::string where = Where(file, test);
      Result<Bytes> okm = Hkdf(hash, Unhex(test.at("ikm")), Unhex(test.at("salt")),
                               Unhex(test.at("info")), test.at("size").get<size_t>());
      if (test.at("result") == "valid") {
        ASSERT_TRUE(okm.has_value()) << where << ": " << okm.error().ToString();
        EXPECT_EQ(*okm, Unhex(test.at("okm"))) << where;
      } else {
        EXPECT_FALSE(okm.has_value()) << where;
      }
    }
  }
  EXPECT_EQ(tally.total, doc.at("numberOfTests").get<int>()) << file;
  EXPECT_EQ(tally.invalid, 3) << file;  // output size > 255 * HashLen
}

TEST(WycheproofTest, HkdfSha256) { RunHkdfFile("hkdf_sha256_test.json", HashAlg::kSha256); }
TEST(WycheproofTest, HkdfSha384) { RunHkdfFile("hkdf_sha384_test.json", HashAlg::kSha384); }

}  // namespace
}  // namespace crypta
