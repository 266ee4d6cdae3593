#include "attest/ear.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "crypto/jwt.h"

namespace crypta::attest {
namespace {

// draft-ietf-rats-ar4si §2.3: tier values used here.
constexpr int kAffirming = 2;
constexpr int kWarning = 32;
constexpr int kContraindicated = 96;

constexpr char kHardware[] = "hardware";
constexpr char kConfiguration[] = "configuration";
constexpr char kExecutables[] = "executables";
constexpr char kInstanceIdentity[] = "instance-identity";

// The AR4SI component a policy rule speaks about, from the rule name that starts each
// violation or warning (attest/policy.cc).
const char* Component(std::string_view rule) {
  struct Prefix {
    std::string_view prefix;
    const char* component;
  };
  static constexpr std::array<Prefix, 7> kPrefixes = {{
      {"tee:", kHardware},
      {"simulated:", kHardware},
      {"min_tcb", kHardware},
      {"tcb_status:", kHardware},
      {"measurement:", kExecutables},
      {"min_svn:", kExecutables},
      {"revocation:", kInstanceIdentity},
  }};
  for (const Prefix& p : kPrefixes) {
    if (rule.substr(0, p.prefix.size()) == p.prefix) return p.component;
  }
  return kConfiguration;
}

}  // namespace

nlohmann::json TrustworthinessVector(const Verdict& verdict) {
  nlohmann::json v = {{kInstanceIdentity, kAffirming},
                      {kConfiguration, kAffirming},
                      {kExecutables, kAffirming},
                      {kHardware, kAffirming}};
  auto raise = [&v](const std::string& rule, int tier) {
    nlohmann::json& slot = v[Component(rule)];
    slot = std::max(slot.get<int>(), tier);
  };
  for (const std::string& w : verdict.warnings) raise(w, kWarning);
  for (const std::string& x : verdict.violations) raise(x, kContraindicated);
  if (!verdict.allowed && verdict.violations.empty()) raise("", kContraindicated);
  return v;
}

std::string EarStatus(const Verdict& verdict) {
  if (!verdict.allowed) return "contraindicated";
  return verdict.warnings.empty() ? "affirming" : "warning";
}

nlohmann::json BuildEarSubmod(const VerifiedEvidence& evidence, const AppraisalPolicy& policy,
                              const Verdict& verdict, const EarContext& ctx) {
  const Claims& c = evidence.claims();
  nlohmann::json annotated = c.ToJson();
  annotated.erase("devices");  // each device has its own submodule (gpu0, …)
  if (c.tee == TeeType::kNvidiaGpu) {
    // A token travels in HTTP headers and may carry 8 GPUs: each GPU's submodule keeps what
    // a relying party decides on (versions, CC mode, the RIM outcome, the FWID naming the
    // firmware), not its 64 measurement blocks (appraised against the RIMs) or chip details.
    nlohmann::json kept = nlohmann::json::object();
    for (const char* key : {"driver_version", "vbios_version", "cc_mode", "fwid", "rim"}) {
      if (auto it = annotated["claims"].find(key); it != annotated["claims"].end()) {
        kept[key] = *it;
      }
    }
    annotated["claims"] = std::move(kept);
    annotated.erase("tcb");  // the versions, again
  }
  if (!ctx.runtime_data_claims.is_null()) {
    annotated["runtime_data_claims"] = ctx.runtime_data_claims;
  }
  nlohmann::json submod = {
      {"ear.status", EarStatus(verdict)},
      {"ear.trustworthiness-vector", TrustworthinessVector(verdict)},
      {"ear.appraisal-policy-id", policy.id},
      {"ear.crypta.annotated-evidence", std::move(annotated)},
      {"ear.crypta.simulated", c.simulated},
      {"ear.crypta.revocation", RevocationName(c.revocation)},
      {"ear.crypta.warnings", verdict.warnings},
      {"ear.crypta.violations", verdict.violations},
  };
  if (!ctx.tenant.empty()) submod["ear.crypta.tenant"] = ctx.tenant;
  if (!ctx.workload.empty()) submod["ear.crypta.workload"] = ctx.workload;
  if (!ctx.model_digest.empty()) submod["ear.crypta.model_digest"] = ctx.model_digest;
  return submod;
}

nlohmann::json BuildEar(nlohmann::json submods, const EarContext& ctx) {
  nlohmann::json ear = {
      {"eat_profile", kEarProfile},
      {"iat", ctx.now},
      {"exp", ctx.now + ctx.ttl_s},
      {"iss", ctx.issuer},
      {"ear.verifier-id", {{"developer", "https://crypta.dev"}, {"build", "crypta 0.1.0"}}},
      {"submods", std::move(submods)},
  };
  if (!ctx.nonce.empty()) ear["eat_nonce"] = ctx.nonce;
  return ear;
}

nlohmann::json BuildEarClaims(const VerifiedEvidence& evidence, const AppraisalPolicy& policy,
                              const Verdict& verdict, const EarContext& ctx) {
  return BuildEar({{"cpu0", BuildEarSubmod(evidence, policy, verdict, ctx)}}, ctx);
}

Result<std::string> SignEar(const nlohmann::json& claims, const PrivateKey& key,
                            const std::string& kid) {
  if (key.type() != KeyType::kEcP256) {
    return MakeError(ErrorCode::kInvalidArgument, "EAR tokens are signed with ES256 (a P-256 key)");
  }
  nlohmann::json header = nlohmann::json::object();
  if (!kid.empty()) header["kid"] = kid;
  return JwtSign(key, claims, header);
}

}  // namespace crypta::attest
