// NVIDIA's reference values for a GPU report: its measurements against the driver and VBIOS
// RIMs (rim.h), and the device chain's revocation through an offline OCSP bundle (ocsp.h).
// Plugged into NvidiaGpuVerifier (NvidiaGpuVerifierOptions::appraiser) for hardware reports.
//
// Collateral it reads (options.collateral first, then the evidence's):
//   "rim", "rim0", "rim1", …, "driver_rim", "vbios_rim": signed RIMs (SWID tags), told apart
//       by their content (Rim::kind). Without any, the measurements are not appraised
//       (tcb_status Unknown). With some, exactly one driver and one VBIOS RIM are needed,
//       each verified to the pinned RIM root at the verification time, and every active
//       index must match (each mismatch named by index) or verification fails; then
//       tcb_status is UpToDate.
//   "ocsp": an OCSP bundle (ocsp.h) covering the device chain from the BROM certificate up
//       (the FMC leaf is made per boot and has no OCSP status, as NVIDIA's verifier also
//       treats it): revocation "checked", or an error naming a revoked certificate. Without
//       it, "absent". The RIM signer chains are not covered.
// When the collateral has none, the appraiser's own cache (what a control plane keeps: its
// data dir's nvidia/rims/ and nvidia/ocsp.json) serves: the driver and VBIOS RIMs whose
// versions are the report's, and the OCSP bundle. A report with no cached RIM of its
// versions is not appraised (tcb_status Unknown, details name the missing versions).
#ifndef CRYPTA_ATTEST_NVIDIA_REFERENCE_APPRAISER_H_
#define CRYPTA_ATTEST_NVIDIA_REFERENCE_APPRAISER_H_

#include "attest/nvidia/rim.h"
#include "attest/nvidia/verifier.h"

namespace crypta::attest::nvidia {

// RIMs and an OCSP bundle kept by the verifier's owner (untrusted bytes: every RIM is
// verified before use, the bundle's responses are checked like collateral).
struct GpuReferenceCache {
  std::vector<Bytes> rims;
  Bytes ocsp_bundle;
};

class ReferenceAppraiser : public GpuReferenceAppraiser {
 public:
  explicit ReferenceAppraiser(Certificate rim_root, GpuReferenceCache cache = {})
      : rims_(std::move(rim_root)), cache_(std::move(cache)) {}
  Result<GpuReferenceAppraisal> Appraise(const GpuReport& report,
                                         const std::vector<Certificate>& chain,
                                         const Evidence& evidence,
                                         const VerifyOptions& options) const override;

 private:
  RimVerifier rims_;
  GpuReferenceCache cache_;
};

}  // namespace crypta::attest::nvidia

#endif  // CRYPTA_ATTEST_NVIDIA_REFERENCE_APPRAISER_H_
