#include "audit/denials.h"

#include <gtest/gtest.h>

namespace crypta::audit {
namespace {

TEST(DenialAggregatorTest, RecordsTheFirstOfEachKindAndCountsTheRest) {
  DenialAggregator agg;
  EXPECT_TRUE(agg.Admit("10.0.0.1", "manage tenants", "", "missing or invalid API token", 100));
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(agg.Admit("10.0.0.1", "manage tenants", "", "missing or invalid API token", 101));
  }
  // Reasons that differ only in what they quote are one kind.
  EXPECT_TRUE(agg.Admit("10.0.0.1", "rcar.attest", "",
                        "attest: measurement: 0a0a0a0a0a0a0a0a is not a reference value", 101));
  EXPECT_FALSE(agg.Admit("10.0.0.1", "rcar.attest", "",
                         "attest: measurement: 0b0b0b0b0b0b0b0b is not a reference value", 101));
  // ... but different rules are different kinds.
  EXPECT_TRUE(
      agg.Admit("10.0.0.1", "rcar.attest", "", "attest: debug: the TEE runs in debug", 101));
  // Another source is another kind.
  EXPECT_TRUE(agg.Admit("10.0.0.2", "manage tenants", "", "missing or invalid API token", 101));

  EXPECT_TRUE(agg.Flush(159).empty()) << "the interval has not ended";
  std::vector<DenialSummary> s = agg.Flush(160);
  ASSERT_EQ(s.size(), 2u);  // the kinds seen more than once
  EXPECT_EQ(s[0].action, "manage tenants");
  EXPECT_EQ(s[0].suppressed, 1000u);
  EXPECT_EQ(s[1].action, "rcar.attest");
  EXPECT_EQ(s[1].suppressed, 1u);
  // A new interval records the first of each kind again.
  EXPECT_TRUE(agg.Admit("10.0.0.1", "manage tenants", "", "missing or invalid API token", 161));
}

TEST(DenialAggregatorTest, CapsBoundTheEntriesPerIntervalWhateverTheTraffic) {
  DenialAggregator agg({.interval_s = 60, .max_per_source = 4, .max_total = 10});
  size_t recorded = 0;
  for (int source = 0; source < 100; ++source) {
    for (int kind = 0; kind < 20; ++kind) {
      recorded +=
          agg.Admit("s" + std::to_string(source), "a" + std::to_string(kind), "", "reason", 100);
    }
  }
  EXPECT_EQ(recorded, 10u);
  std::vector<DenialSummary> s = agg.Flush(0, /*force=*/true);
  ASSERT_EQ(s.size(), 1u);  // nothing of a recorded kind repeated; the rest is over the caps
  EXPECT_EQ(s[0].suppressed, 100u * 20u - 10u);
}

}  // namespace
}  // namespace crypta::audit
