// The deployment spec's JSON form (spec.h SpecToJson / SpecFromJson): what the control
// plane stores and receives. Strict on read: unknown members and wrong types are errors.
#include <set>

#include "deploy/spec.h"
#include "deploy/spec_internal.h"

namespace crypta::deploy {
namespace {

using nlohmann::json;

Error JsonError(std::string_view field, std::string_view problem) {
  return Error(ErrorCode::kInvalidArgument,
               "spec json: " + std::string(field) + ": " + std::string(problem));
}

Status CheckMembers(const json& j, std::string_view field, const std::set<std::string>& known) {
  if (!j.is_object()) return MakeError(JsonError(field, "must be an object"));
  for (const auto& [key, value] : j.items()) {
    if (!known.count(key)) {
      return MakeError(JsonError(field, "unknown member " + internal::QuoteValue(key)));
    }
  }
  return OkStatus();
}

// The member or nullptr when absent or null.
const json* Member(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> String(const json& j, const char* key, std::string_view field, bool required) {
  const json* m = Member(j, key);
  if (m == nullptr) {
    if (required) return MakeError(JsonError(field, "required"));
    return std::string();
  }
  if (!m->is_string()) return MakeError(JsonError(field, "must be a string"));
  return m->get<std::string>();
}

Result<int64_t> Integer(const json& j, const char* key, std::string_view field, bool required) {
  const json* m = Member(j, key);
  if (m == nullptr) {
    if (required) return MakeError(JsonError(field, "required"));
    return 0;
  }
  if (!m->is_number_integer()) return MakeError(JsonError(field, "must be an integer"));
  if (m->is_number_unsigned() && m->get<uint64_t>() > uint64_t{INT64_MAX}) {
    return MakeError(JsonError(field, "out of range"));
  }
  return m->get<int64_t>();
}

Result<bool> Boolean(const json& j, const char* key, std::string_view field) {
  const json* m = Member(j, key);
  if (m == nullptr) return false;
  if (!m->is_boolean()) return MakeError(JsonError(field, "must be a boolean"));
  return m->get<bool>();
}

const json* Array(const json& j, const char* key) {
  const json* m = Member(j, key);
  return m;
}

Result<DeploymentSpec> FromJson(const json& j) {
  CRYPTA_RETURN_IF_ERROR(CheckMembers(
      j, "spec",
      {"kind", "name", "annotations", "tee", "cpu", "memory_bytes", "gpu", "image", "ports", "env",
       "model", "policy_yaml", "tee_enabled", "attestation_required", "mtls", "allowed_peers"}));
  DeploymentSpec s;
  CRYPTA_ASSIGN_OR_RETURN(s.kind, String(j, "kind", "kind", true));
  CRYPTA_ASSIGN_OR_RETURN(s.name, String(j, "name", "name", true));
  if (const json* a = Member(j, "annotations")) {
    if (!a->is_object()) return MakeError(JsonError("annotations", "must be an object"));
    for (const auto& [k, v] : a->items()) {
      if (!v.is_string()) return MakeError(JsonError("annotations." + k, "must be a string"));
      s.annotations[k] = v.get<std::string>();
    }
  }
  CRYPTA_ASSIGN_OR_RETURN(s.tee, String(j, "tee", "tee", true));
  const json* cpu = Member(j, "cpu");
  if (cpu == nullptr) return MakeError(JsonError("cpu", "required"));
  if (!cpu->is_number()) return MakeError(JsonError("cpu", "must be a number"));
  s.cpu = cpu->get<double>();
  CRYPTA_ASSIGN_OR_RETURN(s.memory_bytes, Integer(j, "memory_bytes", "memory_bytes", true));
  CRYPTA_ASSIGN_OR_RETURN(int64_t gpu, Integer(j, "gpu", "gpu", false));
  if (gpu < 0 || gpu > kMaxGpu) return MakeError(JsonError("gpu", "must be in 0..64"));
  s.gpu = static_cast<int>(gpu);
  CRYPTA_ASSIGN_OR_RETURN(s.image, String(j, "image", "image", true));
  if (const json* ports = Array(j, "ports")) {
    if (!ports->is_array()) return MakeError(JsonError("ports", "must be an array"));
    for (size_t i = 0; i < ports->size(); ++i) {
      const std::string where = "ports[" + std::to_string(i) + "]";
      CRYPTA_RETURN_IF_ERROR(CheckMembers((*ports)[i], where, {"port", "protocol"}));
      CRYPTA_ASSIGN_OR_RETURN(int64_t port, Integer((*ports)[i], "port", where + ".port", true));
      if (port < 1 || port > 65535) return MakeError(JsonError(where + ".port", "out of range"));
      CRYPTA_ASSIGN_OR_RETURN(std::string protocol,
                              String((*ports)[i], "protocol", where + ".protocol", true));
      s.ports.push_back(PortSpec{static_cast<int>(port), protocol});
    }
  }
  if (const json* env = Array(j, "env")) {
    if (!env->is_array()) return MakeError(JsonError("env", "must be an array"));
    for (size_t i = 0; i < env->size(); ++i) {
      const std::string where = "env[" + std::to_string(i) + "]";
      CRYPTA_RETURN_IF_ERROR(CheckMembers((*env)[i], where, {"name", "value"}));
      EnvVar e;
      CRYPTA_ASSIGN_OR_RETURN(e.name, String((*env)[i], "name", where + ".name", true));
      CRYPTA_ASSIGN_OR_RETURN(e.value, String((*env)[i], "value", where + ".value", false));
      s.env.push_back(std::move(e));
    }
  }
  if (const json* model = Member(j, "model")) {
    CRYPTA_RETURN_IF_ERROR(CheckMembers(*model, "model", {"ref", "backend", "name", "signature"}));
    ModelSpec m;
    CRYPTA_ASSIGN_OR_RETURN(m.ref, String(*model, "ref", "model.ref", true));
    CRYPTA_ASSIGN_OR_RETURN(m.backend, String(*model, "backend", "model.backend", false));
    CRYPTA_ASSIGN_OR_RETURN(m.name, String(*model, "name", "model.name", true));
    if (const json* sig = Member(*model, "signature"); sig != nullptr && !sig->is_null()) {
      if (!sig->is_object()) return MakeError(JsonError("model.signature", "must be an object"));
      m.signature_json = sig->dump();
    }
    s.model = std::move(m);
  }
  if (Member(j, "policy_yaml") != nullptr) {
    CRYPTA_ASSIGN_OR_RETURN(std::string policy, String(j, "policy_yaml", "policy_yaml", true));
    s.policy_yaml = std::move(policy);
  }
  CRYPTA_ASSIGN_OR_RETURN(s.tee_enabled, Boolean(j, "tee_enabled", "tee_enabled"));
  if (!s.tee.empty()) s.tee_enabled = true;  // a named TEE is a confidential deployment
  CRYPTA_ASSIGN_OR_RETURN(s.attestation_required,
                          Boolean(j, "attestation_required", "attestation_required"));
  if (Member(j, "mtls") != nullptr) {
    CRYPTA_ASSIGN_OR_RETURN(s.mtls, String(j, "mtls", "mtls", true));
  }
  if (const json* peers = Member(j, "allowed_peers")) {
    if (!peers->is_array()) return MakeError(JsonError("allowed_peers", "must be an array"));
    for (size_t i = 0; i < peers->size(); ++i) {
      if (!(*peers)[i].is_string()) {
        return MakeError(JsonError("allowed_peers[" + std::to_string(i) + "]", "must be a string"));
      }
      s.allowed_peers.push_back((*peers)[i].get<std::string>());
    }
  }
  auto valid = ValidateSpec(s);
  if (!valid) return MakeError(valid.error().WithContext("spec json"));
  return s;
}

}  // namespace

nlohmann::json SpecToJson(const DeploymentSpec& s) {
  json j = json::object();
  j["kind"] = s.kind;
  j["name"] = s.name;
  j["annotations"] = json::object();
  for (const auto& [k, v] : s.annotations) j["annotations"][k] = v;
  j["tee"] = s.tee;
  j["cpu"] = s.cpu;
  j["memory_bytes"] = s.memory_bytes;
  j["gpu"] = s.gpu;
  j["image"] = s.image;
  j["ports"] = json::array();
  for (const PortSpec& p : s.ports)
    j["ports"].push_back({{"port", p.port}, {"protocol", p.protocol}});
  j["env"] = json::array();
  for (const EnvVar& e : s.env) j["env"].push_back({{"name", e.name}, {"value", e.value}});
  if (s.model) {
    j["model"] = {{"ref", s.model->ref}, {"backend", s.model->backend}, {"name", s.model->name}};
    // Only when given, so specs without one keep their canonical form (and host data).
    if (!s.model->signature_json.empty()) {
      j["model"]["signature"] = json::parse(s.model->signature_json, nullptr, false);
    }
  } else {
    j["model"] = nullptr;
  }
  j["policy_yaml"] = s.policy_yaml ? json(*s.policy_yaml) : json(nullptr);
  j["tee_enabled"] = s.tee_enabled;
  j["attestation_required"] = s.attestation_required;
  // Only when used, so the host data of specs without them stays what it was.
  if (s.mtls != "off") j["mtls"] = s.mtls;
  if (!s.allowed_peers.empty()) j["allowed_peers"] = s.allowed_peers;
  return j;
}

Result<DeploymentSpec> SpecFromJson(const nlohmann::json& j) {
  try {
    return FromJson(j);
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("spec json: ") + e.what());
  }
}

}  // namespace crypta::deploy
