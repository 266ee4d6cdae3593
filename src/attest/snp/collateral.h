// Where SEV-SNP collateral comes from when the evidence does not carry it: AMD's Key
// Distribution Service (KDS, VCEK spec 57230 §4; LAYOUTS §1.5) or a local cache of it.
//
// crypta contains no network code for KDS: KdsVcekUrl and friends build the exact URLs
// for an operator's fetcher, and DirectoryCache serves VCEKs saved on disk (optionally
// filling itself from another source). Certificates from any source are untrusted: the
// verifier checks them against the pinned AMD roots.
#ifndef CRYPTA_ATTEST_SNP_COLLATERAL_H_
#define CRYPTA_ATTEST_SNP_COLLATERAL_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "attest/snp/product.h"
#include "common/bytes.h"
#include "common/status.h"

namespace crypta::attest::snp {

inline constexpr char kKdsBaseUrl[] = "https://kdsintf.amd.com";
inline constexpr size_t kMaxVcekSize = 16 * 1024;

// A source of VCEK certificates. Implementations must be thread-safe.
class SnpCollateralSource {
 public:
  virtual ~SnpCollateralSource() = default;
  // The VCEK (DER) for this chip at this REPORTED_TCB. `chip_id` is the report's 64-byte
  // CHIP_ID (on Turin only the first 8 bytes are used). kNotFound when the source does
  // not have it; kUnavailable when it could not be reached.
  virtual Result<Bytes> FetchVcek(SnpProduct product, ByteSpan chip_id,
                                  uint64_t reported_tcb) const = 0;
};

// GET URL of a VCEK: {base}/vcek/v1/{Product}/{hex(hwid)}?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..
// with the SPLs of REPORTED_TCB as plain decimals; Turin uses the first 8 bytes of
// CHIP_ID and puts fmcSPL first. Fails with kInvalidArgument when chip_id is not 64 bytes
// or is all zero (masked or VLEK-signed: KDS has no VCEK for it), or, on Turin, when
// bytes 8..63 are not zero.
Result<std::string> KdsVcekUrl(SnpProduct product, ByteSpan chip_id, uint64_t reported_tcb,
                               std::string_view base_url = kKdsBaseUrl);
// {base}/vcek/v1/{Product}/cert_chain (ASK then ARK, PEM) or, for VLEKs,
// {base}/vlek/v1/{Product}/cert_chain (ASVK then ARK).
std::string KdsCertChainUrl(SnpProduct product, bool vlek, std::string_view base_url = kKdsBaseUrl);
// {base}/vcek/v1/{Product}/crl
std::string KdsCrlUrl(SnpProduct product, std::string_view base_url = kKdsBaseUrl);

// VCEKs stored as <dir>/<Product>/<hex(hwid)>-<tcb as 16 hex digits>.der, e.g.
// cache/Milan/c384...524e-7308000000000003.der. On a miss, when an upstream source is
// given, fetches from it and stores the result (atomically). Thread-safe (writes go
// through a temporary file and rename; concurrent fills of one entry write equal bytes).
class DirectoryCache : public SnpCollateralSource {
 public:
  explicit DirectoryCache(std::filesystem::path dir,
                          std::shared_ptr<const SnpCollateralSource> upstream = nullptr)
      : dir_(std::move(dir)), upstream_(std::move(upstream)) {}

  Result<Bytes> FetchVcek(SnpProduct product, ByteSpan chip_id,
                          uint64_t reported_tcb) const override;
  // Writes (or replaces) the cached VCEK.
  Status StoreVcek(SnpProduct product, ByteSpan chip_id, uint64_t reported_tcb, ByteSpan der) const;
  // The path FetchVcek reads; fails like KdsVcekUrl on an unusable chip_id.
  Result<std::filesystem::path> VcekPath(SnpProduct product, ByteSpan chip_id,
                                         uint64_t reported_tcb) const;

 private:
  std::filesystem::path dir_;
  std::shared_ptr<const SnpCollateralSource> upstream_;
};

}  // namespace crypta::attest::snp

#endif  // CRYPTA_ATTEST_SNP_COLLATERAL_H_
