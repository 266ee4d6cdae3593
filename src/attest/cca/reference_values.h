// CCA reference values and their appraisal, as rust-ccatoken does it (RC
// src/token/evidence.rs appraise*, src/store/platformrefvalue.rs; testdata/cca/MANIFEST.md
// "RC's matching rules").
//
// Format (RC rv.json and trustee rvstore.json have the same shape; hex is
// case-insensitive):
//
//   {"platform": [{"implementation-id": hex(32), "platform-configuration": hex,
//                  "sw-components": [{"measurement-value": hex, "signer-id": hex,
//                                     "component-type"?: str, "version"?: str}, ...]}],
//    "realm":    [{"initial-measurement": hex, "extensible-measurements"?: [hex x 4],
//                  "personalization-value"?: hex(64), "rak-hash-algorithm"?: str}]}
//
// Platform: entries are selected by implementation id. None -> kUnrecognizedInstance. An
// entry matches when its configuration equals claim 2401 and its components match the
// token's element by element (same count; measurement and signer id always; type and
// version when the entry gives them; the hash algorithm is not compared). No matching
// entry -> kUnrecognizedHardware; else kAffirming.
// Realm (appraised only when the platform is affirming, else kNotAppraised, RC's "no
// claim"): entries are selected by the initial measurement. An entry with REMs equal to
// the token's -> kApprovedRuntime; else an entry without REMs -> kApprovedBoot; else
// (entries for the RIM, none matching) kContraindicatedRuntime; no entry ->
// kUnrecognizedBoot. The personalization value and RAK hash algorithm of the entry are
// not part of RC's rules; whether the chosen entry's personalization value matches is
// reported in CcaAppraisal::personalization_matches for the policy.
//
// Parsing is strict (missing or malformed members are kInvalidArgument naming the entry;
// caps: 1 MiB, 4096 entries); unknown members are ignored. Immutable after parsing;
// thread-safe.
#ifndef CRYPTA_ATTEST_CCA_REFERENCE_VALUES_H_
#define CRYPTA_ATTEST_CCA_REFERENCE_VALUES_H_

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attest/cca/token.h"
#include "common/bytes.h"
#include "common/status.h"

namespace crypta::attest::cca {

inline constexpr size_t kMaxReferenceValueBytes = 1024 * 1024;
inline constexpr size_t kMaxReferenceValueEntries = 4096;

struct CcaPlatformRefValue {
  struct Component {
    Bytes measurement;
    Bytes signer_id;
    std::optional<std::string> type;
    std::optional<std::string> version;
  };
  Bytes implementation_id;
  Bytes config;
  std::vector<Component> sw_components;
};

struct CcaRealmRefValue {
  Bytes initial_measurement;
  std::optional<std::array<Bytes, 4>> extensible_measurements;
  std::optional<Bytes> personalization_value;
  std::optional<std::string> rak_hash_algo;
};

enum class CcaPlatformAppraisal { kAffirming, kUnrecognizedInstance, kUnrecognizedHardware };
enum class CcaRealmAppraisal {
  kApprovedRuntime,
  kApprovedBoot,
  kContraindicatedRuntime,
  kUnrecognizedBoot,
  kNotAppraised,
};
// "affirming", "unrecognized instance", "unrecognized hardware".
std::string_view CcaPlatformAppraisalName(CcaPlatformAppraisal a);
// "approved runtime", "approved boot", "contraindicated runtime", "unrecognized boot",
// "no claim".
std::string_view CcaRealmAppraisalName(CcaRealmAppraisal a);

struct CcaAppraisal {
  CcaPlatformAppraisal platform = CcaPlatformAppraisal::kUnrecognizedInstance;
  CcaRealmAppraisal realm = CcaRealmAppraisal::kNotAppraised;
  // For an approved realm whose entry gives a personalization value: whether it equals
  // claim 44235. nullopt when not compared.
  std::optional<bool> personalization_matches;
};

class CcaReferenceValues {
 public:
  CcaReferenceValues() = default;
  [[nodiscard]] static Result<CcaReferenceValues> ParseJson(std::string_view json);

  void Add(const CcaReferenceValues& other);
  bool empty() const { return platform_.empty() && realm_.empty(); }
  const std::vector<CcaPlatformRefValue>& platform() const { return platform_; }
  const std::vector<CcaRealmRefValue>& realm() const { return realm_; }

  CcaPlatformAppraisal AppraisePlatform(const CcaPlatformClaims& claims) const;
  // The realm alone (no platform gate); personalization_matches is set as described.
  CcaRealmAppraisal AppraiseRealm(const CcaRealmClaims& claims,
                                  std::optional<bool>* personalization_matches = nullptr) const;
  // Platform, then the realm when the platform is affirming.
  CcaAppraisal Appraise(const CcaPlatformClaims& platform, const CcaRealmClaims& realm) const;

 private:
  std::vector<CcaPlatformRefValue> platform_;
  std::vector<CcaRealmRefValue> realm_;
};

}  // namespace crypta::attest::cca

#endif  // CRYPTA_ATTEST_CCA_REFERENCE_VALUES_H_
