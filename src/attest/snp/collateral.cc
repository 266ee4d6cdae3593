#include "attest/snp/collateral.h"

#include <algorithm>
#include <cstdio>
#include <system_error>

#include "common/encoding.h"
#include "common/file_util.h"

namespace crypta::attest::snp {
namespace {

// The hwID as KDS names it (LAYOUTS §1.5): 64 bytes of CHIP_ID, or the first 8 on Turin.
Result<Bytes> KdsHwId(SnpProduct product, ByteSpan chip_id) {
  if (chip_id.size() != 64) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "CHIP_ID is " + std::to_string(chip_id.size()) + " bytes, want 64");
  }
  auto is_zero = [](ByteSpan b) {
    return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
  };
  if (is_zero(chip_id)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "CHIP_ID is all zero (masked or VLEK-signed report): no KDS VCEK for it");
  }
  size_t n = ChipIdLength(product);
  if (n < 64 && !is_zero(chip_id.subspan(n))) {
    return MakeError(ErrorCode::kInvalidArgument, "CHIP_ID bytes " + std::to_string(n) +
                                                      "..63 must be zero on " +
                                                      std::string(SnpProductName(product)));
  }
  return Bytes(chip_id.begin(), chip_id.begin() + n);
}

std::string Tcb16Hex(uint64_t tcb) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(tcb));
  return buf;
}

}  // namespace

Result<std::string> KdsVcekUrl(SnpProduct product, ByteSpan chip_id, uint64_t reported_tcb,
                               std::string_view base_url) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes hwid, KdsHwId(product, chip_id));
  TcbVersion tcb = DecodeTcb(reported_tcb, product);
  std::string url = std::string(base_url) + "/vcek/v1/" + std::string(SnpProductName(product)) +
                    "/" + HexEncode(hwid) + "?";
  if (tcb.fmc) url += "fmcSPL=" + std::to_string(*tcb.fmc) + "&";
  url += "blSPL=" + std::to_string(tcb.boot_loader) + "&teeSPL=" + std::to_string(tcb.tee) +
         "&snpSPL=" + std::to_string(tcb.snp) + "&ucodeSPL=" + std::to_string(tcb.microcode);
  return url;
}

std::string KdsCertChainUrl(SnpProduct product, bool vlek, std::string_view base_url) {
  return std::string(base_url) + (vlek ? "/vlek/v1/" : "/vcek/v1/") +
         std::string(SnpProductName(product)) + "/cert_chain";
}

std::string KdsCrlUrl(SnpProduct product, std::string_view base_url) {
  return std::string(base_url) + "/vcek/v1/" + std::string(SnpProductName(product)) + "/crl";
}

Result<std::filesystem::path> DirectoryCache::VcekPath(SnpProduct product, ByteSpan chip_id,
                                                       uint64_t reported_tcb) const {
  CRYPTA_ASSIGN_OR_RETURN(Bytes hwid, KdsHwId(product, chip_id));
  return dir_ / std::string(SnpProductName(product)) /
         (HexEncode(hwid) + "-" + Tcb16Hex(reported_tcb) + ".der");
}

Result<Bytes> DirectoryCache::FetchVcek(SnpProduct product, ByteSpan chip_id,
                                        uint64_t reported_tcb) const {
  CRYPTA_ASSIGN_OR_RETURN(std::filesystem::path path, VcekPath(product, chip_id, reported_tcb));
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return ReadFileBytes(path.string(), kMaxVcekSize);
  if (!upstream_) {
    return MakeError(ErrorCode::kNotFound, "no cached VCEK at " + path.string());
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes der, upstream_->FetchVcek(product, chip_id, reported_tcb));
  CRYPTA_RETURN_IF_ERROR(StoreVcek(product, chip_id, reported_tcb, der));
  return der;
}

Status DirectoryCache::StoreVcek(SnpProduct product, ByteSpan chip_id, uint64_t reported_tcb,
                                 ByteSpan der) const {
  if (der.size() > kMaxVcekSize) {
    return MakeError(ErrorCode::kResourceExhausted, "VCEK larger than the cache's size cap");
  }
  CRYPTA_ASSIGN_OR_RETURN(std::filesystem::path path, VcekPath(product, chip_id, reported_tcb));
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot create " + path.parent_path().string() + ": " + ec.message());
  }
  return WriteFileAtomic(path.string(), der, 0644, /*overwrite=*/true);
}

}  // namespace crypta::attest::snp
