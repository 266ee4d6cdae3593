// Test-only: builds CCA attestation tokens signed with test keys, so each negative test can
// change one field (STYLE.md habit 8). Not linked into the library (header only).
#ifndef CRYPTA_ATTEST_CCA_CCA_TEST_BUILDER_H_
#define CRYPTA_ATTEST_CCA_CCA_TEST_BUILDER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attest/cca/cbor.h"
#include "attest/cca/token.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/signature.h"

namespace crypta::attest::cca::testing {

// Minimal CBOR encoder (shortest-form heads, definite lengths).
namespace cbor {
inline Bytes Head(uint8_t major, uint64_t n) {
  Bytes b;
  AppendCborHead(major, n, &b);
  return b;
}
inline Bytes Int(int64_t v) {
  return v >= 0 ? Head(0, static_cast<uint64_t>(v)) : Head(1, static_cast<uint64_t>(-1 - v));
}
inline Bytes Bstr(ByteSpan b) { return Concat(Head(2, b.size()), b); }
inline Bytes Tstr(std::string_view s) { return Concat(Head(3, s.size()), AsBytes(s)); }
inline Bytes Array(const std::vector<Bytes>& items) {
  Bytes out = Head(4, items.size());
  for (const Bytes& i : items) out.insert(out.end(), i.begin(), i.end());
  return out;
}
inline Bytes Map(const std::vector<std::pair<Bytes, Bytes>>& entries) {
  Bytes out = Head(5, entries.size());
  for (const auto& [k, v] : entries) {
    out.insert(out.end(), k.begin(), k.end());
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}
inline Bytes Tag(uint64_t tag, ByteSpan item) { return Concat(Head(6, tag), item); }
}  // namespace cbor

struct TokenSpec {
  // Fresh P-384 keys.
  TokenSpec()
      : cpak(*PrivateKey::Generate(KeyType::kEcP384)),
        rak(*PrivateKey::Generate(KeyType::kEcP384)) {}

  PrivateKey cpak;
  PrivateKey rak;
  bool new_profile = false;  // current profiles (COSE_Key RAK) instead of legacy
  uint64_t lifecycle = 0x3003;
  Bytes realm_challenge = Bytes(64, 0x11);
  Bytes rim = Bytes(32, 0x22);
  Bytes instance_id = Concat(Bytes{0x01}, Bytes(32, 0x33));
  Bytes implementation_id = Bytes(32, 0x44);
  Bytes protected_header = {0xa1, 0x01, 0x38, 0x22};  // {1: -35}
  std::optional<Bytes> platform_challenge;            // default: SHA-256(RAK claim)
  // Extra (key, value) pairs appended to the realm claims map as is.
  std::vector<std::pair<Bytes, Bytes>> extra_realm_claims;
};

// The RAK claim (44237) bytes for `spec`.
inline Bytes RakClaim(const TokenSpec& spec) {
  Bytes point = *spec.rak.GetPublicKey().EcPoint();
  if (!spec.new_profile) return point;
  ByteSpan x = ByteSpan(point).subspan(1, 48);
  ByteSpan y = ByteSpan(point).subspan(49, 48);
  using namespace cbor;
  return Map({{Int(1), Int(2)}, {Int(-1), Int(2)}, {Int(-2), Bstr(x)}, {Int(-3), Bstr(y)}});
}

inline Bytes SignCose(const PrivateKey& key, ByteSpan protected_header, ByteSpan payload) {
  CoseSign1 cose{.protected_header = Bytes(protected_header.begin(), protected_header.end()),
                 .payload = Bytes(payload.begin(), payload.end()),
                 .signature = {}};
  Bytes sig = *EcdsaSign(key, HashAlg::kSha384, cose.ToBeSigned(), {.format = EcdsaFormat::kRaw});
  using namespace cbor;
  return Tag(18, Array({Bstr(protected_header), Map({}), Bstr(payload), Bstr(sig)}));
}

inline Bytes PlatformClaims(const TokenSpec& spec) {
  using namespace cbor;
  const Bytes rak = RakClaim(spec);
  const Bytes challenge = spec.platform_challenge ? *spec.platform_challenge : Sha256(rak);
  Bytes component = Map({{Int(1), Tstr("RMM")},
                         {Int(2), Bstr(Bytes(32, 0x55))},
                         {Int(4), Tstr("1.0")},
                         {Int(5), Bstr(Bytes(32, 0x66))},
                         {Int(6), Tstr("sha-256")}});
  return Map({{Int(265), Tstr(spec.new_profile ? kCcaPlatformProfile : kCcaPlatformProfileLegacy)},
              {Int(10), Bstr(challenge)},
              {Int(2396), Bstr(spec.implementation_id)},
              {Int(256), Bstr(spec.instance_id)},
              {Int(2401), Bstr(Bytes{0xcf, 0xcf, 0xcf, 0xcf})},
              {Int(2395), Int(static_cast<int64_t>(spec.lifecycle))},
              {Int(2399), Array({component})},
              {Int(2400), Tstr("https://veraison.example")},
              {Int(2402), Tstr("sha-256")}});
}

inline Bytes RealmClaims(const TokenSpec& spec) {
  using namespace cbor;
  std::vector<std::pair<Bytes, Bytes>> claims;
  if (spec.new_profile) claims.push_back({Int(265), Tstr(kCcaRealmProfile)});
  Bytes zero = Bstr(Bytes(32, 0));
  claims.push_back({Int(10), Bstr(spec.realm_challenge)});
  claims.push_back({Int(44235), Bstr(Bytes(64, 0x77))});
  claims.push_back({Int(44238), Bstr(spec.rim)});
  claims.push_back({Int(44239), Array({zero, zero, zero, zero})});
  claims.push_back({Int(44236), Tstr("sha-256")});
  claims.push_back({Int(44237), Bstr(RakClaim(spec))});
  claims.push_back({Int(44240), Tstr("sha-256")});
  for (const auto& kv : spec.extra_realm_claims) claims.push_back(kv);
  return Map(claims);
}

inline Bytes Collection(ByteSpan platform_token, ByteSpan realm_token) {
  using namespace cbor;
  return Tag(399, Map({{Int(44234), Bstr(platform_token)}, {Int(44241), Bstr(realm_token)}}));
}

inline Bytes BuildToken(const TokenSpec& spec) {
  Bytes platform = SignCose(spec.cpak, spec.protected_header, PlatformClaims(spec));
  Bytes realm = SignCose(spec.rak, spec.protected_header, RealmClaims(spec));
  return Collection(platform, realm);
}

}  // namespace crypta::attest::cca::testing

#endif  // CRYPTA_ATTEST_CCA_CCA_TEST_BUILDER_H_
