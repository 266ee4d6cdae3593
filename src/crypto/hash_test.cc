// SHA-2 (FIPS 180-4 "abc" examples), HMAC (RFC 4231 test cases 1 and 2), HKDF (RFC 5869
// Appendix A test cases 1-3) and incremental hashing.
#include "crypto/hash.h"

#include <gtest/gtest.h>

#include <string>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

using ::crypta::testing::Unhex;

Bytes Range(int first, int end) {
  Bytes out;
  for (int i = first; i < end; ++i) out.push_back(static_cast<uint8_t>(i));
  return out;
}

TEST(HashTest, Sha2AbcKnownAnswers) {
  // FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA384.pdf", "SHA512.pdf").
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha384(AsBytes("abc"))),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(HexEncode(Sha512(AsBytes("abc"))),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(HexEncode(Sha256({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HashTest, SizesAndNames) {
  EXPECT_EQ(HashSize(HashAlg::kSha256), 32u);
  EXPECT_EQ(HashSize(HashAlg::kSha384), 48u);
  EXPECT_EQ(HashSize(HashAlg::kSha512), 64u);
  EXPECT_EQ(HashName(HashAlg::kSha384), "SHA-384");
  for (HashAlg alg : {HashAlg::kSha256, HashAlg::kSha384, HashAlg::kSha512}) {
    EXPECT_EQ(Hash(alg, AsBytes("x")).size(), HashSize(alg));
    EXPECT_EQ(static_cast<size_t>(EVP_MD_get_size(HashMd(alg))), HashSize(alg));
  }
}

TEST(HashTest, HasherIncrementalEqualsOneShot) {
  Bytes data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
  for (HashAlg alg : {HashAlg::kSha256, HashAlg::kSha384, HashAlg::kSha512}) {
    for (size_t split : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{129}, size_t{1000}}) {
      Hasher hasher(alg);
      hasher.Update(ByteSpan(data).first(split));
      hasher.Update({});
      hasher.Update(ByteSpan(data).subspan(split));
      EXPECT_EQ(hasher.Finish(), Hash(alg, data)) << HashName(alg) << " split " << split;
    }
  }
  Hasher moved_from(HashAlg::kSha256);
  moved_from.Update(AsBytes("ab"));
  Hasher moved = std::move(moved_from);
  moved.Update(AsBytes("c"));
  EXPECT_EQ(moved.Finish(), Sha256(AsBytes("abc")));
}

TEST(HmacTest, Rfc4231Case1) {
  Bytes key(20, 0x0b);
  ByteSpan data = AsBytes("Hi There");
  EXPECT_EQ(HexEncode(Hmac(HashAlg::kSha256, key, data)),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HexEncode(Hmac(HashAlg::kSha384, key, data)),
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
            "faea9ea9076ede7f4af152e8b2fa9cb6");
  EXPECT_EQ(HexEncode(Hmac(HashAlg::kSha512, key, data)),
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
            "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
}

TEST(HmacTest, Rfc4231Case2) {
  ByteSpan key = AsBytes("Jefe");
  ByteSpan data = AsBytes("what do ya want for nothing?");
  EXPECT_EQ(HexEncode(Hmac(HashAlg::kSha256, key, data)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HexEncode(Hmac(HashAlg::kSha384, key, data)),
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
            "8e2240ca5e69e2c78b3239ecfab21649");
  EXPECT_EQ(HexEncode(Hmac(HashAlg::kSha512, key, data)),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
}

TEST(HmacTest, EmptyKeyEqualsZeroKey) {
  // RFC 2104 §2: a key shorter than the block is zero-padded, so "" and 0x00 agree.
  EXPECT_EQ(Hmac(HashAlg::kSha256, {}, AsBytes("m")),
            Hmac(HashAlg::kSha256, Bytes(1, 0), AsBytes("m")));
  EXPECT_NE(Hmac(HashAlg::kSha256, {}, AsBytes("m")), Hmac(HashAlg::kSha256, {}, AsBytes("n")));
}

struct HkdfCase {
  Bytes ikm, salt, info;
  size_t length;
  std::string prk, okm;
};

TEST(HkdfTest, Rfc5869TestCases1To3) {
  const HkdfCase cases[] = {
      // A.1: basic test case with SHA-256.
      {Bytes(22, 0x0b), Range(0x00, 0x0d), Range(0xf0, 0xfa), 42,
       "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
      // A.2: longer inputs/outputs.
      {Range(0x00, 0x50), Range(0x60, 0xb0), Range(0xb0, 0x100), 82,
       "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c6"
       "5e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
      // A.3: zero-length salt and info.
      {Bytes(22, 0x0b),
       {},
       {},
       42,
       "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
  };
  int n = 1;
  for (const HkdfCase& c : cases) {
    SCOPED_TRACE("RFC 5869 A." + std::to_string(n++));
    Bytes prk = HkdfExtract(HashAlg::kSha256, c.salt, c.ikm);
    EXPECT_EQ(HexEncode(prk), c.prk);
    CRYPTA_ASSIGN_OR_FAIL(Bytes okm, HkdfExpand(HashAlg::kSha256, prk, c.info, c.length));
    EXPECT_EQ(HexEncode(okm), c.okm);
    CRYPTA_ASSIGN_OR_FAIL(Bytes okm2, Hkdf(HashAlg::kSha256, c.ikm, c.salt, c.info, c.length));
    EXPECT_EQ(okm2, okm);
  }
}

TEST(HkdfTest, OutputLengthLimits) {
  Bytes prk = Unhex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  CRYPTA_ASSIGN_OR_FAIL(Bytes empty, HkdfExpand(HashAlg::kSha256, prk, {}, 0));
  EXPECT_TRUE(empty.empty());
  CRYPTA_ASSIGN_OR_FAIL(Bytes max, HkdfExpand(HashAlg::kSha256, prk, {}, 255 * 32));
  EXPECT_EQ(max.size(), 255u * 32);
  // A prefix of a longer output equals the shorter output (T(1) || T(2) || ...).
  CRYPTA_ASSIGN_OR_FAIL(Bytes short_okm, HkdfExpand(HashAlg::kSha256, prk, {}, 33));
  EXPECT_EQ(short_okm, Bytes(max.begin(), max.begin() + 33));
  auto too_long = HkdfExpand(HashAlg::kSha256, prk, {}, 255 * 32 + 1);
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(Hkdf(HashAlg::kSha384, {}, {}, {}, 255 * 48 + 1).has_value());
  CRYPTA_EXPECT_OK(Hkdf(HashAlg::kSha384, {}, {}, {}, 255 * 48));
}

}  // namespace
}  // namespace crypta
