#include "common/encoding.h"

#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace crypta {
namespace {

TEST(EncodingTest, HexRoundTrips) {
  Bytes data = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(data), "0001abff");
  CRYPTA_ASSIGN_OR_FAIL(Bytes back, HexDecode("0001ABff"));
  EXPECT_EQ(back, data);
}

TEST(EncodingTest, HexRejectsOddLengthAndBadCharacters) {
  EXPECT_FALSE(HexDecode("abc").has_value());
  Result<Bytes> bad = HexDecode("zz");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("position 0"), std::string::npos);
}

// RFC 4648 §10 test vectors.
TEST(EncodingTest, Base64MatchesRfc4648Vectors) {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* std64[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  const char* url64[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(Base64Encode(AsBytes(plain[i])), std64[i]);
    EXPECT_EQ(Base64UrlEncode(AsBytes(plain[i])), url64[i]);
    CRYPTA_ASSIGN_OR_FAIL(Bytes a, Base64Decode(std64[i]));
    CRYPTA_ASSIGN_OR_FAIL(Bytes b, Base64UrlDecode(url64[i]));
    EXPECT_EQ(ToString(a), plain[i]);
    EXPECT_EQ(ToString(b), plain[i]);
  }
}

TEST(EncodingTest, Base64UrlRejectsPaddingStandardAlphabetAndNonCanonicalBits) {
  EXPECT_FALSE(Base64UrlDecode("Zg==").has_value());
  EXPECT_FALSE(Base64UrlDecode("a+b/").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());  // trailing bits not zero
  EXPECT_FALSE(Base64UrlDecode("Z").has_value());   // impossible length
  EXPECT_FALSE(Base64Decode("Zg=").has_value());
  EXPECT_FALSE(Base64Decode("Zm9v\n").has_value());
}

}  // namespace
}  // namespace crypta
