// EAR (EAT Attestation Result) claims and tokens (DESIGN.md §4.4; the EAR profile of
// draft-fv-rats-ear, trustworthiness tiers of draft-ietf-rats-ar4si §2.3).
#ifndef CRYPTA_ATTEST_EAR_H_
#define CRYPTA_ATTEST_EAR_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "attest/policy.h"
#include "attest/verifier.h"
#include "crypto/keys.h"

namespace crypta::attest {

inline constexpr char kEarProfile[] = "tag:github.com,2023:veraison/ear";

struct EarContext {
  std::string issuer = "crypta";
  int64_t now = 0;
  int64_t ttl_s = 300;
  std::string tenant, workload, model_digest;  // ear.crypta.* (optional)
  nlohmann::json runtime_data_claims;          // e.g. {"tee-pubkey": JWK, "nonce": …}
};

// "affirming" | "warning" | "contraindicated" from the verdict and trustworthiness vector.
std::string EarStatus(const Verdict& verdict, const nlohmann::json& trust_vector);

// The AR4SI trustworthiness vector for these claims and verdict.
nlohmann::json TrustworthinessVector(const Claims& claims, const Verdict& verdict);

// The full EAR claims set for one submodule "cpu0".
nlohmann::json BuildEarClaims(const VerifiedEvidence& evidence, const AppraisalPolicy& policy,
                              const Verdict& verdict, const EarContext& context);

// Signs the claims as an ES256 JWT (the key must be P-256).
Result<std::string> SignEar(const nlohmann::json& claims, const PrivateKey& key,
                            const std::string& kid);

}  // namespace crypta::attest

#endif  // CRYPTA_ATTEST_EAR_H_
