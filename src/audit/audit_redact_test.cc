#include <gtest/gtest.h>

#include <string>

#include "audit/redact.h"
#include "testing/test_util.h"

namespace crypta::audit {
namespace {

class RedactTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = Redactor::Create();
    ASSERT_TRUE(r) << r.error().ToString();
    redactor_.emplace(std::move(*r));
  }
  std::string R(std::string_view text) { return redactor_->Redact(text); }
  std::optional<Redactor> redactor_;
};

TEST_F(RedactTest, RedactsEmailAddresses) {
  EXPECT_EQ(R("contact alice.smith+tag@example.co.uk now"), "contact [REDACTED:email] now");
  EXPECT_EQ(R("a@b.io,c@d.org"), "[REDACTED:email],[REDACTED:email]");
  EXPECT_EQ(R("user@localhost and @handle"), "user@localhost and @handle");
}

TEST_F(RedactTest, RedactsLuhnValidCardNumbersOnly) {
  EXPECT_EQ(R("card 4111111111111111 ok"), "card [REDACTED:card] ok");
  EXPECT_EQ(R("card 4111 1111 1111 1111"), "card [REDACTED:card]");
  EXPECT_EQ(R("card 5500-0000-0000-0004."), "card [REDACTED:card].");
  EXPECT_EQ(R("amex 378282246310005"), "amex [REDACTED:card]");
  // A neighbouring number taken in by the regex does not hide the card.
  EXPECT_EQ(R("4111 1111 1111 1111 2 items"), "[REDACTED:card] 2 items");
  // Near misses: one digit off (Luhn fails), too short, too long.
  EXPECT_EQ(R("card 4111111111111112"), "card 4111111111111112");
  EXPECT_EQ(R("card 4111 1111 1111 1112"), "card 4111 1111 1111 1112");
  EXPECT_EQ(R("id 424242424242"), "id 424242424242");
  EXPECT_EQ(R("id 41111111111111111111"), "id 41111111111111111111");
  EXPECT_TRUE(PassesLuhn("79927398713"));
  EXPECT_FALSE(PassesLuhn("79927398710"));
}

TEST_F(RedactTest, RedactsIbansPassingMod97) {
  EXPECT_EQ(R("pay DE89370400440532013000 today"), "pay [REDACTED:iban] today");
  EXPECT_EQ(R("pay GB82 WEST 1234 5698 7654 32"), "pay [REDACTED:iban]");
  EXPECT_TRUE(PassesIbanMod97("GB82WEST12345698765432"));
  // One character changed: check digits fail, so the text stays.
  EXPECT_FALSE(PassesIbanMod97("GB82WEST12345698765433"));
  EXPECT_EQ(R("ref GB82WEST12345698765433"), "ref GB82WEST12345698765433");
}

TEST_F(RedactTest, RedactsUsSocialSecurityNumbers) {
  EXPECT_EQ(R("ssn 123-45-6789."), "ssn [REDACTED:ssn].");
  // Never issued: area 000, 666, 9xx; group 00; serial 0000. And other shapes.
  for (const char* never_issued : {"000-12-3456", "666-12-3456", "912-34-5678"}) {
    EXPECT_EQ(R(never_issued), never_issued);
  }
  EXPECT_EQ(R("123-00-4567 123-45-0000"), "123-00-4567 123-45-0000");
  EXPECT_EQ(R("v1234-56-7890"), "v1234-56-7890");
}

TEST_F(RedactTest, RedactsPhoneNumbers) {
  EXPECT_EQ(R("call +44 20 7946 0958"), "call [REDACTED:phone]");
  EXPECT_EQ(R("call +1 (555) 123-4567 now"), "call [REDACTED:phone] now");
  EXPECT_EQ(R("call +4930123456789"), "call [REDACTED:phone]");
  EXPECT_EQ(R("call (555) 123-4567"), "call [REDACTED:phone]");
  EXPECT_EQ(R("call 555-123-4567 or 555.123.4567"), "call [REDACTED:phone] or [REDACTED:phone]");
  // Near misses: too few digits, version numbers, plain counts.
  EXPECT_EQ(R("+12 3"), "+12 3");
  EXPECT_EQ(R("version 1.2.3, 12345 rows"), "version 1.2.3, 12345 rows");
  EXPECT_EQ(R("555-1234"), "555-1234");
}

TEST_F(RedactTest, RedactsIpAddresses) {
  EXPECT_EQ(R("from 192.168.1.20:443"), "from [REDACTED:ipv4]:443");
  EXPECT_EQ(R("from 10.0.0.256"), "from 10.0.0.256");
  EXPECT_EQ(R("version 1.2.3.4.5"), "version 1.2.3.4.5");
  EXPECT_EQ(R("from 2001:db8::8a2e:370:7334 ok"), "from [REDACTED:ipv6] ok");
  EXPECT_EQ(R("peer ::1."), "peer [REDACTED:ipv6].");
  EXPECT_EQ(R("mapped ::ffff:192.0.2.1"), "mapped [REDACTED:ipv6]");
  EXPECT_EQ(R("fe80::1%eth0"), "[REDACTED:ipv6]%eth0");
  // Near misses: C++ names, times, MAC-like strings.
  EXPECT_EQ(R("std::string at 12:30:45"), "std::string at 12:30:45");
  EXPECT_EQ(R("1:2:3:4:5:6:7:8:9"), "1:2:3:4:5:6:7:8:9");
}

TEST_F(RedactTest, RedactsMedicalRecordNumbers) {
  EXPECT_EQ(R("patient MRN: 12345678 seen"), "patient [REDACTED:mrn] seen");
  EXPECT_EQ(R("mrn#0012345"), "[REDACTED:mrn]");
  EXPECT_EQ(R("MRN 123"), "MRN 123");
  RedactorOptions options;
  options.mrn_pattern = R"(\bMR-[A-Z]{2}\d{4}\b)";
  CRYPTA_ASSIGN_OR_FAIL(Redactor custom, Redactor::Create(options));
  EXPECT_EQ(custom.Redact("id MR-AB1234"), "id [REDACTED:mrn]");
  EXPECT_EQ(custom.Redact("MRN: 12345678"), "MRN: 12345678");
}

TEST_F(RedactTest, AppliesExtraPatternsAndRejectsBadOnes) {
  RedactorOptions options;
  options.extra_patterns["employee"] = R"(\bEMP-\d{5}\b)";
  CRYPTA_ASSIGN_OR_FAIL(Redactor custom, Redactor::Create(options));
  EXPECT_EQ(custom.Redact("by EMP-12345 for a@b.io"),
            "by [REDACTED:employee] for [REDACTED:email]");
  RedactorOptions bad_regex;
  bad_regex.extra_patterns["x"] = "(unclosed";
  EXPECT_FALSE(Redactor::Create(bad_regex));
  RedactorOptions bad_name;
  bad_name.extra_patterns["Bad Name"] = "x";
  EXPECT_FALSE(Redactor::Create(bad_name));
  RedactorOptions builtin;
  builtin.extra_patterns["email"] = "x";
  EXPECT_FALSE(Redactor::Create(builtin));
}

TEST_F(RedactTest, RedactJsonWalksStringValuesOnly) {
  nlohmann::json in = {{"user", "bob@example.com"},
                       {"bob@example.com", 1},
                       {"nested", {{"ips", {"10.1.2.3", 42, nullptr, true}}}}};
  nlohmann::json out = redactor_->RedactJson(in);
  EXPECT_EQ(out["user"], "[REDACTED:email]");
  EXPECT_EQ(out["bob@example.com"], 1);  // keys are kept
  EXPECT_EQ(out["nested"]["ips"], nlohmann::json({"[REDACTED:ipv4]", 42, nullptr, true}));
}

TEST_F(RedactTest, OversizedTextIsReplacedWhole) {
  std::string big(kMaxRedactBytes + 1, 'a');
  EXPECT_EQ(R(big), "[REDACTED:oversize]");
  std::string ok(kMaxRedactBytes, 'a');
  EXPECT_EQ(R(ok), ok);
}

// Long runs of the characters each pattern repeats: std::regex recurses per repetition,
// so every built-in quantifier is bounded. (Run under ASan, whose frames are larger.)
TEST_F(RedactTest, LongRunsAtTheSizeCapAreHandled) {
  for (std::string unit : {"a", ":", "1", "1 ", "a@", "a.", "+1", "MRN ", "DE89 ", "f:"}) {
    std::string text;
    while (text.size() + unit.size() <= kMaxRedactBytes) text += unit;
    std::string out = R(text);
    EXPECT_NE(out, "[REDACTED:error]") << "unit '" << unit << "'";
  }
  std::string long_local = std::string(100, 'x') + "@example.com";
  EXPECT_EQ(R(long_local).find("@example.com"), std::string::npos);
}

}  // namespace
}  // namespace crypta::audit
