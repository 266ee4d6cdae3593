// TorchScript runner against models and outputs made by torch itself (make_models.py).
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "infer/model_runner.h"
#include "infer/test_models.h"
#include "testing/test_util.h"

namespace crypta::infer {
namespace {

using testing::ExpectClose;
using testing::ReadModelFile;
using testing::ReadNpy;
using testing::ReadSignature;

Result<std::unique_ptr<ModelRunner>> LoadTiny(std::optional<ModelSignature> sig) {
  LoadOptions options;
  options.backend = "torchscript";
  options.signature = std::move(sig);
  return LoadModel(ReadModelFile("tiny_cnn.pt"), options);
}

template <typename T>
Tensor Make(std::string name, DataType dtype, std::vector<T> values) {
  Tensor t{std::move(name), dtype, {static_cast<int64_t>(values.size())}, {}};
  t.data.resize(values.size() * sizeof(T));
  std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

template <typename T>
std::vector<T> Get(const Tensor& t) {
  std::vector<T> out(t.data.size() / sizeof(T));
  std::memcpy(out.data(), t.data.data(), t.data.size());
  return out;
}

TEST(TorchScriptRunnerTest, TinyCnnMatchesTorch) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  CRYPTA_ASSIGN_OR_FAIL(auto runner, LoadTiny(ReadSignature("tiny_cnn.signature.json")));
  EXPECT_EQ(runner->backend(), "torchscript");
  ASSERT_EQ(runner->signature().inputs.size(), 1u);
  CRYPTA_ASSIGN_OR_FAIL(auto outputs, runner->Run({ReadNpy("tiny_cnn.input.npy", "input")}));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].name, "logits");
  ExpectClose(outputs[0], ReadNpy("tiny_cnn.expected.npy", "logits"));
}

TEST(TorchScriptRunnerTest, ConcurrentRunsGiveTheSameOutputs) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  CRYPTA_ASSIGN_OR_FAIL(auto runner, LoadTiny(ReadSignature("tiny_cnn.signature.json")));
  const Tensor input = ReadNpy("tiny_cnn.input.npy", "input");
  const Tensor expected = ReadNpy("tiny_cnn.expected.npy", "logits");
  std::vector<std::thread> threads;
  std::vector<Result<std::vector<Tensor>>> results(4, MakeError(ErrorCode::kInternal, "unset"));
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 5; ++k) results[i] = runner->Run({input});
    });
  }
  for (auto& t : threads) t.join();
  for (auto& r : results) {
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    ExpectClose((*r)[0], expected);
  }
}

TEST(TorchScriptRunnerTest, RequiresASignature) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  auto r = LoadTiny(std::nullopt);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("signature is required"), std::string::npos);
}

TEST(TorchScriptRunnerTest, RejectsSignatureWithWrongInputCount) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  ModelSignature sig = ReadSignature("tiny_cnn.signature.json");
  sig.inputs.push_back({"extra", DataType::kFp32, {-1}});
  auto r = LoadTiny(sig);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("forward() takes 1 inputs"), std::string::npos);
}

TEST(TorchScriptRunnerTest, RejectsBadModelBytes) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  LoadOptions options;
  options.backend = "torchscript";
  options.signature = ReadSignature("tiny_cnn.signature.json");
  auto garbage = LoadModel(ToBytes("this is not a zip archive"), options);
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(garbage.error().message().find("cannot load the model"), std::string::npos);

  Bytes truncated = ReadModelFile("tiny_cnn.pt");
  truncated.resize(truncated.size() / 2);
  EXPECT_FALSE(LoadModel(truncated, options).has_value());

  options.backend = "tensorflow";
  auto unknown = LoadModel(ReadModelFile("tiny_cnn.pt"), options);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message().find("unknown backend"), std::string::npos);
}

TEST(TorchScriptRunnerTest, RejectsBadInputsNamingThem) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  CRYPTA_ASSIGN_OR_FAIL(auto runner, LoadTiny(ReadSignature("tiny_cnn.signature.json")));
  const Tensor good = ReadNpy("tiny_cnn.input.npy", "input");

  Tensor wrong_dtype{"input", DataType::kFp64, good.shape, Bytes(good.data.size() * 2)};
  Tensor wrong_shape{"input", DataType::kFp32, {4, 3, 16, 64}, good.data};
  Tensor wrong_name = good;
  wrong_name.name = "image";
  Tensor short_data = good;
  short_data.data.resize(good.data.size() - 4);
  const struct {
    std::vector<Tensor> inputs;
    std::string needle;
  } cases[] = {
      {{wrong_dtype}, "input 'input': datatype FP64, want FP32"},
      {{wrong_shape}, "input 'input': shape [4,3,16,64], want [-1,3,32,32]"},
      {{wrong_name}, "input 'image' is not an input of the model"},
      {{}, "missing input 'input'"},
      {{good, good}, "given twice"},
      {{short_data}, "data bytes"},
  };
  for (const auto& c : cases) {
    auto r = runner->Run(c.inputs);
    ASSERT_FALSE(r.has_value()) << c.needle;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(c.needle), std::string::npos) << r.error().message();
  }
}

TEST(TorchScriptRunnerTest, ModelErrorsAreReturnedNotThrown) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  ModelSignature loose = ReadSignature("tiny_cnn.signature.json");
  loose.inputs[0].shape = {-1, -1, -1, -1};
  CRYPTA_ASSIGN_OR_FAIL(auto runner, LoadTiny(loose));
  // 3x8x8 passes the loose signature but not the model's Linear layer.
  auto r = runner->Run({Tensor{"input", DataType::kFp32, {1, 3, 8, 8}, Bytes(3 * 8 * 8 * 4)}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("model rejected the input"), std::string::npos);
}

TEST(TorchScriptRunnerTest, OutputDisagreeingWithSignatureIsAnError) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  ModelSignature sig = ReadSignature("tiny_cnn.signature.json");
  sig.outputs[0].dtype = DataType::kFp64;
  CRYPTA_ASSIGN_OR_FAIL(auto runner, LoadTiny(sig));
  auto r = runner->Run({ReadNpy("tiny_cnn.input.npy", "input")});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("output 'logits': datatype FP32, want FP64"),
            std::string::npos);
}

// dtypes.pt returns (a*2, b*2, c+1, d+1, e+1, logical_not(f)).
TEST(TorchScriptRunnerTest, EveryDatatypeRoundTrips) {
  CRYPTA_REQUIRE_MODEL("dtypes.pt");
  LoadOptions options;
  options.backend = "torchscript";
  options.signature = ReadSignature("dtypes.signature.json");
  CRYPTA_ASSIGN_OR_FAIL(auto runner, LoadModel(ReadModelFile("dtypes.pt"), options));
  const int64_t big = (int64_t{1} << 62) + 1;  // not representable as a double
  // Given out of order on purpose: inputs are matched by name.
  std::vector<Tensor> inputs = {
      Make<uint8_t>("f", DataType::kBool, {1, 0, 1}),
      Make<float>("a", DataType::kFp32, {1.5f, -2.0f, 0.1f}),
      Make<double>("b", DataType::kFp64, {1e-300, 3.0, -0.5}),
      Make<int64_t>("c", DataType::kInt64, {big, -1, 0}),
      Make<int32_t>("d", DataType::kInt32, {2147483646, -7, 0}),
      Make<uint8_t>("e", DataType::kUint8, {0, 254, 255}),
  };
  CRYPTA_ASSIGN_OR_FAIL(auto out, runner->Run(inputs));
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0].name, "a_out");
  EXPECT_EQ(Get<float>(out[0]), (std::vector<float>{3.0f, -4.0f, 0.2f}));
  EXPECT_EQ(Get<double>(out[1]), (std::vector<double>{2e-300, 6.0, -1.0}));
  EXPECT_EQ(Get<int64_t>(out[2]), (std::vector<int64_t>{big + 1, 0, 1}));
  EXPECT_EQ(Get<int32_t>(out[3]), (std::vector<int32_t>{2147483647, -6, 1}));
  EXPECT_EQ(out[4].data, (Bytes{1, 255, 0}));  // uint8 wraps
  EXPECT_EQ(out[5].dtype, DataType::kBool);
  EXPECT_EQ(out[5].data, (Bytes{0, 1, 0}));
  for (const Tensor& t : out) EXPECT_EQ(t.shape, std::vector<int64_t>{3});
}

// --- Devices (GPU inference). The CPU path runs everywhere; the CUDA comparison needs a
// libtorch with CUDA (-DCRYPTA_TORCH_DIR) and a GPU, and is skipped otherwise.

Result<std::unique_ptr<ModelRunner>> LoadTinyOn(Device device) {
  LoadOptions options;
  options.backend = "torchscript";
  options.signature = ReadSignature("tiny_cnn.signature.json");
  options.device = device;
  return LoadModel(ReadModelFile("tiny_cnn.pt"), options);
}

TEST(TorchScriptDeviceTest, CpuRunsAndSaysSo) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  CRYPTA_ASSIGN_OR_FAIL(auto runner, LoadTinyOn(Device::kCpu));
  EXPECT_EQ(runner->device(), Device::kCpu);
  CRYPTA_ASSIGN_OR_FAIL(auto outputs, runner->Run({ReadNpy("tiny_cnn.input.npy", "input")}));
  ExpectClose(outputs[0], ReadNpy("tiny_cnn.expected.npy", "logits"));
}

TEST(TorchScriptDeviceTest, AutoFollowsTheProbe) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  CRYPTA_ASSIGN_OR_FAIL(auto runner, LoadTinyOn(Device::kAuto));
  EXPECT_EQ(runner->device(), ProbeCuda().devices > 0 ? Device::kCuda : Device::kCpu);
  CRYPTA_ASSIGN_OR_FAIL(auto outputs, runner->Run({ReadNpy("tiny_cnn.input.npy", "input")}));
  ExpectClose(outputs[0], ReadNpy("tiny_cnn.expected.npy", "logits"), 1e-3, 1e-4);
}

TEST(TorchScriptDeviceTest, CudaWithoutAGpuFailsClearly) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  const CudaProbe probe = ProbeCuda();
  if (probe.devices > 0) GTEST_SKIP() << "a CUDA GPU is visible: nothing to refuse";
  auto r = LoadTinyOn(Device::kCuda);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  const std::string& msg = r.error().message();
  EXPECT_EQ(msg.rfind("device cuda: ", 0), 0u) << msg;
  EXPECT_NE(msg.find(probe.built_with_cuda ? "no CUDA GPU is visible"
                                           : "libtorch was built without CUDA"),
            std::string::npos)
      << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(TorchScriptDeviceTest, OnnxRefusesCuda) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.onnx");
  LoadOptions options;
  options.backend = "onnx";
  options.device = Device::kCuda;
  auto r = LoadModel(ReadModelFile("tiny_cnn.onnx"), options);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("device cuda: the onnx backend"), std::string::npos)
      << r.error().message();
}

TEST(TorchScriptDeviceTest, CudaOutputsEqualCpuOutputs) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  const CudaProbe probe = ProbeCuda();
  if (!probe.built_with_cuda) {
    GTEST_SKIP() << "libtorch was built without CUDA (Debian's is CPU-only; configure with "
                    "-DCRYPTA_TORCH_DIR=<a CUDA libtorch's share/cmake/Torch>)";
  }
  if (probe.devices == 0) GTEST_SKIP() << "libtorch has CUDA but no CUDA GPU is visible";
  CRYPTA_ASSIGN_OR_FAIL(auto cpu, LoadTinyOn(Device::kCpu));
  CRYPTA_ASSIGN_OR_FAIL(auto gpu, LoadTinyOn(Device::kCuda));
  EXPECT_EQ(gpu->device(), Device::kCuda);
  const Tensor input = ReadNpy("tiny_cnn.input.npy", "input");
  CRYPTA_ASSIGN_OR_FAIL(auto want, cpu->Run({input}));
  // Several runs, some concurrent: each copies its inputs to the GPU and its outputs back.
  std::vector<std::thread> threads;
  std::vector<Result<std::vector<Tensor>>> got(4, MakeError(ErrorCode::kInternal, "unset"));
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] { got[i] = gpu->Run({input}); });
  }
  for (auto& t : threads) t.join();
  for (auto& r : got) {
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].name, "logits");
    // cuDNN may pick other algorithms (TF32 is off by default for convolutions in libtorch,
    // but reductions are ordered differently): a looser tolerance than CPU vs torch.
    ExpectClose((*r)[0], want[0], 1e-3, 1e-4);
  }
  // Every datatype round-trips through the GPU too.
  LoadOptions options;
  options.backend = "torchscript";
  options.signature = ReadSignature("dtypes.signature.json");
  options.device = Device::kCuda;
  CRYPTA_ASSIGN_OR_FAIL(auto dtypes, LoadModel(ReadModelFile("dtypes.pt"), options));
  std::vector<Tensor> inputs = {
      Make<float>("a", DataType::kFp32, {1.5f}),   Make<double>("b", DataType::kFp64, {3.0}),
      Make<int64_t>("c", DataType::kInt64, {-1}),  Make<int32_t>("d", DataType::kInt32, {7}),
      Make<uint8_t>("e", DataType::kUint8, {255}), Make<uint8_t>("f", DataType::kBool, {1}),
  };
  CRYPTA_ASSIGN_OR_FAIL(auto out, dtypes->Run(inputs));
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(Get<float>(out[0]), std::vector<float>{3.0f});
  EXPECT_EQ(Get<int64_t>(out[2]), std::vector<int64_t>{0});
  EXPECT_EQ(out[4].data, (Bytes{0}));
  EXPECT_EQ(out[5].data, (Bytes{0}));
}

}  // namespace
}  // namespace crypta::infer
