// HPKE (RFC 9180) known answers: every official vector whose KEM, KDF and AEAD crypta
// supports (testdata/hpke/rfc9180_vectors_trimmed.json, see its MANIFEST in
// shared/vectors/hpke), plus negative tests that each change one input.
#include "crypto/hpke.h"

#include <gtest/gtest.h>

#include <string>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

using ::crypta::testing::ReadTestdataJson;
using ::crypta::testing::Unhex;

Bytes J(const nlohmann::json& v, const char* field) {
  return v.contains(field) ? Unhex(v[field].get<std::string>()) : Bytes{};
}

Bytes Reveal(const SecretBytes& s) { return Bytes(s.Reveal().begin(), s.Reveal().end()); }

constexpr HpkeSuite kX25519Suite{HpkeKem::kX25519HkdfSha256, HpkeKdf::kHkdfSha256,
                                 HpkeAead::kAes128Gcm};

// Checks one vector end to end; returns through gtest assertions.
void CheckVector(const nlohmann::json& v) {
  const HpkeSuite suite{static_cast<HpkeKem>(v["kem_id"].get<int>()),
                        static_cast<HpkeKdf>(v["kdf_id"].get<int>()),
                        static_cast<HpkeAead>(v["aead_id"].get<int>())};
  const auto mode = static_cast<HpkeMode>(v["mode"].get<int>());
  const bool auth = mode == HpkeMode::kAuth || mode == HpkeMode::kAuthPsk;
  const Bytes info = J(v, "info"), psk = J(v, "psk"), psk_id = J(v, "psk_id");

  // §7.1.3 DeriveKeyPair reproduces the recipient and ephemeral (and sender) keys.
  for (const char* who : {"R", "E", "S"}) {
    if (std::string(who) == "S" && !auth) continue;
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey k,
                          DeriveHpkeKeyPair(suite.kem, J(v, (std::string("ikm") + who).c_str())));
    CRYPTA_ASSIGN_OR_FAIL(SecretBytes sk, SerializeHpkePrivateKey(suite.kem, k));
    EXPECT_EQ(Reveal(sk), J(v, (std::string("sk") + who + "m").c_str())) << who;
    CRYPTA_ASSIGN_OR_FAIL(Bytes pk, SerializeHpkePublicKey(suite.kem, k.GetPublicKey()));
    EXPECT_EQ(pk, J(v, (std::string("pk") + who + "m").c_str())) << who;
  }
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey sk_r, DeserializeHpkePrivateKey(suite.kem, J(v, "skRm")));
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey sk_e, DeserializeHpkePrivateKey(suite.kem, J(v, "skEm")));
  CRYPTA_ASSIGN_OR_FAIL(PublicKey pk_r, DeserializeHpkePublicKey(suite.kem, J(v, "pkRm")));
  std::optional<PrivateKey> sk_s;
  std::optional<PublicKey> pk_s;
  if (auth) {
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey s, DeserializeHpkePrivateKey(suite.kem, J(v, "skSm")));
    sk_s.emplace(std::move(s));
    CRYPTA_ASSIGN_OR_FAIL(PublicKey p, DeserializeHpkePublicKey(suite.kem, J(v, "pkSm")));
    pk_s.emplace(std::move(p));
  }

  // KEM and key schedule intermediates.
  const Bytes enc = J(v, "enc");
  CRYPTA_ASSIGN_OR_FAIL(SecretBytes shared,
                        HpkeDecap(suite.kem, enc, sk_r, pk_s ? &*pk_s : nullptr));
  EXPECT_EQ(Reveal(shared), J(v, "shared_secret"));
  CRYPTA_ASSIGN_OR_FAIL(HpkeKeyScheduleOutput ks,
                        HpkeKeySchedule(suite, mode, shared.Reveal(), info, psk, psk_id));
  EXPECT_EQ(Reveal(ks.key), J(v, "key"));
  EXPECT_EQ(Reveal(ks.base_nonce), J(v, "base_nonce"));
  EXPECT_EQ(Reveal(ks.exporter_secret), J(v, "exporter_secret"));

  // Full setup on both sides, with the vector's ephemeral key.
  HpkeSenderOptions so;
  so.psk = psk;
  so.psk_id = psk_id;
  so.auth_key = sk_s ? &*sk_s : nullptr;
  so.ephemeral_key = &sk_e;
  CRYPTA_ASSIGN_OR_FAIL(HpkeSenderSetup sender, SetupHpkeSender(suite, pk_r, info, so));
  EXPECT_EQ(sender.enc, enc);
  HpkeRecipientOptions ro;
  ro.psk = psk;
  ro.psk_id = psk_id;
  ro.auth_public_key = pk_s ? &*pk_s : nullptr;
  CRYPTA_ASSIGN_OR_FAIL(HpkeRecipientContext recipient,
                        SetupHpkeRecipient(suite, enc, sk_r, info, ro));

  for (const auto& e : v["encryptions"]) {
    const uint64_t seq = e["seq"].get<uint64_t>();
    SCOPED_TRACE("seq " + std::to_string(seq));
    sender.context.SetSequenceNumberForTesting(seq);
    CRYPTA_ASSIGN_OR_FAIL(Bytes ct, sender.context.Seal(J(e, "aad"), J(e, "pt")));
    EXPECT_EQ(ct, J(e, "ct"));
    EXPECT_EQ(sender.context.sequence_number(), seq + 1);
    recipient.SetSequenceNumberForTesting(seq);
    CRYPTA_ASSIGN_OR_FAIL(Bytes pt, recipient.Open(J(e, "aad"), J(e, "ct")));
    EXPECT_EQ(pt, J(e, "pt"));
  }
  if (suite.aead == HpkeAead::kExportOnly) {
    EXPECT_FALSE(sender.context.Seal({}, J(v, "info")).has_value());
  }
  for (const auto& x : v["exports"]) {
    const size_t length = x["L"].get<size_t>();
    CRYPTA_ASSIGN_OR_FAIL(SecretBytes s, sender.context.Export(J(x, "exporter_context"), length));
    EXPECT_EQ(Reveal(s), J(x, "exported_value"));
    CRYPTA_ASSIGN_OR_FAIL(SecretBytes r, recipient.Export(J(x, "exporter_context"), length));
    EXPECT_EQ(Reveal(r), J(x, "exported_value"));
  }
}

TEST(HpkeVectorTest, ReproducesEverySupportedRfc9180Vector) {
  const nlohmann::json vectors = ReadTestdataJson("hpke/rfc9180_vectors_trimmed.json");
  int run = 0, encryptions = 0;
  for (const auto& v : vectors) {
    const HpkeSuite suite{static_cast<HpkeKem>(v["kem_id"].get<int>()),
                          static_cast<HpkeKdf>(v["kdf_id"].get<int>()),
                          static_cast<HpkeAead>(v["aead_id"].get<int>())};
    if (!ValidateHpkeSuite(suite)) continue;  // X448 (0x0021) is not supported
    SCOPED_TRACE("mode " + std::to_string(v["mode"].get<int>()) + " kem " +
                 std::to_string(v["kem_id"].get<int>()) + " kdf " +
                 std::to_string(v["kdf_id"].get<int>()) + " aead " +
                 std::to_string(v["aead_id"].get<int>()));
    CheckVector(v);
    ++run;
    encryptions += static_cast<int>(v["encryptions"].size());
  }
  // 3 KEMs (P-256, P-521, X25519) x 2 KDFs x 4 AEADs x 4 modes.
  EXPECT_EQ(run, 96);
  EXPECT_EQ(encryptions, 72 * 6);  // six kept sequence numbers for each non-export-only suite
}

// A gateway passes its cached serialized public key (HpkeRecipientOptions /
// HpkeDecap's recipient_public_key): the same shared secret and plaintexts as the vectors;
// any other cached key gives a different secret, so opening fails.
TEST(HpkeVectorTest, CachedRecipientPublicKeyGivesTheVectorSecrets) {
  const nlohmann::json vectors = ReadTestdataJson("hpke/rfc9180_vectors_trimmed.json");
  int run = 0;
  for (const auto& v : vectors) {
    const HpkeSuite suite{static_cast<HpkeKem>(v["kem_id"].get<int>()),
                          static_cast<HpkeKdf>(v["kdf_id"].get<int>()),
                          static_cast<HpkeAead>(v["aead_id"].get<int>())};
    if (!ValidateHpkeSuite(suite) || v["mode"].get<int>() != 0) continue;  // base mode
    CRYPTA_ASSIGN_OR_FAIL(PrivateKey sk_r, DeserializeHpkePrivateKey(suite.kem, J(v, "skRm")));
    const Bytes pk_rm = J(v, "pkRm"), enc = J(v, "enc");
    CRYPTA_ASSIGN_OR_FAIL(SecretBytes shared, HpkeDecap(suite.kem, enc, sk_r, nullptr, pk_rm));
    EXPECT_EQ(Reveal(shared), J(v, "shared_secret"));
    Bytes other = pk_rm;
    other.back() ^= 1;
    CRYPTA_ASSIGN_OR_FAIL(SecretBytes wrong, HpkeDecap(suite.kem, enc, sk_r, nullptr, other));
    EXPECT_NE(Reveal(wrong), J(v, "shared_secret"));
    HpkeRecipientOptions ro;
    ro.recipient_public_key = pk_rm;
    CRYPTA_ASSIGN_OR_FAIL(HpkeRecipientContext r,
                          SetupHpkeRecipient(suite, enc, sk_r, J(v, "info"), ro));
    if (suite.aead != HpkeAead::kExportOnly) {
      const auto& e = v["encryptions"][0];
      r.SetSequenceNumberForTesting(e["seq"].get<uint64_t>());
      CRYPTA_ASSIGN_OR_FAIL(Bytes pt, r.Open(J(e, "aad"), J(e, "ct")));
      EXPECT_EQ(pt, J(e, "pt"));
      EXPECT_FALSE(r.Open(J(e, "aad"), J(e, "ct")).has_value());  // next seq: wrong nonce
    }
    ++run;
  }
  EXPECT_EQ(run, 24);  // 3 KEMs x 2 KDFs x 4 AEADs in base mode
}

// ---------------------------------------------------------------- negative tests

// A base-mode context pair from random keys, for the negative tests.
struct Pair {
  PrivateKey sk;
  HpkeSenderSetup sender;
  HpkeRecipientContext recipient;
};

Result<Pair> MakePair(const HpkeSuite& suite) {
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey sk, GenerateHpkeKeyPair(suite.kem));
  CRYPTA_ASSIGN_OR_RETURN(HpkeSenderSetup s, SetupBaseS(suite, sk.GetPublicKey(), AsBytes("info")));
  CRYPTA_ASSIGN_OR_RETURN(HpkeRecipientContext r, SetupBaseR(suite, s.enc, sk, AsBytes("info")));
  return Pair{std::move(sk), std::move(s), std::move(r)};
}

TEST(HpkeTest, SealsAndOpensInSequenceForEveryKemAndAead) {
  for (HpkeKem kem :
       {HpkeKem::kP256HkdfSha256, HpkeKem::kP521HkdfSha512, HpkeKem::kX25519HkdfSha256}) {
    for (HpkeAead aead :
         {HpkeAead::kAes128Gcm, HpkeAead::kAes256Gcm, HpkeAead::kChaCha20Poly1305}) {
      CRYPTA_ASSIGN_OR_FAIL(Pair p, MakePair({kem, HpkeKdf::kHkdfSha384, aead}));
      for (int i = 0; i < 3; ++i) {
        const std::string msg = "message " + std::to_string(i);
        CRYPTA_ASSIGN_OR_FAIL(Bytes ct, p.sender.context.Seal(AsBytes("aad"), AsBytes(msg)));
        CRYPTA_ASSIGN_OR_FAIL(Bytes pt, p.recipient.Open(AsBytes("aad"), ct));
        EXPECT_EQ(ToString(pt), msg);
      }
    }
  }
}

TEST(HpkeTest, RejectsCiphertextWithOneFlippedBit) {
  CRYPTA_ASSIGN_OR_FAIL(Pair p, MakePair(kX25519Suite));
  CRYPTA_ASSIGN_OR_FAIL(Bytes ct, p.sender.context.Seal(AsBytes("aad"), AsBytes("hello")));
  ct[2] ^= 0x01;
  Result<Bytes> pt = p.recipient.Open(AsBytes("aad"), ct);
  ASSERT_FALSE(pt.has_value());
  EXPECT_EQ(pt.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(p.recipient.sequence_number(), 0u);  // a failed open does not advance
}

TEST(HpkeTest, RejectsWrongAad) {
  CRYPTA_ASSIGN_OR_FAIL(Pair p, MakePair(kX25519Suite));
  CRYPTA_ASSIGN_OR_FAIL(Bytes ct, p.sender.context.Seal(AsBytes("aad"), AsBytes("hello")));
  EXPECT_FALSE(p.recipient.Open(AsBytes("aaD"), ct).has_value());
}

TEST(HpkeTest, RejectsCiphertextOpenedAtWrongSequenceNumber) {
  CRYPTA_ASSIGN_OR_FAIL(Pair p, MakePair(kX25519Suite));
  CRYPTA_ASSIGN_OR_FAIL(Bytes ct0, p.sender.context.Seal({}, AsBytes("zero")));
  CRYPTA_ASSIGN_OR_FAIL(Bytes ct1, p.sender.context.Seal({}, AsBytes("one")));
  EXPECT_FALSE(p.recipient.Open({}, ct1).has_value());  // recipient is at seq 0
  CRYPTA_EXPECT_OK(p.recipient.Open({}, ct0));
  CRYPTA_EXPECT_OK(p.recipient.Open({}, ct1));
}

TEST(HpkeTest, RejectsSealWhenSequenceNumberIsExhausted) {
  CRYPTA_ASSIGN_OR_FAIL(Pair p, MakePair(kX25519Suite));
  p.sender.context.SetSequenceNumberForTesting(UINT64_MAX);
  Result<Bytes> ct = p.sender.context.Seal({}, AsBytes("x"));
  ASSERT_FALSE(ct.has_value());
  EXPECT_EQ(ct.error().code(), ErrorCode::kResourceExhausted);
}

TEST(HpkeTest, ExportOnlyContextExportsButCannotSeal) {
  CRYPTA_ASSIGN_OR_FAIL(
      Pair p, MakePair({HpkeKem::kX25519HkdfSha256, HpkeKdf::kHkdfSha256, HpkeAead::kExportOnly}));
  EXPECT_EQ(p.sender.context.Seal({}, AsBytes("x")).error().code(), ErrorCode::kFailedPrecondition);
  CRYPTA_ASSIGN_OR_FAIL(SecretBytes a, p.sender.context.Export(AsBytes("ctx"), 42));
  CRYPTA_ASSIGN_OR_FAIL(SecretBytes b, p.recipient.Export(AsBytes("ctx"), 42));
  EXPECT_EQ(Reveal(a), Reveal(b));
  EXPECT_FALSE(p.recipient.Export(AsBytes("ctx"), 255 * 32 + 1).has_value());
}

TEST(HpkeTest, RejectsPskWithoutPskId) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey sk, GenerateHpkeKeyPair(HpkeKem::kX25519HkdfSha256));
  const Bytes psk(32, 0x11);
  EXPECT_FALSE(SetupPSKS(kX25519Suite, sk.GetPublicKey(), {}, psk, {}).has_value());
  HpkeSenderOptions o;
  o.psk = psk;
  EXPECT_FALSE(SetupHpkeSender(kX25519Suite, sk.GetPublicKey(), {}, o).has_value());
  // And the mirror image: a psk_id without a psk.
  EXPECT_FALSE(SetupPSKS(kX25519Suite, sk.GetPublicKey(), {}, {}, AsBytes("id")).has_value());
}

TEST(HpkeTest, RejectsPskModeWithoutAnyPskAndShortPsk) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey sk, GenerateHpkeKeyPair(HpkeKem::kX25519HkdfSha256));
  EXPECT_FALSE(SetupPSKS(kX25519Suite, sk.GetPublicKey(), {}, {}, {}).has_value());
  EXPECT_FALSE(
      SetupPSKS(kX25519Suite, sk.GetPublicKey(), {}, Bytes(31, 1), AsBytes("id")).has_value());
  CRYPTA_EXPECT_OK(SetupPSKS(kX25519Suite, sk.GetPublicKey(), {}, Bytes(32, 1), AsBytes("id")));
}

TEST(HpkeTest, PskRecipientWithDifferentPskFailsToOpen) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey sk, GenerateHpkeKeyPair(HpkeKem::kX25519HkdfSha256));
  CRYPTA_ASSIGN_OR_FAIL(HpkeSenderSetup s, SetupPSKS(kX25519Suite, sk.GetPublicKey(), {},
                                                     Bytes(32, 1), AsBytes("id")));
  CRYPTA_ASSIGN_OR_FAIL(Bytes ct, s.context.Seal({}, AsBytes("m")));
  CRYPTA_ASSIGN_OR_FAIL(HpkeRecipientContext r,
                        SetupPSKR(kX25519Suite, s.enc, sk, {}, Bytes(32, 2), AsBytes("id")));
  EXPECT_FALSE(r.Open({}, ct).has_value());
}

TEST(HpkeTest, AuthModeRejectsWrongSenderKey) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey sk_r, GenerateHpkeKeyPair(HpkeKem::kX25519HkdfSha256));
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey sk_s, GenerateHpkeKeyPair(HpkeKem::kX25519HkdfSha256));
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, GenerateHpkeKeyPair(HpkeKem::kX25519HkdfSha256));
  HpkeSenderOptions so;
  so.auth_key = &sk_s;
  CRYPTA_ASSIGN_OR_FAIL(HpkeSealed sealed,
                        HpkeSeal(kX25519Suite, sk_r.GetPublicKey(), {}, {}, AsBytes("m"), so));
  HpkeRecipientOptions ro;
  PublicKey pk_s = sk_s.GetPublicKey(), pk_other = other.GetPublicKey();
  ro.auth_public_key = &pk_s;
  CRYPTA_EXPECT_OK(HpkeOpen(kX25519Suite, sealed.enc, sk_r, {}, {}, sealed.ciphertext, ro));
  ro.auth_public_key = &pk_other;
  EXPECT_FALSE(HpkeOpen(kX25519Suite, sealed.enc, sk_r, {}, {}, sealed.ciphertext, ro));
}

TEST(HpkeTest, RejectsEncOfWrongLength) {
  CRYPTA_ASSIGN_OR_FAIL(Pair p, MakePair(kX25519Suite));
  Bytes enc = p.sender.enc;
  enc.push_back(0);
  Result<HpkeRecipientContext> r = SetupBaseR(kX25519Suite, enc, p.sk, AsBytes("info"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("want 32"), std::string::npos) << r.error().message();
  enc.resize(31);
  EXPECT_FALSE(SetupBaseR(kX25519Suite, enc, p.sk, AsBytes("info")).has_value());
}

TEST(HpkeTest, RejectsP256EncNotOnCurve) {
  const HpkeSuite suite{HpkeKem::kP256HkdfSha256, HpkeKdf::kHkdfSha256, HpkeAead::kAes128Gcm};
  CRYPTA_ASSIGN_OR_FAIL(Pair p, MakePair(suite));
  Bytes enc = p.sender.enc;
  ASSERT_EQ(enc.size(), 65u);
  enc[64] ^= 0x01;  // y changed: the point leaves the curve
  EXPECT_FALSE(SetupBaseR(suite, enc, p.sk, AsBytes("info")).has_value());
  enc = p.sender.enc;
  enc[0] = 0x02;  // a compressed-point prefix with an uncompressed length
  EXPECT_FALSE(SetupBaseR(suite, enc, p.sk, AsBytes("info")).has_value());
  EXPECT_FALSE(DeserializeHpkePublicKey(HpkeKem::kP256HkdfSha256, Bytes(65, 0)).has_value());
}

TEST(HpkeTest, RejectsLowOrderX25519Enc) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey sk, GenerateHpkeKeyPair(HpkeKem::kX25519HkdfSha256));
  // u = 0 and u = 1 are small-order points: the DH output is all zeros (RFC 7748 §6.1).
  Bytes zero(32, 0), one(32, 0);
  one[0] = 1;
  for (const Bytes& enc : {zero, one}) {
    Result<HpkeRecipientContext> r = SetupBaseR(kX25519Suite, enc, sk, {});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
  // The sender refuses a low-order recipient key the same way.
  CRYPTA_ASSIGN_OR_FAIL(PublicKey bad, PublicKey::FromRaw(KeyType::kX25519, zero));
  EXPECT_FALSE(SetupBaseS(kX25519Suite, bad, {}).has_value());
}

TEST(HpkeTest, RejectsUnsupportedSuiteAndMismatchedKeyType) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey x, GenerateHpkeKeyPair(HpkeKem::kX25519HkdfSha256));
  const HpkeSuite x448{static_cast<HpkeKem>(0x0021), HpkeKdf::kHkdfSha512, HpkeAead::kAes256Gcm};
  EXPECT_EQ(SetupBaseS(x448, x.GetPublicKey(), {}).error().code(), ErrorCode::kUnimplemented);
  const HpkeSuite bad_aead{HpkeKem::kX25519HkdfSha256, HpkeKdf::kHkdfSha256,
                           static_cast<HpkeAead>(0x0004)};
  EXPECT_EQ(SetupBaseS(bad_aead, x.GetPublicKey(), {}).error().code(), ErrorCode::kUnimplemented);
  const HpkeSuite p256{HpkeKem::kP256HkdfSha256, HpkeKdf::kHkdfSha256, HpkeAead::kAes128Gcm};
  EXPECT_EQ(SetupBaseS(p256, x.GetPublicKey(), {}).error().code(), ErrorCode::kInvalidArgument);
}

TEST(HpkeTest, RejectsShortIkmAndOversizedInfo) {
  EXPECT_FALSE(DeriveHpkeKeyPair(HpkeKem::kX25519HkdfSha256, Bytes(31, 7)).has_value());
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey sk, GenerateHpkeKeyPair(HpkeKem::kX25519HkdfSha256));
  EXPECT_FALSE(
      SetupBaseS(kX25519Suite, sk.GetPublicKey(), Bytes(kHpkeMaxInputSize + 1, 0)).has_value());
}

TEST(HpkeTest, RejectsCiphertextShorterThanTag) {
  CRYPTA_ASSIGN_OR_FAIL(Pair p, MakePair(kX25519Suite));
  EXPECT_EQ(p.recipient.Open({}, Bytes(15, 0)).error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace crypta
