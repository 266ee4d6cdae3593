// Internal to attest/cca: claim sets as read from CBOR or JSON, before the checks that
// both encodings share (presence, sizes, values). Not part of the public API.
#ifndef CRYPTA_ATTEST_CCA_CLAIMS_INTERNAL_H_
#define CRYPTA_ATTEST_CCA_CLAIMS_INTERNAL_H_

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attest/cca/token.h"

namespace crypta::attest::cca::internal {

struct PartialSwComponent {
  std::optional<std::string> type;
  std::optional<Bytes> measurement;
  std::optional<std::string> version;
  std::optional<Bytes> signer_id;
  std::optional<std::string> hash_algo;
};

struct PartialPlatformClaims {
  std::optional<std::string> profile;
  std::optional<Bytes> challenge;
  std::optional<Bytes> implementation_id;
  std::optional<Bytes> instance_id;
  std::optional<Bytes> config;
  std::optional<uint64_t> lifecycle;
  std::optional<std::vector<PartialSwComponent>> sw_components;
  std::optional<std::string> verification_service;
  std::optional<std::string> hash_algo;
};

struct PartialRealmClaims {
  std::optional<std::string> profile;
  std::optional<Bytes> challenge;
  std::optional<Bytes> personalization_value;
  std::optional<Bytes> initial_measurement;
  std::optional<std::vector<Bytes>> extensible_measurements;
  std::optional<std::string> hash_algo;
  std::optional<Bytes> rak;
  std::optional<std::string> rak_hash_algo;
};

// Untrusted text for an error message: at most 64 characters, non-printable ASCII as '?'.
std::string Printable(std::string_view text);

// The shared checks; errors name the claim ("platform claim instance-id (256): ...").
Result<CcaPlatformClaims> FinishPlatformClaims(PartialPlatformClaims partial);
Result<CcaRealmClaims> FinishRealmClaims(PartialRealmClaims partial);

}  // namespace crypta::attest::cca::internal

#endif  // CRYPTA_ATTEST_CCA_CLAIMS_INTERNAL_H_
