// Deployment spec: field rules, the JSON form, canonical text and host data (spec.h).
// The YAML front end is spec_yaml.cc.
#include "deploy/spec.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "attest/policy.h"
#include "common/json_canonical.h"
#include "crypto/hash.h"
#include "deploy/spec_internal.h"
#include "infer/model_runner.h"

namespace crypta::deploy {
namespace internal {

std::string QuoteValue(std::string_view value) {
  constexpr size_t kMaxShown = 80;
  std::string shown(value.substr(0, kMaxShown));
  std::string out =
      nlohmann::json(shown).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  if (value.size() > kMaxShown) out.insert(out.size() - 1, "...");
  return out;
}

Error Invalid(std::string_view problem, std::string_view value) {
  return Error(ErrorCode::kInvalidArgument,
               std::string(problem) + " (got " + QuoteValue(value) + ")");
}

// RFC 3629 §4: well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

Result<std::string> CheckName(std::string_view name) {
  // RFC 1123 label, as Kubernetes DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63.
  if (name.empty()) return MakeError(Invalid("must not be empty", name));
  bool ok = name.size() <= 63 && name.front() != '-' && name.back() != '-';
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (!ok) {
    return MakeError(
        Invalid("must be a DNS-1123 label (lower-case letters, digits and '-', "
                "at most 63, starting and ending alphanumeric)",
                name));
  }
  return std::string(name);
}

Result<std::string> CheckImage(std::string_view image) {
  if (image.empty()) return MakeError(Invalid("must not be empty", image));
  bool ok = image.size() <= 512;
  for (char c : image) ok = ok && c > ' ' && c < 0x7F;
  if (!ok) return MakeError(Invalid("must be printable ASCII without spaces, <= 512", image));
  return std::string(image);
}

Status CheckPortNumber(int64_t port) {
  if (port < 1 || port > 65535) {
    return MakeError(Invalid("must be in 1..65535", std::to_string(port)));
  }
  return OkStatus();
}

Result<std::string> CanonicalProtocol(std::string_view protocol) {
  std::string upper(protocol);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::set<std::string> kProtocols = {"HTTP", "HTTPS", "TCP", "UDP", "GRPC"};
  if (!kProtocols.count(upper)) {
    return MakeError(Invalid("must be HTTP, HTTPS, TCP, UDP or GRPC", protocol));
  }
  return upper;
}

Status CheckEnvName(std::string_view name) {
  bool ok =
      !name.empty() && name.size() <= 256 && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  }
  if (!ok) return MakeError(Invalid("must match [A-Za-z_][A-Za-z0-9_.-]*, <= 256", name));
  return OkStatus();
}

Status CheckText(std::string_view value, size_t max_bytes) {
  if (value.size() > max_bytes) {
    return MakeError(Invalid("longer than " + std::to_string(max_bytes) + " bytes", value));
  }
  if (!IsValidUtf8(value)) return MakeError(Invalid("not valid UTF-8", value));
  return OkStatus();
}

Status CheckAnnotationKey(std::string_view key) {
  bool ok = !key.empty() && key.size() <= 253;
  for (char c : key) ok = ok && c > ' ' && c < 0x7F;
  if (!ok) return MakeError(Invalid("must be printable ASCII without spaces, <= 253", key));
  return OkStatus();
}

namespace {
bool IsRefPart(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}
}  // namespace

}  // namespace internal

Result<ModelRefParts> SplitModelRef(std::string_view ref) {
  constexpr std::string_view kScheme = "store://";
  constexpr std::string_view kDigest = "@sha256:";
  const auto fail = [&] {
    return MakeError(internal::Invalid(
        "must be store://<tenant>/<name>@sha256:<64 lowercase hex> (or @latest)", ref));
  };
  if (ref.substr(0, kScheme.size()) != kScheme) return fail();
  std::string_view rest = ref.substr(kScheme.size());
  const size_t slash = rest.find('/');
  const size_t at = rest.find('@');
  if (slash == std::string_view::npos || at == std::string_view::npos || at < slash) {
    return fail();
  }
  std::string_view tenant = rest.substr(0, slash);
  std::string_view name = rest.substr(slash + 1, at - slash - 1);
  std::string_view digest = rest.substr(at);
  if (!internal::IsRefPart(tenant) || !internal::IsRefPart(name)) return fail();
  if (digest == "@latest") return ModelRefParts{std::string(tenant), std::string(name), "latest"};
  if (digest.substr(0, kDigest.size()) != kDigest) return fail();
  digest.remove_prefix(kDigest.size());
  if (digest.size() != 64 || !std::all_of(digest.begin(), digest.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    return fail();
  }
  return ModelRefParts{std::string(tenant), std::string(name), std::string(digest)};
}

namespace internal {

Result<std::string> ModelNameFromRef(std::string_view ref) {
  CRYPTA_ASSIGN_OR_RETURN(ModelRefParts parts, SplitModelRef(ref));
  return parts.name;
}

Result<std::string> CanonicalSignature(std::string_view json_text) {
  Result<infer::ModelSignature> sig = infer::ParseModelSignatureJson(json_text);
  if (!sig) return MakeError(Invalid(sig.error().message(), json_text.substr(0, 80)));
  return infer::ModelSignatureToJson(*sig);
}

Status CheckBackend(std::string_view backend) {
  if (backend != "torchscript" && backend != "onnx") {
    return MakeError(Invalid("must be torchscript or onnx", backend));
  }
  return OkStatus();
}

Status CheckModelName(std::string_view name) {
  if (!IsRefPart(name)) {
    return MakeError(Invalid("must be 1..128 of [A-Za-z0-9_.-]", name));
  }
  return OkStatus();
}

Status CheckCpu(double cpu) {
  if (!std::isfinite(cpu) || cpu <= 0) {
    return MakeError(Invalid("must be greater than 0", FormatCpuQuantity(cpu)));
  }
  if (cpu > kMaxCpu) return MakeError(Invalid("must be at most 1024", FormatCpuQuantity(cpu)));
  const double milli = cpu * 1000;
  if (std::fabs(milli - std::round(milli)) > 1e-6) {
    return MakeError(Invalid("must be a multiple of 0.001 (1m)", std::to_string(cpu)));
  }
  return OkStatus();
}

Status CheckMemory(int64_t bytes) {
  if (bytes <= 0) return MakeError(Invalid("must be greater than 0", std::to_string(bytes)));
  if (bytes > kMaxMemoryBytes) {
    return MakeError(Invalid("must be at most 1Pi", std::to_string(bytes)));
  }
  return OkStatus();
}

Status CheckGpu(int64_t gpu) {
  if (gpu < 0 || gpu > kMaxGpu) {
    return MakeError(Invalid("must be in 0..64", std::to_string(gpu)));
  }
  return OkStatus();
}

Status CheckPolicy(std::string_view policy_yaml) {
  auto parsed = attest::ParseAppraisalPolicy(policy_yaml);
  if (!parsed) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "not a valid appraisal policy: " + parsed.error().message());
  }
  return OkStatus();
}

Result<bool> ParseFlag(std::string_view value) {
  std::string lower(value);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "true" || lower == "1") return true;
  if (lower == "false" || lower == "0" || lower.empty()) return false;
  return MakeError(Invalid("must be true or false", value));
}

}  // namespace internal

using internal::Invalid;

Result<std::string> CanonicalTee(std::string_view tee) {
  std::string t(tee);
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "snp" || t == "sev_snp" || t == "sevsnp" || t == "amd-sev-snp") t = "sev-snp";
  if (t == "sev-es") t = "sev";
  static const std::set<std::string> kTees = {"sgx",       "sev", "sev-snp", "tdx",
                                              "trustzone", "cca", "nitro",   "sim"};
  if (!kTees.count(t)) {
    return MakeError(
        Invalid("unknown tee, want one of sgx, sev, sev-snp, tdx, trustzone, "
                "cca, nitro, sim",
                tee));
  }
  return t;
}

Status ValidateSpec(const DeploymentSpec& s) {
  using namespace internal;
  auto field = [](std::string_view name, Status st) -> Status {
    if (!st) return MakeError(st.error().WithContext(name));
    return OkStatus();
  };
  if (s.kind != "VirtualMachine") {
    return MakeError(Invalid("kind: must be VirtualMachine", s.kind));
  }
  CRYPTA_RETURN_IF_ERROR(field("metadata.name", CheckName(s.name).map([](auto&&) {})));
  if (s.annotations.size() > 64) {
    return MakeError(ErrorCode::kInvalidArgument, "metadata.annotations: more than 64");
  }
  for (const auto& [k, v] : s.annotations) {
    CRYPTA_RETURN_IF_ERROR(field("metadata.annotations", CheckAnnotationKey(k)));
    CRYPTA_RETURN_IF_ERROR(field("metadata.annotations." + k, CheckText(v, 64 * 1024)));
  }
  auto tee = CanonicalTee(s.tee);
  CRYPTA_RETURN_IF_ERROR(field("spec.requirements.tee", tee.map([](auto&&) {})));
  if (*tee != s.tee) {
    return MakeError(Invalid("spec.requirements.tee: not a canonical tee name", s.tee));
  }
  CRYPTA_RETURN_IF_ERROR(field("spec.requirements.resources.cpu", CheckCpu(s.cpu)));
  CRYPTA_RETURN_IF_ERROR(field("spec.requirements.resources.memory", CheckMemory(s.memory_bytes)));
  CRYPTA_RETURN_IF_ERROR(field("spec.requirements.resources.gpu", CheckGpu(s.gpu)));
  CRYPTA_RETURN_IF_ERROR(field("spec.image", CheckImage(s.image).map([](auto&&) {})));
  if (s.ports.size() > 64)
    return MakeError(ErrorCode::kInvalidArgument, "spec.ports: more than 64");
  std::set<int> ports;
  for (size_t i = 0; i < s.ports.size(); ++i) {
    const std::string where = "spec.ports[" + std::to_string(i) + "]";
    CRYPTA_RETURN_IF_ERROR(field(where + ".port", CheckPortNumber(s.ports[i].port)));
    auto protocol = CanonicalProtocol(s.ports[i].protocol);
    CRYPTA_RETURN_IF_ERROR(field(where + ".protocol", protocol.map([](auto&&) {})));
    if (*protocol != s.ports[i].protocol) {
      return MakeError(Invalid(where + ".protocol: not canonical", s.ports[i].protocol));
    }
    if (!ports.insert(s.ports[i].port).second) {
      return MakeError(Invalid(where + ".port: duplicate", std::to_string(s.ports[i].port)));
    }
  }
  if (s.env.size() > 256) return MakeError(ErrorCode::kInvalidArgument, "spec.env: more than 256");
  std::set<std::string> names;
  for (size_t i = 0; i < s.env.size(); ++i) {
    const std::string where = "spec.env[" + std::to_string(i) + "]";
    CRYPTA_RETURN_IF_ERROR(field(where + ".name", CheckEnvName(s.env[i].name)));
    CRYPTA_RETURN_IF_ERROR(field(where + ".value", CheckText(s.env[i].value, 64 * 1024)));
    if (!names.insert(s.env[i].name).second) {
      return MakeError(Invalid(where + ".name: duplicate", s.env[i].name));
    }
  }
  if (s.model) {
    CRYPTA_RETURN_IF_ERROR(
        field("spec.model.ref", ModelNameFromRef(s.model->ref).map([](auto&&) {})));
    if (!s.model->backend.empty()) {
      CRYPTA_RETURN_IF_ERROR(field("spec.model.backend", CheckBackend(s.model->backend)));
    }
    CRYPTA_RETURN_IF_ERROR(field("spec.model.name", CheckModelName(s.model->name)));
    if (!s.model->signature_json.empty()) {
      CRYPTA_RETURN_IF_ERROR(field("spec.model.signature",
                                   CanonicalSignature(s.model->signature_json).map([](auto&&) {})));
    }
  }
  if (s.policy_yaml) CRYPTA_RETURN_IF_ERROR(field("spec.policy", CheckPolicy(*s.policy_yaml)));
  if (s.mtls != "off" && s.mtls != "optional" && s.mtls != "required") {
    return MakeError(Invalid("spec.mtls: must be off, optional or required", s.mtls));
  }
  if (s.allowed_peers.size() > 64) {
    return MakeError(ErrorCode::kInvalidArgument, "spec.allowed_peers: more than 64");
  }
  for (const std::string& peer : s.allowed_peers) {
    if (peer.rfind("spiffe://", 0) != 0 || peer.size() > 2048) {
      return MakeError(Invalid("spec.allowed_peers: a SPIFFE ID pattern (spiffe://…)", peer));
    }
  }
  if (!s.allowed_peers.empty() && s.mtls == "off") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "spec.allowed_peers: needs spec.mtls optional or required");
  }
  return OkStatus();
}

Bytes SpecHostData(const DeploymentSpec& spec) { return Sha256(AsBytes(CanonicalSpecJson(spec))); }

std::string CanonicalSpecJson(const DeploymentSpec& spec) {
  const nlohmann::json j = SpecToJson(spec);
  auto canonical = CanonicalizeJson(j);
  if (canonical) return *canonical;
  // Only reachable for unvalidated specs holding invalid UTF-8: replace it, then retry.
  const std::string repaired = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto retry = CanonicalizeJsonText(repaired, {kMaxSpecBytes * 8, 256});
  return retry ? *retry : repaired;
}

}  // namespace crypta::deploy
