// Test helpers for the model runner tests: the models scripts/make_models.py writes into
// CRYPTA_INFER_MODELS_DIR at build time, and float comparisons against torch's outputs.
#ifndef CRYPTA_INFER_TEST_MODELS_H_
#define CRYPTA_INFER_TEST_MODELS_H_

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "infer/model_runner.h"
#include "infer/npy.h"

namespace crypta::infer::testing {

inline std::filesystem::path ModelPath(const std::string& name) {
  return std::filesystem::path(CRYPTA_INFER_MODELS_DIR) / name;
}

// Skips the calling test when the models were not generated (no python3-torch at configure).
#define CRYPTA_REQUIRE_MODEL(name)                                             \
  do {                                                                         \
    if (!std::filesystem::exists(::crypta::infer::testing::ModelPath(name))) { \
      GTEST_SKIP() << "missing " << ::crypta::infer::testing::ModelPath(name)  \
                   << " (scripts/make_models.py needs python3-torch)";         \
    }                                                                          \
  } while (0)

inline Bytes ReadModelFile(const std::string& name) {
  std::ifstream in(ModelPath(name), std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline ModelSignature ReadSignature(const std::string& name) {
  const Bytes text = ReadModelFile(name);
  auto sig = ParseModelSignatureJson(AsStringView(text));
  EXPECT_TRUE(sig.has_value()) << name;
  return sig ? *sig : ModelSignature{};
}

inline Tensor ReadNpy(const std::string& file, const std::string& tensor_name) {
  auto t = ParseNpy(ReadModelFile(file), tensor_name);
  EXPECT_TRUE(t.has_value()) << file << ": " << (t ? "" : t.error().ToString());
  return t ? *t : Tensor{};
}

inline std::vector<float> Floats(const Tensor& t) {
  std::vector<float> out(t.data.size() / sizeof(float));
  if (!out.empty()) std::memcpy(out.data(), t.data.data(), t.data.size());
  return out;
}

// Element-wise |got - want| <= abs_tol + rel_tol * |want|, shapes equal.
inline void ExpectClose(const Tensor& got, const Tensor& want, double rel_tol = 1e-4,
                        double abs_tol = 1e-5) {
  ASSERT_EQ(got.dtype, DataType::kFp32);
  ASSERT_EQ(got.shape, want.shape);
  const std::vector<float> g = Floats(got), w = Floats(want);
  ASSERT_EQ(g.size(), w.size());
  size_t bad = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::fabs(g[i] - w[i]) > abs_tol + rel_tol * std::fabs(w[i])) {
      if (++bad <= 5) ADD_FAILURE() << "element " << i << ": got " << g[i] << ", want " << w[i];
    }
  }
  EXPECT_EQ(bad, 0u);
}

}  // namespace crypta::infer::testing

#endif  // CRYPTA_INFER_TEST_MODELS_H_
