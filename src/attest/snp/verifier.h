// SnpVerifier: verifies an AMD SEV-SNP ATTESTATION_REPORT (Evidence::raw, 1184 bytes) with
// its VCEK or VLEK, per LAYOUTS §1.6:
//
//   1. parse the report (report.h: sizes, version 2..5, SIGNATURE_ALGO 1, reserved zero);
//   2. take the leaf certificate from collateral item "vcek" or "vlek" (DER, or PEM that
//      may also hold the ASK/ARK, which are ignored), or from the configured
//      SnpCollateralSource; the item must match the report's SIGNING_KEY;
//   3. pick the product from the leaf's product-name extension (else the report's CPUID,
//      else each configured product in turn) and verify VCEK -> ASK -> ARK or
//      VLEK -> ASVK -> ARK at VerifyOptions::verification_time against the pinned roots
//      (collateral "ask"/"ark"/"asvk" items are never used: trust comes only from the
//      roots given to the verifier);
//   4. bind the certificate to the report: its SPLs equal REPORTED_TCB, and a VCEK's hwID
//      equals CHIP_ID (8 bytes on Turin; skipped when MASK_CHIP_KEY is set);
//   5. verify the ECDSA P-384/SHA-384 signature over bytes 0x000..0x29F (R, S little-endian);
//   6. check report_data against VerifyOptions::expected_report_data.
//
// Errors name the failed check ("VCEK chain: ...", "report signature does not verify",
// "reported TCB bl_spl 4 != VCEK blSPL 3"). The debug policy bit is not an error: it is
// reported as Claims::debug for the appraisal policy. tcb_status is kUpToDate: step 4
// requires REPORTED_TCB to equal the VCEK's SPLs, so the reported TCB always meets the
// certificate's (AMD publishes no separate TCB-currency collateral; minimum-TCB rules
// belong to the policy, which sees every component in Claims::tcb).
//
// Verified chains are cached per leaf (keyed by SHA-256 of the collateral bytes and the
// kind) with the chain's validity window, so a later report with the same VCEK costs one
// ECDSA verification; a verification time outside the window re-runs the full chain
// check. Thread-safe: the roots are immutable and the cache is guarded by a mutex.
#ifndef CRYPTA_ATTEST_SNP_VERIFIER_H_
#define CRYPTA_ATTEST_SNP_VERIFIER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "attest/snp/amd_roots.h"
#include "attest/snp/collateral.h"
#include "attest/snp/report.h"
#include "attest/snp/vcek.h"
#include "attest/verifier.h"
#include "crypto/keys.h"

namespace crypta::attest::snp {

struct SnpVerifierOptions {
  // Trust roots; unset means SnpTrustRoots::PinnedAmdRoots(). Tests set their own.
  std::optional<SnpTrustRoots> roots;
  // Consulted for the VCEK when the collateral holds neither "vcek" nor "vlek".
  std::shared_ptr<const SnpCollateralSource> vcek_source;
  // Product used for a fetch when neither the report's CPUID nor anything else names it
  // (version 2 reports).
  std::optional<SnpProduct> default_product;
  // Maximum cached verified chains (the cache is cleared when full). 0 disables caching.
  size_t chain_cache_capacity = 256;
};

class SnpVerifier : public Verifier {
 public:
  // Fails only if the pinned roots cannot be loaded.
  static Result<std::unique_ptr<SnpVerifier>> Create(SnpVerifierOptions options = {});

  TeeType tee() const override { return TeeType::kSevSnp; }
  Result<VerifiedEvidence> Verify(const Evidence& evidence,
                                  const VerifyOptions& options) const override;

  // The number of verified chains currently cached.
  size_t cached_chain_count() const;

 private:
  // A leaf certificate whose chain verified, with what the report checks need.
  struct VerifiedLeaf {
    Certificate cert;
    PublicKey key;
    SnpCertExtensions ext;
    SnpProduct product;
    SnpCertKind kind;
    int64_t valid_from;   // latest notBefore on the chain
    int64_t valid_until;  // earliest notAfter on the chain
  };

  explicit SnpVerifier(SnpVerifierOptions options, SnpTrustRoots roots)
      : options_(std::move(options)), roots_(std::move(roots)) {}

  Result<Bytes> FindLeafCollateral(const AttestationReport& report, const Evidence& evidence,
                                   const VerifyOptions& options, SnpCertKind* kind) const;
  Result<std::shared_ptr<const VerifiedLeaf>> VerifyLeaf(ByteSpan leaf_bytes, SnpCertKind kind,
                                                         const AttestationReport& report,
                                                         int64_t time) const;
  Result<std::shared_ptr<const VerifiedLeaf>> VerifyLeafUncached(ByteSpan leaf_bytes,
                                                                 SnpCertKind kind,
                                                                 const AttestationReport& report,
                                                                 int64_t time) const;

  SnpVerifierOptions options_;
  SnpTrustRoots roots_;
  mutable std::mutex cache_mu_;
  mutable std::map<std::string, std::shared_ptr<const VerifiedLeaf>>
      cache_;  // guarded by cache_mu_
};

// The normalized claims of a report that has been verified with a certificate of `kind`
// for `product`. Exposed for tests and tools; does not verify anything.
Claims SnpClaims(const AttestationReport& report, SnpProduct product, SnpCertKind kind);

}  // namespace crypta::attest::snp

#endif  // CRYPTA_ATTEST_SNP_VERIFIER_H_
