// The Kubernetes target of `crypta vm deploy --target kubernetes` (Confidential Containers):
// renders a validated DeploymentSpec as multi-document YAML — a ConfigMap holding the
// canonical spec, a Deployment whose pod runs in the TEE, and a Service when the spec has
// ports. The TEE is chosen by the pod's runtime class (kata-qemu-snp for sev-snp and sev,
// kata-qemu-tdx for tdx, kata-qemu-coco-dev for sim) or, for SGX, by the Intel SGX device
// plugin's resources (sgx.intel.com/epc, sgx.intel.com/enclave, sgx.intel.com/provision).
//
// The pod carries the Confidential Containers init-data annotation
// (io.katacontainers.config.hypervisor.cc_init_data: base64 of the gzipped init-data TOML,
// which holds the canonical spec and, with a broker URL, the attestation agent and CDH
// configuration); Kata binds the init-data digest into the launch evidence (SEV-SNP
// HOST_DATA, TDX MRCONFIGID). crypta.dev/host-data carries SpecHostData in hex and
// crypta.dev/init-data-sha256 the digest the hardware will report.
//
// Pure and thread-safe.
#ifndef CRYPTA_DEPLOY_RENDER_KUBERNETES_H_
#define CRYPTA_DEPLOY_RENDER_KUBERNETES_H_

#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"
#include "deploy/spec.h"

namespace crypta::deploy {

inline constexpr char kInitDataAnnotation[] = "io.katacontainers.config.hypervisor.cc_init_data";
inline constexpr char kHostDataAnnotation[] = "crypta.dev/host-data";
inline constexpr char kInitDataDigestAnnotation[] = "crypta.dev/init-data-sha256";

struct KubernetesOptions {
  std::string namespace_name = "default";
  std::string runtime_image = "ghcr.io/crypta/crypta-runtime:0.1.0";  // for crypta-runtime
  std::string broker_url;  // key broker / Trustee URL for the guest; empty: none configured
};

// The runtime class for `tee`, or kFailedPrecondition naming the tee when Confidential
// Containers has none (sgx, which uses device-plugin resources instead; trustzone, cca,
// nitro).
[[nodiscard]] Result<std::string> RuntimeClassForTee(std::string_view tee);

// The Confidential Containers init-data document (TOML, version 0.1.0, algorithm sha256):
// [data] "crypta-spec.json" (the canonical spec) and "crypta-host-data" (hex), plus
// "aa.toml" and "cdh.toml" pointing at options.broker_url when it is set.
std::string InitDataToml(const DeploymentSpec& spec, const KubernetesOptions& options);

// gzip (RFC 1952) of `data` using stored (uncompressed) deflate blocks (RFC 1951 §3.2.4),
// MTIME 0, so the output is deterministic.
Bytes GzipStored(ByteSpan data);

// Renders ConfigMap + Deployment (+ Service when spec.ports is not empty), separated by
// "---". kInvalidArgument when the spec fails ValidateSpec, options are malformed (a
// namespace that is not a DNS-1123 label, an image or broker URL with spaces or control
// characters), image crypta-runtime has no spec.model, or a Service is needed and the
// name does not start with a letter; kFailedPrecondition for a tee Kubernetes cannot host.
[[nodiscard]] Result<std::string> RenderKubernetes(const DeploymentSpec& spec,
                                                   const KubernetesOptions& options);

}  // namespace crypta::deploy

#endif  // CRYPTA_DEPLOY_RENDER_KUBERNETES_H_
