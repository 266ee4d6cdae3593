#include "crypto/key_wrap.h"

#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace crypta {
namespace {

using crypta::testing::Unhex;

struct Rfc3394Case {
  const char* section;
  const char* kek;
  const char* key_data;
  const char* wrapped;
};

// RFC 3394 §4.1 - §4.6.
constexpr Rfc3394Case kRfc3394Cases[] = {
    {"4.1", "000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF",
     "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
    {"4.2", "000102030405060708090A0B0C0D0E0F1011121314151617", "00112233445566778899AABBCCDDEEFF",
     "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"},
    {"4.3", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
     "00112233445566778899AABBCCDDEEFF", "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"},
    {"4.4", "000102030405060708090A0B0C0D0E0F1011121314151617",
     "00112233445566778899AABBCCDDEEFF0001020304050607",
     "031D33264E15D33268F24EC260743EDCE1C6C7DDEE725A936BA814915C6762D2"},
    {"4.5", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
     "00112233445566778899AABBCCDDEEFF0001020304050607",
     "A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1"},
    {"4.6", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
     "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
     "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
};

TEST(KeyWrapTest, WrapsAndUnwrapsRfc3394Vectors) {
  for (const Rfc3394Case& c : kRfc3394Cases) {
    SCOPED_TRACE(c.section);
    Bytes kek = Unhex(c.kek);
    Bytes key_data = Unhex(c.key_data);
    CRYPTA_ASSIGN_OR_FAIL(Bytes wrapped, AesKeyWrap(kek, key_data));
    EXPECT_EQ(wrapped, Unhex(c.wrapped));
    CRYPTA_ASSIGN_OR_FAIL(SecretBytes unwrapped, AesKeyUnwrap(kek, Unhex(c.wrapped)));
    EXPECT_EQ(Bytes(unwrapped.Reveal().begin(), unwrapped.Reveal().end()), key_data);
  }
}

TEST(KeyWrapTest, UnwrapRejectsAnyChangedByte) {
  const Rfc3394Case& c = kRfc3394Cases[5];
  Bytes kek = Unhex(c.kek);
  Bytes wrapped = Unhex(c.wrapped);
  for (size_t i = 0; i < wrapped.size(); ++i) {
    Bytes bad = wrapped;
    bad[i] ^= 0x01;
    Result<SecretBytes> r = AesKeyUnwrap(kek, bad);
    ASSERT_FALSE(r) << "byte " << i;
    EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  }
}

TEST(KeyWrapTest, UnwrapRejectsWrongKek) {
  const Rfc3394Case& c = kRfc3394Cases[5];
  Bytes kek = Unhex(c.kek);
  kek[31] ^= 0x80;
  Result<SecretBytes> r = AesKeyUnwrap(kek, Unhex(c.wrapped));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
}

TEST(KeyWrapTest, RejectsBadLengths) {
  Bytes kek32(32, 1);
  EXPECT_FALSE(AesKeyWrap(Bytes(20, 1), Bytes(16, 2)));  // KEK size
  EXPECT_FALSE(AesKeyWrap(kek32, Bytes(8, 2)));          // one block only
  EXPECT_FALSE(AesKeyWrap(kek32, Bytes(17, 2)));         // not a multiple of 8
  EXPECT_FALSE(AesKeyWrap(kek32, Bytes()));
  EXPECT_FALSE(AesKeyUnwrap(kek32, Bytes(16, 0)));  // shorter than 3 semiblocks
  EXPECT_FALSE(AesKeyUnwrap(kek32, Bytes(41, 0)));
  Result<SecretBytes> r = AesKeyUnwrap(Bytes(15, 1), Bytes(24, 0));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace crypta
