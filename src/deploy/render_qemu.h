// The QEMU target of `crypta vm deploy --target qemu --dry-run`: the command line that
// launches the spec as an AMD SEV-SNP or Intel TDX guest, with the spec's host data bound
// into the launch (SEV-SNP: sev-snp-guest host-data, the 32-byte HOST_DATA of
// SNP_LAUNCH_FINISH; TDX: tdx-guest mrconfigid, the 48-byte MRCONFIGID, host data
// zero-padded). QEMU takes both as base64. How to compute the expected launch measurement
// is in src/deploy/README.md.
//
// Pure and thread-safe.
#ifndef CRYPTA_DEPLOY_RENDER_QEMU_H_
#define CRYPTA_DEPLOY_RENDER_QEMU_H_

#include <string>
#include <vector>

#include "common/status.h"
#include "deploy/spec.h"

namespace crypta::deploy {

struct QemuImageConfig {
  std::string qemu = "qemu-system-x86_64";
  std::string ovmf;     // firmware (-bios): OVMF built for SNP (AmdSev) or TDVF; required
  std::string kernel;   // optional direct boot (-kernel); SNP then measures it (kernel-hashes)
  std::string initrd;   // optional, needs kernel
  std::string cmdline;  // optional, needs kernel (-append)
  std::string disk;     // optional root disk (-drive if=virtio)
  // Additions: the vCPU model (part of the SNP measurement; default EPYC-v4 for SNP, host
  // for TDX) and the host PCI addresses of the GPUs to pass through (VFIO). Without
  // addresses each requested GPU gets the placeholder host=GPU<n>-PCI-ADDRESS, which QEMU
  // refuses until it is replaced.
  std::string cpu_model;
  std::vector<std::string> vfio_devices;
};

// The argv (qemu binary first). kFailedPrecondition for a tee other than sev-snp or tdx
// (naming it); kInvalidArgument when the spec fails ValidateSpec, the config has no ovmf,
// has an initrd or cmdline without a kernel, or holds control characters.
[[nodiscard]] Result<std::vector<std::string>> QemuArgv(const DeploymentSpec& spec,
                                                        const QemuImageConfig& config);

// QemuArgv as one POSIX shell command line, each argument quoted where needed.
[[nodiscard]] Result<std::string> RenderQemu(const DeploymentSpec& spec,
                                             const QemuImageConfig& config);

// One argument for a POSIX shell: unchanged when it holds only safe characters, else in
// single quotes (a ' inside becomes '\'').
std::string ShellQuote(std::string_view arg);

// The value of the SEV-SNP host-data / TDX mrconfigid property for `spec`: base64 of
// SpecHostData (32 bytes) or of it zero-padded to 48 bytes.
std::string SnpHostDataBase64(const DeploymentSpec& spec);
std::string TdxMrConfigIdBase64(const DeploymentSpec& spec);

}  // namespace crypta::deploy

#endif  // CRYPTA_DEPLOY_RENDER_QEMU_H_
