#include "testing/test_util.h"

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "common/encoding.h"

namespace crypta::testing {

std::filesystem::path TestdataPath(const std::string& relative) {
  const char* env = std::getenv("CRYPTA_TESTDATA_DIR");
  std::filesystem::path base = env ? env : CRYPTA_TESTDATA_DIR;
  return base / relative;
}

std::string ReadTestdataString(const std::string& relative) {
  std::ifstream in(TestdataPath(relative), std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing testdata file " << TestdataPath(relative);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Bytes ReadTestdataBytes(const std::string& relative) {
  return ToBytes(ReadTestdataString(relative));
}

nlohmann::json ReadTestdataJson(const std::string& relative) {
  return nlohmann::json::parse(ReadTestdataString(relative));
}

Bytes Unhex(const std::string& hex) {
  Result<Bytes> b = HexDecode(hex);
  EXPECT_TRUE(b.has_value()) << "bad hex in test: " << hex;
  return b ? *b : Bytes{};
}

}  // namespace crypta::testing
