// Checks shared by the CBOR and JSON claim readers (LAYOUTS.md §3, §4), the RAK and the
// hash algorithm names.
#include <string>
#include <utility>

#include "attest/cca/cbor.h"
#include "attest/cca/claims_internal.h"
#include "attest/cca/token.h"
#include "common/encoding.h"

namespace crypta::attest::cca {
namespace {

constexpr size_t kP384FieldSize = 48;
constexpr size_t kRakPointSize = 1 + 2 * kP384FieldSize;  // SEC 1 §2.3.3 uncompressed
constexpr size_t kMaxRakBytes = 1024;

Error Invalid(const std::string& message) { return Error(ErrorCode::kInvalidArgument, message); }

Error Missing(const std::string& claim) { return Invalid(claim + " is missing (mandatory claim)"); }

// RMM spec A7.2.3: measurements, challenges and signer ids are 32, 48 or 64 bytes.
bool IsDigestSize(size_t n) { return n == 32 || n == 48 || n == 64; }

Status CheckDigestSize(const Bytes& value, const std::string& claim) {
  if (!IsDigestSize(value.size())) {
    return MakeError(
        Invalid(claim + " is " + std::to_string(value.size()) + " bytes, want 32, 48 or 64"));
  }
  return OkStatus();
}

Status CheckSize(const Bytes& value, size_t want, const std::string& claim) {
  if (value.size() != want) {
    return MakeError(Invalid(claim + " is " + std::to_string(value.size()) + " bytes, want " +
                             std::to_string(want)));
  }
  return OkStatus();
}

Status CheckHashAlg(const std::string& name, const std::string& claim) {
  auto alg = ParseCcaHashAlg(name);
  if (!alg) return MakeError(alg.error().WithContext(claim));
  return OkStatus();
}

// PSA security lifecycle (RFC 9783 §4.3.1): the major state is bits 15..8, one of
// 0x00, 0x10, ..., 0x60; the minor bits 7..0 are free.
bool IsValidLifecycle(uint64_t v) {
  if (v > 0xffff) return false;
  const uint64_t major = v >> 8;
  return major % 0x10 == 0 && major <= 0x60;
}

// The realm's COSE_Key RAK (current profile): EC2 (kty 2) on P-384 (crv 2), with x and y
// (RFC 9053 §7.1.1, RFC 9052 §7). A private member (-4, d) is refused.
Result<std::pair<Bytes, Bytes>> ParseRakCoseKey(ByteSpan cose_key) {
  const std::string what = "realm claim public-key (44237) COSE_Key";
  CRYPTA_ASSIGN_OR_RETURN(CborValue key, DecodeCbor(cose_key, what, {.max_depth = 4}));
  if (key.type != CborType::kMap) return MakeError(Invalid(what + " is not a map"));
  const CborValue* kty = key.FindIntKey(1);
  if (!kty || kty->AsInt() != 2) return MakeError(Invalid(what + ": kty (1) is not 2 (EC2)"));
  const CborValue* crv = key.FindIntKey(-1);
  if (!crv || crv->AsInt() != 2) return MakeError(Invalid(what + ": crv (-1) is not 2 (P-384)"));
  if (key.FindIntKey(-4)) return MakeError(Invalid(what + " carries a private key (d, -4)"));
  const CborValue* x = key.FindIntKey(-2);
  const CborValue* y = key.FindIntKey(-3);
  if (!x || x->type != CborType::kBytes || x->data.size() != kP384FieldSize) {
    return MakeError(Invalid(what + ": x (-2) is not a 48-byte byte string"));
  }
  if (!y || y->type != CborType::kBytes || y->data.size() != kP384FieldSize) {
    return MakeError(Invalid(what + ": y (-3) is not a 48-byte byte string (compressed points "
                                    "are not accepted)"));
  }
  return std::make_pair(Bytes(x->data.begin(), x->data.end()),
                        Bytes(y->data.begin(), y->data.end()));
}

Result<CcaSwComponent> FinishSwComponent(internal::PartialSwComponent partial, size_t index) {
  const std::string name = "platform claim sw-components (2399)[" + std::to_string(index) + "]";
  CcaSwComponent c;
  if (!partial.measurement) return MakeError(Missing(name + " measurement-value (2)"));
  if (!partial.signer_id) return MakeError(Missing(name + " signer-id (5)"));
  c.measurement = std::move(*partial.measurement);
  c.signer_id = std::move(*partial.signer_id);
  CRYPTA_RETURN_IF_ERROR(CheckDigestSize(c.measurement, name + " measurement-value (2)"));
  // RFC 9783 §4.4.1: signer id is a hash of the signing authority's key, 32/48/64 bytes.
  CRYPTA_RETURN_IF_ERROR(CheckDigestSize(c.signer_id, name + " signer-id (5)"));
  if (partial.hash_algo) {
    CRYPTA_RETURN_IF_ERROR(CheckHashAlg(*partial.hash_algo, name + " hash-algo-id (6)"));
  }
  c.type = std::move(partial.type);
  c.version = std::move(partial.version);
  c.hash_algo = std::move(partial.hash_algo);
  return c;
}

}  // namespace

namespace internal {

std::string Printable(std::string_view text) {
  std::string out(text.substr(0, 64));
  for (char& ch : out) {
    if (ch < 0x20 || ch > 0x7e) ch = '?';
  }
  if (text.size() > 64) out += "...";
  return out;
}

Result<CcaPlatformClaims> FinishPlatformClaims(PartialPlatformClaims p) {
  CcaPlatformClaims c;
  // draft-ffm-rats-cca-token §4.5: every platform claim is mandatory except 2400.
  if (!p.profile) return MakeError(Missing("platform claim profile (265)"));
  if (*p.profile != kCcaPlatformProfileLegacy && *p.profile != kCcaPlatformProfile) {
    return MakeError(Invalid("platform claim profile (265) \"" + Printable(*p.profile) +
                             "\" is not a CCA platform profile"));
  }
  c.profile = std::move(*p.profile);

  if (!p.challenge) return MakeError(Missing("platform claim challenge (10)"));
  c.challenge = std::move(*p.challenge);
  CRYPTA_RETURN_IF_ERROR(CheckDigestSize(c.challenge, "platform claim challenge (10)"));

  if (!p.implementation_id) return MakeError(Missing("platform claim implementation-id (2396)"));
  c.implementation_id = std::move(*p.implementation_id);
  CRYPTA_RETURN_IF_ERROR(
      CheckSize(c.implementation_id, 32, "platform claim implementation-id (2396)"));

  if (!p.instance_id) return MakeError(Missing("platform claim instance-id (256)"));
  c.instance_id = std::move(*p.instance_id);
  CRYPTA_RETURN_IF_ERROR(CheckSize(c.instance_id, 33, "platform claim instance-id (256)"));
  // EAT UEID type 0x01 (RAND), RFC 9711 §4.2.1.
  if (c.instance_id[0] != 0x01) {
    return MakeError(Invalid("platform claim instance-id (256) UEID type is " +
                             std::to_string(c.instance_id[0]) + ", want 1 (RAND)"));
  }

  if (!p.config) return MakeError(Missing("platform claim config (2401)"));
  c.config = std::move(*p.config);

  if (!p.lifecycle) return MakeError(Missing("platform claim lifecycle (2395)"));
  if (!IsValidLifecycle(*p.lifecycle)) {
    return MakeError(Invalid("platform claim lifecycle (2395) " + std::to_string(*p.lifecycle) +
                             " is not a PSA security lifecycle state (RFC 9783 §4.3.1)"));
  }
  c.lifecycle = static_cast<uint16_t>(*p.lifecycle);

  if (!p.sw_components) return MakeError(Missing("platform claim sw-components (2399)"));
  if (p.sw_components->empty()) {
    return MakeError(Invalid("platform claim sw-components (2399) is empty (at least one)"));
  }
  if (p.sw_components->size() > kMaxSwComponents) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "platform claim sw-components (2399) has more than " +
                         std::to_string(kMaxSwComponents) + " entries");
  }
  for (size_t i = 0; i < p.sw_components->size(); ++i) {
    CRYPTA_ASSIGN_OR_RETURN(CcaSwComponent sc,
                            FinishSwComponent(std::move((*p.sw_components)[i]), i));
    c.sw_components.push_back(std::move(sc));
  }

  if (p.verification_service && p.verification_service->empty()) {
    return MakeError(Invalid("platform claim verification-service (2400) is empty"));
  }
  c.verification_service = std::move(p.verification_service);

  if (!p.hash_algo) return MakeError(Missing("platform claim hash-algo-id (2402)"));
  CRYPTA_RETURN_IF_ERROR(CheckHashAlg(*p.hash_algo, "platform claim hash-algo-id (2402)"));
  c.hash_algo = std::move(*p.hash_algo);
  return c;
}

Result<CcaRealmClaims> FinishRealmClaims(PartialRealmClaims p) {
  CcaRealmClaims c;
  // draft-ffm-rats-cca-token §4.6: the profile claim exists only in the current profile.
  if (p.profile && *p.profile != kCcaRealmProfile) {
    return MakeError(Invalid("realm claim profile (265) \"" + Printable(*p.profile) +
                             "\" is not the CCA realm profile"));
  }
  c.profile = std::move(p.profile);

  if (!p.challenge) return MakeError(Missing("realm claim challenge (10)"));
  c.challenge = std::move(*p.challenge);
  CRYPTA_RETURN_IF_ERROR(CheckSize(c.challenge, 64, "realm claim challenge (10)"));

  if (!p.personalization_value) {
    return MakeError(Missing("realm claim personalization-value (44235)"));
  }
  c.personalization_value = std::move(*p.personalization_value);
  CRYPTA_RETURN_IF_ERROR(
      CheckSize(c.personalization_value, 64, "realm claim personalization-value (44235)"));

  if (!p.initial_measurement) return MakeError(Missing("realm claim initial-measurement (44238)"));
  c.initial_measurement = std::move(*p.initial_measurement);
  CRYPTA_RETURN_IF_ERROR(
      CheckDigestSize(c.initial_measurement, "realm claim initial-measurement (44238)"));

  if (!p.extensible_measurements) {
    return MakeError(Missing("realm claim extensible-measurements (44239)"));
  }
  if (p.extensible_measurements->size() != 4) {
    return MakeError(Invalid("realm claim extensible-measurements (44239) has " +
                             std::to_string(p.extensible_measurements->size()) +
                             " entries, want 4"));
  }
  for (size_t i = 0; i < 4; ++i) {
    c.extensible_measurements[i] = std::move((*p.extensible_measurements)[i]);
    CRYPTA_RETURN_IF_ERROR(
        CheckDigestSize(c.extensible_measurements[i],
                        "realm claim extensible-measurements (44239)[" + std::to_string(i) + "]"));
  }

  if (!p.hash_algo) return MakeError(Missing("realm claim hash-algo-id (44236)"));
  CRYPTA_RETURN_IF_ERROR(CheckHashAlg(*p.hash_algo, "realm claim hash-algo-id (44236)"));
  c.hash_algo = std::move(*p.hash_algo);

  if (!p.rak) return MakeError(Missing("realm claim public-key (44237)"));
  c.rak = std::move(*p.rak);
  if (c.legacy_profile()) {
    // Legacy profile: the raw uncompressed point; whether it is on the curve is checked
    // when the key is built (RealmAttestationKey), as ccatoken does.
    CRYPTA_RETURN_IF_ERROR(CheckSize(c.rak, kRakPointSize, "realm claim public-key (44237)"));
  } else {
    if (c.rak.size() > kMaxRakBytes) {
      return MakeError(Invalid("realm claim public-key (44237) is larger than " +
                               std::to_string(kMaxRakBytes) + " bytes"));
    }
    CRYPTA_RETURN_IF_ERROR(ParseRakCoseKey(c.rak));
  }

  if (!p.rak_hash_algo) return MakeError(Missing("realm claim public-key-hash-algo-id (44240)"));
  CRYPTA_RETURN_IF_ERROR(
      CheckHashAlg(*p.rak_hash_algo, "realm claim public-key-hash-algo-id (44240)"));
  c.rak_hash_algo = std::move(*p.rak_hash_algo);
  return c;
}

}  // namespace internal

Result<HashAlg> ParseCcaHashAlg(std::string_view name) {
  if (name == "sha-256") return HashAlg::kSha256;
  if (name == "sha-384") return HashAlg::kSha384;
  if (name == "sha-512") return HashAlg::kSha512;
  return MakeError(ErrorCode::kInvalidArgument, "hash algorithm \"" + internal::Printable(name) +
                                                    "\" is not sha-256, sha-384 or sha-512");
}

Result<PublicKey> RealmAttestationKey(const CcaRealmClaims& realm) {
  if (realm.legacy_profile()) {
    auto key = PublicKey::FromEcPoint(KeyType::kEcP384, realm.rak);
    if (!key) return MakeError(key.error().WithContext("realm claim public-key (44237) (RAK)"));
    return key;
  }
  CRYPTA_ASSIGN_OR_RETURN(auto xy, ParseRakCoseKey(realm.rak));
  auto key = PublicKey::FromEcCoordinates(KeyType::kEcP384, xy.first, xy.second);
  if (!key) return MakeError(key.error().WithContext("realm claim public-key (44237) (RAK)"));
  return key;
}

std::string_view CcaLifecycleName(uint16_t lifecycle) {
  switch (lifecycle >> 8) {
    case 0x00:
      return "unknown";
    case 0x10:
      return "assembly-and-test";
    case 0x20:
      return "psa-rot-provisioning";
    case 0x30:
      return "secured";
    case 0x40:
      return "non-psa-rot-debug";
    case 0x50:
      return "recoverable-psa-rot-debug";
    case 0x60:
      return "decommissioned";
    default:
      return "invalid";
  }
}

}  // namespace crypta::attest::cca
