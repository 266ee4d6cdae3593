#include "deploy/render_qemu.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta::deploy {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

DeploymentSpec Load(const std::string& file, const std::string& tee) {
  auto p = ParseDeploymentSpec(crypta::testing::ReadTestdataString("deploy/" + file), file);
  EXPECT_TRUE(p.has_value()) << p.error().ToString();
  DeploymentSpec s = p->spec;
  s.tee = tee;
  return s;
}

QemuImageConfig Image() {
  QemuImageConfig c;
  c.ovmf = "/usr/share/ovmf/OVMF.amdsev.fd";
  c.kernel = "/var/lib/crypta/vmlinuz";
  c.initrd = "/var/lib/crypta/initrd.img";
  c.cmdline = "console=ttyS0 root=/dev/vda ro";
  c.disk = "/var/lib/crypta/root,disk.qcow2";
  return c;
}

// The value following `flag` whose text starts with `prefix`.
std::string OptionStartingWith(const std::vector<std::string>& argv, const std::string& flag,
                               const std::string& prefix) {
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag && argv[i + 1].rfind(prefix, 0) == 0) return argv[i + 1];
  }
  ADD_FAILURE() << "no " << flag << " " << prefix;
  return "";
}

std::string PropertyValue(const std::string& option, const std::string& key) {
  const size_t at = option.find("," + key + "=");
  if (at == std::string::npos) return "";
  const size_t start = at + key.size() + 2;
  return option.substr(start, option.find(',', start) - start);
}

TEST(DeployQemu, SevSnpCarriesHostDataAndResources) {
  const DeploymentSpec s = Load("seed2.yaml", "sev-snp");
  CRYPTA_ASSIGN_OR_FAIL(std::vector<std::string> argv, QemuArgv(s, Image()));
  EXPECT_EQ(argv[0], "qemu-system-x86_64");
  const std::string guest = OptionStartingWith(argv, "-object", "sev-snp-guest,");
  EXPECT_THAT(guest, HasSubstr("id=sev0,cbitpos=51,reduced-phys-bits=1"));
  EXPECT_THAT(guest, HasSubstr(",kernel-hashes=on"));
  CRYPTA_ASSIGN_OR_FAIL(Bytes host_data, Base64Decode(PropertyValue(guest, "host-data")));
  EXPECT_EQ(host_data, SpecHostData(s));
  EXPECT_EQ(OptionStartingWith(argv, "-machine", "q35"),
            "q35,confidential-guest-support=sev0,memory-backend=ram1");
  EXPECT_EQ(OptionStartingWith(argv, "-object", "memory-backend-memfd"),
            "memory-backend-memfd,id=ram1,size=32768M,share=true");
  EXPECT_EQ(OptionStartingWith(argv, "-smp", ""), "8");
  EXPECT_EQ(OptionStartingWith(argv, "-m", ""), "32768M");
  EXPECT_EQ(OptionStartingWith(argv, "-cpu", ""), "EPYC-v4");
  EXPECT_EQ(OptionStartingWith(argv, "-bios", ""), Image().ovmf);
  EXPECT_EQ(OptionStartingWith(argv, "-kernel", ""), Image().kernel);
  EXPECT_EQ(OptionStartingWith(argv, "-initrd", ""), Image().initrd);
  EXPECT_EQ(OptionStartingWith(argv, "-append", ""), Image().cmdline);
  // QEMU option values double their commas.
  EXPECT_EQ(OptionStartingWith(argv, "-drive", ""),
            "if=virtio,file=/var/lib/crypta/root,,disk.qcow2");
  EXPECT_EQ(OptionStartingWith(argv, "-device", "vfio-pci"), "vfio-pci,host=GPU0-PCI-ADDRESS");
  EXPECT_EQ(OptionStartingWith(argv, "-netdev", ""), "user,id=net0,hostfwd=tcp::8080-:8080");
}

TEST(DeployQemu, SevSnpWithoutKernelHasNoKernelHashes) {
  QemuImageConfig c;
  c.ovmf = "OVMF.fd";
  c.vfio_devices = {"0000:41:00.0"};
  CRYPTA_ASSIGN_OR_FAIL(std::vector<std::string> argv, QemuArgv(Load("seed2.yaml", "sev-snp"), c));
  EXPECT_THAT(OptionStartingWith(argv, "-object", "sev-snp-guest,"),
              ::testing::Not(HasSubstr("kernel-hashes")));
  EXPECT_THAT(argv, ::testing::Not(Contains("-kernel")));
  EXPECT_EQ(OptionStartingWith(argv, "-device", "vfio-pci"), "vfio-pci,host=0000:41:00.0");
}

TEST(DeployQemu, TdxCarriesPaddedHostDataAsMrConfigId) {
  DeploymentSpec s = Load("seed1.yaml", "tdx");
  s.cpu = 2.5;
  s.memory_bytes = (int64_t{3} << 30) + 1;
  CRYPTA_ASSIGN_OR_FAIL(std::vector<std::string> argv, QemuArgv(s, Image()));
  const std::string guest = OptionStartingWith(argv, "-object", "tdx-guest,");
  CRYPTA_ASSIGN_OR_FAIL(Bytes mrconfigid, Base64Decode(PropertyValue(guest, "mrconfigid")));
  ASSERT_EQ(mrconfigid.size(), 48u);
  const Bytes host_data = SpecHostData(s);
  EXPECT_TRUE(std::equal(host_data.begin(), host_data.end(), mrconfigid.begin()));
  EXPECT_TRUE(
      std::all_of(mrconfigid.begin() + 32, mrconfigid.end(), [](uint8_t b) { return b == 0; }));
  EXPECT_EQ(OptionStartingWith(argv, "-machine", "q35"),
            "q35,kernel-irqchip=split,confidential-guest-support=tdx0");
  EXPECT_EQ(OptionStartingWith(argv, "-smp", ""), "3");    // rounded up
  EXPECT_EQ(OptionStartingWith(argv, "-m", ""), "3073M");  // rounded up to MiB
  EXPECT_EQ(OptionStartingWith(argv, "-cpu", ""), "host");
  EXPECT_THAT(argv, ::testing::Not(Contains("vfio-pci,host=GPU0-PCI-ADDRESS")));
  EXPECT_EQ(OptionStartingWith(argv, "-netdev", ""), "user,id=net0");
}

TEST(DeployQemu, RefusesOtherTees) {
  for (const char* tee : {"sgx", "sim", "sev", "nitro"}) {
    auto r = RenderQemu(Load("seed1.yaml", tee), Image());
    ASSERT_FALSE(r.has_value()) << tee;
    EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
    EXPECT_THAT(r.error().message(), HasSubstr(std::string("tee=") + tee));
  }
}

TEST(DeployQemu, RefusesIncompleteImageConfig) {
  const DeploymentSpec s = Load("seed1.yaml", "tdx");
  QemuImageConfig no_ovmf = Image();
  no_ovmf.ovmf.clear();
  EXPECT_THAT(RenderQemu(s, no_ovmf).error().message(), HasSubstr("ovmf"));
  QemuImageConfig no_kernel = Image();
  no_kernel.kernel.clear();
  EXPECT_THAT(RenderQemu(s, no_kernel).error().message(), HasSubstr("need a kernel"));
  QemuImageConfig control = Image();
  control.cmdline = "console=ttyS0\n; reboot";
  EXPECT_FALSE(RenderQemu(s, control).has_value());
}

TEST(DeployQemu, ShellQuoting) {
  EXPECT_EQ(ShellQuote("q35,kernel-irqchip=split"), "q35,kernel-irqchip=split");
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("$(reboot)"), "'$(reboot)'");
}

TEST(DeployQemu, RenderedLineSplitsBackIntoTheArgvInAShell) {
  QemuImageConfig c = Image();
  c.cmdline = "console=ttyS0 quiet it's \"$HOME\" `id` ;|&";
  const DeploymentSpec s = Load("seed2.yaml", "sev-snp");
  CRYPTA_ASSIGN_OR_FAIL(std::vector<std::string> argv, QemuArgv(s, c));
  CRYPTA_ASSIGN_OR_FAIL(std::string line, RenderQemu(s, c));
  // Let /bin/sh split the line and print each argument on its own line.
  FILE* pipe = popen(("printf '%s\\n' " + line).c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), pipe)) output.append(buf, n);
  ASSERT_EQ(pclose(pipe), 0);
  std::string want;
  for (const std::string& a : argv) want += a + "\n";
  EXPECT_EQ(output, want);
}

}  // namespace
}  // namespace crypta::deploy
