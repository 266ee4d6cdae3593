#include "attest/evidence.h"

#include <array>

#include "common/encoding.h"

namespace crypta::attest {
namespace {

constexpr std::array<std::string_view, 8> kTcbNames = {"UpToDate",
                                                       "SWHardeningNeeded",
                                                       "ConfigurationNeeded",
                                                       "ConfigurationAndSWHardeningNeeded",
                                                       "OutOfDate",
                                                       "OutOfDateConfigurationNeeded",
                                                       "Revoked",
                                                       "Unknown"};

}  // namespace

std::string_view TeeTypeName(TeeType tee) {
  switch (tee) {
    case TeeType::kSim:
      return "sim";
    case TeeType::kSevSnp:
      return "sev-snp";
    case TeeType::kTdx:
      return "tdx";
    case TeeType::kSgx:
      return "sgx";
    case TeeType::kNitro:
      return "nitro";
    case TeeType::kCca:
      return "cca";
    case TeeType::kNvidiaGpu:
      return "nvidia-gpu";
  }
  return "?";
}

Result<TeeType> ParseTeeType(std::string_view name) {
  if (name == "sim") return TeeType::kSim;
  if (name == "sev-snp" || name == "snp" || name == "sev") return TeeType::kSevSnp;
  if (name == "tdx") return TeeType::kTdx;
  if (name == "sgx") return TeeType::kSgx;
  if (name == "nitro") return TeeType::kNitro;
  if (name == "cca") return TeeType::kCca;
  if (name == "nvidia-gpu" || name == "nvidia" || name == "gpu") return TeeType::kNvidiaGpu;
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown TEE type \"" + std::string(name) +
                       "\" (want sim, sev-snp, tdx, sgx, nitro, cca or nvidia-gpu)");
}

std::string_view TcbStatusName(TcbStatus status) { return kTcbNames[static_cast<size_t>(status)]; }

Result<TcbStatus> ParseTcbStatus(std::string_view name) {
  for (size_t i = 0; i < kTcbNames.size(); ++i) {
    if (kTcbNames[i] == name) return static_cast<TcbStatus>(i);
  }
  return MakeError(ErrorCode::kInvalidArgument, "unknown TCB status \"" + std::string(name) + "\"");
}

std::string_view RevocationName(Revocation r) {
  switch (r) {
    case Revocation::kChecked:
      return "checked";
    case Revocation::kNotApplicable:
      return "not-applicable";
    case Revocation::kAbsent:
      break;
  }
  return "absent";
}

nlohmann::json Claims::ToJson() const {
  nlohmann::json j{
      {"tee", TeeTypeName(tee)},
      {"simulated", simulated},
      {"measurement", HexEncode(measurement)},
      {"host_data", HexEncode(host_data)},
      {"report_data", HexEncode(report_data)},
      {"debug", debug},
      {"tcb_status", TcbStatusName(tcb_status)},
      {"revocation", RevocationName(revocation)},
      {"advisory_ids", advisory_ids},
      {"platform_id", HexEncode(platform_id)},
      {"signer", signer},
      {"tcb", tcb.is_null() ? nlohmann::json::object() : tcb},
      {"claims", extra.is_null() ? nlohmann::json::object() : extra},
  };
  if (!devices.empty()) {
    nlohmann::json& out = j["devices"] = nlohmann::json::array();
    for (const Claims& d : devices) out.push_back(d.ToJson());
  }
  return j;
}

}  // namespace crypta::attest
