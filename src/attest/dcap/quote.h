// Intel DCAP quote parsing: SGX quote v3, TDX quote v4 and v5 (LAYOUTS.md §2.1-2.5;
// Intel "TDX DCAP Quoting Library API" Appendix A, "SGX ECDSA Quote Library API" §A.4).
//
// ParseQuote reads untrusted bytes with ByteReader at the fixed offsets of the spec and
// keeps copies of every field, so a ParsedQuote owns its data. It checks structure only
// (sizes, versions, key type, body type, the certification-data nesting, reserved ranges
// in the bodies); no signature is checked here (see verify.h). Errors are
// kInvalidArgument and name the field ("quote header: version: got 7, want 3, 4 or 5",
// "QE report certification data: size 12 exceeds the remaining 8 bytes").
//
// Bytes after the declared signature data (zero padding, or the ASCII text one
// go-tdx-guest vector carries) are not signed and are tolerated: their count is reported
// in ParsedQuote::trailing_bytes. All functions are pure and thread-safe.
#ifndef CRYPTA_ATTEST_DCAP_QUOTE_H_
#define CRYPTA_ATTEST_DCAP_QUOTE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta::attest::dcap {

inline constexpr size_t kQuoteHeaderSize = 48;
inline constexpr size_t kSgxReportBodySize = 384;
inline constexpr size_t kTdReport10Size = 584;
inline constexpr size_t kTdReport15Size = 648;
inline constexpr size_t kMaxQuoteSize = 256 * 1024;  // cap on untrusted input
inline constexpr uint16_t kAttestationKeyTypeEcdsaP256 = 2;
inline constexpr uint32_t kTeeTypeSgx = 0x00000000;
inline constexpr uint32_t kTeeTypeTdx = 0x00000081;
inline constexpr uint16_t kCertDataPckChain = 5;  // PEM leaf, intermediate, root
inline constexpr uint16_t kCertDataQeReport = 6;  // QE report certification data
// Intel's QE vendor id 939a7233-f79c-4ca9-940a-0db3957f0607.
inline constexpr std::array<uint8_t, 16> kIntelQeVendorId = {
    0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

// The 48-byte header (§2.1).
struct QuoteHeader {
  uint16_t version = 0;  // 3, 4 or 5
  uint16_t attestation_key_type = 0;
  uint32_t tee_type = 0;  // v4/v5: 0 SGX, 0x81 TDX; v3: reserved (0)
  uint16_t qe_svn = 0;    // v3 only (reserved in v4/v5)
  uint16_t pce_svn = 0;   // v3 only (reserved in v4/v5)
  Bytes qe_vendor_id;     // 16
  Bytes user_data;        // 20
};

// An SGX enclave report body (§2.4), used for SGX quotes and for the QE report.
struct SgxReportBody {
  Bytes cpu_svn;  // 16
  uint32_t misc_select = 0;
  Bytes isv_ext_prod_id;  // 16
  Bytes attributes;       // 16: u64 flags || u64 xfrm (little-endian)
  uint64_t attributes_flags = 0;
  uint64_t xfrm = 0;
  Bytes mr_enclave;  // 32
  Bytes mr_signer;   // 32
  Bytes config_id;   // 64
  uint16_t isv_prod_id = 0;
  uint16_t isv_svn = 0;
  uint16_t config_svn = 0;
  Bytes isv_family_id;  // 16
  Bytes report_data;    // 64

  bool debug() const { return (attributes_flags & 0x2) != 0; }  // ATTRIBUTES bit 1
};

// A TD report body (§2.3), TDX 1.0 (584 bytes) or TDX 1.5 (648 bytes).
struct TdReportBody {
  Bytes tee_tcb_svn;      // 16
  Bytes mr_seam;          // 48
  Bytes mr_signer_seam;   // 48
  Bytes seam_attributes;  // 8
  Bytes td_attributes;    // 8 (little-endian u64)
  uint64_t td_attributes_value = 0;
  Bytes xfam;                 // 8
  Bytes mr_td;                // 48
  Bytes mr_config_id;         // 48
  Bytes mr_owner;             // 48
  Bytes mr_owner_config;      // 48
  std::array<Bytes, 4> rtmr;  // 48 each
  Bytes report_data;          // 64
  bool tdx15 = false;         // the two fields below are present
  Bytes tee_tcb_svn2;         // 16
  Bytes mr_service_td;        // 48

  bool debug() const { return (td_attributes_value & 0x1) != 0; }  // TD_ATTRIBUTES bit 0
};

enum class BodyType { kSgx = 1, kTd10 = 2, kTd15 = 3 };

struct ParsedQuote {
  QuoteHeader header;
  BodyType body_type = BodyType::kSgx;
  std::optional<SgxReportBody> sgx_body;  // set for BodyType::kSgx
  std::optional<TdReportBody> td_body;    // set for kTd10 / kTd15
  Bytes signed_data;                      // header || (v5 descriptor ||) body

  // Signature data (§2.5), attestation key type 2.
  Bytes quote_signature;  // 64: r || s, big-endian
  Bytes attestation_key;  // 64: x || y, big-endian
  Bytes qe_report;        // 384: the raw QE report, as signed by the PCK key
  SgxReportBody qe_report_body;
  Bytes qe_report_signature;  // 64: r || s
  Bytes qe_auth_data;
  uint16_t cert_data_type = 0;  // innermost certification data type (5 = PCK chain)
  Bytes cert_data;              // for type 5: the PEM chain (may end with NUL bytes)

  size_t trailing_bytes = 0;  // unsigned bytes after the signature data

  bool is_tdx() const { return td_body.has_value(); }
  // REPORTDATA of the body.
  const Bytes& report_data() const {
    return td_body ? td_body->report_data : sgx_body->report_data;
  }
};

// Parses an SGX report body from exactly kSgxReportBodySize bytes.
Result<SgxReportBody> ParseSgxReportBody(ByteSpan data, std::string_view what);
// Parses a TD report body of kTdReport10Size or kTdReport15Size bytes.
Result<TdReportBody> ParseTdReportBody(ByteSpan data);
// Parses a whole quote (at most kMaxQuoteSize bytes).
Result<ParsedQuote> ParseQuote(ByteSpan quote);

}  // namespace crypta::attest::dcap

#endif  // CRYPTA_ATTEST_DCAP_QUOTE_H_
