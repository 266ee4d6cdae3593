#include "common/time_util.h"

#include <gtest/gtest.h>

namespace crypta {
namespace {

TEST(TimeUtilTest, ParsesRfc3339Forms) {
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseRfc3339("2025-06-01T00:00:00Z"), 1748736000);
  EXPECT_EQ(*ParseRfc3339("2025-06-01"), 1748736000);
  EXPECT_EQ(*ParseRfc3339("2025-06-01T02:00:00.123+02:00"), 1748736000);
  EXPECT_EQ(*ParseRfc3339("2024-02-29T12:00:00Z"), 1709208000);
  EXPECT_EQ(FormatRfc3339(1748736000), "2025-06-01T00:00:00Z");
}

TEST(TimeUtilTest, RejectsMalformedTimes) {
  for (const char* bad : {"", "2025", "2025-13-01", "2025-06-01T25:00:00Z", "2025-06-01T00:00:00",
                          "2025-06-01T00:00:00Zjunk", "June 1st"}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace crypta
