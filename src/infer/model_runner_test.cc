#include "infer/model_runner.h"

#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace crypta::infer {
namespace {

TEST(DataTypeTest, NamesRoundTrip) {
  for (DataType t : {DataType::kFp32, DataType::kFp64, DataType::kInt64, DataType::kInt32,
                     DataType::kUint8, DataType::kBool}) {
    CRYPTA_ASSIGN_OR_FAIL(DataType back, ParseDataType(DataTypeName(t)));
    EXPECT_EQ(back, t);
  }
  EXPECT_EQ(ElementSize(DataType::kFp64), 8u);
  EXPECT_EQ(ElementSize(DataType::kBool), 1u);
  EXPECT_FALSE(ParseDataType("fp32").has_value());
}

TEST(ElementCountTest, MultipliesAndCaps) {
  EXPECT_EQ(*ElementCount({2, 3, 4}), 24u);
  EXPECT_EQ(*ElementCount({}), 1u);
  EXPECT_EQ(*ElementCount({0, int64_t{1} << 62}), 0u);
  EXPECT_FALSE(ElementCount({-1, 3}).has_value());
  EXPECT_FALSE(ElementCount({int64_t{1} << 40, int64_t{1} << 40}).has_value());
  EXPECT_FALSE(ElementCount({5}, 4).has_value());
}

TEST(SignatureTest, JsonRoundTripAndValidation) {
  const std::string text =
      R"({"inputs":[{"name":"input","datatype":"FP32","shape":[-1,3,32,32]}],
          "outputs":[{"name":"logits","datatype":"FP32","shape":[-1,10]}]})";
  CRYPTA_ASSIGN_OR_FAIL(ModelSignature sig, ParseModelSignatureJson(text));
  ASSERT_EQ(sig.inputs.size(), 1u);
  EXPECT_EQ(sig.inputs[0].shape, (std::vector<int64_t>{-1, 3, 32, 32}));
  CRYPTA_ASSIGN_OR_FAIL(ModelSignature again, ParseModelSignatureJson(ModelSignatureToJson(sig)));
  EXPECT_EQ(again.outputs[0].name, "logits");

  EXPECT_FALSE(ParseModelSignatureJson(R"({"inputs":[],"outputs":[]})").has_value());
  auto dup = ParseModelSignatureJson(
      R"({"inputs":[{"name":"a","datatype":"FP32","shape":[1]},{"name":"a","datatype":"FP32","shape":[1]}],
          "outputs":[{"name":"y","datatype":"FP32","shape":[1]}]})");
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().message().find("'a' is declared twice"), std::string::npos);
  EXPECT_FALSE(ParseModelSignatureJson(
                   R"({"inputs":[{"name":"a","datatype":"FP32","shape":[-2]}],
                       "outputs":[{"name":"y","datatype":"FP32","shape":[1]}]})")
                   .has_value());
}

TEST(MatchInputsTest, OrdersBySignatureAndChecksEachInput) {
  ModelSignature sig;
  sig.inputs = {{"a", DataType::kFp32, {-1, 2}}, {"b", DataType::kInt64, {3}}};
  sig.outputs = {{"y", DataType::kFp32, {-1}}};
  std::vector<Tensor> inputs = {{"b", DataType::kInt64, {3}, Bytes(24)},
                                {"a", DataType::kFp32, {5, 2}, Bytes(40)}};
  CRYPTA_ASSIGN_OR_FAIL(auto ordered, MatchInputs(sig, inputs));
  EXPECT_EQ(ordered[0]->name, "a");
  EXPECT_EQ(ordered[1]->name, "b");

  inputs[1].data.resize(39);
  auto short_data = MatchInputs(sig, inputs);
  ASSERT_FALSE(short_data.has_value());
  EXPECT_NE(short_data.error().message().find("input 'a': 39 data bytes"), std::string::npos);
  inputs[1].data.resize(40);
  inputs[0].shape = {4};
  EXPECT_FALSE(MatchInputs(sig, inputs).has_value());
}

TEST(DeviceTest, NamesRoundTrip) {
  for (Device d : {Device::kAuto, Device::kCpu, Device::kCuda}) {
    CRYPTA_ASSIGN_OR_FAIL(Device back, ParseDevice(DeviceName(d)));
    EXPECT_EQ(back, d);
  }
  auto bad = ParseDevice("gpu");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("want auto, cpu or cuda"), std::string::npos);
  EXPECT_FALSE(ParseDevice("CUDA").has_value());
}

// The rules --device follows (crypta-runtime) and LoadModel applies, for every kind of host.
TEST(DeviceTest, SelectDeviceByBackendAndHost) {
  const CudaProbe cpu_only{};        // Debian's libtorch
  const CudaProbe no_gpu{true, 0};   // CUDA libtorch, no GPU (or driver) visible
  const CudaProbe one_gpu{true, 1};  // CUDA libtorch and a GPU
  const auto select = [](std::string_view backend, Device d, const CudaProbe& p) {
    return SelectDevice(backend, d, p);
  };
  // torchscript: auto follows the probe, cpu is always cpu, cuda needs a visible GPU.
  EXPECT_EQ(*select("torchscript", Device::kAuto, cpu_only), Device::kCpu);
  EXPECT_EQ(*select("torchscript", Device::kAuto, no_gpu), Device::kCpu);
  EXPECT_EQ(*select("torchscript", Device::kAuto, one_gpu), Device::kCuda);
  EXPECT_EQ(*select("torchscript", Device::kCpu, one_gpu), Device::kCpu);
  EXPECT_EQ(*select("torchscript", Device::kCuda, one_gpu), Device::kCuda);

  auto built_without = select("torchscript", Device::kCuda, cpu_only);
  ASSERT_FALSE(built_without.has_value());
  EXPECT_EQ(built_without.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(built_without.error().message().find("libtorch was built without CUDA"),
            std::string::npos);
  EXPECT_EQ(built_without.error().message().find('\n'), std::string::npos);  // one line

  auto invisible = select("torchscript", Device::kCuda, no_gpu);
  ASSERT_FALSE(invisible.has_value());
  EXPECT_EQ(invisible.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(invisible.error().message().find("no CUDA GPU is visible"), std::string::npos);

  // onnx: CPU whatever the host has; cuda names the backend.
  EXPECT_EQ(*select("onnx", Device::kAuto, one_gpu), Device::kCpu);
  EXPECT_EQ(*select("onnx", Device::kCpu, cpu_only), Device::kCpu);
  auto onnx_cuda = select("onnx", Device::kCuda, one_gpu);
  ASSERT_FALSE(onnx_cuda.has_value());
  EXPECT_EQ(onnx_cuda.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(onnx_cuda.error().message().find("the onnx backend (OpenCV DNN) runs on the CPU only"),
            std::string::npos);

  auto unknown = select("tensorflow", Device::kAuto, one_gpu);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message().find("unknown backend"), std::string::npos);
}

}  // namespace
}  // namespace crypta::infer
