// AMD SEV-SNP products and the TCB_VERSION encoding, which differs between them.
//
// TCB_VERSION is a u64 whose byte layout depends on the product (LAYOUTS §1.3; SNP ABI
// 56860 Table 3 "TCB_VERSION Structure", and the Turin layout with an FMC SPL). A report
// does not say which layout it uses, so the product must be known first: from the VCEK's
// product-name extension, from CPUID_FAM_ID/CPUID_MOD_ID (report version >= 3), or from
// configuration. All functions here are pure and thread-safe.
#ifndef CRYPTA_ATTEST_SNP_PRODUCT_H_
#define CRYPTA_ATTEST_SNP_PRODUCT_H_

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace crypta::attest::snp {

enum class SnpProduct { kMilan, kGenoa, kTurin };

inline constexpr std::array<SnpProduct, 3> kAllSnpProducts = {
    SnpProduct::kMilan, SnpProduct::kGenoa, SnpProduct::kTurin};

// "Milan", "Genoa", "Turin": the names used in KDS URLs and root certificate names.
std::string_view SnpProductName(SnpProduct product);

// Parses a product name as found in the VCEK product-name extension
// (1.3.6.1.4.1.3704.1.2): "Milan-B0", "Genoa", "Turin", "Milan" (VLEK). The stepping
// suffix after '-' is ignored. Fails with kInvalidArgument naming the unknown value.
Result<SnpProduct> ParseSnpProductName(std::string_view name);

// The product for a report's CPUID_FAM_ID / CPUID_MOD_ID (version >= 3): family 0x19
// models 0x00..0x0F Milan, 0x10..0x1F and 0xA0..0xAF Genoa (incl. Bergamo/Siena);
// family 0x1A models 0x00..0x1F Turin. nullopt when unknown (including all-zero CPUID
// fields of version 2 reports).
std::optional<SnpProduct> SnpProductFromCpuid(uint8_t family, uint8_t model);

// True when the product's TCB_VERSION carries an FMC SPL (Turin and later) and its VCEK
// a fmcSPL extension and an 8-byte hwID.
bool HasFmcSpl(SnpProduct product);
// Bytes of CHIP_ID that the VCEK's hwID and the KDS URL use: 64, or 8 on Turin.
size_t ChipIdLength(SnpProduct product);

// A decoded TCB_VERSION. `fmc` is set only for products with an FMC SPL.
struct TcbVersion {
  uint64_t raw = 0;
  std::optional<uint8_t> fmc;
  uint8_t boot_loader = 0;
  uint8_t tee = 0;
  uint8_t snp = 0;
  uint8_t microcode = 0;

  // {"raw": "0x7308000000000003", "bl_spl": 3, "tee_spl": 0, "snp_spl": 8,
  //  "ucode_spl": 115[, "fmc_spl": 0]}
  nlohmann::json ToJson() const;
};

// Decodes per the product's layout. Reserved bytes are ignored here; use
// TcbReservedBitsZero to check them.
TcbVersion DecodeTcb(uint64_t raw, SnpProduct product);
// The inverse: places the SPLs at the product's byte positions, reserved bytes zero
// (`fmc` is ignored on products without one).
uint64_t EncodeTcb(const TcbVersion& tcb, SnpProduct product);
// Whether the bytes that the product's layout reserves are zero.
bool TcbReservedBitsZero(uint64_t raw, SnpProduct product);

}  // namespace crypta::attest::snp

#endif  // CRYPTA_ATTEST_SNP_PRODUCT_H_
