// Trust roots for SEV-SNP: per product the ARK (AMD Root Key, the trust anchor), the ASK
// (AMD SEV Key, issues VCEKs) and the ASVK (AMD SEV VLEK key, issues VLEKs), LAYOUTS §1.4.
//
// PinnedAmdRoots() returns AMD's certificates for Milan, Genoa and Turin, compiled in as
// data (amd_roots_data.cc); nothing is read from disk or the network. Tests build their
// own SnpTrustRoots with a generated ARK/ASK/ASVK. Immutable after construction and
// thread-safe.
#ifndef CRYPTA_ATTEST_SNP_AMD_ROOTS_H_
#define CRYPTA_ATTEST_SNP_AMD_ROOTS_H_

#include <map>
#include <string_view>

#include "attest/snp/product.h"
#include "common/status.h"
#include "crypto/x509.h"

namespace crypta::attest::snp {

struct SnpProductRoots {
  Certificate ark;   // self-signed root, the only trust anchor
  Certificate ask;   // intermediate for VCEKs, signed by the ARK
  Certificate asvk;  // intermediate for VLEKs, signed by the ARK
};

class SnpTrustRoots {
 public:
  // AMD's pinned roots for every product (parsed once per process; the result is cached).
  // Fails only if the embedded data is damaged.
  static Result<SnpTrustRoots> PinnedAmdRoots();

  // Roots from a PEM bundle holding exactly ASK, ARK, ASVK in that order (the layout of
  // AMD's *_ask_ark_asvk.pem files). Checks that the ARK is self-issued and that it
  // signed the ASK and the ASVK at `check_time` (Unix seconds).
  static Result<SnpProductRoots> ProductRootsFromPem(std::string_view ask_ark_asvk_pem,
                                                     int64_t check_time);

  SnpTrustRoots() = default;
  void Set(SnpProduct product, SnpProductRoots roots) { roots_.insert_or_assign(product, roots); }
  // nullptr when no roots are configured for the product.
  const SnpProductRoots* Find(SnpProduct product) const;

 private:
  std::map<SnpProduct, SnpProductRoots> roots_;
};

namespace internal {
// The embedded PEM bundles (ASK, ARK, ASVK), defined in amd_roots_data.cc.
extern const char kMilanAskArkAsvkPem[];
extern const char kGenoaAskArkAsvkPem[];
extern const char kTurinAskArkAsvkPem[];
}  // namespace internal

}  // namespace crypta::attest::snp

#endif  // CRYPTA_ATTEST_SNP_AMD_ROOTS_H_
