// QEMU command lines for SEV-SNP and TDX guests (render_qemu.h).
#include "deploy/render_qemu.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/encoding.h"
#include "deploy/spec_internal.h"

namespace crypta::deploy {
namespace {

// QEMU's option syntax (-object k=v,k=v): a comma inside a value is written ",,".
std::string QemuOptValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

Status CheckConfigText(std::string_view field, std::string_view value) {
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return MakeError(internal::Invalid(
          "qemu: " + std::string(field) + ": must not hold control characters", value));
    }
  }
  return OkStatus();
}

Status CheckConfig(const QemuImageConfig& c) {
  const std::pair<const char*, const std::string*> fields[] = {
      {"qemu", &c.qemu},       {"ovmf", &c.ovmf}, {"kernel", &c.kernel},      {"initrd", &c.initrd},
      {"cmdline", &c.cmdline}, {"disk", &c.disk}, {"cpu_model", &c.cpu_model}};
  for (const auto& [name, value] : fields) CRYPTA_RETURN_IF_ERROR(CheckConfigText(name, *value));
  for (const std::string& d : c.vfio_devices) CRYPTA_RETURN_IF_ERROR(CheckConfigText("vfio", d));
  if (c.qemu.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "qemu: the qemu binary must be set");
  }
  if (c.ovmf.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "qemu: ovmf (the guest firmware image, -bios) must be set");
  }
  if (c.kernel.empty() && (!c.initrd.empty() || !c.cmdline.empty())) {
    return MakeError(ErrorCode::kInvalidArgument, "qemu: initrd and cmdline need a kernel");
  }
  return OkStatus();
}

}  // namespace

std::string ShellQuote(std::string_view arg) {
  const bool safe = !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("_./:=,@+-%").find(c) != std::string_view::npos;
  });
  if (safe) return std::string(arg);
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string SnpHostDataBase64(const DeploymentSpec& spec) {
  return Base64Encode(SpecHostData(spec));
}

std::string TdxMrConfigIdBase64(const DeploymentSpec& spec) {
  Bytes padded = SpecHostData(spec);
  padded.resize(48, 0);  // MRCONFIGID is 48 bytes (SHA-384 sized); host data fills the front
  return Base64Encode(padded);
}

Result<std::vector<std::string>> QemuArgv(const DeploymentSpec& s, const QemuImageConfig& c) {
  if (auto valid = ValidateSpec(s); !valid) return MakeError(valid.error().WithContext("qemu"));
  if (s.tee != "sev-snp" && s.tee != "tdx") {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "qemu: cannot launch tee=" + s.tee +
                         " as a QEMU confidential guest (supported: sev-snp, tdx)");
  }
  CRYPTA_RETURN_IF_ERROR(CheckConfig(c));
  const bool snp = s.tee == "sev-snp";
  // -m without a suffix is MiB; round the spec's bytes up to whole MiB.
  const int64_t mib = (s.memory_bytes + (int64_t{1} << 20) - 1) >> 20;
  const std::string memory = std::to_string(mib) + "M";
  const int vcpus = std::max(1, static_cast<int>(std::ceil(s.cpu - 1e-9)));

  std::vector<std::string> a = {c.qemu, "-name", "guest=" + s.name, "-accel", "kvm", "-nographic"};
  a.insert(a.end(), {"-cpu", c.cpu_model.empty() ? (snp ? "EPYC-v4" : "host") : c.cpu_model});
  a.insert(a.end(), {"-smp", std::to_string(vcpus), "-m", memory});
  if (snp) {
    a.insert(a.end(), {"-machine", "q35,confidential-guest-support=sev0,memory-backend=ram1"});
    a.insert(a.end(), {"-object", "memory-backend-memfd,id=ram1,size=" + memory + ",share=true"});
    std::string guest = "sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1";
    if (!c.kernel.empty()) guest += ",kernel-hashes=on";  // measured direct boot
    guest += ",host-data=" + SnpHostDataBase64(s);
    a.insert(a.end(), {"-object", guest});
  } else {
    a.insert(a.end(), {"-machine", "q35,kernel-irqchip=split,confidential-guest-support=tdx0"});
    a.insert(a.end(), {"-object", "tdx-guest,id=tdx0,mrconfigid=" + TdxMrConfigIdBase64(s)});
  }
  a.insert(a.end(), {"-bios", c.ovmf});
  if (!c.kernel.empty()) a.insert(a.end(), {"-kernel", c.kernel});
  if (!c.initrd.empty()) a.insert(a.end(), {"-initrd", c.initrd});
  if (!c.cmdline.empty()) a.insert(a.end(), {"-append", c.cmdline});
  if (!c.disk.empty()) a.insert(a.end(), {"-drive", "if=virtio,file=" + QemuOptValue(c.disk)});
  for (int i = 0; i < s.gpu; ++i) {
    const std::string host = i < static_cast<int>(c.vfio_devices.size())
                                 ? QemuOptValue(c.vfio_devices[i])
                                 : "GPU" + std::to_string(i) + "-PCI-ADDRESS";
    a.insert(a.end(), {"-device", "vfio-pci,host=" + host});
  }
  std::string netdev = "user,id=net0";
  for (const PortSpec& p : s.ports) {
    const std::string proto = p.protocol == "UDP" ? "udp" : "tcp";
    netdev += ",hostfwd=" + proto + "::" + std::to_string(p.port) + "-:" + std::to_string(p.port);
  }
  a.insert(a.end(), {"-netdev", netdev, "-device", "virtio-net-pci,netdev=net0"});
  return a;
}

Result<std::string> RenderQemu(const DeploymentSpec& spec, const QemuImageConfig& config) {
  CRYPTA_ASSIGN_OR_RETURN(std::vector<std::string> argv, QemuArgv(spec, config));
  std::string line;
  for (const std::string& arg : argv) {
    if (!line.empty()) line += ' ';
    line += ShellQuote(arg);
  }
  return line;
}

}  // namespace crypta::deploy
