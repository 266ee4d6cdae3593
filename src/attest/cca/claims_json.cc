// Claim sets in veraison ccatoken's JSON form (platform/testvectors/json,
// realm/testvectors/json): member names "cca-platform-*" / "cca-realm-*", byte strings in
// standard base64 (RFC 4648 §4). Read into the same partial claims as the CBOR reader, so
// both go through the same checks (claims.cc).
#include <string>
#include <utility>

#include "attest/cca/claims_internal.h"
#include "attest/cca/token.h"
#include "common/encoding.h"
#include "common/json_canonical.h"

namespace crypta::attest::cca {
namespace {

using internal::PartialPlatformClaims;
using internal::PartialRealmClaims;
using internal::PartialSwComponent;
using nlohmann::json;

constexpr size_t kMaxClaimsJsonBytes = 64 * 1024;

Error Invalid(const std::string& message) { return Error(ErrorCode::kInvalidArgument, message); }

Result<std::string> GetText(const json& v, const std::string& name) {
  if (!v.is_string()) return MakeError(Invalid(name + " is not a string"));
  return v.get<std::string>();
}

Result<Bytes> GetBase64(const json& v, const std::string& name) {
  if (!v.is_string()) return MakeError(Invalid(name + " is not a base64 string"));
  auto bytes = Base64Decode(v.get_ref<const std::string&>());
  if (!bytes) return MakeError(bytes.error().WithContext(name));
  return bytes;
}

Result<json> ParseObject(std::string_view text, const std::string& what) {
  auto doc = ParseJsonStrict(text, {.max_bytes = kMaxClaimsJsonBytes, .max_depth = 8});
  if (!doc) return MakeError(doc.error().WithContext(what));
  if (!doc->is_object()) return MakeError(Invalid(what + " is not a JSON object"));
  return doc;
}

Result<PartialSwComponent> ReadSwComponent(const json& v, size_t index) {
  const std::string name = "cca-platform-sw-components[" + std::to_string(index) + "]";
  if (!v.is_object()) return MakeError(Invalid(name + " is not an object"));
  PartialSwComponent c;
  for (const auto& [key, value] : v.items()) {
    if (key == "measurement-type") {
      CRYPTA_ASSIGN_OR_RETURN(c.type, GetText(value, name + "." + key));
    } else if (key == "measurement-value") {
      CRYPTA_ASSIGN_OR_RETURN(c.measurement, GetBase64(value, name + "." + key));
    } else if (key == "version") {
      CRYPTA_ASSIGN_OR_RETURN(c.version, GetText(value, name + "." + key));
    } else if (key == "signer-id") {
      CRYPTA_ASSIGN_OR_RETURN(c.signer_id, GetBase64(value, name + "." + key));
    } else if (key == "measurement-description") {
      CRYPTA_ASSIGN_OR_RETURN(c.hash_algo, GetText(value, name + "." + key));
    } else {
      // As in CBOR: a component has no other members.
      return MakeError(Invalid(name + " has unknown member \"" + internal::Printable(key) + "\""));
    }
  }
  return c;
}

}  // namespace

Result<CcaPlatformClaims> ParseCcaPlatformClaimsJson(std::string_view text) {
  CRYPTA_ASSIGN_OR_RETURN(json doc, ParseObject(text, "platform claims JSON"));
  PartialPlatformClaims p;
  for (const auto& [key, v] : doc.items()) {
    if (key == "cca-platform-profile") {
      CRYPTA_ASSIGN_OR_RETURN(p.profile, GetText(v, key));
    } else if (key == "cca-platform-challenge") {
      CRYPTA_ASSIGN_OR_RETURN(p.challenge, GetBase64(v, key));
    } else if (key == "cca-platform-implementation-id") {
      CRYPTA_ASSIGN_OR_RETURN(p.implementation_id, GetBase64(v, key));
    } else if (key == "cca-platform-instance-id") {
      CRYPTA_ASSIGN_OR_RETURN(p.instance_id, GetBase64(v, key));
    } else if (key == "cca-platform-config") {
      CRYPTA_ASSIGN_OR_RETURN(p.config, GetBase64(v, key));
    } else if (key == "cca-platform-lifecycle") {
      if (!v.is_number_unsigned()) return MakeError(Invalid(key + " is not an unsigned integer"));
      p.lifecycle = v.get<uint64_t>();
    } else if (key == "cca-platform-sw-components") {
      if (!v.is_array()) return MakeError(Invalid(key + " is not an array"));
      if (v.size() > kMaxSwComponents) {
        return MakeError(ErrorCode::kResourceExhausted, key + " has too many entries");
      }
      p.sw_components.emplace();
      for (size_t i = 0; i < v.size(); ++i) {
        CRYPTA_ASSIGN_OR_RETURN(PartialSwComponent c, ReadSwComponent(v[i], i));
        p.sw_components->push_back(std::move(c));
      }
    } else if (key == "cca-platform-service-indicator") {
      CRYPTA_ASSIGN_OR_RETURN(p.verification_service, GetText(v, key));
    } else if (key == "cca-platform-hash-algo-id") {
      CRYPTA_ASSIGN_OR_RETURN(p.hash_algo, GetText(v, key));
    }
    // Other members (e.g. PSA claims) are not CCA platform claims and are ignored.
  }
  return internal::FinishPlatformClaims(std::move(p));
}

Result<CcaRealmClaims> ParseCcaRealmClaimsJson(std::string_view text) {
  CRYPTA_ASSIGN_OR_RETURN(json doc, ParseObject(text, "realm claims JSON"));
  PartialRealmClaims p;
  for (const auto& [key, v] : doc.items()) {
    if (key == "cca-realm-profile") {
      CRYPTA_ASSIGN_OR_RETURN(p.profile, GetText(v, key));
    } else if (key == "cca-realm-challenge") {
      CRYPTA_ASSIGN_OR_RETURN(p.challenge, GetBase64(v, key));
    } else if (key == "cca-realm-personalization-value") {
      CRYPTA_ASSIGN_OR_RETURN(p.personalization_value, GetBase64(v, key));
    } else if (key == "cca-realm-initial-measurement") {
      CRYPTA_ASSIGN_OR_RETURN(p.initial_measurement, GetBase64(v, key));
    } else if (key == "cca-realm-extensible-measurements") {
      if (!v.is_array()) return MakeError(Invalid(key + " is not an array"));
      if (v.size() != 4) {
        return MakeError(Invalid(key + " has " + std::to_string(v.size()) + " entries, want 4"));
      }
      p.extensible_measurements.emplace();
      for (size_t i = 0; i < v.size(); ++i) {
        CRYPTA_ASSIGN_OR_RETURN(Bytes rem, GetBase64(v[i], key + "[" + std::to_string(i) + "]"));
        p.extensible_measurements->push_back(std::move(rem));
      }
    } else if (key == "cca-realm-hash-algo-id") {
      CRYPTA_ASSIGN_OR_RETURN(p.hash_algo, GetText(v, key));
    } else if (key == "cca-realm-public-key") {
      CRYPTA_ASSIGN_OR_RETURN(p.rak, GetBase64(v, key));
    } else if (key == "cca-realm-public-key-hash-algo-id") {
      CRYPTA_ASSIGN_OR_RETURN(p.rak_hash_algo, GetText(v, key));
    }
  }
  return internal::FinishRealmClaims(std::move(p));
}

}  // namespace crypta::attest::cca
