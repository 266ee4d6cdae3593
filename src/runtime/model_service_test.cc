// LoadModelService with --device (GPU inference): where the model computes is shown in the
// model metadata, and a device the host cannot provide fails the load with a clear error.
// Needs the generated tiny_cnn models (scripts/make_models.py); skipped without them.
#include "runtime/model_service.h"

#include <gtest/gtest.h>

#include "infer/model_runner.h"
#include "infer/test_models.h"
#include "testing/test_util.h"

namespace crypta::runtime {
namespace {

using infer::testing::ModelPath;
using infer::testing::ReadModelFile;

ModelServiceOptions TinyOptions(std::string device) {
  ModelServiceOptions options;
  options.name = "tiny";
  options.backend = "torchscript";
  const Bytes signature = ReadModelFile("tiny_cnn.signature.json");
  options.signature_json = std::string(AsStringView(signature));
  options.device = std::move(device);
  return options;
}

// --device on every kind of host (no model needed): a CPU-only libtorch (Debian's), a CUDA
// libtorch that sees no GPU, and one that sees a GPU.
TEST(ChooseDeviceTest, FlagRules) {
  CRYPTA_ASSIGN_OR_FAIL(DeviceChoice cpu, ChooseDevice("cpu", "torchscript", true, 1));
  EXPECT_EQ(cpu.device, "cpu");
  EXPECT_EQ(cpu.log, "device cpu (--device cpu)");

  CRYPTA_ASSIGN_OR_FAIL(DeviceChoice fallback, ChooseDevice("auto", "torchscript", false, 0));
  EXPECT_EQ(fallback.device, "cpu");
  EXPECT_EQ(fallback.log, "device cpu (--device auto, torchscript: libtorch built without CUDA)");
  CRYPTA_ASSIGN_OR_FAIL(DeviceChoice gpu, ChooseDevice("auto", "torchscript", true, 2));
  EXPECT_EQ(gpu.device, "cuda");
  EXPECT_EQ(gpu.log, "device cuda (--device auto, torchscript: 2 CUDA GPUs visible)");
  CRYPTA_ASSIGN_OR_FAIL(DeviceChoice onnx, ChooseDevice("auto", "onnx", true, 1));
  EXPECT_EQ(onnx.device, "cpu");
  EXPECT_EQ(onnx.log, "device cpu (--device auto, onnx: CPU only)");
  CRYPTA_ASSIGN_OR_FAIL(DeviceChoice cuda, ChooseDevice("cuda", "torchscript", true, 1));
  EXPECT_EQ(cuda.device, "cuda");

  const struct {
    std::string_view flag, backend;
    bool built;
    int devices;
    std::string want;
  } refused[] = {
      {"cuda", "torchscript", false, 0, "--device cuda: libtorch was built without CUDA"},
      {"cuda", "", false, 0, "--device cuda: libtorch was built without CUDA"},  // before boot
      {"cuda", "torchscript", true, 0, "--device cuda: no CUDA GPU is visible"},
      {"cuda", "onnx", true, 1, "--device cuda: the onnx backend (OpenCV DNN) runs on the CPU"},
      {"gpu", "torchscript", true, 1, "--device: unknown device \"gpu\""},
  };
  for (const auto& c : refused) {
    auto r = ChooseDevice(c.flag, c.backend, c.built, c.devices);
    ASSERT_FALSE(r.has_value()) << c.want;
    EXPECT_EQ(r.error().message().rfind(c.want, 0), 0u) << r.error().message();
    EXPECT_EQ(r.error().message().find('\n'), std::string::npos);
  }
  // Before the boot an unknown backend is not a reason to refuse auto or cpu.
  EXPECT_TRUE(ChooseDevice("auto", "", false, 0).has_value());
}

// The real probe on this host agrees with what LoadModel does.
TEST(ChooseDeviceTest, ThisHost) {
  const infer::CudaProbe probe = infer::ProbeCuda();
  CRYPTA_ASSIGN_OR_FAIL(DeviceChoice picked, ChooseDevice("auto", "torchscript"));
  EXPECT_EQ(picked.device, probe.devices > 0 ? "cuda" : "cpu");
  EXPECT_EQ(ChooseDevice("cuda", "torchscript").has_value(), probe.devices > 0);
}

TEST(ModelServiceDeviceTest, MetadataNamesTheDevice) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  CRYPTA_ASSIGN_OR_FAIL(auto cpu,
                        LoadModelService(ReadModelFile("tiny_cnn.pt"), TinyOptions("cpu")));
  EXPECT_EQ(cpu->Metadata()["device"], "cpu");
  EXPECT_EQ(cpu->Metadata()["platform"], "pytorch_libtorch");

  CRYPTA_ASSIGN_OR_FAIL(auto picked,
                        LoadModelService(ReadModelFile("tiny_cnn.pt"), TinyOptions("auto")));
  EXPECT_EQ(picked->Metadata()["device"], infer::ProbeCuda().devices > 0 ? "cuda" : "cpu");
}

TEST(ModelServiceDeviceTest, CudaWithoutAGpuFailsTheLoad) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  if (infer::ProbeCuda().devices > 0) GTEST_SKIP() << "a CUDA GPU is visible: nothing to refuse";
  auto r = LoadModelService(ReadModelFile("tiny_cnn.pt"), TinyOptions("cuda"));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("device cuda: "), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("CUDA"), std::string::npos) << r.error().message();
}

TEST(ModelServiceDeviceTest, UnknownDeviceIsRejected) {
  CRYPTA_REQUIRE_MODEL("tiny_cnn.pt");
  auto r = LoadModelService(ReadModelFile("tiny_cnn.pt"), TinyOptions("tpu"));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("want auto, cpu or cuda"), std::string::npos);
}

}  // namespace
}  // namespace crypta::runtime
