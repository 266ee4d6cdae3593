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
// The workload must reach the control plane: the broker URL is required, and an https://
// URL needs the control plane's CA bundle, which the ConfigMap carries as broker-ca.pem
// (mounted read-only at /etc/crypta) and the init-data's aa.toml/cdh.toml carry as the KBS
// certificate. With image crypta-runtime the container runs
//   crypta-runtime --model … --backend … --model-name … --workload … --listen 0.0.0.0:PORT
//                  --broker URL [--broker-ca /etc/crypta/broker-ca.pem]
//                  --health-listen 0.0.0.0:HEALTH_PORT
// with a liveness probe GET /healthz and a readiness probe GET /readyz on HEALTH_PORT (plain
// HTTP, up from the start of the boot; HealthPort).
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

inline constexpr char kBrokerCaMountPath[] = "/etc/crypta/broker-ca.pem";

struct KubernetesOptions {
  std::string namespace_name = "default";
  std::string runtime_image = "ghcr.io/crypta/crypta-runtime:0.1.0";  // for crypta-runtime
  // The control plane (key broker) URL the workload attests to, http:// or https://.
  // Required.
  std::string broker_url;
  // The control plane's CA certificates (PEM), required for an https:// broker_url.
  std::string broker_ca_pem;
};

// The container port of crypta-runtime's plain-HTTP /healthz and /readyz: 8081, or the next
// port that is neither the serving port nor one of spec.ports.
int HealthPort(const DeploymentSpec& spec);

// The runtime class for `tee`, or kFailedPrecondition naming the tee when Confidential
// Containers has none (sgx, which uses device-plugin resources instead; trustzone, cca,
// nitro).
[[nodiscard]] Result<std::string> RuntimeClassForTee(std::string_view tee);

// The Confidential Containers init-data document (TOML, version 0.1.0, algorithm sha256):
// [data] "crypta-spec.json" (the canonical spec) and "crypta-host-data" (hex), plus
// "aa.toml" and "cdh.toml" pointing at options.broker_url when it is set (with the CA
// bundle as the KBS certificate, `cert` and `kbs_cert`, when broker_ca_pem is set).
std::string InitDataToml(const DeploymentSpec& spec, const KubernetesOptions& options);

// gzip (RFC 1952) of `data` using stored (uncompressed) deflate blocks (RFC 1951 §3.2.4),
// MTIME 0, so the output is deterministic.
Bytes GzipStored(ByteSpan data);

// Renders ConfigMap + Deployment (+ Service when spec.ports is not empty), separated by
// "---". kInvalidArgument when the spec fails ValidateSpec, options are malformed (a
// namespace that is not a DNS-1123 label, an image with spaces or control characters, no
// broker URL or one that is not http(s)://, an https:// broker URL without a CA bundle, a
// CA bundle that is not PEM certificates), image crypta-runtime has no spec.model, or a
// Service is needed and the name does not start with a letter; kFailedPrecondition for a
// tee Kubernetes cannot host.
[[nodiscard]] Result<std::string> RenderKubernetes(const DeploymentSpec& spec,
                                                   const KubernetesOptions& options);

}  // namespace crypta::deploy

#endif  // CRYPTA_DEPLOY_RENDER_KUBERNETES_H_
