// Fuzz target: JWK / JWKS parsing and RFC 8785 canonicalization of untrusted text.
// Invariants: a parsed public JWK re-serializes to a JWK that parses to the same key
// (same thumbprint); canonical JSON is a fixed point of canonicalization.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json_canonical.h"
#include "crypto/jwk.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crypta;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (Result<Jwk> jwk = ParsePublicJwkText(text)) {
    Result<nlohmann::json> again = PublicKeyToJwk(jwk->key, jwk->kid);
    if (!again) __builtin_trap();
    Result<Jwk> reparsed = ParsePublicJwk(*again);
    Result<std::string> t1 = JwkThumbprint(jwk->key);
    Result<std::string> t2 = reparsed ? JwkThumbprint(reparsed->key) : t1;
    if (!reparsed || !t1 || !t2 || *t1 != *t2) __builtin_trap();
  }
  (void)Jwks::ParseText(text);

  if (Result<nlohmann::json> parsed = ParseJsonStrict(text)) {
    (void)ParsePrivateJwk(*parsed);
    if (Result<std::string> canonical = CanonicalizeJson(*parsed)) {
      Result<std::string> twice = CanonicalizeJsonText(*canonical);
      if (!twice || *twice != *canonical) __builtin_trap();
    }
  }
  return 0;
}
