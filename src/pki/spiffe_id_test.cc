#include "pki/spiffe_id.h"

#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace crypta::pki {
namespace {

TEST(SpiffeId, MakesAndParsesTheCryptaForm) {
  CRYPTA_ASSIGN_OR_FAIL(SpiffeId id, MakeSpiffeId("crypta.local", "hr", "payroll-api"));
  EXPECT_EQ(id.ToString(), "spiffe://crypta.local/tenant/hr/workload/payroll-api");
  CRYPTA_ASSIGN_OR_FAIL(SpiffeId parsed, ParseSpiffeId(id.ToString()));
  EXPECT_EQ(parsed.trust_domain, "crypta.local");
  EXPECT_EQ(parsed.tenant, "hr");
  EXPECT_EQ(parsed.workload, "payroll-api");
}

TEST(SpiffeId, RejectsMalformedIds) {
  for (const char* bad : {
           "https://crypta.local/tenant/hr/workload/a",       // scheme
           "spiffe://Crypta.local/tenant/hr/workload/a",      // uppercase trust domain
           "spiffe://crypta.local:443/tenant/hr/workload/a",  // port
           "spiffe://crypta.local/tenant/hr/workload/a/",     // trailing slash
           "spiffe://crypta.local/tenant/hr/workload/A",      // uppercase name
           "spiffe://crypta.local/tenant/hr/workload/-a",     // leading dash
           "spiffe://crypta.local/tenant/hr/service/a",       // wrong keyword
           "spiffe://crypta.local/tenant/hr/workload",        // too short
           "spiffe://crypta.local",                           // no path
           "spiffe:///tenant/hr/workload/a",                  // empty trust domain
           "spiffe://crypta.local/tenant/hr/workload/a?x=1",  // query
       }) {
    auto id = ParseSpiffeId(bad);
    ASSERT_FALSE(id.has_value()) << bad;
    EXPECT_EQ(id.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(MakeSpiffeId("crypta.local", "hr", std::string(64, 'a')).has_value());
  EXPECT_FALSE(MakeSpiffeId("crypta.local", "", "a").has_value());
}

TEST(SpiffeId, MatchesPatternsSegmentBySegment) {
  const std::string id = "spiffe://crypta.local/tenant/hr/workload/payroll";
  EXPECT_TRUE(MatchesSpiffePattern(id, id));
  EXPECT_TRUE(MatchesSpiffePattern(id, "spiffe://crypta.local/tenant/hr/workload/*"));
  EXPECT_TRUE(MatchesSpiffePattern(id, "spiffe://crypta.local/tenant/*/workload/payroll"));
  EXPECT_TRUE(MatchesSpiffePattern(id, "spiffe://crypta.local/tenant/hr/**"));
  EXPECT_FALSE(MatchesSpiffePattern(id, "spiffe://crypta.local/tenant/finance/workload/*"));
  EXPECT_FALSE(MatchesSpiffePattern(id, "spiffe://other.local/tenant/hr/workload/*"));
  EXPECT_FALSE(MatchesSpiffePattern(id, "spiffe://crypta.local/tenant/hr/workload"));
  EXPECT_FALSE(MatchesSpiffePattern(id, "spiffe://crypta.local/tenant/hr/workload/*/x"));
  // "*" is a whole segment, never a prefix or a trust-domain wildcard.
  EXPECT_FALSE(MatchesSpiffePattern(id, "spiffe://crypta.local/tenant/hr/workload/pay*"));
  EXPECT_FALSE(ValidateSpiffePattern("spiffe://crypta.local/tenant/hr/workload/pay*"));
  EXPECT_FALSE(ValidateSpiffePattern("spiffe://*/tenant/hr/workload/x"));
  EXPECT_FALSE(ValidateSpiffePattern("spiffe://crypta.local/**/workload/x"));
  EXPECT_TRUE(ValidateSpiffePattern("spiffe://crypta.local/tenant/hr/workload/*"));
}

}  // namespace
}  // namespace crypta::pki
