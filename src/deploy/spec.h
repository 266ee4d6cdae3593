// The deployment spec (DESIGN.md §4.7): the seed's `kind: VirtualMachine` YAML, with
// crypta's additions (spec.model, spec.policy, `image: crypta-runtime`), parsed from
// untrusted text into a validated DeploymentSpec, its stable JSON form (what the control
// plane stores and sends), its RFC 8785 canonical form, and the host data that binds the
// spec into a TEE's launch evidence (SEV-SNP HOST_DATA, TDX MRCONFIGID, sim host_data).
//
//   kind: VirtualMachine
//   metadata: {name: ai-inference-server, annotations: {description: …}}
//   spec:
//     requirements:
//       tee: sgx|sev|sev-snp|tdx|trustzone|cca|nitro|sim
//       resources: {cpu: 8, memory: 32Gi, gpu: 1}
//     image: your-registry/ai-model:latest        # or crypta-runtime (the built-in runtime)
//     ports: [{port: 8080, protocol: HTTP}]       # HTTP|HTTPS|TCP|UDP|GRPC
//     env: [{name: ALEPH_TEE_ENABLED, value: "true"}]
//     model: {ref: store://<tenant>/<name>@sha256:<hex> (or @latest), backend: torchscript|onnx
//             and signature: {inputs, outputs} (both optional: those pushed with the model),
//             name: …}
//     policy: {tee: [sev-snp], measurements: […]}   # an appraisal policy (attest/policy.h)
//
// Every function here is pure and thread-safe.
#ifndef CRYPTA_DEPLOY_SPEC_H_
#define CRYPTA_DEPLOY_SPEC_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta::deploy {

inline constexpr char kBuiltinRuntimeImage[] = "crypta-runtime";
inline constexpr size_t kMaxSpecBytes = size_t{1} << 20;      // YAML text cap
inline constexpr int kMaxSpecDepth = 32;                      // nesting cap (maps and lists)
inline constexpr int64_t kMaxMemoryBytes = int64_t{1} << 50;  // 1 PiB
inline constexpr double kMaxCpu = 1024;
inline constexpr int kMaxGpu = 64;

struct PortSpec {
  int port = 0;                   // 1..65535
  std::string protocol = "HTTP";  // HTTP|HTTPS|TCP|UDP|GRPC (canonical upper case)
};

struct EnvVar {
  std::string name, value;
};

struct ModelSpec {
  std::string ref;      // store://<tenant>/<name>@sha256:<64 lowercase hex>
  std::string backend;  // torchscript|onnx
  std::string name;     // Open Inference Protocol model name; defaults to the ref's <name>
  // Optional inline signature (canonical infer::ModelSignatureToJson text); the runtime gets it
  // as --signature-json. Without it, the signature pushed with the model is used.
  std::string signature_json;
};

// A spec's model reference, store://<tenant>/<name>@sha256:<64 lowercase hex> or
// store://<tenant>/<name>@latest (the newest version, resolved when a deployment is applied).
struct ModelRefParts {
  std::string tenant, name;
  std::string version;  // the 64 hex digits, or "latest"
};
// kInvalidArgument "must be store://… (got …)" otherwise.
[[nodiscard]] Result<ModelRefParts> SplitModelRef(std::string_view ref);

struct DeploymentSpec {
  std::string kind;  // "VirtualMachine"
  std::string name;  // metadata.name (DNS-1123 label)
  std::map<std::string, std::string> annotations;
  std::string tee;  // canonical: sgx|sev|sev-snp|tdx|trustzone|cca|nitro|sim
  double cpu = 0;   // cores, a multiple of 0.001 (Kubernetes millicores)
  int64_t memory_bytes = 0;
  int gpu = 0;
  std::string image;  // kBuiltinRuntimeImage = the built-in runtime
  std::vector<PortSpec> ports;
  std::vector<EnvVar> env;
  std::optional<ModelSpec> model;
  std::optional<std::string> policy_yaml;  // spec.policy, re-emitted as YAML (keys sorted)
  // spec.mtls: "off" (default), "optional" or "required": the runtime serves TLS with its SVID
  // and asks for client SVIDs; spec.allowed_peers: the SPIFFE ID patterns it accepts
  // ("spiffe://<trust-domain>/tenant/<t>/workload/*").
  std::string mtls = "off";
  std::vector<std::string> allowed_peers;
  // From env CRYPTA_TEE_ENABLED / CRYPTA_ATTESTATION_REQUIRED, or the seed's ALEPH_* aliases.
  bool tee_enabled = false, attestation_required = false;
};

struct ParsedSpec {
  DeploymentSpec spec;
  std::vector<std::string> warnings;  // "file:line:col: unknown key spec.foo (ignored)"
};

// Parses one YAML document. Errors are kInvalidArgument, formatted
// "FILE:LINE:COL: FIELD: problem (got VALUE)" (1-based line and column): YAML syntax, a
// missing or wrong-typed field, an unknown tee, unparsable memory, cpu <= 0, a bad name,
// a port outside 1..65535, a duplicate port or env name, a bad backend, a model ref that
// is not store://…, a policy that attest::ParseAppraisalPolicy refuses, more than one
// document. kResourceExhausted for text over kMaxSpecBytes or nesting over kMaxSpecDepth.
// Unknown keys are not errors: each gives a warning. Never throws.
[[nodiscard]] Result<ParsedSpec> ParseDeploymentSpec(std::string_view yaml,
                                                     std::string_view file_name);

// Checks every field of an already-built spec (the same rules as the parser).
// kInvalidArgument "FIELD: problem (got VALUE)".
[[nodiscard]] Status ValidateSpec(const DeploymentSpec& spec);

// The full JSON form: every field, always present (null for no model / policy), with the
// struct's field names: kind, name, annotations, tee, cpu, memory_bytes, gpu, image,
// ports [{port, protocol}], env [{name, value}], model {ref, backend, name}, policy_yaml,
// tee_enabled, attestation_required.
nlohmann::json SpecToJson(const DeploymentSpec& spec);

// The inverse of SpecToJson, strict: unknown members and wrong types are errors, optional
// members (annotations, gpu, ports, env, model, policy_yaml, the two flags) may be absent
// or null, and the result passes ValidateSpec. kInvalidArgument naming the member. Never
// throws.
[[nodiscard]] Result<DeploymentSpec> SpecFromJson(const nlohmann::json& json);

// RFC 8785 canonical text of SpecToJson(spec). Specs that passed validation always
// canonicalize; for one holding invalid UTF-8 the offending bytes are replaced by U+FFFD
// first (so distinct specs may then collide: validate first).
std::string CanonicalSpecJson(const DeploymentSpec& spec);

// SHA-256(CanonicalSpecJson(spec)): the 32-byte host data bound into the evidence.
Bytes SpecHostData(const DeploymentSpec& spec);

// Field helpers, shared with the renderers and the CLI. Each fails with kInvalidArgument
// "problem (got VALUE)".
// Lower-cases and maps aliases (snp, sev_snp → sev-snp; sev-es → sev).
[[nodiscard]] Result<std::string> CanonicalTee(std::string_view tee);
// "32Gi", "512Mi", "1.5G", "1000000" (bytes); binary Ki..Ei and decimal k/K..E suffixes.
[[nodiscard]] Result<int64_t> ParseMemoryQuantity(std::string_view text);
// "8", "0.5", "500m"; > 0, <= kMaxCpu, a multiple of 0.001.
[[nodiscard]] Result<double> ParseCpuQuantity(std::string_view text);
// The Kubernetes quantity for a byte count: "32Gi" when exact, else plain bytes.
std::string FormatMemoryQuantity(int64_t bytes);
// The Kubernetes quantity for cores: "8" or "500m".
std::string FormatCpuQuantity(double cpu);

}  // namespace crypta::deploy

#endif  // CRYPTA_DEPLOY_SPEC_H_
