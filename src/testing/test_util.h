// Helpers shared by tests: reading testdata and unwrapping Results.
#ifndef CRYPTA_TESTING_TEST_UTIL_H_
#define CRYPTA_TESTING_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta::testing {

// The project's testdata/ directory (CRYPTA_TESTDATA_DIR, set by CMake and ctest).
std::filesystem::path TestdataPath(const std::string& relative);
std::string ReadTestdataString(const std::string& relative);
Bytes ReadTestdataBytes(const std::string& relative);
nlohmann::json ReadTestdataJson(const std::string& relative);
// Hex decode that fails the test on bad input.
Bytes Unhex(const std::string& hex);

}  // namespace crypta::testing

// Asserts a Result is ok and yields its value: auto v = CRYPTA_ASSERT_OK_AND_GET(expr);
#define CRYPTA_ASSERT_OK(expr)                                          \
  do {                                                                  \
    auto crypta_r_ = (expr);                                            \
    ASSERT_TRUE(crypta_r_.has_value()) << crypta_r_.error().ToString(); \
  } while (0)
#define CRYPTA_EXPECT_OK(expr)                                          \
  do {                                                                  \
    auto crypta_r_ = (expr);                                            \
    EXPECT_TRUE(crypta_r_.has_value()) << crypta_r_.error().ToString(); \
  } while (0)
#define CRYPTA_ASSIGN_OR_FAIL(lhs, expr)                         \
  auto CRYPTA_CONCAT_(crypta_r_, __LINE__) = (expr);             \
  ASSERT_TRUE(CRYPTA_CONCAT_(crypta_r_, __LINE__).has_value())   \
      << CRYPTA_CONCAT_(crypta_r_, __LINE__).error().ToString(); \
  lhs = std::move(*CRYPTA_CONCAT_(crypta_r_, __LINE__))

#endif  // CRYPTA_TESTING_TEST_UTIL_H_
