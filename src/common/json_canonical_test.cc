#include "common/json_canonical.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <limits>

#include "testing/test_util.h"

namespace crypta {
namespace {

using Json = nlohmann::json;

// RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical text.
TEST(JsonCanonicalTest, NumbersMatchRfc8785AppendixB) {
  struct Case {
    uint64_t bits;
    const char* want;
  };
  const Case cases[] = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
  };
  for (const Case& c : cases) {
    double d = std::bit_cast<double>(c.bits);
    CRYPTA_ASSIGN_OR_FAIL(std::string got, FormatJsonNumber(d));
    EXPECT_EQ(got, c.want) << std::hex << c.bits;
    CRYPTA_ASSIGN_OR_FAIL(std::string via_json, CanonicalizeJson(Json(d)));
    EXPECT_EQ(via_json, c.want);
  }
}

// RFC 8785 Appendix B: NaN (0x7fffffffffffffff) and Infinity (0x7ff0000000000000) are
// not JSON numbers.
TEST(JsonCanonicalTest, RejectsNanAndInfinity) {
  EXPECT_FALSE(FormatJsonNumber(std::bit_cast<double>(uint64_t{0x7fffffffffffffff})));
  EXPECT_FALSE(FormatJsonNumber(std::bit_cast<double>(uint64_t{0x7ff0000000000000})));
  EXPECT_FALSE(FormatJsonNumber(-std::numeric_limits<double>::infinity()));
  EXPECT_FALSE(CanonicalizeJson(Json::array({1, std::numeric_limits<double>::quiet_NaN()})));
  EXPECT_FALSE(CanonicalizeJsonText("[1e400]"));  // overflows to Infinity
}

TEST(JsonCanonicalTest, NumberFormatBoundaries) {
  const std::pair<double, const char*> cases[] = {
      {1.0, "1"},          {-1.5, "-1.5"},     {1e20, "100000000000000000000"},
      {1e21, "1e+21"},     {1e-6, "0.000001"}, {1e-7, "1e-7"},
      {123e-9, "1.23e-7"}, {0.5, "0.5"},       {4.5, "4.5"},
  };
  for (const auto& [d, want] : cases) {
    CRYPTA_ASSIGN_OR_FAIL(std::string got, FormatJsonNumber(d));
    EXPECT_EQ(got, want);
  }
}

// RFC 8785 §3.2.2 (the sample input) and §3.2.3 (its canonical output).
TEST(JsonCanonicalTest, MatchesRfc8785Sample) {
  std::string input = crypta::testing::ReadTestdataString("jose/jcs_sample_input.json");
  std::string want = crypta::testing::ReadTestdataString("jose/jcs_sample_output.json");
  while (!want.empty() && want.back() == '\n') want.pop_back();
  CRYPTA_ASSIGN_OR_FAIL(std::string got, CanonicalizeJsonText(input));
  EXPECT_EQ(got, want);
  EXPECT_EQ(got,
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,"
            "1e-27],\"string\":\"\xE2\x82\xAC$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

// RFC 8785 §3.2.3: member names sort by UTF-16 code units. U+1F600 (surrogates D83D DE00)
// sorts before U+FB33 although its UTF-8 bytes (F0...) sort after (EF...).
TEST(JsonCanonicalTest, SortsMemberNamesByUtf16CodeUnits) {
  const char* input = R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })";
  CRYPTA_ASSIGN_OR_FAIL(Json parsed, ParseJsonStrict(input));
  CRYPTA_ASSIGN_OR_FAIL(std::string got, CanonicalizeJson(parsed));
  CRYPTA_ASSIGN_OR_FAIL(Json reparsed, ParseJsonStrict(got));
  // Read the values back in canonical order: parse keeps a std::map, so walk the text.
  const char* order[] = {"Carriage Return",
                         "One",
                         "Control",
                         "Latin Small Letter O With Diaeresis",
                         "Euro Sign",
                         "Emoji: Grinning Face",
                         "Hebrew Letter Dalet With Dagesh"};
  size_t pos = 0;
  for (const char* value : order) {
    size_t found = got.find(value, pos);
    ASSERT_NE(found, std::string::npos) << value << " out of order in " << got;
    pos = found;
  }
  EXPECT_EQ(got.substr(0, 24), "{\"\\r\":\"Carriage Return\",");
  EXPECT_EQ(reparsed, parsed);
}

TEST(JsonCanonicalTest, EscapesOnlyWhatRfc8785Requires) {
  Json s = std::string("a\x01\x1f\b\t\n\f\r\"\\/\x7f\xC3\xB6", 14);
  CRYPTA_ASSIGN_OR_FAIL(std::string got, CanonicalizeJson(s));
  EXPECT_EQ(got, "\"a\\u0001\\u001f\\b\\t\\n\\f\\r\\\"\\\\/\x7f\xC3\xB6\"");
}

TEST(JsonCanonicalTest, IntegersWithinTwoToThe53AreExact) {
  CRYPTA_ASSIGN_OR_FAIL(std::string a,
                        CanonicalizeJsonText("[9007199254740992,-9007199254740992,0,-0]"));
  EXPECT_EQ(a, "[9007199254740992,-9007199254740992,0,0]");
  CRYPTA_ASSIGN_OR_FAIL(std::string b, CanonicalizeJsonText("[1.0, 10e0, 1E2]"));
  EXPECT_EQ(b, "[1,10,100]");
}

TEST(JsonCanonicalTest, RejectsIntegersThatAreNotExactlyTheirDouble) {
  EXPECT_FALSE(CanonicalizeJsonText("[9007199254740993]"));  // would become ...992
  EXPECT_FALSE(CanonicalizeJsonText("[-9007199254740993]"));
  EXPECT_FALSE(CanonicalizeJson(Json(uint64_t{18446744073709551615u})));
  // Beyond 2^53, integers whose double prints as the same digits are accepted.
  CRYPTA_ASSIGN_OR_FAIL(std::string even, CanonicalizeJsonText("[9007199254740994]"));
  EXPECT_EQ(even, "[9007199254740994]");
  // Written as a double, the value is an ordinary (rounded) IEEE-754 number.
  CRYPTA_ASSIGN_OR_FAIL(std::string d, CanonicalizeJsonText("[9007199254740993.0]"));
  EXPECT_EQ(d, "[9007199254740992]");
}

// Found by jwk_fuzz: a double whose canonical text reads back as an int64 must
// canonicalize to the same text again.
TEST(JsonCanonicalTest, CanonicalLargeNumbersReadBackAsIntegersAreFixedPoints) {
  for (const char* input :
       {"-555500415155255292.8", "295147905179352830000", "1e20", "123456789012345680000"}) {
    CRYPTA_ASSIGN_OR_FAIL(std::string once, CanonicalizeJsonText(input));
    CRYPTA_ASSIGN_OR_FAIL(std::string twice, CanonicalizeJsonText(once));
    EXPECT_EQ(once, twice) << input;
  }
  CRYPTA_ASSIGN_OR_FAIL(std::string once, CanonicalizeJsonText("-555500415155255292.8"));
  EXPECT_EQ(once, "-555500415155255300");
}

TEST(JsonCanonicalTest, RejectsDuplicateMemberNames) {
  Result<Json> r = ParseJsonStrict(R"({"a":1,"b":{"c":1,"c":2}})");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("duplicate member name \"c\""), std::string::npos);
  // The same name in sibling objects is fine.
  CRYPTA_EXPECT_OK(ParseJsonStrict(R"({"a":{"c":1},"b":{"c":2}})"));
}

TEST(JsonCanonicalTest, EnforcesSizeAndDepthCaps) {
  JsonParseLimits limits;
  limits.max_bytes = 16;
  Result<Json> big = ParseJsonStrict(R"({"a":"0123456789abcdef"})", limits);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), ErrorCode::kResourceExhausted);

  std::string deep = std::string(65, '[') + std::string(65, ']');
  Result<Json> too_deep = ParseJsonStrict(deep);
  ASSERT_FALSE(too_deep);
  EXPECT_EQ(too_deep.error().code(), ErrorCode::kResourceExhausted);
  CRYPTA_EXPECT_OK(ParseJsonStrict(std::string(64, '[') + std::string(64, ']')));
  // Brackets inside strings do not count.
  CRYPTA_EXPECT_OK(ParseJsonStrict("[\"" + std::string(100, '[') + "\"]"));
}

TEST(JsonCanonicalTest, RejectsMalformedTextAndInvalidUtf8) {
  EXPECT_FALSE(ParseJsonStrict("{\"a\":1} x"));  // trailing data
  EXPECT_FALSE(ParseJsonStrict("{\"a\":1,}"));   // trailing comma
  EXPECT_FALSE(ParseJsonStrict("[NaN]"));
  EXPECT_FALSE(ParseJsonStrict("/* c */ {}"));
  EXPECT_FALSE(ParseJsonStrict("[\"\xC0\xAF\"]"));                    // overlong '/'
  EXPECT_FALSE(ParseJsonStrict("[\"\\ud800\"]"));                     // lone surrogate escape
  EXPECT_FALSE(CanonicalizeJson(Json(std::string("\xED\xA0\x80"))));  // encoded surrogate
  EXPECT_FALSE(CanonicalizeJson(Json{{std::string("\xFF"), 1}}));     // bad member name
  EXPECT_FALSE(CanonicalizeJson(Json::binary({1, 2})));
}

TEST(JsonCanonicalTest, CanonicalFormIsAFixedPoint) {
  const char* input = R"({"b":[1,{"z":null,"a":true}],"a":"x","":-0.5e-10})";
  CRYPTA_ASSIGN_OR_FAIL(std::string once, CanonicalizeJsonText(input));
  EXPECT_EQ(once, R"({"":-5e-11,"a":"x","b":[1,{"a":true,"z":null}]})");
  CRYPTA_ASSIGN_OR_FAIL(std::string twice, CanonicalizeJsonText(once));
  EXPECT_EQ(once, twice);
}

}  // namespace
}  // namespace crypta
