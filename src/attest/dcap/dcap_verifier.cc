// DCAP verification core shared by the TDX and SGX verifiers.
#include "attest/dcap/dcap_verifier.h"

#include <string>

#include "attest/dcap/collateral.h"
#include "attest/dcap/tcb.h"
#include "common/encoding.h"

namespace crypta::attest::dcap {
namespace {

nlohmann::json Hex(const Bytes& b) { return HexEncode(b); }

void AddTdClaims(const TdReportBody& td, Claims& c) {
  c.tee = TeeType::kTdx;
  c.measurement = td.mr_td;
  c.host_data = td.mr_config_id;
  c.report_data = td.report_data;
  c.debug = td.debug();
  for (int i = 0; i < 4; ++i) c.extra["rtmr" + std::to_string(i)] = Hex(td.rtmr[i]);
  c.extra["mr_owner"] = Hex(td.mr_owner);
  c.extra["mr_owner_config"] = Hex(td.mr_owner_config);
  c.extra["td_attributes"] = Hex(td.td_attributes);
  c.extra["xfam"] = Hex(td.xfam);
  c.extra["mr_seam"] = Hex(td.mr_seam);
  c.extra["mr_signer_seam"] = Hex(td.mr_signer_seam);
  c.extra["seam_attributes"] = Hex(td.seam_attributes);
  c.extra["tee_tcb_svn"] = Hex(td.tee_tcb_svn);
  c.tcb["tee_tcb_svn"] = Hex(td.tee_tcb_svn);
  if (td.tdx15) {
    c.extra["tee_tcb_svn2"] = Hex(td.tee_tcb_svn2);
    c.extra["mr_service_td"] = Hex(td.mr_service_td);
  }
}

void AddSgxClaims(const SgxReportBody& b, Claims& c) {
  c.tee = TeeType::kSgx;
  c.measurement = b.mr_enclave;
  c.host_data = b.config_id;
  c.report_data = b.report_data;
  c.debug = b.debug();
  c.extra["mr_signer"] = Hex(b.mr_signer);
  c.extra["isv_prod_id"] = b.isv_prod_id;
  c.extra["isv_svn"] = b.isv_svn;
  c.extra["config_svn"] = b.config_svn;
  c.extra["attributes"] = Hex(b.attributes);
  c.extra["misc_select"] = b.misc_select;
  c.extra["cpu_svn"] = Hex(b.cpu_svn);
  c.extra["isv_ext_prod_id"] = Hex(b.isv_ext_prod_id);
  c.extra["isv_family_id"] = Hex(b.isv_family_id);
}

}  // namespace

Claims QuoteClaims(const ParsedQuote& q) {
  Claims c;
  c.extra = nlohmann::json::object();
  c.tcb = nlohmann::json::object();
  if (q.td_body) {
    AddTdClaims(*q.td_body, c);
  } else {
    AddSgxClaims(*q.sgx_body, c);
  }
  c.signer = "PCK";
  c.extra["quote_version"] = q.header.version;
  c.extra["qe"] = {{"mr_enclave", Hex(q.qe_report_body.mr_enclave)},
                   {"mr_signer", Hex(q.qe_report_body.mr_signer)},
                   {"isv_prod_id", q.qe_report_body.isv_prod_id},
                   {"isv_svn", q.qe_report_body.isv_svn}};
  return c;
}

DcapQuoteVerifier::DcapQuoteVerifier(DcapTrustRoots roots, size_t cache_capacity)
    : roots_(std::move(roots)), cache_(std::make_unique<PckChainCache>(cache_capacity)) {}

Result<Claims> DcapQuoteVerifier::Verify(TeeType tee, const Evidence& evidence,
                                         const VerifyOptions& options) const {
  if (options.verification_time <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "DCAP: verification_time is required");
  }
  CRYPTA_ASSIGN_OR_RETURN(ParsedQuote quote, ParseQuote(evidence.raw));
  if ((tee == TeeType::kTdx) != quote.is_tdx()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("DCAP: quote body is ") +
                         (quote.is_tdx() ? "a TD report" : "an SGX enclave report") + ", want " +
                         (tee == TeeType::kTdx ? "a TD report" : "an enclave report"));
  }
  if (options.collateral != nullptr) {
    CRYPTA_RETURN_IF_ERROR(CheckDcapCollateralItemNames(*options.collateral));
  }
  CRYPTA_RETURN_IF_ERROR(CheckDcapCollateralItemNames(evidence.collateral));
  CollateralLookup find = [&](const std::string& name) -> const Bytes* {
    if (options.collateral != nullptr) {
      if (const Bytes* b = options.collateral->Find(name)) return b;
    }
    return evidence.collateral.Find(name);
  };
  const int64_t time = options.verification_time;
  CRYPTA_ASSIGN_OR_RETURN(DcapCollateral collateral, LoadDcapCollateral(find, roots_, time));
  // A QE identity without TCB info would leave the TCB status Unknown although collateral
  // was given: the TCB info is missing, not merely unneeded.
  if (collateral.qe_identity && !collateral.tcb_info) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "DCAP collateral: qe_identity is given but tcb_info is missing (the TCB "
                     "status needs the TCB info)");
  }

  QuoteCryptoOptions crypto;
  crypto.verification_time = time;
  crypto.crls = collateral.crls;
  crypto.require_crls = collateral.has_both_crls();
  crypto.cache = cache_.get();
  CRYPTA_ASSIGN_OR_RETURN(PckChainInfo pck, VerifyQuoteSignatures(quote, roots_, crypto));

  Claims claims = QuoteClaims(quote);
  claims.extra["pck_issuer"] = pck.issuer_cn;
  // With both CRLs the chain verified with require_crls: every certificate below the root
  // was checked against a current CRL from its issuer (the PCK CRL and the Root CA CRL).
  claims.revocation = crypto.require_crls ? Revocation::kChecked : Revocation::kAbsent;
  if (pck.extensions) {
    claims.platform_id = pck.extensions->fmspc;
    claims.tcb["fmspc"] = HexEncode(pck.extensions->fmspc);
    claims.tcb["pce_svn"] = pck.extensions->pce_svn;
    claims.tcb["sgx_tcb_components"] = pck.extensions->tcb_components;
  }
  claims.tcb_status = TcbStatus::kUnknown;
  if (collateral.tcb_info) {
    if (!pck.extensions) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "PCK certificate SGX extension: " + pck.extensions_error);
    }
    const EnclaveIdentity* qe = collateral.qe_identity ? &*collateral.qe_identity : nullptr;
    CRYPTA_ASSIGN_OR_RETURN(TcbEvaluation eval,
                            EvaluateTcb(quote, *pck.extensions, *collateral.tcb_info, qe));
    if (eval.status == TcbStatus::kRevoked) {
      return MakeError(ErrorCode::kUnauthenticated, "DCAP: TCB status is Revoked");
    }
    claims.tcb_status = eval.status;
    claims.advisory_ids = eval.advisory_ids;
    claims.tcb["platform_status"] = TcbStatusName(eval.platform_status);
    claims.tcb["tcb_date"] = eval.platform_tcb_date;
    claims.tcb["tcb_evaluation_data_number"] = collateral.tcb_info->tcb_evaluation_data_number;
    if (eval.module_status) claims.tcb["module_status"] = TcbStatusName(*eval.module_status);
    if (eval.qe_status) claims.tcb["qe_status"] = TcbStatusName(*eval.qe_status);
  }
  CRYPTA_RETURN_IF_ERROR(CheckReportData(quote.report_data(), options));
  return claims;
}

}  // namespace crypta::attest::dcap
