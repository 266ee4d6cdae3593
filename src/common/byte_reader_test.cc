// ByteReader: every read type, fail-unchanged semantics, QUIC varints (RFC 9000 §A.1
// examples), reserved ranges and trailing-byte rejection.
#include "common/byte_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace crypta {
namespace {

using ::crypta::testing::Unhex;
using ::testing::HasSubstr;

const Bytes kCounting = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

TEST(ByteReaderTest, ReadsBigEndianIntegers) {
  ByteReader r(kCounting);
  CRYPTA_ASSIGN_OR_FAIL(uint8_t u8, r.ReadU8("u8"));
  EXPECT_EQ(u8, 0x01);
  CRYPTA_ASSIGN_OR_FAIL(uint16_t u16, r.ReadU16BE("u16"));
  EXPECT_EQ(u16, 0x0203);
  EXPECT_EQ(r.position(), 3u);
  EXPECT_EQ(r.remaining(), 5u);
  ByteReader r32(kCounting);
  CRYPTA_ASSIGN_OR_FAIL(uint32_t u32, r32.ReadU32BE("u32"));
  EXPECT_EQ(u32, 0x01020304u);
  ByteReader r64(kCounting);
  CRYPTA_ASSIGN_OR_FAIL(uint64_t u64, r64.ReadU64BE("u64"));
  EXPECT_EQ(u64, 0x0102030405060708ull);
  EXPECT_TRUE(r64.empty());
}

TEST(ByteReaderTest, ReadsLittleEndianIntegers) {
  ByteReader r16(kCounting);
  CRYPTA_ASSIGN_OR_FAIL(uint16_t u16, r16.ReadU16LE("u16"));
  EXPECT_EQ(u16, 0x0201);
  ByteReader r32(kCounting);
  CRYPTA_ASSIGN_OR_FAIL(uint32_t u32, r32.ReadU32LE("u32"));
  EXPECT_EQ(u32, 0x04030201u);
  ByteReader r64(kCounting);
  CRYPTA_ASSIGN_OR_FAIL(uint64_t u64, r64.ReadU64LE("u64"));
  EXPECT_EQ(u64, 0x0807060504030201ull);
  const Bytes high = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
  ByteReader rh(high);
  CRYPTA_ASSIGN_OR_FAIL(uint64_t v, rh.ReadU64LE("high"));
  EXPECT_EQ(v, 0xfeffffffffffffffull);
}

TEST(ByteReaderTest, FailedReadsLeaveTheCursorUnchangedAndNameTheField) {
  ByteReader r(kCounting);
  ASSERT_TRUE(r.Skip(5, "head").has_value());
  auto u64 = r.ReadU64BE("report.version");
  ASSERT_FALSE(u64.has_value());
  EXPECT_EQ(u64.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(u64.error().message(), HasSubstr("report.version"));
  EXPECT_THAT(u64.error().message(), HasSubstr("need 8"));
  EXPECT_EQ(r.position(), 5u);
  EXPECT_FALSE(r.ReadU32LE("x").has_value());
  EXPECT_FALSE(r.ReadBytes(4, "x").has_value());
  EXPECT_FALSE(r.Skip(4, "x").has_value());
  EXPECT_FALSE(r.ExpectZero(4, "x").has_value());
  EXPECT_EQ(r.position(), 5u);
  CRYPTA_ASSIGN_OR_FAIL(uint16_t rest, r.ReadU16BE("rest"));
  EXPECT_EQ(rest, 0x0607);

  ByteReader empty(ByteSpan{});
  EXPECT_FALSE(empty.ReadU8("x").has_value());
  EXPECT_FALSE(empty.ReadVarint("x").has_value());
  CRYPTA_ASSIGN_OR_FAIL(ByteSpan none, empty.ReadBytes(0, "none"));
  EXPECT_TRUE(none.empty());
}

TEST(ByteReaderTest, ReadBytesReturnsAViewAndRestFollowsTheCursor) {
  ByteReader r(kCounting);
  CRYPTA_ASSIGN_OR_FAIL(ByteSpan three, r.ReadBytes(3, "three"));
  EXPECT_EQ(Bytes(three.begin(), three.end()), (Bytes{1, 2, 3}));
  EXPECT_EQ(three.data(), kCounting.data());
  EXPECT_EQ(r.rest().size(), 5u);
  EXPECT_EQ(r.rest()[0], 4);
  EXPECT_FALSE(r.ReadBytes(SIZE_MAX, "huge").has_value());
  EXPECT_EQ(r.position(), 3u);
}

TEST(ByteReaderTest, VarintsFromRfc9000AppendixA1) {
  struct Case {
    const char* hex;
    uint64_t value;
  };
  for (const Case& c :
       {Case{"c2197c5eff14e88c", 151288809941952652ull}, Case{"9d7f3e7d", 494878333ull},
        Case{"7bbd", 15293ull}, Case{"25", 37ull}, Case{"4025", 37ull}}) {
    Bytes data = Unhex(c.hex);
    ByteReader r(data);
    CRYPTA_ASSIGN_OR_FAIL(uint64_t v, r.ReadVarint("varint"));
    EXPECT_EQ(v, c.value) << c.hex;
    EXPECT_TRUE(r.empty()) << c.hex;
  }
  Bytes max = Unhex("ffffffffffffffff");
  ByteReader rm(max);
  CRYPTA_ASSIGN_OR_FAIL(uint64_t v, rm.ReadVarint("max"));
  EXPECT_EQ(v, (1ull << 62) - 1);
}

TEST(ByteReaderTest, TruncatedVarintFailsUnchanged) {
  Bytes data = Unhex("c2197c");  // 8-byte form, 3 bytes present
  ByteReader r(data);
  auto v = r.ReadVarint("frame.length");
  ASSERT_FALSE(v.has_value());
  EXPECT_THAT(v.error().message(), HasSubstr("frame.length"));
  EXPECT_EQ(r.position(), 0u);
}

TEST(ByteReaderTest, LengthPrefixedFields) {
  Bytes data = Unhex(
      "03aabbcc"
      "0002ddee"
      "00000001ff"
      "02abcd");
  ByteReader r(data);
  CRYPTA_ASSIGN_OR_FAIL(ByteSpan a, r.ReadLengthPrefixed(1, "a"));
  EXPECT_EQ(Bytes(a.begin(), a.end()), Unhex("aabbcc"));
  CRYPTA_ASSIGN_OR_FAIL(ByteSpan b, r.ReadLengthPrefixed(2, "b"));
  EXPECT_EQ(Bytes(b.begin(), b.end()), Unhex("ddee"));
  CRYPTA_ASSIGN_OR_FAIL(ByteSpan c, r.ReadLengthPrefixed(4, "c"));
  EXPECT_EQ(Bytes(c.begin(), c.end()), Unhex("ff"));
  CRYPTA_ASSIGN_OR_FAIL(ByteSpan d, r.ReadVarintPrefixed("d"));
  EXPECT_EQ(Bytes(d.begin(), d.end()), Unhex("abcd"));
  CRYPTA_ASSERT_OK(r.Finish("fields"));
}

TEST(ByteReaderTest, LengthPrefixLongerThanDataFailsUnchanged) {
  Bytes data = Unhex("0005aabb");
  ByteReader r(data);
  auto field = r.ReadLengthPrefixed(2, "key_name");
  ASSERT_FALSE(field.has_value());
  EXPECT_THAT(field.error().message(), HasSubstr("key_name"));
  EXPECT_EQ(r.position(), 0u);  // the prefix is not consumed either

  Bytes vdata = Unhex("4005aabb");  // varint 5, then two bytes
  ByteReader rv(vdata);
  EXPECT_FALSE(rv.ReadVarintPrefixed("content").has_value());
  EXPECT_EQ(rv.position(), 0u);

  Bytes huge = Unhex("ffffffffffffffff00");  // varint 2^62-1
  ByteReader rh(huge);
  EXPECT_FALSE(rh.ReadVarintPrefixed("content").has_value());
  EXPECT_EQ(rh.position(), 0u);
}

TEST(ByteReaderTest, LengthPrefixWidthOutsideOneToEightIsRejected) {
  Bytes data = Unhex("00000000000000000000");
  for (int width : {0, 9, -1}) {
    ByteReader r(data);
    EXPECT_FALSE(r.ReadLengthPrefixed(width, "field").has_value()) << width;
    EXPECT_EQ(r.position(), 0u) << width;
  }
}

TEST(ByteReaderTest, ExpectZeroChecksReservedBytes) {
  Bytes data = Unhex("0000000100");
  ByteReader r(data);
  CRYPTA_ASSERT_OK(r.ExpectZero(2, "reserved1"));
  EXPECT_EQ(r.position(), 2u);
  auto bad = r.ExpectZero(3, "reserved2");
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error().message(), HasSubstr("reserved2"));
  EXPECT_THAT(bad.error().message(), HasSubstr("offset 3"));
  EXPECT_EQ(r.position(), 2u);
  CRYPTA_ASSERT_OK(r.ExpectZero(0, "nothing"));
}

TEST(ByteReaderTest, FinishRejectsTrailingBytes) {
  ByteReader r(kCounting);
  ASSERT_TRUE(r.Skip(6, "head").has_value());
  auto finished = r.Finish("attestation report");
  ASSERT_FALSE(finished.has_value());
  EXPECT_THAT(finished.error().message(), HasSubstr("attestation report"));
  EXPECT_THAT(finished.error().message(), HasSubstr("2 unexpected trailing bytes"));
  ASSERT_TRUE(r.Skip(2, "tail").has_value());
  CRYPTA_ASSERT_OK(r.Finish("attestation report"));
}

}  // namespace
}  // namespace crypta
