// DCAP collateral (LAYOUTS.md §2.8; Intel PCS API v4): TCB Info (v2 SGX, v3 SGX/TDX), QE
// Identity (enclave identity v2), CRLs, and the single collateral JSON of dcap-qvl.
//
// TCB info and QE identity arrive as {"tcbInfo": {...}, "signature": "<hex r||s>"} (or
// "enclaveIdentity"). The signature covers the exact bytes of the inner object as they
// appear in the body, so SplitSignedJson returns that raw substring (never a
// re-serialization). Everything parses with ParseJsonStrict (size and depth caps,
// duplicate keys rejected); errors are kInvalidArgument naming the field. Signatures are
// checked with the Intel SGX TCB Signing key, whose certificate must chain to the pinned
// root at the verification time (and pass the Root CA CRL when one is given). Collateral
// outside [issueDate, nextUpdate] is rejected with kFailedPrecondition and a message that
// says "expired" or "not yet valid". All functions are pure and thread-safe.
#ifndef CRYPTA_ATTEST_DCAP_COLLATERAL_H_
#define CRYPTA_ATTEST_DCAP_COLLATERAL_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attest/dcap/intel_roots.h"
#include "attest/evidence.h"
#include "common/bytes.h"
#include "common/status.h"
#include "crypto/x509.h"

namespace crypta::attest::dcap {

inline constexpr size_t kMaxCollateralJsonSize = 1 << 20;

// A TCB level of TCB info (newest first in the file).
struct TcbLevel {
  std::array<uint8_t, 16> sgx_components{};
  uint16_t pce_svn = 0;
  std::optional<std::array<uint8_t, 16>> tdx_components;  // TDX TCB info only
  std::string tcb_date;
  TcbStatus status = TcbStatus::kUnknown;
  std::vector<std::string> advisory_ids;
};

// A level of QE identity or of a TDX module identity, selected by ISVSVN.
struct IsvLevel {
  uint16_t isv_svn = 0;
  std::string tcb_date;
  TcbStatus status = TcbStatus::kUnknown;
  std::vector<std::string> advisory_ids;
};

struct TdxModuleIdentity {
  std::string id;         // "TDX_01", "TDX_03", ... (empty for the plain tdxModule)
  Bytes mrsigner;         // 48
  Bytes attributes;       // 8
  Bytes attributes_mask;  // 8
  std::vector<IsvLevel> levels;
};

struct TcbInfo {
  std::string id;  // "SGX" or "TDX" (v2: "SGX")
  int version = 0;
  int64_t issue_date = 0;
  int64_t next_update = 0;
  Bytes fmspc;   // 6
  Bytes pce_id;  // 2
  int64_t tcb_type = 0;
  int64_t tcb_evaluation_data_number = 0;
  std::optional<TdxModuleIdentity> tdx_module;
  std::vector<TdxModuleIdentity> tdx_module_identities;
  std::vector<TcbLevel> levels;
};

struct EnclaveIdentity {
  std::string id;  // "QE", "TD_QE", "QVE"
  int version = 0;
  int64_t issue_date = 0;
  int64_t next_update = 0;
  int64_t tcb_evaluation_data_number = 0;
  uint32_t miscselect = 0;
  uint32_t miscselect_mask = 0;
  Bytes attributes;       // 16
  Bytes attributes_mask;  // 16
  Bytes mrsigner;         // 32
  uint16_t isv_prod_id = 0;
  std::vector<IsvLevel> levels;
};

// The signed text of a collateral object and its raw r||s signature.
struct SignedJson {
  std::string body;
  Bytes signature;  // 64
};

// Splits a PCS response body: `member` is "tcbInfo" or "enclaveIdentity".
Result<SignedJson> SplitSignedJson(std::string_view text, std::string_view member);
// Parse the inner object text (the `body` of SplitSignedJson).
Result<TcbInfo> ParseTcbInfo(std::string_view text);
Result<EnclaveIdentity> ParseEnclaveIdentity(std::string_view text);

// Fails unless issue_date <= time <= next_update, both bounds included ("TCB info
// expired: nextUpdate ... is before the verification time ...", "... not yet valid").
Status CheckFreshness(std::string_view what, int64_t issue_date, int64_t next_update, int64_t time);

// Verifies the signature of `signed_json` by a TCB Signing certificate (from `chain`, then
// the roots' built-in candidates) that chains to roots.roots at `time`.
Status VerifyCollateralSignature(std::string_view what, const SignedJson& signed_json,
                                 const DcapTrustRoots& roots, std::span<const Certificate> chain,
                                 int64_t time, std::span<const Crl> root_crls);

// Verified collateral for one quote.
struct DcapCollateral {
  std::optional<TcbInfo> tcb_info;
  std::optional<EnclaveIdentity> qe_identity;
  std::vector<Crl> crls;  // PCK CRL and Root CA CRL, when given
  bool has_pck_crl = false;
  bool has_root_ca_crl = false;

  // Both the PCK CRL and the Root CA CRL were given and parsed. The quote verifier then
  // requires every certificate below the root to be covered by a CRL from its issuer that
  // verifies and is current at the verification time (ChainVerifyOptions::require_crls),
  // so once the PCK chain has verified, revocation was checked.
  bool has_both_crls() const { return has_pck_crl && has_root_ca_crl; }
};

// The collateral item names the DCAP verifiers read (sorted).
inline constexpr std::array<std::string_view, 6> kDcapCollateralItems = {
    "collateral_json", "pck_crl", "qe_identity", "root_ca_crl", "tcb_info", "tcb_signing_chain"};

// Fails with kInvalidArgument naming the first item of `collateral` that is not one of
// kDcapCollateralItems (e.g. a misspelt "pck_crI"), and listing the accepted names, so a
// misnamed item is never silently ignored.
Status CheckDcapCollateralItemNames(const Collateral& collateral);

// Looks a named collateral item up (nullptr when absent).
using CollateralLookup = std::function<const Bytes*(const std::string& name)>;

// Reads the items "tcb_info", "qe_identity" (PCS bodies), "pck_crl", "root_ca_crl" (DER or
// PEM), "tcb_signing_chain" (PEM) and "collateral_json" (dcap-qvl format: hex CRLs, the
// signed texts and hex signatures, PEM issuer chains); separate items take precedence over
// the same content in "collateral_json". Verifies signatures and freshness at `time`.
// CRL windows and signatures are checked later, with the PCK chain.
//
// A signed body and its signature come together. kInvalidArgument naming the field when
// one is given without the other ("collateral_json: tcb_info_signature is present but
// tcb_info is missing", "tcb_info: collateral tcbInfo: \"signature\" is present but
// \"tcbInfo\" is missing"), when an item or field is an empty string, when a
// collateral_json body is not a JSON object, and when a collateral_json document lacks
// tcb_info or qe_identity that no separate item supplies. Items that are absent stay
// absent here: whether a partial set is acceptable is the quote verifier's decision.
Result<DcapCollateral> LoadDcapCollateral(const CollateralLookup& find, const DcapTrustRoots& roots,
                                          int64_t time);

}  // namespace crypta::attest::dcap

#endif  // CRYPTA_ATTEST_DCAP_COLLATERAL_H_
