#include "attest/nvidia/reference_appraiser.h"

#include <cctype>

#include "attest/nvidia/ocsp.h"

namespace crypta::attest::nvidia {
namespace {

bool IsRimItem(const std::string& name) {
  return name == "driver_rim" || name == "vbios_rim" || name.rfind("rim", 0) == 0;
}

// Items of both collateral sources, options' first (evidence items of the same name are
// shadowed, as in the verifier's chain lookup).
std::map<std::string, const Bytes*> Items(const Evidence& evidence, const VerifyOptions& options) {
  std::map<std::string, const Bytes*> out;
  for (const Collateral* c : {options.collateral, &evidence.collateral}) {
    if (c == nullptr) continue;
    for (const auto& [name, bytes] : c->items) out.emplace(name, &bytes);
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace

Result<GpuReferenceAppraisal> ReferenceAppraiser::Appraise(const GpuReport& report,
                                                           const std::vector<Certificate>& chain,
                                                           const Evidence& evidence,
                                                           const VerifyOptions& options) const {
  GpuReferenceAppraisal out;
  out.details = nlohmann::json::object();
  const auto items = Items(evidence, options);

  std::optional<Rim> driver, vbios;
  for (const auto& [name, bytes] : items) {
    if (!IsRimItem(name)) continue;
    Result<Rim> rim = rims_.Verify(*bytes, options.verification_time);
    if (!rim) return MakeError(rim.error().WithContext("RIM " + name));
    std::optional<Rim>& slot = rim->kind == "driver" ? driver : vbios;
    if (slot) {
      return MakeError(ErrorCode::kInvalidArgument, "two " + rim->kind + " RIMs given (" +
                                                        slot->tag_id + ", " + rim->tag_id +
                                                        "): give one driver RIM and one VBIOS RIM");
    }
    slot = std::move(*rim);
  }
  if (!driver && !vbios && !cache_.rims.empty()) {
    // From the cache: the RIMs of the report's driver and VBIOS versions.
    const GpuOpaqueData& o = report.opaque;
    auto lower = [](std::string s) {
      for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return s;
    };
    for (const Bytes& xml : cache_.rims) {
      Result<Rim> rim = rims_.Verify(xml, options.verification_time);
      if (!rim) continue;  // expired or bad cached RIMs are skipped, never trusted
      const bool is_driver = rim->kind == "driver";
      const std::string want = lower(is_driver ? o.driver_version : o.vbios_version);
      std::optional<Rim>& slot = is_driver ? driver : vbios;
      if (!slot && lower(rim->version) == want) slot = std::move(*rim);
    }
    if (!driver || !vbios) {
      out.details["not_appraised"] =
          "no cached RIM for " + std::string(!driver ? "driver " + o.driver_version : "") +
          (!driver && !vbios ? " and " : "") + (!vbios ? "VBIOS " + o.vbios_version : "");
      driver.reset();
      vbios.reset();
    }
  }
  if (driver || vbios) {
    if (!driver || !vbios) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string("RIM appraisal needs the driver RIM and the VBIOS RIM; the ") +
                           (driver ? "VBIOS" : "driver") + " RIM is missing");
    }
    const GpuOpaqueData& o = report.opaque;
    CRYPTA_ASSIGN_OR_RETURN(RimAppraisal appraisal,
                            AppraiseMeasurements(report.Measurements(), *driver, *vbios,
                                                 o.driver_version, o.vbios_version));
    if (!appraisal.ok()) {
      std::vector<std::string> all = appraisal.problems;
      all.insert(all.end(), appraisal.mismatches.begin(), appraisal.mismatches.end());
      return MakeError(ErrorCode::kPermissionDenied,
                       "the GPU's measurements do not match NVIDIA's RIMs: " + Join(all));
    }
    out.tcb_status = TcbStatus::kUpToDate;
    for (const Rim* rim : {&*driver, &*vbios}) {
      out.details[rim->kind] = {{"tag_id", rim->tag_id},
                                {"version", rim->version},
                                {"signer", rim->signer_chain.empty() ? "" : rim->signer_chain[0]},
                                {"matched", true}};
    }
  }

  const auto ocsp = items.find("ocsp");
  const Bytes* bundle = ocsp != items.end()          ? ocsp->second
                        : cache_.ocsp_bundle.empty() ? nullptr
                                                     : &cache_.ocsp_bundle;
  if (bundle != nullptr) {
    // As NVIDIA's verifier: the BROM certificate up to the root; the FMC leaf is issued
    // per boot by the GPU itself and has no OCSP status.
    const std::vector<Certificate> issued(chain.begin() + 1, chain.end());
    CRYPTA_ASSIGN_OR_RETURN(out.revocation,
                            CheckChainRevocation(issued, *bundle, options.verification_time));
  }
  return out;
}

}  // namespace crypta::attest::nvidia
