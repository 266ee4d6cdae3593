#include "attest/ear.h"

#include "crypto/jwt.h"

namespace crypta::attest {
namespace {

// draft-ietf-rats-ar4si §2.3 claim values used here.
constexpr int kAffirming = 2;  // instance-identity / configuration / executables / hardware
constexpr int kUnsafeConfiguration = 32;  // configuration: debug or otherwise unsafe
constexpr int kUnsafeHardware = 32;       // hardware: no isolation (the simulated TEE)
constexpr int kUnrecognizedRuntime = 33;  // executables: not a reference value

}  // namespace

nlohmann::json TrustworthinessVector(const Claims& c, const Verdict& verdict) {
  bool measurement_ok = true;
  for (const std::string& v : verdict.violations) {
    if (v.rfind("measurement:", 0) == 0) measurement_ok = false;
  }
  return nlohmann::json{
      {"instance-identity", kAffirming},
      {"configuration", c.debug ? kUnsafeConfiguration : kAffirming},
      {"executables", measurement_ok ? kAffirming : kUnrecognizedRuntime},
      {"hardware", c.simulated ? kUnsafeHardware : kAffirming},
  };
}

std::string EarStatus(const Verdict& verdict, const nlohmann::json& trust_vector) {
  if (!verdict.allowed) return "contraindicated";
  int worst = 0;
  for (const auto& [k, v] : trust_vector.items()) worst = std::max(worst, v.get<int>());
  if (worst >= 96) return "contraindicated";
  if (worst >= 32) return "warning";
  return "affirming";
}

nlohmann::json BuildEarClaims(const VerifiedEvidence& evidence, const AppraisalPolicy& policy,
                              const Verdict& verdict, const EarContext& ctx) {
  const Claims& c = evidence.claims();
  nlohmann::json annotated = c.ToJson();
  if (!ctx.runtime_data_claims.is_null())
    annotated["runtime_data_claims"] = ctx.runtime_data_claims;
  nlohmann::json trust = TrustworthinessVector(c, verdict);
  nlohmann::json crypta = {{"simulated", c.simulated}, {"violations", verdict.violations}};
  if (!ctx.tenant.empty()) crypta["tenant"] = ctx.tenant;
  if (!ctx.workload.empty()) crypta["workload"] = ctx.workload;
  if (!ctx.model_digest.empty()) crypta["model_digest"] = ctx.model_digest;
  nlohmann::json submod = {
      {"ear.status", EarStatus(verdict, trust)},
      {"ear.trustworthiness-vector", trust},
      {"ear.appraisal-policy-id", policy.id},
      {"ear.veraison.annotated-evidence", annotated},
  };
  for (auto& [k, v] : crypta.items()) submod["ear.crypta." + k] = v;
  return nlohmann::json{
      {"eat_profile", kEarProfile},
      {"iat", ctx.now},
      {"exp", ctx.now + ctx.ttl_s},
      {"iss", ctx.issuer},
      {"ear.verifier-id", {{"developer", "https://crypta.dev"}, {"build", "crypta 0.1.0"}}},
      {"submods", {{"cpu0", submod}}},
  };
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
