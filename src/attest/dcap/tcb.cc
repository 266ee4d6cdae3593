// DCAP TCB level matching and status convergence (LAYOUTS.md §2.8).
#include "attest/dcap/tcb.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "common/encoding.h"

namespace crypta::attest::dcap {
namespace {

constexpr unsigned kRevoked = 1, kOutOfDate = 2, kConfig = 4, kSwHardening = 8;

unsigned Flags(TcbStatus s) {
  switch (s) {
    case TcbStatus::kSwHardeningNeeded:
      return kSwHardening;
    case TcbStatus::kConfigurationNeeded:
      return kConfig;
    case TcbStatus::kConfigurationAndSwHardeningNeeded:
      return kConfig | kSwHardening;
    case TcbStatus::kOutOfDate:
      return kOutOfDate;
    case TcbStatus::kOutOfDateConfigurationNeeded:
      return kOutOfDate | kConfig;
    case TcbStatus::kRevoked:
      return kRevoked;
    default:
      return 0;
  }
}

Error Mismatch(std::string message) {
  return Error(ErrorCode::kFailedPrecondition, std::move(message));
}

void AddAdvisories(std::vector<std::string>& out, const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
}

// (value & mask) == expected, bytewise over equal-length fields.
bool MaskedEquals(ByteSpan value, ByteSpan mask, ByteSpan expected) {
  if (value.size() != mask.size() || value.size() != expected.size()) return false;
  for (size_t i = 0; i < value.size(); ++i) {
    if ((value[i] & mask[i]) != expected[i]) return false;
  }
  return true;
}

bool Equal(ByteSpan a, ByteSpan b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

// Module identity checks; returns the module status (nullopt when only tdxModule applies).
Result<std::optional<IsvLevel>> EvaluateModule(const TdReportBody& td, const TcbInfo& info) {
  if (!info.tdx_module) return MakeError(Mismatch("TCB info: tdxModule missing"));
  if (!Equal(td.mr_signer_seam, info.tdx_module->mrsigner)) {
    return MakeError(Mismatch("MRSIGNERSEAM does not match TCB info tdxModule.mrsigner"));
  }
  if (!MaskedEquals(td.seam_attributes, info.tdx_module->attributes_mask,
                    info.tdx_module->attributes)) {
    return MakeError(Mismatch("SEAM_ATTRIBUTES do not match TCB info tdxModule.attributes"));
  }
  const uint8_t major = td.tee_tcb_svn[1];
  if (major == 0 || info.tdx_module_identities.empty()) return std::optional<IsvLevel>();
  char id[16];
  std::snprintf(id, sizeof(id), "TDX_%02X", major);
  for (const TdxModuleIdentity& m : info.tdx_module_identities) {
    if (m.id != id) continue;
    if (!Equal(td.mr_signer_seam, m.mrsigner)) {
      return MakeError(Mismatch(std::string("MRSIGNERSEAM does not match TDX module ") + id));
    }
    if (!MaskedEquals(td.seam_attributes, m.attributes_mask, m.attributes)) {
      return MakeError(Mismatch(std::string("SEAM_ATTRIBUTES do not match TDX module ") + id));
    }
    for (const IsvLevel& level : m.levels) {
      if (level.isv_svn <= td.tee_tcb_svn[0]) return std::optional<IsvLevel>(level);
    }
    return MakeError(Mismatch(std::string("no matching TCB level for TDX module ") + id +
                              " with ISVSVN " + std::to_string(td.tee_tcb_svn[0])));
  }
  return MakeError(Mismatch(std::string("TDX module identity ") + id + " not in TCB info"));
}

}  // namespace

TcbStatus ConvergeTcbStatus(TcbStatus a, TcbStatus b) {
  if (a == TcbStatus::kUnknown) return b;
  if (b == TcbStatus::kUnknown) return a;
  const unsigned f = Flags(a) | Flags(b);
  if (f & kRevoked) return TcbStatus::kRevoked;
  if (f & kOutOfDate) {
    return (f & kConfig) ? TcbStatus::kOutOfDateConfigurationNeeded : TcbStatus::kOutOfDate;
  }
  if ((f & kConfig) && (f & kSwHardening)) return TcbStatus::kConfigurationAndSwHardeningNeeded;
  if (f & kConfig) return TcbStatus::kConfigurationNeeded;
  if (f & kSwHardening) return TcbStatus::kSwHardeningNeeded;
  return TcbStatus::kUpToDate;
}

Result<IsvLevel> MatchQeIdentity(const SgxReportBody& qe, const EnclaveIdentity& identity,
                                 bool tdx) {
  const char* want_id = tdx ? "TD_QE" : "QE";
  if (identity.id != want_id) {
    return MakeError(Mismatch("QE identity id \"" + identity.id + "\", want \"" + want_id + "\""));
  }
  if (!Equal(qe.mr_signer, identity.mrsigner)) {
    return MakeError(Mismatch("QE MRSIGNER " + HexEncode(qe.mr_signer) +
                              " does not match QE identity mrsigner"));
  }
  if (qe.isv_prod_id != identity.isv_prod_id) {
    return MakeError(Mismatch("QE ISVPRODID " + std::to_string(qe.isv_prod_id) + ", want " +
                              std::to_string(identity.isv_prod_id)));
  }
  if ((qe.misc_select & identity.miscselect_mask) != identity.miscselect) {
    return MakeError(Mismatch("QE MISCSELECT does not match QE identity"));
  }
  if (!MaskedEquals(qe.attributes, identity.attributes_mask, identity.attributes)) {
    return MakeError(Mismatch("QE ATTRIBUTES do not match QE identity"));
  }
  for (const IsvLevel& level : identity.levels) {
    if (level.isv_svn <= qe.isv_svn) return level;
  }
  return MakeError(
      Mismatch("no matching QE identity TCB level for QE ISVSVN " + std::to_string(qe.isv_svn)));
}

Result<TcbEvaluation> EvaluateTcb(const ParsedQuote& quote, const PckExtensions& pck,
                                  const TcbInfo& info, const EnclaveIdentity* qe_identity) {
  const bool tdx = quote.is_tdx();
  if (info.id != (tdx ? "TDX" : "SGX")) {
    return MakeError(Mismatch("TCB info id \"" + info.id + "\" does not fit a " +
                              (tdx ? "TDX" : "SGX") + " quote"));
  }
  if (!Equal(info.fmspc, pck.fmspc)) {
    return MakeError(Mismatch("TCB info FMSPC " + HexEncode(info.fmspc) +
                              " does not match the PCK certificate's " + HexEncode(pck.fmspc)));
  }
  if (!Equal(info.pce_id, pck.pce_id)) {
    return MakeError(Mismatch("TCB info PCE-ID " + HexEncode(info.pce_id) +
                              " does not match the PCK certificate's " + HexEncode(pck.pce_id)));
  }
  const TcbLevel* match = nullptr;
  for (const TcbLevel& level : info.levels) {
    bool ok = pck.pce_svn >= level.pce_svn;
    for (int i = 0; ok && i < 16; ++i) ok = pck.tcb_components[i] >= level.sgx_components[i];
    if (ok && tdx) {
      if (!level.tdx_components) return MakeError(Mismatch("TCB level without tdxtcbcomponents"));
      const Bytes& svn = quote.td_body->tee_tcb_svn;
      for (int i = svn[1] != 0 ? 2 : 0; ok && i < 16; ++i) {
        ok = svn[i] >= (*level.tdx_components)[i];
      }
    }
    if (ok) {
      match = &level;
      break;
    }
  }
  if (match == nullptr) {
    return MakeError(Mismatch("no matching TCB level found (TCB level not supported)"));
  }
  TcbEvaluation out;
  out.platform_status = match->status;
  out.platform_tcb_date = match->tcb_date;
  out.status = match->status;
  AddAdvisories(out.advisory_ids, match->advisory_ids);
  if (tdx) {
    CRYPTA_ASSIGN_OR_RETURN(std::optional<IsvLevel> module, EvaluateModule(*quote.td_body, info));
    if (module) {
      out.module_status = module->status;
      out.status = ConvergeTcbStatus(out.status, module->status);
      AddAdvisories(out.advisory_ids, module->advisory_ids);
    }
  }
  if (qe_identity != nullptr) {
    CRYPTA_ASSIGN_OR_RETURN(IsvLevel qe, MatchQeIdentity(quote.qe_report_body, *qe_identity, tdx));
    out.qe_status = qe.status;
    out.status = ConvergeTcbStatus(out.status, qe.status);
    AddAdvisories(out.advisory_ids, qe.advisory_ids);
  }
  return out;
}

}  // namespace crypta::attest::dcap
