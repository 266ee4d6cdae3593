// EAR (EAT Attestation Result) claims and tokens (DESIGN.md §4.4; draft-ietf-rats-ear, the
// trustworthiness tiers of draft-ietf-rats-ar4si §2.3).
//
// ear.status is the result of the appraisal policy that was applied: "contraindicated" when
// the verdict refuses the evidence, "warning" when it allows it with reservations
// (Verdict::warnings: the simulated TEE, debug mode, a TCB that is not UpToDate, revocation
// not checked), "affirming" otherwise. The trustworthiness vector agrees with it: each
// violation puts its component in the contraindicated tier (96), each warning in the
// warning tier (32), every other component is affirming (2). Components by rule:
//   hardware           tee, simulated, min_tcb, tcb_status
//   configuration      debug, host_data, sev-snp.*, anything else
//   executables        measurement, min_svn
//   instance-identity  revocation
// crypta's own claims are under "ear.crypta." (annotated-evidence, simulated, revocation,
// warnings, violations, tenant, workload, model_digest).
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
  std::string nonce;  // "eat_nonce" (RFC 9711 §4.1): the challenge the evidence answers
  std::string tenant, workload, model_digest;  // ear.crypta.* (optional)
  nlohmann::json runtime_data_claims;          // e.g. {"tee-pubkey": JWK, "nonce": …}
};

// "affirming" | "warning" | "contraindicated" (see the file comment).
std::string EarStatus(const Verdict& verdict);

// The AR4SI trustworthiness vector for this verdict (see the file comment).
nlohmann::json TrustworthinessVector(const Verdict& verdict);

// One appraised submodule: ear.status, the vector, ear.appraisal-policy-id and ear.crypta.*.
nlohmann::json BuildEarSubmod(const VerifiedEvidence& evidence, const AppraisalPolicy& policy,
                              const Verdict& verdict, const EarContext& context);

// The full EAR claims set around `submods` ({"cpu0": BuildEarSubmod(…), …}).
nlohmann::json BuildEar(nlohmann::json submods, const EarContext& context);

// BuildEar with one submodule, "cpu0".
nlohmann::json BuildEarClaims(const VerifiedEvidence& evidence, const AppraisalPolicy& policy,
                              const Verdict& verdict, const EarContext& context);

// Signs the claims as an ES256 JWT (the key must be P-256).
Result<std::string> SignEar(const nlohmann::json& claims, const PrivateKey& key,
                            const std::string& kid);

}  // namespace crypta::attest

#endif  // CRYPTA_ATTEST_EAR_H_
