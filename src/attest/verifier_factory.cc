#include "attest/verifier_factory.h"

#include "attest/cca/verifier.h"
#include "attest/nitro/verifier.h"
#include "attest/nvidia/reference_appraiser.h"
#include "attest/nvidia/verifier.h"
#include "attest/sgx/sgx_verifier.h"
#include "attest/sim/sim_tee.h"
#include "attest/snp/verifier.h"
#include "attest/tdx/tdx_verifier.h"

namespace crypta::attest {

Result<std::shared_ptr<const Verifier>> MakeVerifier(TeeType tee, const VerifierConfig& config) {
  switch (tee) {
    case TeeType::kSim: {
      if (config.sim_root_pem.empty()) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "sim evidence needs the platform's sim root CA (--sim-root): it is the only "
            "thing that makes a sim report verifiable");
      }
      CRYPTA_ASSIGN_OR_RETURN(Certificate root, Certificate::FromPem(config.sim_root_pem));
      return std::shared_ptr<const Verifier>(std::make_shared<SimVerifier>(std::move(root)));
    }
    case TeeType::kSevSnp: {
      CRYPTA_ASSIGN_OR_RETURN(std::unique_ptr<snp::SnpVerifier> v, snp::SnpVerifier::Create());
      return std::shared_ptr<const Verifier>(std::move(v));
    }
    case TeeType::kTdx: {
      CRYPTA_ASSIGN_OR_RETURN(auto v, tdx::TdxVerifier::CreatePinned());
      return std::shared_ptr<const Verifier>(std::move(v));
    }
    case TeeType::kSgx: {
      CRYPTA_ASSIGN_OR_RETURN(auto v, sgx::SgxVerifier::CreatePinned());
      return std::shared_ptr<const Verifier>(std::move(v));
    }
    case TeeType::kNitro: {
      CRYPTA_ASSIGN_OR_RETURN(auto v, nitro::NitroVerifier::CreatePinned());
      return std::shared_ptr<const Verifier>(std::move(v));
    }
    case TeeType::kCca:
      // No vendor root: the platform's CPAK comes with the collateral ("cpak" or
      // "trust_anchors").
      return std::shared_ptr<const Verifier>(std::make_shared<cca::CcaVerifier>());
    case TeeType::kNvidiaGpu: {
      // The sim root, when given, also admits the sim TEE's simulated GPUs (labelled).
      std::optional<Certificate> sim_root;
      if (!config.sim_root_pem.empty()) {
        CRYPTA_ASSIGN_OR_RETURN(sim_root, Certificate::FromPem(config.sim_root_pem));
      }
      // Measurements against NVIDIA's RIMs and OCSP, when the collateral carries them.
      CRYPTA_ASSIGN_OR_RETURN(Certificate rim_root, nvidia::PinnedNvidiaRimRoot());
      nvidia::NvidiaGpuVerifierOptions options;
      options.appraiser = std::make_shared<nvidia::ReferenceAppraiser>(
          std::move(rim_root),
          nvidia::GpuReferenceCache{config.nvidia_rims, config.nvidia_ocsp_bundle});
      CRYPTA_ASSIGN_OR_RETURN(
          auto v, nvidia::NvidiaGpuVerifier::CreatePinned(std::move(sim_root), std::move(options)));
      return std::shared_ptr<const Verifier>(std::move(v));
    }
  }
  return MakeError(ErrorCode::kUnimplemented, "verification of " + std::string(TeeTypeName(tee)) +
                                                  " evidence is not in this build");
}

}  // namespace crypta::attest
