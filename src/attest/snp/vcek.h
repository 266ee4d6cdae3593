// VCEK / VLEK certificates (AMD VCEK spec 57230 §3; LAYOUTS §1.4): reading AMD's
// extensions under 1.3.6.1.4.1.3704.1 and verifying the chain
// VCEK -> ASK -> ARK or VLEK -> ASVK -> ARK at an explicit time.
// All functions are pure and thread-safe.
#ifndef CRYPTA_ATTEST_SNP_VCEK_H_
#define CRYPTA_ATTEST_SNP_VCEK_H_

#include <cstdint>
#include <optional>
#include <string>

#include "attest/snp/amd_roots.h"
#include "attest/snp/product.h"
#include "attest/snp/report.h"
#include "common/bytes.h"
#include "common/status.h"
#include "crypto/x509.h"

namespace crypta::attest::snp {

// AMD's extension OIDs (LAYOUTS §1.4 table).
inline constexpr char kOidStructVersion[] = "1.3.6.1.4.1.3704.1.1";
inline constexpr char kOidProductName[] = "1.3.6.1.4.1.3704.1.2";
inline constexpr char kOidBlSpl[] = "1.3.6.1.4.1.3704.1.3.1";
inline constexpr char kOidTeeSpl[] = "1.3.6.1.4.1.3704.1.3.2";
inline constexpr char kOidSnpSpl[] = "1.3.6.1.4.1.3704.1.3.3";
inline constexpr char kOidUcodeSpl[] = "1.3.6.1.4.1.3704.1.3.8";
inline constexpr char kOidFmcSpl[] = "1.3.6.1.4.1.3704.1.3.9";
inline constexpr char kOidHwId[] = "1.3.6.1.4.1.3704.1.4";
inline constexpr char kOidCspId[] = "1.3.6.1.4.1.3704.1.5";

// Which AMD key issued the leaf: the ASK issues VCEKs, the ASVK issues VLEKs.
enum class SnpCertKind { kVcek, kVlek };
std::string_view SnpCertKindName(SnpCertKind kind);  // "VCEK", "VLEK"

// AMD's extensions of a VCEK or VLEK, decoded.
struct SnpCertExtensions {
  std::optional<int64_t> struct_version;    // .1
  std::optional<std::string> product_name;  // .2, e.g. "Milan-B0"
  uint8_t bl_spl = 0;                       // .3.1
  uint8_t tee_spl = 0;                      // .3.2
  uint8_t snp_spl = 0;                      // .3.3
  uint8_t ucode_spl = 0;                    // .3.8
  std::optional<uint8_t> fmc_spl;           // .3.9 (Turin)
  std::optional<Bytes> hwid;                // .4, VCEK only (raw, or unwrapped OCTET STRING)
  std::optional<std::string> csp_id;        // .5, VLEK only
};

// Reads the extensions. bl/tee/snp/ucode SPLs are required (DER INTEGERs 0..255); the
// product name and CSP ID must be IA5Strings; hwID is accepted as 8 or 64 raw bytes or
// as an OCTET STRING (04 len ...) wrapping them. Fails with kInvalidArgument naming the
// extension.
Result<SnpCertExtensions> ParseSnpCertExtensions(const Certificate& cert);

// The leaf certificate of a "vcek"/"vlek" collateral item: DER, or PEM holding one or more
// certificates (e.g. VCEK + ASK + ARK as Azure serves it) of which exactly one is not a
// CA. Other certificates in the bundle are ignored (only pinned roots are trusted).
Result<Certificate> SelectLeafCertificate(ByteSpan der_or_pem);

// Verifies leaf -> ASK -> ARK (kVcek) or leaf -> ASVK -> ARK (kVlek) at
// verification_time, with the given product roots as the only intermediate and anchor.
// A VCEK presented through the ASVK (or a VLEK through the ASK) fails. Errors are
// kUnauthenticated from VerifyChain with "VCEK chain: " / "VLEK chain: " prepended.
Result<VerifiedChain> VerifySnpCertChain(const Certificate& leaf, SnpCertKind kind,
                                         const SnpProductRoots& roots, int64_t verification_time);

// The SPLs of the certificate as a TCB_VERSION in the product's layout.
TcbVersion CertTcb(const SnpCertExtensions& ext, SnpProduct product);

// Checks that the certificate's SPLs equal the report's REPORTED_TCB (bl/tee/snp/ucode,
// and fmc on Turin) and that REPORTED_TCB's reserved bytes are zero. Fails with
// kUnauthenticated, e.g. "reported TCB bl_spl 4 != VCEK blSPL 3".
Status CheckReportedTcbMatchesCert(uint64_t reported_tcb, const SnpCertExtensions& ext,
                                   SnpProduct product, SnpCertKind kind);

// Checks the VCEK's hwID against CHIP_ID (the first 8 bytes on Turin). Fails with
// kUnauthenticated when they differ or the VCEK has no hwID.
Status CheckHwIdMatchesChipId(const SnpCertExtensions& ext, ByteSpan chip_id, SnpProduct product);

}  // namespace crypta::attest::snp

#endif  // CRYPTA_ATTEST_SNP_VCEK_H_
