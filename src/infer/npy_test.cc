#include "infer/npy.h"

#include <gtest/gtest.h>

#include <string>

#include "testing/test_util.h"

namespace crypta::infer {
namespace {

Bytes NpyFile(std::string header, const Bytes& data, int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  Bytes out = ToBytes("\x93NUMPY");
  out.push_back(static_cast<uint8_t>(major));
  out.push_back(0);
  out.push_back(static_cast<uint8_t>(header.size() & 0xff));
  out.push_back(static_cast<uint8_t>(header.size() >> 8));
  if (major != 1) {
    out.push_back(0);
    out.push_back(0);
  }
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// Bytes numpy 1.24 writes for np.save(f, np.array([[1, 2, 3]], dtype=np.int32)).
TEST(NpyTest, ParsesNumpyOutput) {
  const Bytes file = NpyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 3), }",
                             {1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0});
  CRYPTA_ASSIGN_OR_FAIL(Tensor t, ParseNpy(file, "x"));
  EXPECT_EQ(t.name, "x");
  EXPECT_EQ(t.dtype, DataType::kInt32);
  EXPECT_EQ(t.shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(t.data.size(), 12u);
  EXPECT_EQ(EncodeNpy(t), file);  // our encoder writes the same bytes as numpy
}

TEST(NpyTest, ReadsVersion2AndScalars) {
  CRYPTA_ASSIGN_OR_FAIL(
      Tensor t,
      ParseNpy(NpyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (), }", {1}, 2), "flag"));
  EXPECT_EQ(t.dtype, DataType::kBool);
  EXPECT_TRUE(t.shape.empty());
  EXPECT_EQ(t.data, Bytes{1});
}

TEST(NpyTest, EveryDatatypeRoundTrips) {
  for (DataType type : {DataType::kFp32, DataType::kFp64, DataType::kInt64, DataType::kInt32,
                        DataType::kUint8, DataType::kBool}) {
    Tensor t{"t", type, {2, 1}, Bytes(2 * ElementSize(type), 1)};
    CRYPTA_ASSIGN_OR_FAIL(Tensor back, ParseNpy(EncodeNpy(t), "t"));
    EXPECT_EQ(back.dtype, type);
    EXPECT_EQ(back.shape, t.shape);
    EXPECT_EQ(back.data, t.data);
    EXPECT_EQ(EncodeNpy(t).size() % 64, t.data.size() % 64);  // header padded to 64
  }
  Tensor one_d{"v", DataType::kFp32, {3}, Bytes(12, 0)};
  const Bytes enc = EncodeNpy(one_d);
  EXPECT_NE(AsStringView(enc).find("'shape': (3,)"), std::string_view::npos);
}

// Each case changes one thing in a valid file.
TEST(NpyTest, RejectsBadFilesNamingTheField) {
  const Bytes data12(12, 0);
  const struct {
    Bytes file;
    std::string needle;
  } cases[] = {
      {ToBytes("\x93NUMPZ\x01\x00"), "bad magic"},
      {NpyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 3), }", data12, 4),
       "version 4.0"},
      {NpyFile("{'descr': '>i4', 'fortran_order': False, 'shape': (1, 3), }", data12),
       "unsupported 'descr' '>i4'"},
      {NpyFile("{'descr': '<f2', 'fortran_order': False, 'shape': (1, 3), }", data12),
       "unsupported 'descr'"},
      {NpyFile("{'descr': '<i4', 'fortran_order': True, 'shape': (1, 3), }", data12),
       "fortran_order"},
      {NpyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 4), }", data12),
       "12 bytes, 'shape' needs 16"},
      {NpyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }", data12),
       "12 bytes, 'shape' needs 8"},
      {NpyFile("{'descr': '<i4', 'fortran_order': False}", data12), "needs 'descr'"},
      {NpyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (1, -3), }", data12),
       "'shape' is not a tuple"},
      {NpyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 3), 'x': 1}", data12),
       "unexpected or repeated key 'x'"},
      {NpyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", {1, 2}), "BOOL byte"},
      {NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536, 65536), }", {}),
       "exceeds"},
  };
  for (const auto& c : cases) {
    auto r = ParseNpy(c.file, "x");
    ASSERT_FALSE(r.has_value()) << c.needle;
    EXPECT_NE(r.error().message().find(c.needle), std::string::npos) << r.error().message();
  }
}

TEST(NpyTest, TruncatedHeaderFails) {
  Bytes file = NpyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 3), }", {});
  file.resize(30);
  EXPECT_FALSE(ParseNpy(file, "x").has_value());
}

}  // namespace
}  // namespace crypta::infer
