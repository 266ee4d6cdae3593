#include "attest/snp/amd_roots.h"

#include <cstring>
#include <string>
#include <vector>

namespace crypta::attest::snp {
namespace {

// 2025-06-01T00:00:00Z: inside the validity of every pinned ARK, ASK and ASVK
// (2020..2045 Milan, 2022..2047 Genoa, 2023..2048 Turin), used only for the load-time
// consistency check; report verification uses the caller's time.
constexpr int64_t kPinnedCheckTime = 1748736000;

Result<SnpTrustRoots> LoadPinned() {
  SnpTrustRoots roots;
  struct Entry {
    SnpProduct product;
    const char* pem;
  };
  const Entry entries[] = {{SnpProduct::kMilan, internal::kMilanAskArkAsvkPem},
                           {SnpProduct::kGenoa, internal::kGenoaAskArkAsvkPem},
                           {SnpProduct::kTurin, internal::kTurinAskArkAsvkPem}};
  for (const Entry& e : entries) {
    auto product_roots = SnpTrustRoots::ProductRootsFromPem(e.pem, kPinnedCheckTime);
    if (!product_roots) {
      return MakeError(product_roots.error().WithContext("pinned AMD roots for " +
                                                         std::string(SnpProductName(e.product))));
    }
    roots.Set(e.product, std::move(*product_roots));
  }
  return roots;
}

}  // namespace

Result<SnpTrustRoots> SnpTrustRoots::PinnedAmdRoots() {
  // Parsed once; a magic static is thread-safe (C++11 [stmt.dcl]/4).
  static const Result<SnpTrustRoots> kPinned = LoadPinned();
  return kPinned;
}

Result<SnpProductRoots> SnpTrustRoots::ProductRootsFromPem(std::string_view ask_ark_asvk_pem,
                                                           int64_t check_time) {
  CRYPTA_ASSIGN_OR_RETURN(std::vector<Certificate> certs,
                          Certificate::ParsePemBundle(ask_ark_asvk_pem));
  if (certs.size() != 3) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "AMD root bundle: want 3 certificates (ASK, ARK, ASVK), got " +
                         std::to_string(certs.size()));
  }
  SnpProductRoots roots{.ark = certs[1], .ask = certs[0], .asvk = certs[2]};
  if (!roots.ark.is_self_issued()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "AMD root bundle: ARK " + roots.ark.subject() + " is not self-issued");
  }
  const Certificate anchors[] = {roots.ark};
  for (const Certificate* cert : {&roots.ask, &roots.asvk}) {
    auto chain = VerifyChain(*cert, {}, anchors, check_time);
    if (!chain) return MakeError(chain.error().WithContext("AMD root bundle: ARK -> intermediate"));
  }
  return roots;
}

const SnpProductRoots* SnpTrustRoots::Find(SnpProduct product) const {
  auto it = roots_.find(product);
  return it == roots_.end() ? nullptr : &it->second;
}

}  // namespace crypta::attest::snp
