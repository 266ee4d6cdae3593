// Kubernetes / Confidential Containers rendering (render_kubernetes.h). The YAML is
// written through yaml-cpp's emitter, which quotes every scalar that needs it.
#include "deploy/render_kubernetes.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <optional>

#include "common/encoding.h"
#include "crypto/hash.h"
#include "deploy/spec_internal.h"

namespace crypta::deploy {
namespace {

constexpr char kNameLabel[] = "app.kubernetes.io/name";
constexpr char kSpecMountPath[] = "/etc/crypta";
constexpr char kBrokerCaKey[] = "broker-ca.pem";  // ConfigMap key: kBrokerCaMountPath
constexpr int kFirstHealthPort = 8081;

// CRC-32 as used by gzip (RFC 1952 §8: ISO 3309 polynomial, reflected 0xEDB88320).
uint32_t Crc32(ByteSpan data) {
  static const std::array<uint32_t, 256> kTable = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (uint8_t b : data) crc = kTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

void PutLe32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// A TOML basic string (TOML 1.0 "Basic strings"): quotes, backslashes and control
// characters escaped.
std::string TomlQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

constexpr size_t kMaxCaBundleBytes = 64 * 1024;
// Kubernetes refuses an object whose annotations total more than 256 KiB
// (apimachinery ValidateAnnotationsSize, TotalAnnotationSizeLimitB).
constexpr size_t kMaxAnnotationBytes = 256 * 1024;

bool IsHttpUrl(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

Status CheckCaBundle(std::string_view pem) {
  bool ok = pem.size() <= kMaxCaBundleBytes;
  for (char c : pem) ok = ok && ((c >= ' ' && c < 0x7F) || c == '\n' || c == '\r' || c == '\t');
  if (!ok) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "kubernetes: broker CA bundle: want PEM text of at most " +
                         std::to_string(kMaxCaBundleBytes) + " bytes (got " +
                         std::to_string(pem.size()) + " bytes)");
  }
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos ||
      pem.find("-----END CERTIFICATE-----") == std::string_view::npos) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "kubernetes: broker CA bundle: no PEM certificate (-----BEGIN CERTIFICATE-----)");
  }
  return OkStatus();
}

Status CheckOptions(const KubernetesOptions& o) {
  if (auto name = internal::CheckName(o.namespace_name); !name) {
    return MakeError(name.error().WithContext("kubernetes: namespace"));
  }
  if (auto image = internal::CheckImage(o.runtime_image); !image) {
    return MakeError(image.error().WithContext("kubernetes: runtime_image"));
  }
  if (o.broker_url.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "kubernetes: the workload needs the control plane's URL: set the broker "
                     "URL (crypta vm deploy --broker-url URL, or the data dir's url)");
  }
  if (auto url = internal::CheckImage(o.broker_url); !url) {
    return MakeError(url.error().WithContext("kubernetes: broker_url"));
  }
  if (!IsHttpUrl(o.broker_url)) {
    return MakeError(
        internal::Invalid("kubernetes: broker_url: want http:// or https://", o.broker_url));
  }
  if (o.broker_url.starts_with("https://") && o.broker_ca_pem.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "kubernetes: broker URL " + o.broker_url +
                         " is https:// but no CA bundle is set: the workload could not verify "
                         "the control plane (crypta vm deploy --broker-ca FILE)");
  }
  if (!o.broker_ca_pem.empty()) CRYPTA_RETURN_IF_ERROR(CheckCaBundle(o.broker_ca_pem));
  return OkStatus();
}

void EmitLabels(YAML::Emitter& out, const DeploymentSpec& s) {
  out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << kNameLabel << YAML::Value << s.name;
  out << YAML::Key << "app.kubernetes.io/managed-by" << YAML::Value << "crypta";
  out << YAML::EndMap;
}

void EmitMetadata(YAML::Emitter& out, const DeploymentSpec& s, const std::string& name,
                  const KubernetesOptions& o) {
  out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << name;
  out << YAML::Key << "namespace" << YAML::Value << o.namespace_name;
  EmitLabels(out, s);
}

std::string L4Protocol(const std::string& protocol) { return protocol == "UDP" ? "UDP" : "TCP"; }

std::string PortName(const PortSpec& p) {
  std::string lower = p.protocol;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower + "-" + std::to_string(p.port);  // IANA_SVC_NAME: <= 15, e.g. "https-65535"
}

int ServingPort(const DeploymentSpec& s) { return s.ports.empty() ? 8080 : s.ports[0].port; }

// The container's arguments when it runs crypta's own runtime (src/runtime/main.cc flags).
std::vector<std::string> RuntimeArgs(const DeploymentSpec& s, const KubernetesOptions& o) {
  std::vector<std::string> args = {
      "--model",    s.model->ref, "--model-name", s.model->name,
      "--workload", s.name,       "--listen",     "0.0.0.0:" + std::to_string(ServingPort(s)),
      "--broker",   o.broker_url};
  // Without one in the spec, the runtime uses the backend (and signature) pushed with the model.
  if (!s.model->backend.empty()) {
    args.push_back("--backend");
    args.push_back(s.model->backend);
  }
  if (!s.model->signature_json.empty()) {
    args.push_back("--signature-json");
    args.push_back(s.model->signature_json);
  }
  if (!o.broker_ca_pem.empty()) {
    args.push_back("--broker-ca");
    args.push_back(kBrokerCaMountPath);
  }
  args.push_back("--health-listen");
  args.push_back("0.0.0.0:" + std::to_string(HealthPort(s)));
  return args;
}

// An HTTP GET probe on the runtime's health port. Liveness: three misses in a row (30 s)
// restart the container; readiness: the pod gets traffic only while the model is served.
void EmitProbe(YAML::Emitter& out, const char* key, const char* path, int port, int period_s,
               int failures) {
  out << YAML::Key << key << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "httpGet" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "path" << YAML::Value << path;
  out << YAML::Key << "port" << YAML::Value << port;
  out << YAML::Key << "scheme" << YAML::Value << "HTTP" << YAML::EndMap;
  out << YAML::Key << "periodSeconds" << YAML::Value << period_s;
  out << YAML::Key << "timeoutSeconds" << YAML::Value << 2;
  out << YAML::Key << "failureThreshold" << YAML::Value << failures;
  out << YAML::EndMap;
}

void EmitResources(YAML::Emitter& out, const DeploymentSpec& s) {
  const std::string cpu = FormatCpuQuantity(s.cpu);
  const std::string memory = FormatMemoryQuantity(s.memory_bytes);
  out << YAML::Key << "resources" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "requests" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "cpu" << YAML::Value << YAML::DoubleQuoted << cpu;
  out << YAML::Key << "memory" << YAML::Value << YAML::DoubleQuoted << memory;
  out << YAML::EndMap;
  out << YAML::Key << "limits" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "cpu" << YAML::Value << YAML::DoubleQuoted << cpu;
  out << YAML::Key << "memory" << YAML::Value << YAML::DoubleQuoted << memory;
  if (s.gpu > 0) out << YAML::Key << "nvidia.com/gpu" << YAML::Value << s.gpu;
  if (s.tee == "sgx") {
    // Intel SGX device plugin: enclave page cache sized like the workload, the enclave
    // device, and the provisioning device that DCAP quote generation needs.
    out << YAML::Key << "sgx.intel.com/epc" << YAML::Value << YAML::DoubleQuoted << memory;
    out << YAML::Key << "sgx.intel.com/enclave" << YAML::Value << 1;
    out << YAML::Key << "sgx.intel.com/provision" << YAML::Value << 1;
  }
  out << YAML::EndMap << YAML::EndMap;
}

}  // namespace

int HealthPort(const DeploymentSpec& spec) {
  int port = kFirstHealthPort;
  auto taken = [&spec](int p) {
    if (p == ServingPort(spec)) return true;
    return std::any_of(spec.ports.begin(), spec.ports.end(),
                       [p](const PortSpec& q) { return q.port == p; });
  };
  while (taken(port)) ++port;  // ValidateSpec allows 64 ports: this ends by 8081 + 65
  return port;
}

Result<std::string> RuntimeClassForTee(std::string_view tee) {
  if (tee == "sev-snp" || tee == "sev") return std::string("kata-qemu-snp");
  if (tee == "tdx") return std::string("kata-qemu-tdx");
  if (tee == "sim") return std::string("kata-qemu-coco-dev");
  return MakeError(
      ErrorCode::kFailedPrecondition,
      "kubernetes: no Confidential Containers runtime class for tee=" + std::string(tee) +
          (tee == "sgx" ? " (SGX uses the Intel device plugin resources)"
                        : " (supported: sev-snp, sev, tdx, sgx, sim)"));
}

std::string InitDataToml(const DeploymentSpec& spec, const KubernetesOptions& options) {
  std::string toml = "version = \"0.1.0\"\nalgorithm = \"sha256\"\n\n[data]\n";
  toml += "\"crypta-spec.json\" = " + TomlQuote(CanonicalSpecJson(spec)) + "\n";
  toml += "\"crypta-host-data\" = " + TomlQuote(HexEncode(SpecHostData(spec))) + "\n";
  if (!options.broker_url.empty()) {
    // The guest's attestation agent and confidential data hub talk to the key broker; with
    // a CA bundle they pin it as the KBS certificate.
    std::string aa =
        "[token_configs]\n[token_configs.kbs]\nurl = " + TomlQuote(options.broker_url) + "\n";
    std::string cdh =
        "socket = \"unix:///run/confidential-containers/cdh.sock\"\n"
        "credentials = []\n\n[kbc]\nname = \"cc_kbc\"\nurl = " +
        TomlQuote(options.broker_url) + "\n";
    if (!options.broker_ca_pem.empty()) {
      aa += "cert = " + TomlQuote(options.broker_ca_pem) + "\n";
      cdh += "kbs_cert = " + TomlQuote(options.broker_ca_pem) + "\n";
    }
    toml += "\"aa.toml\" = " + TomlQuote(aa) + "\n";
    toml += "\"cdh.toml\" = " + TomlQuote(cdh) + "\n";
  }
  return toml;
}

Bytes GzipStored(ByteSpan data) {
  // RFC 1952 §2.3: ID1 ID2 CM=8 FLG=0 MTIME=0 XFL=0 OS=255 (unknown).
  Bytes out = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};
  size_t pos = 0;
  do {
    const size_t len = std::min<size_t>(data.size() - pos, 0xFFFF);
    const bool last = pos + len == data.size();
    // RFC 1951 §3.2.4: BFINAL + BTYPE=00, then LEN and NLEN (little-endian), then bytes.
    out.push_back(last ? 1 : 0);
    out.push_back(static_cast<uint8_t>(len));
    out.push_back(static_cast<uint8_t>(len >> 8));
    out.push_back(static_cast<uint8_t>(~len));
    out.push_back(static_cast<uint8_t>(~len >> 8));
    out.insert(out.end(), data.begin() + pos, data.begin() + pos + len);
    pos += len;
  } while (pos < data.size());
  PutLe32(out, Crc32(data));
  PutLe32(out, static_cast<uint32_t>(data.size()));  // ISIZE: size mod 2^32
  return out;
}

Result<std::string> RenderKubernetes(const DeploymentSpec& s, const KubernetesOptions& o) {
  if (auto valid = ValidateSpec(s); !valid) {
    return MakeError(valid.error().WithContext("kubernetes"));
  }
  CRYPTA_RETURN_IF_ERROR(CheckOptions(o));
  std::optional<std::string> runtime_class;
  if (s.tee != "sgx") {
    CRYPTA_ASSIGN_OR_RETURN(runtime_class, RuntimeClassForTee(s.tee));
  }
  const bool builtin = s.image == kBuiltinRuntimeImage;
  if (builtin && !s.model) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "kubernetes: image crypta-runtime needs spec.model (the model to serve)");
  }
  if (!s.ports.empty() && !std::isalpha(static_cast<unsigned char>(s.name[0]))) {
    return MakeError(internal::Invalid(
        "kubernetes: metadata.name: a Service name must start with a letter", s.name));
  }
  const std::string canonical = CanonicalSpecJson(s);
  const std::string host_data = HexEncode(SpecHostData(s));
  const std::string init_data = InitDataToml(s, o);
  const std::string init_data_annotation = Base64Encode(GzipStored(AsBytes(init_data)));
  if (init_data_annotation.size() + 512 > kMaxAnnotationBytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "kubernetes: the init-data annotation would be " +
                         std::to_string(init_data_annotation.size()) +
                         " bytes; Kubernetes allows 256 KiB of annotations per object (a "
                         "smaller spec.policy or CA bundle)");
  }
  const std::string spec_config = s.name + "-spec";

  YAML::Emitter out;
  // 1. ConfigMap with the spec, mounted read-only into the workload.
  out << YAML::BeginDoc << YAML::BeginMap;
  out << YAML::Key << "apiVersion" << YAML::Value << "v1";
  out << YAML::Key << "kind" << YAML::Value << "ConfigMap";
  EmitMetadata(out, s, spec_config, o);
  out << YAML::EndMap;
  out << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "spec.json" << YAML::Value << YAML::DoubleQuoted << canonical;
  out << YAML::Key << "host-data" << YAML::Value << YAML::DoubleQuoted << host_data;
  if (!o.broker_ca_pem.empty()) {
    out << YAML::Key << kBrokerCaKey << YAML::Value << YAML::DoubleQuoted << o.broker_ca_pem;
  }
  out << YAML::EndMap << YAML::EndMap;

  // 2. Deployment.
  out << YAML::BeginDoc << YAML::BeginMap;
  out << YAML::Key << "apiVersion" << YAML::Value << "apps/v1";
  out << YAML::Key << "kind" << YAML::Value << "Deployment";
  EmitMetadata(out, s, s.name, o);
  out << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : s.annotations) {
    out << YAML::Key << k << YAML::Value << YAML::DoubleQuoted << v;
  }
  out << YAML::Key << kHostDataAnnotation << YAML::Value << YAML::DoubleQuoted << host_data;
  out << YAML::EndMap << YAML::EndMap;
  out << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "replicas" << YAML::Value << 1;
  out << YAML::Key << "selector" << YAML::Value << YAML::BeginMap << YAML::Key << "matchLabels"
      << YAML::Value << YAML::BeginMap << YAML::Key << kNameLabel << YAML::Value << s.name
      << YAML::EndMap << YAML::EndMap;
  out << YAML::Key << "template" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  EmitLabels(out, s);
  // Only the pod's own annotations reach Kata; the user's stay on the Deployment above.
  out << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << kInitDataAnnotation << YAML::Value << YAML::DoubleQuoted
      << init_data_annotation;
  out << YAML::Key << kHostDataAnnotation << YAML::Value << YAML::DoubleQuoted << host_data;
  out << YAML::Key << kInitDataDigestAnnotation << YAML::Value << YAML::DoubleQuoted
      << HexEncode(Sha256(AsBytes(init_data)));
  out << YAML::Key << "crypta.dev/tee" << YAML::Value << s.tee;
  out << YAML::EndMap << YAML::EndMap;
  out << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  if (runtime_class) out << YAML::Key << "runtimeClassName" << YAML::Value << *runtime_class;
  out << YAML::Key << "containers" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << "workload";
  out << YAML::Key << "image" << YAML::Value << (builtin ? o.runtime_image : s.image);
  if (builtin) {
    out << YAML::Key << "args" << YAML::Value << YAML::BeginSeq;
    for (const std::string& a : RuntimeArgs(s, o)) out << YAML::DoubleQuoted << a;
    out << YAML::EndSeq;
  }
  if (!s.ports.empty() || builtin) {
    out << YAML::Key << "ports" << YAML::Value << YAML::BeginSeq;
    for (const PortSpec& p : s.ports) {
      out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << PortName(p);
      out << YAML::Key << "containerPort" << YAML::Value << p.port;
      out << YAML::Key << "protocol" << YAML::Value << L4Protocol(p.protocol) << YAML::EndMap;
    }
    if (builtin) {
      out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "health";
      out << YAML::Key << "containerPort" << YAML::Value << HealthPort(s);
      out << YAML::Key << "protocol" << YAML::Value << "TCP" << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  if (builtin) {
    EmitProbe(out, "livenessProbe", "/healthz", HealthPort(s), 10, 3);
    EmitProbe(out, "readinessProbe", "/readyz", HealthPort(s), 5, 1);
  }
  if (!s.env.empty()) {
    out << YAML::Key << "env" << YAML::Value << YAML::BeginSeq;
    for (const EnvVar& e : s.env) {
      out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << e.name;
      out << YAML::Key << "value" << YAML::Value << YAML::DoubleQuoted << e.value << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  EmitResources(out, s);
  out << YAML::Key << "volumeMounts" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << "crypta-spec";
  out << YAML::Key << "mountPath" << YAML::Value << kSpecMountPath;
  out << YAML::Key << "readOnly" << YAML::Value << true << YAML::EndMap << YAML::EndSeq;
  out << YAML::EndMap << YAML::EndSeq;  // the container, containers
  out << YAML::Key << "volumes" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << "crypta-spec";
  out << YAML::Key << "configMap" << YAML::Value << YAML::BeginMap << YAML::Key << "name"
      << YAML::Value << spec_config << YAML::EndMap << YAML::EndMap << YAML::EndSeq;
  out << YAML::EndMap << YAML::EndMap << YAML::EndMap << YAML::EndMap;  // pod spec … document

  // 3. Service for the declared ports.
  if (!s.ports.empty()) {
    out << YAML::BeginDoc << YAML::BeginMap;
    out << YAML::Key << "apiVersion" << YAML::Value << "v1";
    out << YAML::Key << "kind" << YAML::Value << "Service";
    EmitMetadata(out, s, s.name, o);
    out << YAML::EndMap;
    out << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "type" << YAML::Value << "ClusterIP";
    out << YAML::Key << "selector" << YAML::Value << YAML::BeginMap << YAML::Key << kNameLabel
        << YAML::Value << s.name << YAML::EndMap;
    out << YAML::Key << "ports" << YAML::Value << YAML::BeginSeq;
    for (const PortSpec& p : s.ports) {
      out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << PortName(p);
      out << YAML::Key << "port" << YAML::Value << p.port;
      out << YAML::Key << "targetPort" << YAML::Value << p.port;
      out << YAML::Key << "protocol" << YAML::Value << L4Protocol(p.protocol);
      if (p.protocol != "TCP" && p.protocol != "UDP") {
        std::string app = PortName(p).substr(0, PortName(p).find('-'));
        out << YAML::Key << "appProtocol" << YAML::Value << app;
      }
      out << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap << YAML::EndMap;
  }
  if (!out.good()) {
    return MakeError(ErrorCode::kInternal, "kubernetes: YAML emitter: " + out.GetLastError());
  }
  return std::string(out.c_str()) + "\n";
}

}  // namespace crypta::deploy
