// Arm CCA attestation token: parsing and claim-set validation (no signatures here; see
// verifier.h).
//
// Wire format (draft-ffm-rats-cca-token §4 "CCA attestation token"; RMM spec DEN0137 A7.2
// "Realm attestation token"; testdata/cca/LAYOUTS.md):
//
//   tag 399 { 44234: bstr .cbor COSE_Sign1 (platform token, signed by the CPAK),
//             44241: bstr .cbor COSE_Sign1 (realm token, signed by the RAK) }
//
// Each COSE_Sign1 (RFC 9052 §4.2) must carry tag 18, a protected header that decodes to
// exactly {1: -35} (ES384, RFC 9053 §2.1), an unprotected map without an algorithm, an
// attached payload and a 96-byte r||s signature. Its payload is a claims map.
//
// Claims are validated as rust-ccatoken / veraison ccatoken do (LAYOUTS.md §3, §4), with
// two stricter choices: hash algorithm names must be "sha-256", "sha-384" or "sha-512"
// (the only ones a binding can be computed with; RC also accepts md5, sha-1, ...), and a
// verification service, when present, must not be empty (the ccatoken JSON vectors).
// Mandatory claims missing, wrong types or sizes, duplicate keys and unknown keys inside a
// software component are errors; unknown claims (integer or text keys) are ignored.
// Errors are kInvalidArgument (kResourceExhausted for a size cap) and name the claim and
// its key.
//
// All functions are pure and thread-safe.
#ifndef CRYPTA_ATTEST_CCA_TOKEN_H_
#define CRYPTA_ATTEST_CCA_TOKEN_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/hash.h"
#include "crypto/keys.h"

namespace crypta::attest::cca {

inline constexpr size_t kMaxCcaTokenBytes = 64 * 1024;
inline constexpr uint64_t kCcaTokenCborTag = 399;       // draft-ffm-rats-cca-token §4
inline constexpr int64_t kCcaPlatformTokenKey = 44234;  // cca-platform-token
inline constexpr int64_t kCcaRealmTokenKey = 44241;     // cca-realm-delegated-token
inline constexpr uint64_t kCoseSign1CborTag = 18;       // RFC 9052 §2
inline constexpr int64_t kCoseAlgEs384 = -35;           // RFC 9053 §2.1
inline constexpr size_t kEs384SignatureSize = 96;       // r || s, 48 bytes each
inline constexpr size_t kMaxSwComponents = 128;

inline constexpr std::string_view kCcaPlatformProfileLegacy = "http://arm.com/CCA-SSD/1.0.0";
inline constexpr std::string_view kCcaPlatformProfile = "tag:arm.com,2023:cca_platform#1.0.0";
inline constexpr std::string_view kCcaRealmProfile = "tag:arm.com,2023:realm#1.0.0";

// A COSE_Sign1 whose structure was checked (not its signature).
struct CoseSign1 {
  Bytes protected_header;  // the bstr contents, exactly as signed
  Bytes payload;
  Bytes signature;  // 96 bytes, r || s big-endian

  // RFC 9052 §4.4 Sig_structure ["Signature1", protected, h'', payload], the bytes the
  // signature covers.
  Bytes ToBeSigned() const;
};

// Platform software component (RFC 9783 §4.4.1, draft-ffm-rats-cca-token §4.5.6).
struct CcaSwComponent {
  std::optional<std::string> type;       // 1 component type
  Bytes measurement;                     // 2 measurement value, 32/48/64 bytes
  std::optional<std::string> version;    // 4
  Bytes signer_id;                       // 5, 32/48/64 bytes
  std::optional<std::string> hash_algo;  // 6
};

// CCA platform claims (draft-ffm-rats-cca-token §4.5; RMM spec A7.2.3.2).
struct CcaPlatformClaims {
  std::string profile;                        // 265: legacy or current profile string
  Bytes challenge;                            // 10: 32/48/64 bytes, = hash of the RAK claim
  Bytes implementation_id;                    // 2396: 32 bytes
  Bytes instance_id;                          // 256: 33 bytes, first byte 0x01 (RAND UEID)
  Bytes config;                               // 2401: any length
  uint16_t lifecycle = 0;                     // 2395: PSA security lifecycle (RFC 9783 §4.3.1)
  std::vector<CcaSwComponent> sw_components;  // 2399: at least one
  std::optional<std::string> verification_service;  // 2400
  std::string hash_algo;                            // 2402

  bool legacy_profile() const { return profile == kCcaPlatformProfileLegacy; }
};

// CCA realm claims (draft-ffm-rats-cca-token §4.6; RMM spec A7.2.3.1).
struct CcaRealmClaims {
  std::optional<std::string> profile;            // 265: only in the current profile
  Bytes challenge;                               // 10: 64 bytes, the verifier's nonce
  Bytes personalization_value;                   // 44235: 64 bytes
  Bytes initial_measurement;                     // 44238: 32/48/64 bytes
  std::array<Bytes, 4> extensible_measurements;  // 44239: 32/48/64 bytes each
  std::string hash_algo;                         // 44236
  // 44237, the bstr contents as encoded: legacy profile a 97-byte uncompressed P-384
  // point; current profile a COSE_Key {1: 2, -1: 2, -2: x, -3: y} (RFC 9052 §7, RFC 9053
  // §7.1.1). The binding hashes exactly these bytes.
  Bytes rak;
  std::string rak_hash_algo;  // 44240

  bool legacy_profile() const { return !profile.has_value(); }
};

struct CcaToken {
  CoseSign1 platform_token;
  CoseSign1 realm_token;
  CcaPlatformClaims platform;
  CcaRealmClaims realm;
};

// Parses the whole token (at most kMaxCcaTokenBytes): the collection, both COSE_Sign1
// envelopes and both claim sets.
[[nodiscard]] Result<CcaToken> ParseCcaToken(ByteSpan token);

// Parses a tagged ES384 COSE_Sign1; `what` prefixes errors ("platform token").
[[nodiscard]] Result<CoseSign1> ParseCoseSign1Es384(ByteSpan data, std::string_view what);

// Claim sets alone, CBOR-encoded (the COSE payloads; rust-ccatoken's claims vectors).
[[nodiscard]] Result<CcaPlatformClaims> ParseCcaPlatformClaims(ByteSpan cbor);
[[nodiscard]] Result<CcaRealmClaims> ParseCcaRealmClaims(ByteSpan cbor);

// Claim sets in veraison ccatoken's JSON form ("cca-platform-challenge": base64, ...),
// validated by the same rules (testdata/cca/ccatoken-claims-json). At most 64 KiB.
[[nodiscard]] Result<CcaPlatformClaims> ParseCcaPlatformClaimsJson(std::string_view json);
[[nodiscard]] Result<CcaRealmClaims> ParseCcaRealmClaimsJson(std::string_view json);

// "sha-256", "sha-384", "sha-512" (IANA Named Information Hash Algorithm names).
[[nodiscard]] Result<HashAlg> ParseCcaHashAlg(std::string_view name);

// The RAK (a P-384 public key) from claim 44237 in the claims' profile format; fails for
// a point that is not on the curve or a COSE_Key that is not EC2 P-384.
[[nodiscard]] Result<PublicKey> RealmAttestationKey(const CcaRealmClaims& realm);

// PSA security lifecycle major state (RFC 9783 §4.3.1): "unknown", "assembly-and-test",
// "psa-rot-provisioning", "secured", "non-psa-rot-debug", "recoverable-psa-rot-debug",
// "decommissioned".
std::string_view CcaLifecycleName(uint16_t lifecycle);

}  // namespace crypta::attest::cca

#endif  // CRYPTA_ATTEST_CCA_TOKEN_H_
