// Key-release / appraisal policy (DESIGN.md §4.8): declarative YAML or JSON, evaluated
// over verified claims into a verdict that lists EVERY violation. Default deny: an empty
// reference list (no measurements given) allows nothing, unknown keys are an error, and
// anything unexpected is a violation.
//
//   tee: [sev-snp, tdx, sim]          # allowed TEE types (required)
//   allow_simulated: false            # sim evidence only when true
//   allow_debug: false
//   allow_missing_revocation: false   # DCAP evidence without both CRLs: refused unless true
//   measurements: [<hex>, …]          # or per TEE: {sev-snp: [<hex>…], sim: [<hex>…]}
//   host_data: [<hex>, …]             # optional: when present the claim must be listed
//   min_tcb: {sev-snp: {bootloader: 3, tee: 0, snp: 8, microcode: 115}, tdx: UpToDate}
//   min_svn: 1                        # optional, sim svn / SNP guest_svn / SGX isvsvn
//   sev-snp: {allow_migration_agent: false, allow_smt: true, max_vmpl: 0,
//             family_id: <hex>, image_id: <hex>, id_key_digest: <hex>, author_key_digest: <hex>}
//   gpu: {count: 1, driver_versions: [550.90.07], vbios_versions: [96.00.9f.00.01],
//         require_cc_mode: true, allow_debug: false, require_rim: true}
//   require_published: false          # the measurement (and the model digest) must be a
//                                     # release in the tenant's transparency log (issue 17)
#ifndef CRYPTA_ATTEST_POLICY_H_
#define CRYPTA_ATTEST_POLICY_H_

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "attest/verifier.h"

namespace crypta::attest {

struct SnpPolicy {
  std::optional<bool> allow_migration_agent;
  std::optional<bool> allow_smt;
  std::optional<uint32_t> max_vmpl;
  std::optional<std::string> family_id, image_id, id_key_digest, author_key_digest;  // hex
};

// Confidential GPUs bound to the CPU TEE's evidence (claims.devices). Without this section
// a policy does not look at GPUs. Top-level allow_simulated and allow_missing_revocation
// apply to the GPUs too.
struct GpuPolicy {
  uint64_t count = 1;  // at least this many verified GPUs
  std::optional<std::set<std::string>> driver_versions, vbios_versions;  // allow lists
  bool require_cc_mode = true;  // the report must say CC mode is on
  bool allow_debug = false;     // devtools mode (the host can inspect GPU memory)
  // A hardware GPU's measurements must have been appraised against NVIDIA's RIMs (its
  // tcb_status UpToDate); when false, an unappraised GPU is a warning.
  bool require_rim = true;
};

struct AppraisalPolicy {
  std::set<TeeType> tee;
  bool allow_simulated = false;
  bool allow_debug = false;
  // DCAP (TDX, SGX) evidence whose collateral lacked the PCK CRL or the Root CA CRL is
  // refused unless this is true (then it is allowed with a warning).
  bool allow_missing_revocation = false;
  // Reference measurements (lowercase hex) per TEE; the key nullopt-equivalent "*" applies to all.
  std::map<std::string, std::set<std::string>> measurements;
  std::optional<std::set<std::string>> host_data;
  // Minimum SNP TCB components by name (bootloader, tee, snp, microcode, fmc).
  std::map<std::string, uint64_t> min_snp_tcb;
  // Worst acceptable Intel TCB status per TEE ("tdx", "sgx").
  std::map<std::string, TcbStatus> min_intel_tcb;
  std::optional<uint64_t> min_svn;
  SnpPolicy snp;
  std::optional<GpuPolicy> gpu;
  // Release transparency (issue 17): the evidence's measurement must be published in the
  // release log (src/transparency) — checked by whoever holds the log (the control plane's
  // key broker, a client with a transparency log), through Appraise's PublishedCheck. With
  // require_published and no `measurements`, a published measurement is the reference value.
  bool require_published = false;
  std::string id;  // "sha256:<hex of the canonical JSON>", for EAR appraisal-policy-id

  nlohmann::json ToJson() const;
};

// Parses YAML (JSON is YAML too); size-capped at 64 KiB. Errors name the key.
Result<AppraisalPolicy> ParseAppraisalPolicy(std::string_view text);

// The outcome of an appraisal. `allowed` is true exactly when there are no violations.
// `warnings` name what the policy allowed with reservations (the simulated TEE, debug
// mode, a TCB that is not UpToDate, revocation not checked): an allowed verdict with
// warnings is EAR "warning", one without is "affirming"; a refused one "contraindicated".
struct Verdict {
  bool allowed = false;
  std::vector<std::string> violations;  // every failed rule, in a stable order
  std::vector<std::string> warnings;    // every reservation, in a stable order
};

// The `require_published` rule, for the caller that holds a release log: OK when the claims'
// measurement is published, an error whose message says why not otherwise.
using PublishedCheck = std::function<Status(const Claims& claims)>;

// Every rule over `claims`. A policy with require_published is refused (fail closed) unless
// `published` is given and answers OK.
Verdict Appraise(const AppraisalPolicy& policy, const Claims& claims,
                 const PublishedCheck& published = {});

// Intel's status order, best first; Unknown is worse than all.
int TcbStatusRank(TcbStatus status);

}  // namespace crypta::attest

#endif  // CRYPTA_ATTEST_POLICY_H_
