// The evidence model: what a TEE produces (Evidence), what a verifier needs besides it
// (Collateral, trust roots, an explicit time), and the normalized claims it yields.
#ifndef CRYPTA_ATTEST_EVIDENCE_H_
#define CRYPTA_ATTEST_EVIDENCE_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta::attest {

// kNvidiaGpu is a device TEE: its evidence accompanies a CPU TEE's (DESIGN.md §4; RCAR
// composite evidence) and is appraised by a policy's `gpu:` section.
enum class TeeType { kSim, kSevSnp, kTdx, kSgx, kNitro, kCca, kNvidiaGpu };

// "sim", "sev-snp", "tdx", "sgx", "nitro", "cca", "nvidia-gpu".
std::string_view TeeTypeName(TeeType tee);
// Accepts the names above and the aliases "snp" and "sev" (for sev-snp), "nvidia" and
// "gpu" (for nvidia-gpu).
Result<TeeType> ParseTeeType(std::string_view name);

// Named collateral items (raw bytes as fetched or cached), e.g. for SEV-SNP "vcek",
// "chain", "crl" (AMD's CRL); for DCAP "tcb_info", "qe_identity", "pck_crl", "root_ca_crl",
// "tcb_signing_chain", "collateral_json". Verifiers document what they read.
struct Collateral {
  std::map<std::string, Bytes> items;

  const Bytes* Find(const std::string& name) const {
    auto it = items.find(name);
    return it == items.end() ? nullptr : &it->second;
  }
};

// Evidence as produced by a TEE (a report, a quote, a token), untrusted until verified.
struct Evidence {
  TeeType tee;
  Bytes raw;
  Collateral collateral;  // may be empty: verifiers then use their own sources
};

// TCB status in Intel's vocabulary (also used for SEV-SNP: kUpToDate when the reported
// TCB meets the VCEK's; kUnknown when no collateral was available to decide).
enum class TcbStatus {
  kUpToDate,
  kSwHardeningNeeded,
  kConfigurationNeeded,
  kConfigurationAndSwHardeningNeeded,
  kOutOfDate,
  kOutOfDateConfigurationNeeded,
  kRevoked,
  kUnknown,
};
std::string_view TcbStatusName(TcbStatus status);  // "UpToDate", "SWHardeningNeeded", ...
Result<TcbStatus> ParseTcbStatus(std::string_view name);

// Whether the verifier checked the signer's certificates against the vendor's revocation
// lists. kChecked: every CRL the TEE's chain has (DCAP: PCK CRL and Root CA CRL; SEV-SNP:
// the AMD CRL of the product) was given, signed by the pinned root, current, and listed
// nothing on the chain; for an NVIDIA GPU, an OCSP bundle covered its chain with "good". kAbsent:
// some were not given, so revocation is unknown. kNotApplicable: the simulated TEE (no vendor,
// nothing to revoke).
enum class Revocation { kAbsent, kChecked, kNotApplicable };
std::string_view RevocationName(Revocation r);  // "absent", "checked", "not-applicable"

// Normalized claims of verified evidence. Fields a TEE does not have stay empty.
struct Claims {
  TeeType tee = TeeType::kSim;
  bool simulated = false;  // true only for the sim TEE; never for hardware evidence
  Bytes measurement;       // SNP MEASUREMENT, TDX MRTD, SGX MRENCLAVE, sim measurement
  Bytes host_data;         // SNP HOST_DATA, TDX MRCONFIGID, SGX CONFIGID, sim host_data
  Bytes report_data;       // 64 bytes chosen by the workload
  bool debug = false;
  TcbStatus tcb_status = TcbStatus::kUnknown;
  Revocation revocation = Revocation::kAbsent;  // unknown until a verifier says otherwise
  std::vector<std::string> advisory_ids;
  Bytes platform_id;     // SNP CHIP_ID, DCAP PPID/FMSPC where known, sim node id bytes
  std::string signer;    // e.g. "VCEK", "VLEK", "PCK", "sim-node:<id>"
  nlohmann::json tcb;    // TEE-specific TCB components
  nlohmann::json extra;  // everything else, normalized (hex strings, numbers, bools)
  // Verified device evidence bound to this (CPU TEE) evidence: the GPUs of composite
  // evidence, in submodule order (gpu0, gpu1, …). Only AttachDevices (verifier.h) fills it,
  // after each device's evidence verified against a nonce derived from this evidence's
  // session; a policy's `gpu:` section appraises them.
  std::vector<Claims> devices;

  // {"tee","simulated","measurement","host_data","report_data","debug","tcb_status",
  //  "revocation","advisory_ids","platform_id","signer","tcb","claims"} with hex strings,
  //  and "devices": [...] when there are any.
  nlohmann::json ToJson() const;
};

}  // namespace crypta::attest

#endif  // CRYPTA_ATTEST_EVIDENCE_H_
