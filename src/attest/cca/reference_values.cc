#include "attest/cca/reference_values.h"

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "common/encoding.h"
#include "common/json_canonical.h"

namespace crypta::attest::cca {
namespace {

using nlohmann::json;

Error Invalid(const std::string& message) { return Error(ErrorCode::kInvalidArgument, message); }

Result<Bytes> HexMember(const json& obj, const char* member, const std::string& what) {
  auto it = obj.find(member);
  if (it == obj.end() || !it->is_string()) {
    return MakeError(Invalid(what + " \"" + member + "\" is missing or not a hex string"));
  }
  auto bytes = HexDecode(it->get_ref<const std::string&>());
  if (!bytes) return MakeError(bytes.error().WithContext(what + " \"" + member + "\""));
  return bytes;
}

Result<std::optional<std::string>> OptionalText(const json& obj, const char* member,
                                                const std::string& what) {
  auto it = obj.find(member);
  if (it == obj.end()) return std::optional<std::string>();
  if (!it->is_string()) return MakeError(Invalid(what + " \"" + member + "\" is not a string"));
  return std::optional<std::string>(it->get<std::string>());
}

Result<CcaPlatformRefValue> ParsePlatformEntry(const json& e, const std::string& what) {
  if (!e.is_object()) return MakeError(Invalid(what + " is not an object"));
  CcaPlatformRefValue rv;
  CRYPTA_ASSIGN_OR_RETURN(rv.implementation_id, HexMember(e, "implementation-id", what));
  if (rv.implementation_id.size() != 32) {
    return MakeError(Invalid(what + " \"implementation-id\" is not 32 bytes"));
  }
  CRYPTA_ASSIGN_OR_RETURN(rv.config, HexMember(e, "platform-configuration", what));
  auto comps = e.find("sw-components");
  if (comps == e.end() || !comps->is_array() || comps->empty()) {
    return MakeError(Invalid(what + " \"sw-components\" is missing, empty or not an array"));
  }
  if (comps->size() > kMaxSwComponents) {
    return MakeError(ErrorCode::kResourceExhausted, what + " has too many sw-components");
  }
  for (size_t i = 0; i < comps->size(); ++i) {
    const std::string cwhat = what + " sw-components[" + std::to_string(i) + "]";
    const json& c = (*comps)[i];
    if (!c.is_object()) return MakeError(Invalid(cwhat + " is not an object"));
    CcaPlatformRefValue::Component comp;
    CRYPTA_ASSIGN_OR_RETURN(comp.measurement, HexMember(c, "measurement-value", cwhat));
    CRYPTA_ASSIGN_OR_RETURN(comp.signer_id, HexMember(c, "signer-id", cwhat));
    CRYPTA_ASSIGN_OR_RETURN(comp.type, OptionalText(c, "component-type", cwhat));
    CRYPTA_ASSIGN_OR_RETURN(comp.version, OptionalText(c, "version", cwhat));
    rv.sw_components.push_back(std::move(comp));
  }
  return rv;
}

Result<CcaRealmRefValue> ParseRealmEntry(const json& e, const std::string& what) {
  if (!e.is_object()) return MakeError(Invalid(what + " is not an object"));
  CcaRealmRefValue rv;
  CRYPTA_ASSIGN_OR_RETURN(rv.initial_measurement, HexMember(e, "initial-measurement", what));
  if (auto rems = e.find("extensible-measurements"); rems != e.end()) {
    if (!rems->is_array() || rems->size() != 4) {
      return MakeError(Invalid(what + " \"extensible-measurements\" is not an array of 4"));
    }
    std::array<Bytes, 4> values;
    for (size_t i = 0; i < 4; ++i) {
      const json& r = (*rems)[i];
      auto bytes = r.is_string() ? HexDecode(r.get_ref<const std::string&>())
                                 : Result<Bytes>(MakeError(Invalid("not a string")));
      if (!bytes) {
        return MakeError(bytes.error().WithContext(what + " extensible-measurements[" +
                                                   std::to_string(i) + "]"));
      }
      values[i] = std::move(*bytes);
    }
    rv.extensible_measurements = std::move(values);
  }
  if (e.contains("personalization-value")) {
    CRYPTA_ASSIGN_OR_RETURN(rv.personalization_value, HexMember(e, "personalization-value", what));
  }
  CRYPTA_ASSIGN_OR_RETURN(rv.rak_hash_algo, OptionalText(e, "rak-hash-algorithm", what));
  return rv;
}

bool ComponentMatches(const CcaPlatformRefValue::Component& rv, const CcaSwComponent& c) {
  if (rv.measurement != c.measurement || rv.signer_id != c.signer_id) return false;
  if (rv.type && rv.type != c.type) return false;
  if (rv.version && rv.version != c.version) return false;
  return true;
}

bool PlatformEntryMatches(const CcaPlatformRefValue& rv, const CcaPlatformClaims& claims) {
  if (rv.config != claims.config) return false;
  if (rv.sw_components.size() != claims.sw_components.size()) return false;
  for (size_t i = 0; i < rv.sw_components.size(); ++i) {
    if (!ComponentMatches(rv.sw_components[i], claims.sw_components[i])) return false;
  }
  return true;
}

}  // namespace

std::string_view CcaPlatformAppraisalName(CcaPlatformAppraisal a) {
  switch (a) {
    case CcaPlatformAppraisal::kAffirming:
      return "affirming";
    case CcaPlatformAppraisal::kUnrecognizedInstance:
      return "unrecognized instance";
    case CcaPlatformAppraisal::kUnrecognizedHardware:
      return "unrecognized hardware";
  }
  return "unknown";
}

std::string_view CcaRealmAppraisalName(CcaRealmAppraisal a) {
  switch (a) {
    case CcaRealmAppraisal::kApprovedRuntime:
      return "approved runtime";
    case CcaRealmAppraisal::kApprovedBoot:
      return "approved boot";
    case CcaRealmAppraisal::kContraindicatedRuntime:
      return "contraindicated runtime";
    case CcaRealmAppraisal::kUnrecognizedBoot:
      return "unrecognized boot";
    case CcaRealmAppraisal::kNotAppraised:
      return "no claim";
  }
  return "unknown";
}

Result<CcaReferenceValues> CcaReferenceValues::ParseJson(std::string_view text) {
  if (text.size() > kMaxReferenceValueBytes) {
    return MakeError(ErrorCode::kResourceExhausted, "CCA reference values are larger than 1 MiB");
  }
  auto doc = ParseJsonStrict(text, {.max_bytes = kMaxReferenceValueBytes, .max_depth = 8});
  if (!doc) return MakeError(doc.error().WithContext("CCA reference values"));
  if (!doc->is_object() || (!doc->contains("platform") && !doc->contains("realm"))) {
    return MakeError(
        Invalid("CCA reference values are not an object with \"platform\" or "
                "\"realm\""));
  }
  CcaReferenceValues out;
  for (const char* section : {"platform", "realm"}) {
    auto it = doc->find(section);
    if (it == doc->end()) continue;
    if (!it->is_array()) {
      return MakeError(
          Invalid(std::string("CCA reference values \"") + section + "\" is not an array"));
    }
    if (it->size() > kMaxReferenceValueEntries) {
      return MakeError(ErrorCode::kResourceExhausted, std::string("CCA reference values \"") +
                                                          section + "\" has too many entries");
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string what =
          std::string("CCA reference values ") + section + "[" + std::to_string(i) + "]";
      if (section[0] == 'p') {
        CRYPTA_ASSIGN_OR_RETURN(CcaPlatformRefValue rv, ParsePlatformEntry((*it)[i], what));
        out.platform_.push_back(std::move(rv));
      } else {
        CRYPTA_ASSIGN_OR_RETURN(CcaRealmRefValue rv, ParseRealmEntry((*it)[i], what));
        out.realm_.push_back(std::move(rv));
      }
    }
  }
  return out;
}

void CcaReferenceValues::Add(const CcaReferenceValues& other) {
  platform_.insert(platform_.end(), other.platform_.begin(), other.platform_.end());
  realm_.insert(realm_.end(), other.realm_.begin(), other.realm_.end());
}

CcaPlatformAppraisal CcaReferenceValues::AppraisePlatform(const CcaPlatformClaims& claims) const {
  bool known_implementation = false;
  for (const CcaPlatformRefValue& rv : platform_) {
    if (rv.implementation_id != claims.implementation_id) continue;
    known_implementation = true;
    if (PlatformEntryMatches(rv, claims)) return CcaPlatformAppraisal::kAffirming;
  }
  return known_implementation ? CcaPlatformAppraisal::kUnrecognizedHardware
                              : CcaPlatformAppraisal::kUnrecognizedInstance;
}

CcaRealmAppraisal CcaReferenceValues::AppraiseRealm(
    const CcaRealmClaims& claims, std::optional<bool>* personalization_matches) const {
  const CcaRealmRefValue* runtime = nullptr;
  const CcaRealmRefValue* boot = nullptr;
  bool known_rim = false;
  for (const CcaRealmRefValue& rv : realm_) {
    if (rv.initial_measurement != claims.initial_measurement) continue;
    known_rim = true;
    if (!rv.extensible_measurements) {
      if (!boot) boot = &rv;
    } else if (*rv.extensible_measurements == claims.extensible_measurements) {
      if (!runtime) runtime = &rv;
    }
  }
  const CcaRealmRefValue* chosen = runtime ? runtime : boot;
  if (personalization_matches) {
    *personalization_matches = std::nullopt;
    if (chosen && chosen->personalization_value) {
      *personalization_matches = *chosen->personalization_value == claims.personalization_value;
    }
  }
  if (runtime) return CcaRealmAppraisal::kApprovedRuntime;
  if (boot) return CcaRealmAppraisal::kApprovedBoot;
  return known_rim ? CcaRealmAppraisal::kContraindicatedRuntime
                   : CcaRealmAppraisal::kUnrecognizedBoot;
}

CcaAppraisal CcaReferenceValues::Appraise(const CcaPlatformClaims& platform,
                                          const CcaRealmClaims& realm) const {
  CcaAppraisal out;
  out.platform = AppraisePlatform(platform);
  if (out.platform == CcaPlatformAppraisal::kAffirming) {
    out.realm = AppraiseRealm(realm, &out.personalization_matches);
  }
  return out;
}

}  // namespace crypta::attest::cca
