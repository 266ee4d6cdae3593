#include "attest/policy.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <functional>

#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/hash.h"

namespace crypta::attest {
namespace {

constexpr size_t kMaxPolicyBytes = 64 * 1024;
// Policy component names (DESIGN.md §4.8) and the claim keys the SNP verifier reports them
// under in claims.tcb.reported.
const char* const kSnpTcbNames[] = {"bootloader", "tee", "snp", "microcode", "fmc"};
const char* const kSnpTcbClaimKeys[] = {"bl_spl", "tee_spl", "snp_spl", "ucode_spl", "fmc_spl"};

const char* SnpTcbClaimKey(const std::string& policy_name) {
  for (size_t i = 0; i < std::size(kSnpTcbNames); ++i) {
    if (policy_name == kSnpTcbNames[i]) return kSnpTcbClaimKeys[i];
  }
  return "";
}

Error PolicyError(const std::string& key, const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, "policy: " + key + ": " + what);
}

Result<std::string> NormalizedHex(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) return MakeError(PolicyError(key, "expected a hex string"));
  std::string s = n.as<std::string>();
  Result<Bytes> b = HexDecode(s);
  if (!b || b->empty()) return MakeError(PolicyError(key, "\"" + s + "\" is not hex"));
  return HexEncode(*b);
}

Result<std::set<std::string>> HexList(const YAML::Node& n, const std::string& key) {
  std::set<std::string> out;
  if (!n.IsSequence()) return MakeError(PolicyError(key, "expected a list of hex strings"));
  for (const auto& item : n) {
    CRYPTA_ASSIGN_OR_RETURN(std::string h, NormalizedHex(item, key));
    out.insert(h);
  }
  return out;
}

Result<bool> Bool(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) return MakeError(PolicyError(key, "expected true or false"));
  std::string s = n.as<std::string>();
  if (s == "true") return true;
  if (s == "false") return false;
  return MakeError(PolicyError(key, "expected true or false, got \"" + s + "\""));
}

Result<uint64_t> Uint(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) return MakeError(PolicyError(key, "expected a non-negative integer"));
  std::string s = n.as<std::string>();
  if (s.empty() || s.size() > 19 || !std::all_of(s.begin(), s.end(), ::isdigit)) {
    return MakeError(PolicyError(key, "expected a non-negative integer, got \"" + s + "\""));
  }
  return std::stoull(s);
}

Status ParseSnp(const YAML::Node& n, SnpPolicy* out) {
  if (!n.IsMap()) return MakeError(PolicyError("sev-snp", "expected a map"));
  for (const auto& kv : n) {
    std::string k = kv.first.as<std::string>();
    std::string key = "sev-snp." + k;
    if (k == "allow_migration_agent") {
      CRYPTA_ASSIGN_OR_RETURN(out->allow_migration_agent, Bool(kv.second, key));
    } else if (k == "allow_smt") {
      CRYPTA_ASSIGN_OR_RETURN(out->allow_smt, Bool(kv.second, key));
    } else if (k == "max_vmpl") {
      CRYPTA_ASSIGN_OR_RETURN(uint64_t v, Uint(kv.second, key));
      out->max_vmpl = static_cast<uint32_t>(std::min<uint64_t>(v, 3));
    } else if (k == "family_id" || k == "image_id" || k == "id_key_digest" ||
               k == "author_key_digest") {
      CRYPTA_ASSIGN_OR_RETURN(std::string h, NormalizedHex(kv.second, key));
      (k == "family_id"       ? out->family_id
       : k == "image_id"      ? out->image_id
       : k == "id_key_digest" ? out->id_key_digest
                              : out->author_key_digest) = h;
    } else {
      return MakeError(PolicyError(key, "unknown key"));
    }
  }
  return OkStatus();
}

Result<std::set<std::string>> StringList(const YAML::Node& n, const std::string& key) {
  std::set<std::string> out;
  if (!n.IsSequence()) return MakeError(PolicyError(key, "expected a list of strings"));
  for (const auto& item : n) {
    if (!item.IsScalar() || item.as<std::string>().empty()) {
      return MakeError(PolicyError(key, "expected non-empty strings"));
    }
    std::string v = item.as<std::string>();
    std::transform(v.begin(), v.end(), v.begin(), ::tolower);
    out.insert(v);
  }
  return out;
}

Status ParseGpu(const YAML::Node& n, GpuPolicy* out) {
  if (!n.IsMap()) return MakeError(PolicyError("gpu", "expected a map"));
  for (const auto& kv : n) {
    std::string k = kv.first.as<std::string>();
    std::string key = "gpu." + k;
    if (k == "count") {
      CRYPTA_ASSIGN_OR_RETURN(out->count, Uint(kv.second, key));
      if (out->count == 0 || out->count > 8) {
        return MakeError(PolicyError(key, "expected 1 to 8 (omit the section to ignore GPUs)"));
      }
    } else if (k == "driver_versions") {
      CRYPTA_ASSIGN_OR_RETURN(out->driver_versions, StringList(kv.second, key));
    } else if (k == "vbios_versions") {
      CRYPTA_ASSIGN_OR_RETURN(out->vbios_versions, StringList(kv.second, key));
    } else if (k == "require_cc_mode") {
      CRYPTA_ASSIGN_OR_RETURN(out->require_cc_mode, Bool(kv.second, key));
    } else if (k == "allow_debug") {
      CRYPTA_ASSIGN_OR_RETURN(out->allow_debug, Bool(kv.second, key));
    } else if (k == "require_rim") {
      CRYPTA_ASSIGN_OR_RETURN(out->require_rim, Bool(kv.second, key));
    } else {
      return MakeError(PolicyError(key, "unknown key"));
    }
  }
  return OkStatus();
}

Status ParseMinTcb(const YAML::Node& n, AppraisalPolicy* p) {
  if (!n.IsMap()) return MakeError(PolicyError("min_tcb", "expected a map of TEE to minimum"));
  for (const auto& kv : n) {
    std::string tee = kv.first.as<std::string>();
    std::string key = "min_tcb." + tee;
    CRYPTA_ASSIGN_OR_RETURN(TeeType type, ParseTeeType(tee));
    if (type == TeeType::kSevSnp) {
      if (!kv.second.IsMap())
        return MakeError(PolicyError(key, "expected {bootloader, tee, snp, microcode}"));
      for (const auto& c : kv.second) {
        std::string name = c.first.as<std::string>();
        if (std::find(std::begin(kSnpTcbNames), std::end(kSnpTcbNames), name) ==
            std::end(kSnpTcbNames)) {
          return MakeError(PolicyError(key + "." + name, "unknown TCB component"));
        }
        CRYPTA_ASSIGN_OR_RETURN(p->min_snp_tcb[name], Uint(c.second, key + "." + name));
      }
    } else if (type == TeeType::kTdx || type == TeeType::kSgx) {
      if (!kv.second.IsScalar()) return MakeError(PolicyError(key, "expected a TCB status name"));
      Result<TcbStatus> s = ParseTcbStatus(kv.second.as<std::string>());
      if (!s) return MakeError(PolicyError(key, s.error().message()));
      p->min_intel_tcb[std::string(TeeTypeName(type))] = *s;
    } else {
      return MakeError(PolicyError(key, "no TCB minimum is defined for this TEE"));
    }
  }
  return OkStatus();
}

Status ParseRoot(const YAML::Node& root, AppraisalPolicy* p) {
  if (!root.IsMap())
    return MakeError(ErrorCode::kInvalidArgument, "policy: expected a map at the top level");
  bool has_tee = false;
  for (const auto& kv : root) {
    std::string k = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (k == "tee" || k == "recipient_tee") {
      has_tee = true;
      std::vector<YAML::Node> items;
      if (v.IsSequence()) {
        for (const auto& i : v) items.push_back(i);
      } else {
        items.push_back(v);
      }
      for (const auto& i : items) {
        if (!i.IsScalar()) return MakeError(PolicyError(k, "expected TEE names"));
        Result<TeeType> t = ParseTeeType(i.as<std::string>());
        if (!t) return MakeError(PolicyError(k, t.error().message()));
        p->tee.insert(*t);
      }
    } else if (k == "allow_simulated") {
      CRYPTA_ASSIGN_OR_RETURN(p->allow_simulated, Bool(v, k));
    } else if (k == "allow_debug") {
      CRYPTA_ASSIGN_OR_RETURN(p->allow_debug, Bool(v, k));
    } else if (k == "allow_missing_revocation") {
      CRYPTA_ASSIGN_OR_RETURN(p->allow_missing_revocation, Bool(v, k));
    } else if (k == "require_published") {
      CRYPTA_ASSIGN_OR_RETURN(p->require_published, Bool(v, k));
    } else if (k == "measurements") {
      if (v.IsSequence()) {
        CRYPTA_ASSIGN_OR_RETURN(p->measurements["*"], HexList(v, k));
      } else if (v.IsMap()) {
        for (const auto& m : v) {
          std::string tee = m.first.as<std::string>();
          Result<TeeType> t = ParseTeeType(tee);
          if (!t) return MakeError(PolicyError("measurements." + tee, t.error().message()));
          CRYPTA_ASSIGN_OR_RETURN(p->measurements[std::string(TeeTypeName(*t))],
                                  HexList(m.second, "measurements." + tee));
        }
      } else {
        return MakeError(PolicyError(k, "expected a list or a map of TEE to list"));
      }
    } else if (k == "host_data") {
      CRYPTA_ASSIGN_OR_RETURN(p->host_data, HexList(v, k));
    } else if (k == "min_tcb") {
      CRYPTA_RETURN_IF_ERROR(ParseMinTcb(v, p));
    } else if (k == "min_svn") {
      CRYPTA_ASSIGN_OR_RETURN(p->min_svn, Uint(v, k));
    } else if (k == "sev-snp" || k == "snp") {
      CRYPTA_RETURN_IF_ERROR(ParseSnp(v, &p->snp));
    } else if (k == "gpu") {
      CRYPTA_RETURN_IF_ERROR(ParseGpu(v, &p->gpu.emplace()));
    } else {
      return MakeError(PolicyError(k, "unknown key (a misspelt rule must not be ignored)"));
    }
  }
  if (!has_tee || p->tee.empty()) {
    return MakeError(PolicyError("tee", "required: the list of allowed TEE types"));
  }
  return OkStatus();
}

// A non-negative integer claim (signed or unsigned JSON number), if present.
std::optional<uint64_t> UintClaim(const nlohmann::json* j) {
  if (!j || !j->is_number_integer()) return std::nullopt;
  if (j->is_number_unsigned()) return j->get<uint64_t>();
  int64_t v = j->get<int64_t>();
  if (v < 0) return std::nullopt;
  return static_cast<uint64_t>(v);
}

const nlohmann::json* Find(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string ClaimString(const Claims& c, const char* key) {
  const nlohmann::json* v = Find(c.extra, key);
  if (!v || !v->is_string()) return "";
  std::string s = v->get<std::string>();
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

// The `gpu:` section over the GPUs bound to the CPU evidence. Every finding names its
// submodule ("gpu0: …").
void AppraiseGpus(const AppraisalPolicy& p, const Claims& cpu,
                  const std::function<void(std::string)>& violate,
                  const std::function<void(std::string)>& warn) {
  const GpuPolicy& g = *p.gpu;
  size_t n = 0;
  for (const Claims& d : cpu.devices) {
    if (d.tee != TeeType::kNvidiaGpu) continue;
    const std::string name = "gpu" + std::to_string(n++) + ": ";
    if (d.simulated && !p.allow_simulated) {
      violate(name + "simulated: the GPU is simulated and allow_simulated is false");
    } else if (d.simulated) {
      warn(name + "simulated: the simulated GPU isolates nothing (allowed by allow_simulated)");
    }
    const std::string cc = ClaimString(d, "cc_mode");
    if (d.debug || cc == "devtools") {
      if (g.allow_debug) {
        warn(name + "debug: the GPU runs in devtools mode (allowed by gpu.allow_debug)");
      } else {
        violate(name + "debug: the GPU runs in devtools mode and gpu.allow_debug is false");
      }
    } else if (cc != "on") {
      const std::string what = name + "cc_mode: the report says CC mode is " +
                               (cc.empty() ? std::string("unknown") : cc);
      if (g.require_cc_mode) {
        violate(what + " and gpu.require_cc_mode is true");
      } else {
        warn(what + " (allowed by gpu.require_cc_mode: false)");
      }
    }
    auto listed = [&](const std::optional<std::set<std::string>>& allowed, const char* key,
                      const char* what) {
      const std::string have = ClaimString(d, key);
      if (allowed && !allowed->count(have)) {
        violate(name + what + ": " + (have.empty() ? "(none)" : have) + " is not allowed");
      }
    };
    listed(g.driver_versions, "driver_version", "driver_versions");
    listed(g.vbios_versions, "vbios_version", "vbios_versions");
    if (!d.simulated && d.tcb_status != TcbStatus::kUpToDate) {
      const std::string what =
          name + "rim: the GPU's measurements were not appraised against NVIDIA's RIMs";
      if (g.require_rim) {
        violate(what + " and gpu.require_rim is true");
      } else {
        warn(what + " (allowed by gpu.require_rim: false)");
      }
    }
    if (!d.simulated && d.revocation != Revocation::kChecked) {
      const std::string what = name + "revocation: no OCSP responses for the GPU's certificates";
      if (p.allow_missing_revocation) {
        warn(what + " (allowed by allow_missing_revocation)");
      } else {
        violate(what + " and allow_missing_revocation is false");
      }
    }
  }
  if (n < g.count) {
    violate("gpu.count: " + std::to_string(g.count) + " GPU(s) required, " + std::to_string(n) +
            " attested with this evidence");
  }
}

}  // namespace

int TcbStatusRank(TcbStatus status) { return static_cast<int>(status); }

nlohmann::json AppraisalPolicy::ToJson() const {
  nlohmann::json j;
  j["tee"] = nlohmann::json::array();
  for (TeeType t : tee) j["tee"].push_back(TeeTypeName(t));
  j["allow_simulated"] = allow_simulated;
  j["allow_debug"] = allow_debug;
  // Only when set, so the ids of policies written before the key existed stay the same.
  if (allow_missing_revocation) j["allow_missing_revocation"] = true;
  if (require_published) j["require_published"] = true;
  j["measurements"] = nlohmann::json::object();
  for (const auto& [k, v] : measurements) j["measurements"][k] = v;
  if (host_data) j["host_data"] = *host_data;
  if (!min_snp_tcb.empty()) j["min_tcb"]["sev-snp"] = min_snp_tcb;
  for (const auto& [k, v] : min_intel_tcb) j["min_tcb"][k] = TcbStatusName(v);
  if (min_svn) j["min_svn"] = *min_svn;
  nlohmann::json snp_j = nlohmann::json::object();
  if (snp.allow_migration_agent) snp_j["allow_migration_agent"] = *snp.allow_migration_agent;
  if (snp.allow_smt) snp_j["allow_smt"] = *snp.allow_smt;
  if (snp.max_vmpl) snp_j["max_vmpl"] = *snp.max_vmpl;
  if (snp.family_id) snp_j["family_id"] = *snp.family_id;
  if (snp.image_id) snp_j["image_id"] = *snp.image_id;
  if (snp.id_key_digest) snp_j["id_key_digest"] = *snp.id_key_digest;
  if (snp.author_key_digest) snp_j["author_key_digest"] = *snp.author_key_digest;
  if (!snp_j.empty()) j["sev-snp"] = snp_j;
  if (gpu) {
    nlohmann::json& g = j["gpu"] = {{"count", gpu->count},
                                    {"require_cc_mode", gpu->require_cc_mode},
                                    {"allow_debug", gpu->allow_debug},
                                    {"require_rim", gpu->require_rim}};
    if (gpu->driver_versions) g["driver_versions"] = *gpu->driver_versions;
    if (gpu->vbios_versions) g["vbios_versions"] = *gpu->vbios_versions;
  }
  return j;
}

Result<AppraisalPolicy> ParseAppraisalPolicy(std::string_view text) {
  if (text.size() > kMaxPolicyBytes) {
    return MakeError(ErrorCode::kResourceExhausted, "policy: larger than 64 KiB");
  }
  AppraisalPolicy p;
  try {
    YAML::Node root = YAML::Load(std::string(text));
    CRYPTA_RETURN_IF_ERROR(ParseRoot(root, &p));
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "policy: not valid YAML/JSON at line " + std::to_string(e.mark.line + 1) +
                         ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  CRYPTA_ASSIGN_OR_RETURN(std::string canonical, CanonicalizeJson(p.ToJson()));
  p.id = "sha256:" + HexEncode(Sha256(AsBytes(canonical)));
  return p;
}

Verdict Appraise(const AppraisalPolicy& p, const Claims& c, const PublishedCheck& published) {
  Verdict v;
  auto violate = [&v](std::string s) { v.violations.push_back(std::move(s)); };
  std::string tee(TeeTypeName(c.tee));

  auto warn = [&v](std::string s) { v.warnings.push_back(std::move(s)); };
  if (!p.tee.count(c.tee)) violate("tee: " + tee + " is not an allowed TEE type");
  if (c.simulated && !p.allow_simulated) {
    violate("simulated: the evidence comes from the simulated TEE and allow_simulated is false");
  } else if (c.simulated) {
    warn("simulated: the simulated TEE isolates nothing (allowed by allow_simulated)");
  }
  if (c.debug && !p.allow_debug) {
    violate("debug: the TEE runs in debug mode and allow_debug is false");
  } else if (c.debug) {
    warn(
        "debug: the TEE runs in debug mode, the host can read its memory (allowed by "
        "allow_debug)");
  }
  // Revocation (DCAP: the PCK CRL and the Root CA CRL). SEV-SNP's AMD CRL lists only
  // ASKs/ASVKs, which crypta pins per product; a VCEK is bound to the reported TCB, which
  // the TCB rules judge. So for SNP an absent CRL is reported in the claims, not refused.
  if ((c.tee == TeeType::kTdx || c.tee == TeeType::kSgx) && c.revocation != Revocation::kChecked) {
    const std::string what =
        "revocation: the collateral lacked the PCK CRL or the Root CA CRL, "
        "so revocation of the PCK chain was not checked";
    if (p.allow_missing_revocation) {
      warn(what + " (allowed by allow_missing_revocation)");
    } else {
      violate(what + " and allow_missing_revocation is false");
    }
  }
  // Nitro has no TCB status to judge: its PCRs are the whole measured state.
  if (!c.simulated && c.tee != TeeType::kNitro && c.tcb_status != TcbStatus::kUpToDate) {
    std::string ids;
    for (const auto& a : c.advisory_ids) ids += (ids.empty() ? "" : ", ") + a;
    warn("tcb_status: " + std::string(TcbStatusName(c.tcb_status)) +
         (ids.empty() ? "" : " (advisories " + ids + ")"));
  }

  std::string m = HexEncode(c.measurement);
  bool listed = false;
  for (const char* key : {"*", tee.c_str()}) {
    auto it = p.measurements.find(key);
    if (it != p.measurements.end() && it->second.count(m)) listed = true;
  }
  // With require_published and no reference list, the release log is the reference list.
  const bool log_is_reference = p.require_published && p.measurements.empty();
  if (!listed && !log_is_reference) violate("measurement: " + m + " is not a reference value");
  if (p.require_published) {
    if (!published) {
      violate(
          "require_published: no release log to check the measurement against here (the "
          "control plane's key broker and clients given a transparency log check it)");
    } else if (Status s = published(c); !s) {
      violate("require_published: " + s.error().message());
    }
  }

  if (p.host_data && !p.host_data->count(HexEncode(c.host_data))) {
    violate("host_data: " + HexEncode(c.host_data) + " is not an allowed value");
  }

  if (c.tee == TeeType::kSevSnp && !p.min_snp_tcb.empty()) {
    const nlohmann::json* reported = Find(c.tcb, "reported");
    for (const auto& [name, min] : p.min_snp_tcb) {
      std::optional<uint64_t> have =
          UintClaim(reported ? Find(*reported, SnpTcbClaimKey(name)) : nullptr);
      if (!have) {
        violate("min_tcb.sev-snp." + name + ": the evidence reports no such component");
      } else if (*have < min) {
        violate("min_tcb.sev-snp." + name + ": reported " + std::to_string(*have) + " < minimum " +
                std::to_string(min));
      }
    }
  }
  auto intel = p.min_intel_tcb.find(tee);
  if (intel != p.min_intel_tcb.end() &&
      (c.tcb_status == TcbStatus::kUnknown ||
       TcbStatusRank(c.tcb_status) > TcbStatusRank(intel->second))) {
    violate("min_tcb." + tee + ": TCB status " + std::string(TcbStatusName(c.tcb_status)) +
            " is worse than " + std::string(TcbStatusName(intel->second)));
  }

  if (p.min_svn) {
    std::optional<uint64_t> svn = UintClaim(Find(c.tcb, "svn"));
    if (!svn) svn = UintClaim(Find(c.extra, "guest_svn"));
    if (!svn) svn = UintClaim(Find(c.extra, "isv_svn"));
    if (!svn || *svn < *p.min_svn) {
      violate("min_svn: the evidence's SVN is missing or below " + std::to_string(*p.min_svn));
    }
  }

  if (c.tee == TeeType::kSevSnp) {
    const nlohmann::json* pol = Find(c.extra, "policy");
    auto flag = [&](const char* name) -> std::optional<bool> {
      const nlohmann::json* f = pol ? Find(*pol, name) : nullptr;
      if (!f || !f->is_boolean()) return std::nullopt;
      return f->get<bool>();
    };
    if (p.snp.allow_migration_agent && !*p.snp.allow_migration_agent &&
        flag("migrate_ma") != false) {
      violate("sev-snp.allow_migration_agent: the guest policy allows a migration agent");
    }
    if (p.snp.allow_smt && !*p.snp.allow_smt && flag("smt") != false) {
      violate("sev-snp.allow_smt: the guest policy allows SMT");
    }
    if (p.snp.max_vmpl) {
      std::optional<uint64_t> vmpl = UintClaim(Find(c.extra, "vmpl"));
      if (!vmpl || *vmpl > *p.snp.max_vmpl) {
        violate("sev-snp.max_vmpl: the report's VMPL is missing or above " +
                std::to_string(*p.snp.max_vmpl));
      }
    }
    auto hex_claim = [&](const char* name, const std::optional<std::string>& want) {
      if (!want) return;
      const nlohmann::json* have = Find(c.extra, name);
      if (!have || !have->is_string() || have->get<std::string>() != *want) {
        violate(std::string("sev-snp.") + name + ": the report's value differs from the policy");
      }
    };
    hex_claim("family_id", p.snp.family_id);
    hex_claim("image_id", p.snp.image_id);
    hex_claim("id_key_digest", p.snp.id_key_digest);
    hex_claim("author_key_digest", p.snp.author_key_digest);
  }
  if (p.gpu) AppraiseGpus(p, c, violate, warn);
  v.allowed = v.violations.empty();
  return v;
}

}  // namespace crypta::attest
