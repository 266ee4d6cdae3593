// The YAML front end of the deployment spec (spec.h ParseDeploymentSpec): yaml-cpp nodes
// carry their position (Mark, 0-based), so every error names FILE:LINE:COL (1-based), the
// field and the bad value. Unknown keys warn; everything else unexpected is an error.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "deploy/spec.h"
#include "deploy/spec_internal.h"

namespace crypta::deploy {
namespace {

using internal::Invalid;
using internal::QuoteValue;

constexpr int kMaxPolicyNodes = 10000;

class SpecParser {
 public:
  SpecParser(std::string_view file, std::vector<std::string>* warnings)
      : file_(file), warnings_(warnings) {}

  std::string Where(const YAML::Mark& m) const {
    return file_ + ":" + std::to_string(std::max(m.line, 0) + 1) + ":" +
           std::to_string(std::max(m.column, 0) + 1);
  }

  // "FILE:LINE:COL: FIELD: <inner message>".
  Error At(const YAML::Node& node, std::string_view field, const Error& inner) const {
    return Error(inner.code(),
                 Where(node.Mark()) + ": " + std::string(field) + ": " + inner.message());
  }
  Error At(const YAML::Node& node, std::string_view field, std::string_view problem,
           std::string_view value) const {
    return At(node, field, Invalid(problem, value));
  }
  template <typename T>
  Result<T> Check(const YAML::Node& node, std::string_view field, Result<T> r) const {
    if (!r) return MakeError(At(node, field, r.error()));
    return r;
  }

  static std::string Describe(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Map:
        return "<mapping>";
      case YAML::NodeType::Sequence:
        return "<sequence>";
      case YAML::NodeType::Null:
        return "<null>";
      default:
        return n.Scalar();
    }
  }

  // The known entries of mapping `node`; unknown keys become warnings. Keys must be
  // scalars and unique.
  Result<std::map<std::string, std::pair<YAML::Node, YAML::Node>>> Entries(
      const YAML::Node& node, const std::string& field, const std::set<std::string>& known) {
    if (!node.IsMap()) return MakeError(At(node, field, "must be a mapping", Describe(node)));
    std::map<std::string, std::pair<YAML::Node, YAML::Node>> out;
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        return MakeError(At(key, field, "keys must be scalars", Describe(key)));
      }
      const std::string name = key.Scalar();
      const std::string path = field.empty() ? name : field + "." + name;
      if (!seen.insert(name).second) return MakeError(At(key, path, "duplicate key", name));
      if (!known.count(name)) {
        warnings_->push_back(Where(key.Mark()) + ": unknown key " + path + " (ignored)");
        continue;
      }
      out[name] = {key, it->second};
    }
    return out;
  }

  Result<std::string> Scalar(const YAML::Node& n, std::string_view field) const {
    if (!n.IsScalar()) return MakeError(At(n, field, "must be a scalar", Describe(n)));
    return n.Scalar();
  }

  Result<int64_t> Integer(const YAML::Node& n, std::string_view field) const {
    CRYPTA_ASSIGN_OR_RETURN(std::string text, Scalar(n, field));
    std::string_view digits = text;
    const bool negative = !digits.empty() && digits[0] == '-';
    if (negative || (!digits.empty() && digits[0] == '+')) digits.remove_prefix(1);
    if (digits.empty() || digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return MakeError(At(n, field, "must be an integer", text));
    }
    const int64_t v = std::stoll(std::string(digits));
    return negative ? -v : v;
  }

  Status ParseRoot(const YAML::Node& root, DeploymentSpec* s);

 private:
  Status ParseMetadata(const YAML::Node& n, DeploymentSpec* s);
  Status ParseSpec(const YAML::Node& n, DeploymentSpec* s);
  Status ParseRequirements(const YAML::Node& n, DeploymentSpec* s);
  Status ParsePorts(const YAML::Node& n, DeploymentSpec* s);
  Status ParseEnv(const YAML::Node& n, DeploymentSpec* s);
  Result<nlohmann::json> SignatureToJson(const YAML::Node& n, int depth, int* count);
  Status ParseModel(const YAML::Node& n, DeploymentSpec* s);
  Status EmitPolicy(const YAML::Node& n, YAML::Emitter& out, int depth, int* count);

  std::string file_;
  std::vector<std::string>* warnings_;
};

Error Missing(const SpecParser& p, const YAML::Node& parent, std::string_view field) {
  return p.At(parent, field, Error(ErrorCode::kInvalidArgument, "required (got nothing)"));
}

Status SpecParser::ParseRoot(const YAML::Node& root, DeploymentSpec* s) {
  CRYPTA_ASSIGN_OR_RETURN(auto e, Entries(root, "", {"kind", "metadata", "spec"}));
  if (!e.count("kind")) return MakeError(Missing(*this, root, "kind"));
  const YAML::Node& kind = e["kind"].second;
  CRYPTA_ASSIGN_OR_RETURN(s->kind, Scalar(kind, "kind"));
  if (s->kind != "VirtualMachine") {
    return MakeError(At(kind, "kind", "must be VirtualMachine", s->kind));
  }
  if (!e.count("metadata")) return MakeError(Missing(*this, root, "metadata.name"));
  CRYPTA_RETURN_IF_ERROR(ParseMetadata(e["metadata"].second, s));
  if (!e.count("spec")) return MakeError(Missing(*this, root, "spec"));
  return ParseSpec(e["spec"].second, s);
}

Status SpecParser::ParseMetadata(const YAML::Node& n, DeploymentSpec* s) {
  CRYPTA_ASSIGN_OR_RETURN(auto e, Entries(n, "metadata", {"name", "annotations"}));
  if (!e.count("name")) return MakeError(Missing(*this, n, "metadata.name"));
  const YAML::Node& name = e["name"].second;
  CRYPTA_ASSIGN_OR_RETURN(std::string text, Scalar(name, "metadata.name"));
  CRYPTA_ASSIGN_OR_RETURN(s->name, Check(name, "metadata.name", internal::CheckName(text)));
  if (!e.count("annotations") || e["annotations"].second.IsNull()) return OkStatus();
  const YAML::Node& a = e["annotations"].second;
  if (!a.IsMap()) {
    return MakeError(At(a, "metadata.annotations", "must be a mapping", Describe(a)));
  }
  if (a.size() > 64) return MakeError(At(a, "metadata.annotations", "more than 64", "many"));
  for (auto it = a.begin(); it != a.end(); ++it) {
    CRYPTA_ASSIGN_OR_RETURN(std::string key, Scalar(it->first, "metadata.annotations"));
    const std::string field = "metadata.annotations." + key;
    CRYPTA_RETURN_IF_ERROR(Check(it->first, field, internal::CheckAnnotationKey(key)));
    CRYPTA_ASSIGN_OR_RETURN(std::string value, Scalar(it->second, field));
    CRYPTA_RETURN_IF_ERROR(Check(it->second, field, internal::CheckText(value, 64 * 1024)));
    if (!s->annotations.emplace(key, value).second) {
      return MakeError(At(it->first, field, "duplicate key", key));
    }
  }
  return OkStatus();
}

Status SpecParser::ParseSpec(const YAML::Node& n, DeploymentSpec* s) {
  CRYPTA_ASSIGN_OR_RETURN(auto e, Entries(n, "spec",
                                          {"requirements", "image", "ports", "env", "model",
                                           "policy", "mtls", "allowed_peers"}));
  if (!e.count("requirements")) return MakeError(Missing(*this, n, "spec.requirements.tee"));
  CRYPTA_RETURN_IF_ERROR(ParseRequirements(e["requirements"].second, s));
  if (!e.count("image")) return MakeError(Missing(*this, n, "spec.image"));
  const YAML::Node& image = e["image"].second;
  CRYPTA_ASSIGN_OR_RETURN(std::string text, Scalar(image, "spec.image"));
  CRYPTA_ASSIGN_OR_RETURN(s->image, Check(image, "spec.image", internal::CheckImage(text)));
  if (e.count("ports")) CRYPTA_RETURN_IF_ERROR(ParsePorts(e["ports"].second, s));
  if (e.count("env")) CRYPTA_RETURN_IF_ERROR(ParseEnv(e["env"].second, s));
  if (e.count("model")) CRYPTA_RETURN_IF_ERROR(ParseModel(e["model"].second, s));
  if (e.count("policy")) {
    const YAML::Node& policy = e["policy"].second;
    if (!policy.IsMap()) {
      return MakeError(At(policy, "spec.policy", "must be a mapping", Describe(policy)));
    }
    YAML::Emitter out;
    int count = 0;
    CRYPTA_RETURN_IF_ERROR(EmitPolicy(policy, out, 0, &count));
    if (!out.good()) {
      return MakeError(At(policy, "spec.policy", "cannot be re-emitted", out.GetLastError()));
    }
    std::string text = std::string(out.c_str()) + "\n";
    CRYPTA_RETURN_IF_ERROR(Check(policy, "spec.policy", internal::CheckPolicy(text)));
    s->policy_yaml = std::move(text);
  }
  if (e.count("mtls")) {
    const YAML::Node& mtls = e["mtls"].second;
    CRYPTA_ASSIGN_OR_RETURN(s->mtls, Scalar(mtls, "spec.mtls"));
    if (s->mtls != "off" && s->mtls != "optional" && s->mtls != "required") {
      return MakeError(At(mtls, "spec.mtls", "must be off, optional or required", s->mtls));
    }
  }
  if (e.count("allowed_peers")) {
    const YAML::Node& peers = e["allowed_peers"].second;
    if (!peers.IsSequence()) {
      return MakeError(At(peers, "spec.allowed_peers", "must be a list", Describe(peers)));
    }
    for (const auto& peer : peers) {
      CRYPTA_ASSIGN_OR_RETURN(std::string text, Scalar(peer, "spec.allowed_peers"));
      if (text.rfind("spiffe://", 0) != 0) {
        return MakeError(At(peer, "spec.allowed_peers", "must be a SPIFFE ID pattern", text));
      }
      s->allowed_peers.push_back(std::move(text));
    }
  }
  return OkStatus();
}

Status SpecParser::ParseRequirements(const YAML::Node& n, DeploymentSpec* s) {
  CRYPTA_ASSIGN_OR_RETURN(auto e, Entries(n, "spec.requirements", {"tee", "resources"}));
  if (!e.count("tee")) return MakeError(Missing(*this, n, "spec.requirements.tee"));
  const YAML::Node& tee = e["tee"].second;
  CRYPTA_ASSIGN_OR_RETURN(std::string text, Scalar(tee, "spec.requirements.tee"));
  CRYPTA_ASSIGN_OR_RETURN(s->tee, Check(tee, "spec.requirements.tee", CanonicalTee(text)));
  const std::string rfield = "spec.requirements.resources";
  if (!e.count("resources")) return MakeError(Missing(*this, n, rfield + ".cpu"));
  const YAML::Node& r = e["resources"].second;
  CRYPTA_ASSIGN_OR_RETURN(auto re, Entries(r, rfield, {"cpu", "memory", "gpu"}));
  if (!re.count("cpu")) return MakeError(Missing(*this, r, rfield + ".cpu"));
  const YAML::Node& cpu = re["cpu"].second;
  CRYPTA_ASSIGN_OR_RETURN(text, Scalar(cpu, rfield + ".cpu"));
  CRYPTA_ASSIGN_OR_RETURN(s->cpu, Check(cpu, rfield + ".cpu", ParseCpuQuantity(text)));
  if (!re.count("memory")) return MakeError(Missing(*this, r, rfield + ".memory"));
  const YAML::Node& memory = re["memory"].second;
  CRYPTA_ASSIGN_OR_RETURN(text, Scalar(memory, rfield + ".memory"));
  CRYPTA_ASSIGN_OR_RETURN(s->memory_bytes,
                          Check(memory, rfield + ".memory", ParseMemoryQuantity(text)));
  if (re.count("gpu")) {
    const YAML::Node& gpu = re["gpu"].second;
    CRYPTA_ASSIGN_OR_RETURN(int64_t count, Integer(gpu, rfield + ".gpu"));
    CRYPTA_RETURN_IF_ERROR(Check(gpu, rfield + ".gpu", internal::CheckGpu(count)));
    s->gpu = static_cast<int>(count);
  }
  return OkStatus();
}

Status SpecParser::ParsePorts(const YAML::Node& n, DeploymentSpec* s) {
  if (n.IsNull()) return OkStatus();
  if (!n.IsSequence()) return MakeError(At(n, "spec.ports", "must be a sequence", Describe(n)));
  if (n.size() > 64) return MakeError(At(n, "spec.ports", "more than 64 ports", "many"));
  std::set<int64_t> seen;
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string field = "spec.ports[" + std::to_string(i) + "]";
    const YAML::Node item = n[i];
    CRYPTA_ASSIGN_OR_RETURN(auto e, Entries(item, field, {"port", "protocol"}));
    if (!e.count("port")) return MakeError(Missing(*this, item, field + ".port"));
    const YAML::Node& port = e["port"].second;
    CRYPTA_ASSIGN_OR_RETURN(int64_t number, Integer(port, field + ".port"));
    CRYPTA_RETURN_IF_ERROR(Check(port, field + ".port", internal::CheckPortNumber(number)));
    if (!seen.insert(number).second) {
      return MakeError(At(port, field + ".port", "duplicate port", std::to_string(number)));
    }
    PortSpec p;
    p.port = static_cast<int>(number);
    if (e.count("protocol")) {
      const YAML::Node& protocol = e["protocol"].second;
      CRYPTA_ASSIGN_OR_RETURN(std::string text, Scalar(protocol, field + ".protocol"));
      CRYPTA_ASSIGN_OR_RETURN(
          p.protocol, Check(protocol, field + ".protocol", internal::CanonicalProtocol(text)));
    }
    s->ports.push_back(std::move(p));
  }
  return OkStatus();
}

Status SpecParser::ParseEnv(const YAML::Node& n, DeploymentSpec* s) {
  if (n.IsNull()) return OkStatus();
  if (!n.IsSequence()) return MakeError(At(n, "spec.env", "must be a sequence", Describe(n)));
  if (n.size() > 256) return MakeError(At(n, "spec.env", "more than 256 variables", "many"));
  // Flag name → (value, the env name that set it), CRYPTA_* and the seed's ALEPH_* aliases.
  static const std::map<std::string, std::string> kFlags = {
      {"CRYPTA_TEE_ENABLED", "tee_enabled"},
      {"ALEPH_TEE_ENABLED", "tee_enabled"},
      {"CRYPTA_ATTESTATION_REQUIRED", "attestation_required"},
      {"ALEPH_ATTESTATION_REQUIRED", "attestation_required"}};
  std::map<std::string, std::pair<bool, std::string>> flags;
  std::set<std::string> names;
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string field = "spec.env[" + std::to_string(i) + "]";
    const YAML::Node item = n[i];
    CRYPTA_ASSIGN_OR_RETURN(auto e, Entries(item, field, {"name", "value"}));
    if (!e.count("name")) return MakeError(Missing(*this, item, field + ".name"));
    const YAML::Node& name_node = e["name"].second;
    EnvVar var;
    CRYPTA_ASSIGN_OR_RETURN(var.name, Scalar(name_node, field + ".name"));
    CRYPTA_RETURN_IF_ERROR(Check(name_node, field + ".name", internal::CheckEnvName(var.name)));
    if (!names.insert(var.name).second) {
      return MakeError(At(name_node, field + ".name", "duplicate variable", var.name));
    }
    YAML::Node value_node = item;
    if (e.count("value") && !e["value"].second.IsNull()) {
      value_node = e["value"].second;
      CRYPTA_ASSIGN_OR_RETURN(var.value, Scalar(value_node, field + ".value"));
      CRYPTA_RETURN_IF_ERROR(
          Check(value_node, field + ".value", internal::CheckText(var.value, 64 * 1024)));
    }
    if (auto flag = kFlags.find(var.name); flag != kFlags.end()) {
      CRYPTA_ASSIGN_OR_RETURN(bool on,
                              Check(value_node, field + ".value", internal::ParseFlag(var.value)));
      auto [it, fresh] = flags.emplace(flag->second, std::make_pair(on, var.name));
      if (!fresh && it->second.first != on) {
        return MakeError(At(value_node, field + ".value",
                            "contradicts " + it->second.second + " (an alias of the same flag)",
                            var.value));
      }
    }
    s->env.push_back(std::move(var));
  }
  if (flags.count("tee_enabled")) s->tee_enabled = flags["tee_enabled"].first;
  if (flags.count("attestation_required")) {
    s->attestation_required = flags["attestation_required"].first;
  }
  return OkStatus();
}

Status SpecParser::ParseModel(const YAML::Node& n, DeploymentSpec* s) {
  CRYPTA_ASSIGN_OR_RETURN(auto e,
                          Entries(n, "spec.model", {"ref", "backend", "name", "signature"}));
  ModelSpec m;
  if (!e.count("ref")) return MakeError(Missing(*this, n, "spec.model.ref"));
  const YAML::Node& ref = e["ref"].second;
  CRYPTA_ASSIGN_OR_RETURN(m.ref, Scalar(ref, "spec.model.ref"));
  CRYPTA_ASSIGN_OR_RETURN(m.name, Check(ref, "spec.model.ref", internal::ModelNameFromRef(m.ref)));
  // Optional: the backend pushed with the model is used when the spec names none.
  if (e.count("backend")) {
    const YAML::Node& backend = e["backend"].second;
    CRYPTA_ASSIGN_OR_RETURN(m.backend, Scalar(backend, "spec.model.backend"));
    CRYPTA_RETURN_IF_ERROR(Check(backend, "spec.model.backend", internal::CheckBackend(m.backend)));
  }
  if (e.count("name")) {
    const YAML::Node& name = e["name"].second;
    CRYPTA_ASSIGN_OR_RETURN(m.name, Scalar(name, "spec.model.name"));
    CRYPTA_RETURN_IF_ERROR(Check(name, "spec.model.name", internal::CheckModelName(m.name)));
  }
  if (e.count("signature")) {
    const YAML::Node& sig = e["signature"].second;
    int count = 0;
    CRYPTA_ASSIGN_OR_RETURN(nlohmann::json j, SignatureToJson(sig, 0, &count));
    CRYPTA_ASSIGN_OR_RETURN(m.signature_json, Check(sig, "spec.model.signature",
                                                    internal::CanonicalSignature(j.dump())));
  }
  s->model = std::move(m);
  return OkStatus();
}

// spec.model.signature as JSON: mappings, sequences, and scalars that are integers (shapes)
// or strings (names, datatypes). Bounded like spec.policy.
Result<nlohmann::json> SpecParser::SignatureToJson(const YAML::Node& n, int depth, int* count) {
  if (++*count > kMaxPolicyNodes || depth > kMaxSpecDepth) {
    return MakeError(ErrorCode::kResourceExhausted,
                     Where(n.Mark()) + ": spec.model.signature: too large or too deeply nested");
  }
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (auto it = n.begin(); it != n.end(); ++it) {
        CRYPTA_ASSIGN_OR_RETURN(std::string key, Scalar(it->first, "spec.model.signature"));
        CRYPTA_ASSIGN_OR_RETURN(out[key], SignatureToJson(it->second, depth + 1, count));
      }
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : n) {
        CRYPTA_ASSIGN_OR_RETURN(nlohmann::json v, SignatureToJson(item, depth + 1, count));
        out.push_back(std::move(v));
      }
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = n.Scalar();
      int64_t value = 0;
      const char* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(text.data(), end, value);
      if (n.Tag() != "!" && ec == std::errc() && ptr == end && !text.empty()) return value;
      return nlohmann::json(text);
    }
    default:
      return MakeError(At(n, "spec.model.signature", "must be a mapping", Describe(n)));
  }
}

// Re-emits spec.policy as block YAML with sorted keys (so key order and comments do not
// change the host data), quoting what was quoted in the source. Aliases are expanded,
// bounded by kMaxPolicyNodes.
Status SpecParser::EmitPolicy(const YAML::Node& n, YAML::Emitter& out, int depth, int* count) {
  if (++*count > kMaxPolicyNodes || depth > kMaxSpecDepth) {
    return MakeError(ErrorCode::kResourceExhausted,
                     Where(n.Mark()) + ": spec.policy: too large or too deeply nested");
  }
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      std::map<std::string, YAML::Node> sorted;
      for (auto it = n.begin(); it != n.end(); ++it) {
        CRYPTA_ASSIGN_OR_RETURN(std::string key, Scalar(it->first, "spec.policy"));
        if (!sorted.emplace(key, it->second).second) {
          return MakeError(At(it->first, "spec.policy." + key, "duplicate key", key));
        }
      }
      out << YAML::BeginMap;
      for (const auto& [key, value] : sorted) {
        out << YAML::Key << key << YAML::Value;
        CRYPTA_RETURN_IF_ERROR(EmitPolicy(value, out, depth + 1, count));
      }
      out << YAML::EndMap;
      return OkStatus();
    }
    case YAML::NodeType::Sequence:
      out << YAML::BeginSeq;
      for (size_t i = 0; i < n.size(); ++i) {
        CRYPTA_RETURN_IF_ERROR(EmitPolicy(n[i], out, depth + 1, count));
      }
      out << YAML::EndSeq;
      return OkStatus();
    case YAML::NodeType::Scalar:
      if (n.Tag() == "?" || n.Tag().empty()) {
        out << n.Scalar();
      } else {
        out << YAML::DoubleQuoted << n.Scalar();
      }
      return OkStatus();
    default:
      out << YAML::Null;
      return OkStatus();
  }
}

// Ignores every parse event: CountDocuments only needs HandleNextDocument's return value.
class IgnoreEvents : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The number of documents in TEXT, counting at most LIMIT. yaml-cpp 0.7 (Debian 12) reports an
// empty document forever, consuming nothing, when a stream has a token no node can start with
// (a "," in block context: jbeder/yaml-cpp#1040, fixed upstream by #1319), so YAML::LoadAll on
// such text never returns and fills memory; call it only when this is below LIMIT.
int CountDocuments(std::string_view text, int limit) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  IgnoreEvents events;
  int count = 0;
  while (count < limit && parser.HandleNextDocument(events)) ++count;
  return count;
}

// A conservative bound on nesting, checked before yaml-cpp recurses: block indentation
// levels plus "- " sequence prefixes plus open flow brackets outside quotes.
Status CheckNesting(std::string_view text, std::string_view file) {
  std::vector<size_t> indents;
  int flow = 0;
  size_t line = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    ++line;
    size_t indent = 0;
    while (indent < l.size() && l[indent] == ' ') ++indent;
    if (indent < l.size() && l[indent] != '#' && l[indent] != '\r') {
      if (flow == 0) {
        while (!indents.empty() && indents.back() >= indent) indents.pop_back();
        indents.push_back(indent);
      }
      int dashes = 0;
      char quote = 0;
      for (size_t i = indent; i < l.size(); ++i) {
        const char c = l[i];
        if (quote != 0) {
          if (c == quote) quote = 0;
        } else if (c == '"' || c == '\'') {
          quote = c;
        } else if (c == '#' && i > 0 && (l[i - 1] == ' ' || l[i - 1] == '\t')) {
          break;
        } else if (c == '[' || c == '{') {
          ++flow;
        } else if ((c == ']' || c == '}') && flow > 0) {
          --flow;
        } else if (c == '-' && i + 1 < l.size() && l[i + 1] == ' ' &&
                   (i == indent || l[i - 1] == ' ')) {
          ++dashes;
        }
        if (static_cast<int>(indents.size()) + dashes + flow > kMaxSpecDepth) {
          return MakeError(ErrorCode::kResourceExhausted,
                           std::string(file) + ":" + std::to_string(line) + ":" +
                               std::to_string(i + 1) + ": nesting deeper than " +
                               std::to_string(kMaxSpecDepth));
        }
      }
    }
    pos = end + 1;
  }
  return OkStatus();
}

}  // namespace

Result<ParsedSpec> ParseDeploymentSpec(std::string_view yaml, std::string_view file_name) {
  const std::string file = file_name.empty() ? "<spec>" : std::string(file_name);
  if (yaml.size() > kMaxSpecBytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                     file + ": larger than " + std::to_string(kMaxSpecBytes) + " bytes");
  }
  CRYPTA_RETURN_IF_ERROR(CheckNesting(yaml, file));
  ParsedSpec parsed;
  SpecParser parser(file, &parsed.warnings);
  try {
    if (CountDocuments(yaml, 3) >= 3) {
      return MakeError(ErrorCode::kInvalidArgument,
                       file + ":1:1: document: only one YAML document is allowed");
    }
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(yaml));
    if (docs.empty() || docs[0].IsNull()) {
      return MakeError(ErrorCode::kInvalidArgument, file + ":1:1: document: empty");
    }
    if (docs.size() > 1) {
      return MakeError(
          parser.At(docs[1], "document", "only one YAML document is allowed", "a second document"));
    }
    CRYPTA_RETURN_IF_ERROR(parser.ParseRoot(docs[0], &parsed.spec));
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, parser.Where(e.mark) + ": yaml: " + e.msg);
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, file + ": yaml: " + e.what());
  }
  // A spec that names a TEE is a confidential deployment whatever its env says (issue 12):
  // the stored spec never reads "tee_enabled": false for it.
  if (!parsed.spec.tee.empty() && !parsed.spec.tee_enabled) {
    for (const EnvVar& v : parsed.spec.env) {
      if (v.name == "ALEPH_TEE_ENABLED" || v.name == "CRYPTA_TEE_ENABLED") {
        parsed.warnings.push_back(file + ": spec.env " + v.name + "=" + v.value +
                                  " ignored: spec.requirements.tee is " + parsed.spec.tee +
                                  ", so this is a confidential deployment");
      }
    }
  }
  if (!parsed.spec.tee.empty()) parsed.spec.tee_enabled = true;
  // The parser enforces every rule on the way; this re-check keeps the two paths agreeing.
  auto valid = ValidateSpec(parsed.spec);
  if (!valid) return MakeError(valid.error().WithContext(file));
  return parsed;
}

}  // namespace crypta::deploy
