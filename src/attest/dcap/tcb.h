// TCB evaluation of a verified DCAP quote against verified collateral (LAYOUTS.md §2.8;
// Intel QVL TcbLevelCheck / QeIdentity checks):
//
//  * platform: the TCB info's FMSPC and PCE-ID must equal the PCK certificate's; the first
//    TCB level (newest first) whose 16 SGX component SVNs and PCESVN are all <= the PCK
//    certificate's (never the quote's CPUSVN), and for TDX whose TDX components are <=
//    TEE_TCB_SVN, compared from index 2 when TEE_TCB_SVN[1] != 0, gives the platform
//    status; no such level is an error ("no matching TCB level");
//  * TDX module: MRSIGNERSEAM == tdxModule.mrsigner and SEAM_ATTRIBUTES & attributesMask ==
//    attributes; when TEE_TCB_SVN[1] != 0 and tdxModuleIdentities exist, the identity
//    "TDX_%02X" % TEE_TCB_SVN[1] (mrsigner/attributes checked the same way) and its first
//    level with isvsvn <= TEE_TCB_SVN[0] give the module status;
//  * QE: MRSIGNER, ISVPRODID, MISCSELECT & mask, ATTRIBUTES & mask against the QE identity
//    ("QE" for SGX, "TD_QE" for TDX), then its first level with isvsvn <= QE ISVSVN.
//
// The overall status converges the platform status with the module and QE statuses as
// Intel's QVL does (ConvergeTcbStatus); advisory IDs are the union, platform first.
// Errors are kFailedPrecondition naming the mismatch. Pure and thread-safe.
#ifndef CRYPTA_ATTEST_DCAP_TCB_H_
#define CRYPTA_ATTEST_DCAP_TCB_H_

#include <optional>
#include <string>
#include <vector>

#include "attest/dcap/collateral.h"
#include "attest/dcap/pck.h"
#include "attest/dcap/quote.h"
#include "attest/evidence.h"

namespace crypta::attest::dcap {

struct TcbEvaluation {
  TcbStatus status = TcbStatus::kUnknown;  // converged
  std::vector<std::string> advisory_ids;
  TcbStatus platform_status = TcbStatus::kUnknown;
  std::string platform_tcb_date;
  std::optional<TcbStatus> module_status;
  std::optional<TcbStatus> qe_status;
};

// Treats statuses as sets of conditions {Revoked, OutOfDate, ConfigurationNeeded,
// SWHardeningNeeded} and returns the status of their union (Revoked dominates; OutOfDate
// absorbs SWHardeningNeeded; e.g. ConfigurationAndSWHardeningNeeded + OutOfDate =
// OutOfDateConfigurationNeeded). kUnknown in either gives the other.
TcbStatus ConvergeTcbStatus(TcbStatus a, TcbStatus b);

// The QE identity check; returns the matched level.
Result<IsvLevel> MatchQeIdentity(const SgxReportBody& qe_report, const EnclaveIdentity& identity,
                                 bool tdx);

// Platform (+ module) evaluation, and QE when `qe_identity` is given.
Result<TcbEvaluation> EvaluateTcb(const ParsedQuote& quote, const PckExtensions& pck,
                                  const TcbInfo& tcb_info, const EnclaveIdentity* qe_identity);

}  // namespace crypta::attest::dcap

#endif  // CRYPTA_ATTEST_DCAP_TCB_H_
