#include "deploy/sim_launch.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/encoding.h"
#include "common/file_util.h"
#include "common/time_util.h"
#include "crypto/x509.h"
#include "testing/test_util.h"

namespace crypta::deploy {
namespace {

namespace fs = std::filesystem;

class SimLaunchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/crypta-sim-launch-" + std::to_string(::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/sim");
    const int64_t now = UnixNow();
    auto ca = attest::CreateSimRootCa(now - 60);
    ASSERT_TRUE(ca.has_value());
    auto node = attest::IssueSimNode(*ca, "local-node", now - 60);
    ASSERT_TRUE(node.has_value());
    std::string chain;
    for (const Certificate& c : node->chain) {
      const std::string b64 = Base64Encode(c.der());
      chain += "-----BEGIN CERTIFICATE-----\n";
      for (size_t i = 0; i < b64.size(); i += 64) chain += b64.substr(i, 64) + "\n";
      chain += "-----END CERTIFICATE-----\n";
    }
    Write(dir_ + "/sim/node.pem", chain, 0644);
    Write(dir_ + "/sim/node.key.pem", *node->key.ToPkcs8Pem(), 0600);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static void Write(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
  }
  std::string dir_;
};

TEST(ModelArgumentTest, TakesTheLastModelFlagInEitherSpelling) {
  EXPECT_EQ(ModelArgument({"--broker", "x", "--model", "store://a/b@sha256:1"}),
            "store://a/b@sha256:1");
  EXPECT_EQ(ModelArgument({"--model=store://a", "--model", "store://b"}), "store://b");
  EXPECT_EQ(ModelArgument({"--models", "x", "--model"}), "");
}

TEST(ResolveExecutableTest, SearchesPathOnlyForBareNames) {
  CRYPTA_ASSIGN_OR_FAIL(std::string sh, ResolveExecutable("sh"));
  EXPECT_TRUE(sh.ends_with("/sh"));
  CRYPTA_ASSIGN_OR_FAIL(std::string given, ResolveExecutable("./relative/thing"));
  EXPECT_EQ(given, "./relative/thing");
  EXPECT_EQ(ResolveExecutable("no-such-binary-crypta").error().code(), ErrorCode::kNotFound);
}

TEST(MeasureSimWorkloadTest, IsComputeSimMeasurementOfBinaryArgsAndModel) {
  const std::vector<std::string> argv = {"/bin/sh", "--model", "store://t/m@sha256:00", "-x"};
  CRYPTA_ASSIGN_OR_FAIL(Bytes got, MeasureSimWorkload(argv));
  CRYPTA_ASSIGN_OR_FAIL(Bytes binary, ReadFileBytes("/bin/sh", 1 << 30));
  EXPECT_EQ(got, attest::ComputeSimMeasurement(binary, {"--model", "store://t/m@sha256:00", "-x"},
                                               "store://t/m@sha256:00"));
  EXPECT_EQ(got.size(), 48u);
  // One argument more is another measurement.
  CRYPTA_ASSIGN_OR_FAIL(
      Bytes other, MeasureSimWorkload({"/bin/sh", "--model", "store://t/m@sha256:00", "-x", "-y"}));
  EXPECT_NE(got, other);
  EXPECT_EQ(MeasureSimWorkload({}).error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(SimLaunchTest, LoadsTheNodeAndRefusesAWorldReadableKey) {
  CRYPTA_ASSIGN_OR_FAIL(attest::SimNodeIdentity node, LoadSimNode(dir_));
  EXPECT_EQ(node.chain.size(), 2u);
  ::chmod((dir_ + "/sim/node.key.pem").c_str(), 0644);
  auto refused = LoadSimNode(dir_);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(LoadSimNode(dir_ + "/nope").error().code(), ErrorCode::kNotFound);
}

TEST_F(SimLaunchTest, RunsTheWorkloadWithItsSocketAndReturnsItsExitStatus) {
  SimLaunchOptions options;
  options.data_dir = dir_;
  // The child sees a socket at $CRYPTA_SIM_SOCKET, in a directory only we can enter.
  options.argv = {"/bin/sh", "-c",
                  "test -S \"$CRYPTA_SIM_SOCKET\" || exit 3; "
                  "test \"$(stat -c %a \"$(dirname \"$CRYPTA_SIM_SOCKET\")\")\" = 700 || exit 4; "
                  "echo \"$CRYPTA_SIM_SOCKET\" > " +
                      dir_ + "/socket.txt; exit 7"};
  CRYPTA_ASSIGN_OR_FAIL(int status, RunSimLaunch(options));
  EXPECT_EQ(status, 7);
  std::string socket;
  std::getline(std::ifstream(dir_ + "/socket.txt"), socket);
  ASSERT_FALSE(socket.empty());
  EXPECT_FALSE(fs::exists(socket));                          // removed
  EXPECT_FALSE(fs::exists(fs::path(socket).parent_path()));  // and its directory
}

TEST_F(SimLaunchTest, ReportsDeathBySignalAs128PlusTheSignal) {
  SimLaunchOptions options;
  options.data_dir = dir_;
  options.argv = {"/bin/sh", "-c", "kill -KILL $$"};
  CRYPTA_ASSIGN_OR_FAIL(int status, RunSimLaunch(options));
  EXPECT_EQ(status, 128 + 9);
}

TEST_F(SimLaunchTest, RefusesOverlongHostDataAndAMissingDataDir) {
  SimLaunchOptions options;
  options.data_dir = dir_;
  options.argv = {"/bin/true"};
  options.host_data = Bytes(33, 1);
  EXPECT_EQ(RunSimLaunch(options).error().code(), ErrorCode::kInvalidArgument);
  options.host_data = Bytes(4, 1);
  options.data_dir = dir_ + "/missing";
  EXPECT_EQ(RunSimLaunch(options).error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace crypta::deploy
