#include "attest/snp/product.h"

#include <cstdio>

namespace crypta::attest::snp {
namespace {

uint8_t ByteAt(uint64_t raw, int index) { return static_cast<uint8_t>(raw >> (8 * index)); }
uint64_t Place(uint8_t value, int index) { return static_cast<uint64_t>(value) << (8 * index); }

}  // namespace

std::string_view SnpProductName(SnpProduct product) {
  switch (product) {
    case SnpProduct::kMilan:
      return "Milan";
    case SnpProduct::kGenoa:
      return "Genoa";
    case SnpProduct::kTurin:
      return "Turin";
  }
  return "unknown";
}

Result<SnpProduct> ParseSnpProductName(std::string_view name) {
  std::string_view base = name.substr(0, name.find('-'));
  for (SnpProduct p : kAllSnpProducts) {
    if (base == SnpProductName(p)) return p;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown SEV-SNP product name \"" + std::string(name.substr(0, 32)) + "\"");
}

std::optional<SnpProduct> SnpProductFromCpuid(uint8_t family, uint8_t model) {
  if (family == 0x19) {
    if (model <= 0x0F) return SnpProduct::kMilan;
    if ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF)) {
      return SnpProduct::kGenoa;
    }
  }
  if (family == 0x1A && model <= 0x1F) return SnpProduct::kTurin;
  return std::nullopt;
}

bool HasFmcSpl(SnpProduct product) { return product == SnpProduct::kTurin; }

size_t ChipIdLength(SnpProduct product) { return HasFmcSpl(product) ? 8 : 64; }

nlohmann::json TcbVersion::ToJson() const {
  char hex[24];
  std::snprintf(hex, sizeof(hex), "0x%016llx", static_cast<unsigned long long>(raw));
  nlohmann::json j = {{"raw", hex},
                      {"bl_spl", boot_loader},
                      {"tee_spl", tee},
                      {"snp_spl", snp},
                      {"ucode_spl", microcode}};
  if (fmc) j["fmc_spl"] = *fmc;
  return j;
}

// LAYOUTS §1.3. Milan/Genoa: byte 0 BOOT_LOADER, 1 TEE, 2..5 reserved, 6 SNP, 7 MICROCODE.
// Turin: byte 0 FMC, 1 BOOT_LOADER, 2 TEE, 3 SNP, 4..6 reserved, 7 MICROCODE.
TcbVersion DecodeTcb(uint64_t raw, SnpProduct product) {
  TcbVersion t;
  t.raw = raw;
  t.microcode = ByteAt(raw, 7);
  if (HasFmcSpl(product)) {
    t.fmc = ByteAt(raw, 0);
    t.boot_loader = ByteAt(raw, 1);
    t.tee = ByteAt(raw, 2);
    t.snp = ByteAt(raw, 3);
  } else {
    t.boot_loader = ByteAt(raw, 0);
    t.tee = ByteAt(raw, 1);
    t.snp = ByteAt(raw, 6);
  }
  return t;
}

uint64_t EncodeTcb(const TcbVersion& tcb, SnpProduct product) {
  if (HasFmcSpl(product)) {
    return Place(tcb.fmc.value_or(0), 0) | Place(tcb.boot_loader, 1) | Place(tcb.tee, 2) |
           Place(tcb.snp, 3) | Place(tcb.microcode, 7);
  }
  return Place(tcb.boot_loader, 0) | Place(tcb.tee, 1) | Place(tcb.snp, 6) |
         Place(tcb.microcode, 7);
}

bool TcbReservedBitsZero(uint64_t raw, SnpProduct product) {
  uint64_t reserved_mask = HasFmcSpl(product) ? 0x00FFFFFF00000000ULL : 0x0000FFFFFFFF0000ULL;
  return (raw & reserved_mask) == 0;
}

}  // namespace crypta::attest::snp
