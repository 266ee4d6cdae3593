// NvidiaGpuVerifier: verifies one NVIDIA Hopper GPU's attestation report (report.h) with its
// device certificate chain (testdata/nvidia/LAYOUTS.md §6):
//
//   1. evidence.raw is a single-device envelope or a binary/hex report (ParseGpuEvidence);
//      an envelope with several devices is an error (verify each device on its own:
//      EncodeGpuEvidence one device at a time). arch must be "hopper";
//   2. the PEM chain comes from the envelope, else from collateral item "certificate_chain"
//      (VerifyOptions::collateral first, then Evidence::collateral);
//   3. FWID binding: the leaf's TCG DICE FWID extension (2.23.133.5.4.1, or .1.1 as NVIDIA's
//      verifier also accepts) ends in OCTET STRING(48) whose 48 bytes must equal the report's
//      FWID opaque field (20) — a chain whose first certificate is not the report's FMC leaf
//      fails here;
//   4. chain: hardware chains have exactly 5 certificates, leaf first (GSP FMC leaf -> GSP
//      BROM -> Provisioner ICA -> GH100 Identity -> NVIDIA Device Identity CA), verified in
//      that order with crypto VerifyChain at VerifyOptions::verification_time against the
//      pinned root; the chain's own root copy must be byte-equal to the pinned root (it is
//      never trusted by itself). A chain ending in the configured sim root (2..8
//      certificates) is accepted only when a sim root was configured, and yields
//      simulated = true; without one, sim evidence fails like any foreign chain;
//   5. the ECDSA P-384 / SHA-384 signature (r || s big-endian) over the request and the
//      response up to the signature, with the leaf's key (DSP0274 1.1 §10.11);
//   6. nonce: when VerifyOptions::expected_report_data is set it must be at most 32 bytes;
//      it is zero-padded to 32 and compared in constant time with the request nonce
//      (report bytes 4..35). (Trustee's verifier pads the same way.)
//
// Errors are kUnauthenticated / kInvalidArgument and name the failed check: "GPU report:
// ...", "GPU certificate chain: ...", "FWID: ...", "GPU report signature does not verify",
// "GPU nonce: ...".
//
// Claims: tee kNvidiaGpu; measurement EMPTY (GPU measurements are appraised against RIMs,
// not one value); report_data = the 32-byte nonce; debug = devtools (sim only: see
// report.h, a hardware report does not carry its CC mode, so debug is false and devtools
// mode shows up as RIM mismatches); tcb_status kUnknown (RIM appraisal sets it);
// revocation kAbsent (kNotApplicable for sim); platform_id = the leaf serial's bytes;
// signer "nvidia-gpu:<BROM CN>" or "sim-gpu:<id>"; tcb {driver_version, vbios_version};
// extra: arch, driver_version, vbios_version, chip_sku, chip_sku_mod, project, project_sku,
// project_sku_mod, board_id, gpu_info, cpr_info, fwid, cc_mode ("on" / "off" / "devtools";
// "unknown" without FEATURE_FLAG), cc_topology ("spt"/"mpt"/"ppcie" when FEATURE_FLAG is
// present), opaque_data_version, nvdec0_status, protected_pcie_status (hex byte),
// measurements {"<block>": hex}, measurement_count (blocks), msrscnt {"<block>": n},
// responder_nonce, hwmodel (BROM CN), ueid (leaf serial, upper-case hex).
//
// Caching: a chain that verified is cached, keyed by SHA-256 of its PEM text (so equal
// bytes mean equal DER certificates), with its leaf key, FWID and the intersection of the
// validity windows; a later report with the same chain at a time inside that window costs
// the FWID comparison and one P-384 verification. Thread-safe: roots are immutable and the
// cache is guarded by a mutex.
#ifndef CRYPTA_ATTEST_NVIDIA_VERIFIER_H_
#define CRYPTA_ATTEST_NVIDIA_VERIFIER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "attest/nvidia/report.h"
#include "attest/verifier.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace crypta::attest::nvidia {

// The pinned NVIDIA roots (nvidia_roots.cc), parsed once and checked against their SHA-256
// fingerprints; an error means the embedded data is damaged.
// NVIDIA Device Identity CA, SHA-256 102BF659…7B48 (device chains).
Result<Certificate> PinnedNvidiaDeviceRoot();
// NVIDIA CoRIM signing Root CA, SHA-256 12977B51…F5D1 (RIM signer chains; for rim.h).
Result<Certificate> PinnedNvidiaRimRoot();

// The extension arcs that carry the FWID in Hopper FMC leaves (TCG DICE, LAYOUTS §6).
inline constexpr char kTcgDiceFwidOid[] = "2.23.133.5.4.1";
inline constexpr char kTcgDiceFwidOidAlt[] = "2.23.133.5.4.1.1";
// The 48-byte FWID from a leaf: the extension's value must end in OCTET STRING (48)
// (04 30 …). kNotFound when the certificate has neither extension.
Result<Bytes> LeafFwid(const Certificate& leaf);

// What RIM appraisal (and OCSP) returns for the verified report: plugged in by the
// integration of rim.h / ocsp.h through NvidiaGpuVerifierOptions::appraiser.
struct GpuReferenceAppraisal {
  TcbStatus tcb_status = TcbStatus::kUnknown;
  Revocation revocation = Revocation::kAbsent;
  nlohmann::json details;  // stored as claims.extra["rim"]
};

class GpuReferenceAppraiser {
 public:
  virtual ~GpuReferenceAppraiser() = default;
  // Called after every check above passed, for hardware reports only. `chain` is the
  // verified device chain (leaf first, pinned root last). An error fails verification.
  virtual Result<GpuReferenceAppraisal> Appraise(const GpuReport& report,
                                                 const std::vector<Certificate>& chain,
                                                 const Evidence& evidence,
                                                 const VerifyOptions& options) const = 0;
};

struct NvidiaGpuVerifierOptions {
  // Maximum cached verified chains (the cache is cleared when full). 0 disables caching.
  size_t chain_cache_capacity = 256;
  // RIM appraisal / OCSP (integration point, see above). Unset: tcb_status stays kUnknown
  // and revocation kAbsent.
  std::shared_ptr<const GpuReferenceAppraiser> appraiser;
};

class NvidiaGpuVerifier : public Verifier {
 public:
  // With the pinned NVIDIA Device Identity CA; `sim_root` additionally admits simulated
  // GPUs (sim_gpu.h) chained to it. Fails only if the pinned root is damaged.
  static Result<std::shared_ptr<NvidiaGpuVerifier>> CreatePinned(
      std::optional<Certificate> sim_root = std::nullopt, NvidiaGpuVerifierOptions options = {});

  // For tests and tools: another device root (e.g. a test CA) in place of NVIDIA's.
  NvidiaGpuVerifier(Certificate device_root, std::optional<Certificate> sim_root,
                    NvidiaGpuVerifierOptions options = {});

  TeeType tee() const override { return TeeType::kNvidiaGpu; }
  Result<VerifiedEvidence> Verify(const Evidence& evidence,
                                  const VerifyOptions& options) const override;

  size_t cached_chain_count() const;

 private:
  // A device chain that verified, with what report checks need.
  struct VerifiedGpuChain {
    std::vector<Certificate> certificates;  // leaf first
    PublicKey leaf_key;
    Bytes fwid;
    bool simulated = false;
    int64_t valid_from = 0;   // latest notBefore on the chain
    int64_t valid_until = 0;  // earliest notAfter on the chain
  };

  Result<std::shared_ptr<const VerifiedGpuChain>> VerifyDeviceChain(const std::string& pem,
                                                                    const GpuReport& report,
                                                                    int64_t time) const;
  Result<std::shared_ptr<const VerifiedGpuChain>> VerifyDeviceChainUncached(const std::string& pem,
                                                                            const GpuReport& report,
                                                                            int64_t time) const;

  Certificate device_root_;
  std::optional<Certificate> sim_root_;
  NvidiaGpuVerifierOptions options_;
  mutable std::mutex cache_mu_;
  mutable std::map<std::string, std::shared_ptr<const VerifiedGpuChain>>
      cache_;  // guarded by cache_mu_
};

// The normalized claims of a report whose chain verified. Exposed for tests and tools;
// verifies nothing.
Claims NvidiaGpuClaims(const GpuReport& report, const std::vector<Certificate>& chain,
                       bool simulated);

}  // namespace crypta::attest::nvidia

#endif  // CRYPTA_ATTEST_NVIDIA_VERIFIER_H_
