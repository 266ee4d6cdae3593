// AEADs: known answers (GCM spec test cases 1/2/13/14, RFC 8439 §2.8.2), round trips,
// in-place operation, tamper rejection with wiped output, Clone, and argument checks.
#include "crypto/aead.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

using ::crypta::testing::Unhex;

constexpr AeadAlg kAllAlgs[] = {AeadAlg::kAes128Gcm, AeadAlg::kAes256Gcm,
                                AeadAlg::kChaCha20Poly1305};

Bytes TestKey(AeadAlg alg) {
  Bytes key(AeadKeySize(alg));
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(0x40 + i);
  return key;
}

const Bytes kNonce = Unhex("000102030405060708090a0b");
const Bytes kAad = ToBytes("header");

TEST(AeadTest, AesGcmKnownAnswers) {
  // McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 1, 2, 13, 14.
  const Bytes zero_nonce(12, 0);
  CRYPTA_ASSIGN_OR_FAIL(Aead aes128, Aead::Create(AeadAlg::kAes128Gcm, Bytes(16, 0)));
  CRYPTA_ASSIGN_OR_FAIL(Bytes tc1, aes128.Seal(zero_nonce, {}, {}));
  EXPECT_EQ(HexEncode(tc1), "58e2fccefa7e3061367f1d57a4e7455a");
  CRYPTA_ASSIGN_OR_FAIL(Bytes tc2, aes128.Seal(zero_nonce, {}, Bytes(16, 0)));
  EXPECT_EQ(HexEncode(tc2), "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf");
  CRYPTA_ASSIGN_OR_FAIL(Aead aes256, Aead::Create(AeadAlg::kAes256Gcm, Bytes(32, 0)));
  CRYPTA_ASSIGN_OR_FAIL(Bytes tc13, aes256.Seal(zero_nonce, {}, {}));
  EXPECT_EQ(HexEncode(tc13), "530f8afbc74536b9a963b4f1c4cb738b");
  CRYPTA_ASSIGN_OR_FAIL(Bytes tc14, aes256.Seal(zero_nonce, {}, Bytes(16, 0)));
  EXPECT_EQ(HexEncode(tc14), "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
}

TEST(AeadTest, ChaCha20Poly1305Rfc8439Section282) {
  Bytes key;
  for (int i = 0x80; i < 0xa0; ++i) key.push_back(static_cast<uint8_t>(i));
  const std::string plaintext =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  CRYPTA_ASSIGN_OR_FAIL(Aead aead, Aead::Create(AeadAlg::kChaCha20Poly1305, key));
  Bytes nonce = Unhex("070000004041424344454647");
  Bytes aad = Unhex("50515253c0c1c2c3c4c5c6c7");
  CRYPTA_ASSIGN_OR_FAIL(Bytes sealed, aead.Seal(nonce, aad, AsBytes(plaintext)));
  EXPECT_EQ(HexEncode(sealed),
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
            "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
            "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
            "3ff4def08e4b7a9de576d26586cec64b6116"
            "1ae10b594f09e26a7e902ecbd0600691");
  CRYPTA_ASSIGN_OR_FAIL(Bytes opened, aead.Open(nonce, aad, sealed));
  EXPECT_EQ(ToString(opened), plaintext);
}

TEST(AeadTest, RoundTripsAllAlgorithmsAndLengths) {
  for (AeadAlg alg : kAllAlgs) {
    CRYPTA_ASSIGN_OR_FAIL(Aead aead, Aead::Create(alg, TestKey(alg)));
    EXPECT_EQ(aead.alg(), alg);
    for (size_t len : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{4096}}) {
      Bytes msg(len, 0x5a);
      CRYPTA_ASSIGN_OR_FAIL(Bytes sealed, aead.Seal(kNonce, kAad, msg));
      EXPECT_EQ(sealed.size(), len + kAeadTagSize);
      CRYPTA_ASSIGN_OR_FAIL(Bytes opened, aead.Open(kNonce, kAad, sealed));
      EXPECT_EQ(opened, msg) << AeadName(alg) << " len " << len;
    }
  }
}

TEST(AeadTest, SealAndOpenInPlace) {
  for (AeadAlg alg : kAllAlgs) {
    CRYPTA_ASSIGN_OR_FAIL(Aead aead, Aead::Create(alg, TestKey(alg)));
    const Bytes msg = ToBytes("in-place message of some length");
    CRYPTA_ASSIGN_OR_FAIL(Bytes expected, aead.Seal(kNonce, kAad, msg));
    Bytes buffer = msg;
    Bytes tag(kAeadTagSize);
    CRYPTA_ASSERT_OK(aead.SealInPlace(kNonce, kAad, buffer, buffer, tag));
    EXPECT_EQ(Concat(buffer, tag), expected) << AeadName(alg);
    CRYPTA_ASSERT_OK(aead.OpenInPlace(kNonce, kAad, buffer, tag, buffer));
    EXPECT_EQ(buffer, msg) << AeadName(alg);
  }
}

TEST(AeadTest, TamperingIsRejectedAndOutputWiped) {
  for (AeadAlg alg : kAllAlgs) {
    SCOPED_TRACE(std::string(AeadName(alg)));
    CRYPTA_ASSIGN_OR_FAIL(Aead aead, Aead::Create(alg, TestKey(alg)));
    const Bytes msg = ToBytes("attack at dawn, bring snacks");
    CRYPTA_ASSIGN_OR_FAIL(Bytes sealed, aead.Seal(kNonce, kAad, msg));
    const size_t n = msg.size();
    auto open_into = [&](ByteSpan nonce, ByteSpan aad, Bytes ct_and_tag) {
      Bytes out(n, 0xaa);
      Status s = aead.OpenInPlace(nonce, aad, ByteSpan(ct_and_tag).first(n),
                                  ByteSpan(ct_and_tag).subspan(n), out);
      EXPECT_FALSE(s.has_value());
      if (!s) {
        EXPECT_EQ(s.error().code(), ErrorCode::kUnauthenticated);
      }
      EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; }));
    };
    Bytes nonce = kNonce;
    nonce[11] ^= 1;
    open_into(nonce, kAad, sealed);
    open_into(kNonce, ToBytes("headeR"), sealed);
    open_into(kNonce, {}, sealed);
    Bytes ct = sealed;
    ct[0] ^= 0x80;
    open_into(kNonce, kAad, ct);
    Bytes tag = sealed;
    tag[n + kAeadTagSize - 1] ^= 1;
    open_into(kNonce, kAad, tag);
    // The context is still usable after failures.
    CRYPTA_ASSIGN_OR_FAIL(Bytes opened, aead.Open(kNonce, kAad, sealed));
    EXPECT_EQ(opened, msg);
    // A different key does not open it.
    Bytes other_key = TestKey(alg);
    other_key[0] ^= 1;
    CRYPTA_ASSIGN_OR_FAIL(Aead other, Aead::Create(alg, other_key));
    EXPECT_FALSE(other.Open(kNonce, kAad, sealed).has_value());
  }
}

TEST(AeadTest, CloneSharesTheKeyButNotTheState) {
  for (AeadAlg alg : kAllAlgs) {
    CRYPTA_ASSIGN_OR_FAIL(Aead aead, Aead::Create(alg, TestKey(alg)));
    CRYPTA_ASSIGN_OR_FAIL(Aead clone, aead.Clone());
    EXPECT_EQ(clone.alg(), alg);
    CRYPTA_ASSIGN_OR_FAIL(Bytes a, aead.Seal(kNonce, kAad, AsBytes("same")));
    CRYPTA_ASSIGN_OR_FAIL(Bytes b, clone.Seal(kNonce, kAad, AsBytes("same")));
    EXPECT_EQ(a, b) << AeadName(alg);
    CRYPTA_ASSIGN_OR_FAIL(Bytes opened, clone.Open(kNonce, kAad, a));
    EXPECT_EQ(ToString(opened), "same");
    EXPECT_FALSE(clone.Open(kNonce, {}, a).has_value());
    CRYPTA_ASSIGN_OR_FAIL(Bytes again, aead.Open(kNonce, kAad, b));
    EXPECT_EQ(ToString(again), "same");
  }
}

TEST(AeadTest, OneDirectionContextsInteroperateAndRefuseTheOtherDirection) {
  for (AeadAlg alg : kAllAlgs) {
    CRYPTA_ASSIGN_OR_FAIL(Aead both, Aead::Create(alg, TestKey(alg)));
    CRYPTA_ASSIGN_OR_FAIL(Aead seal, Aead::Create(alg, TestKey(alg), AeadDirection::kSealOnly));
    CRYPTA_ASSIGN_OR_FAIL(Aead open, Aead::Create(alg, TestKey(alg), AeadDirection::kOpenOnly));
    CRYPTA_ASSIGN_OR_FAIL(Bytes want, both.Seal(kNonce, kAad, AsBytes("one way")));
    CRYPTA_ASSIGN_OR_FAIL(Bytes got, seal.Seal(kNonce, kAad, AsBytes("one way")));
    EXPECT_EQ(got, want) << AeadName(alg);
    CRYPTA_ASSIGN_OR_FAIL(Bytes opened, open.Open(kNonce, kAad, got));
    EXPECT_EQ(ToString(opened), "one way");
    EXPECT_EQ(seal.Open(kNonce, kAad, got).error().code(), ErrorCode::kFailedPrecondition);
    EXPECT_EQ(open.Seal(kNonce, kAad, AsBytes("x")).error().code(), ErrorCode::kFailedPrecondition);
    CRYPTA_ASSIGN_OR_FAIL(Aead open_clone, open.Clone());
    CRYPTA_ASSIGN_OR_FAIL(Bytes again, open_clone.Open(kNonce, kAad, want));
    EXPECT_EQ(ToString(again), "one way");
    EXPECT_EQ(open_clone.Seal(kNonce, kAad, AsBytes("x")).error().code(),
              ErrorCode::kFailedPrecondition);
  }
}

TEST(AeadTest, WrongKeyLengthIsRejected) {
  for (AeadAlg alg : kAllAlgs) {
    for (size_t len : {size_t{0}, size_t{15}, size_t{17}, size_t{24}, size_t{31}, size_t{33}}) {
      if (len == AeadKeySize(alg)) continue;
      auto aead = Aead::Create(alg, Bytes(len, 1));
      ASSERT_FALSE(aead.has_value()) << AeadName(alg) << " " << len;
      EXPECT_EQ(aead.error().code(), ErrorCode::kInvalidArgument);
    }
  }
  EXPECT_EQ(AeadKeySize(AeadAlg::kAes128Gcm), 16u);
  EXPECT_EQ(AeadKeySize(AeadAlg::kAes256Gcm), 32u);
  EXPECT_EQ(AeadKeySize(AeadAlg::kChaCha20Poly1305), 32u);
}

TEST(AeadTest, BadNonceTagAndBufferSizesAreRejected) {
  CRYPTA_ASSIGN_OR_FAIL(Aead aead, Aead::Create(AeadAlg::kAes256Gcm, TestKey(AeadAlg::kAes256Gcm)));
  EXPECT_FALSE(aead.Seal(Bytes(11, 0), {}, AsBytes("m")).has_value());
  EXPECT_FALSE(aead.Seal(Bytes(13, 0), {}, AsBytes("m")).has_value());
  EXPECT_FALSE(aead.Open(kNonce, {}, Bytes(15, 0)).has_value());  // shorter than a tag
  Bytes msg(8, 1), out(8), short_out(7), tag(16), short_tag(12);
  EXPECT_FALSE(aead.SealInPlace(kNonce, {}, msg, short_out, tag).has_value());
  EXPECT_FALSE(aead.SealInPlace(kNonce, {}, msg, out, short_tag).has_value());
  EXPECT_FALSE(aead.OpenInPlace(kNonce, {}, msg, short_tag, out).has_value());
  auto wrong = aead.OpenInPlace(kNonce, {}, msg, tag, short_out);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace crypta
