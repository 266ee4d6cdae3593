// JSON Web Tokens (RFC 7519) carried in a compact JWS (see jws.h for the signature rules).
//
// Verification takes the time explicitly (STYLE.md habit 4) and checks, with a bounded
// clock skew: "exp" (required by default; now < exp + skew, RFC 7519 §4.1.4), "nbf"
// (now + skew >= nbf, §4.1.5), "iat" (not after now + skew, §4.1.6), and, when asked,
// "iss" (§4.1.1), "aud" (string or array, §4.1.3) and the header "typ" (§5.1, compared
// case-insensitively). Time claims must be finite JSON numbers (NumericDate, §2).
// Claims must be a JSON object with no duplicate members; nested JWTs ("cty":"JWT") are
// refused. Errors: as jws.h, plus kPermissionDenied for a claim that fails its check and
// kInvalidArgument for bad options (e.g. skew over the 5-minute cap).
// All functions are thread-safe.
#ifndef CRYPTA_CRYPTO_JWT_H_
#define CRYPTA_CRYPTO_JWT_H_

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"
#include "crypto/keys.h"

namespace crypta {

inline constexpr std::chrono::seconds kDefaultJwtClockSkew{60};
inline constexpr std::chrono::seconds kMaxJwtClockSkew{300};

struct JwtVerifyOptions {
  JwsVerifyOptions jws;    // alg allow-list (required), size cap, crit
  int64_t now_unix_s = 0;  // the verification time; required (0 is refused)
  std::chrono::seconds clock_skew = kDefaultJwtClockSkew;  // 0..kMaxJwtClockSkew
  bool require_exp = true;
  std::optional<std::string> expected_issuer;    // "iss" must equal this
  std::optional<std::string> expected_audience;  // "aud" must be or contain this
  std::optional<std::string> expected_typ;       // header "typ" must equal this
};

// Signs `claims` (a JSON object) as a compact JWS with the key's alg (jws.h). The header
// gets "typ":"JWT" unless `extra_header` sets "typ"; claims are serialized in RFC 8785
// canonical form. Fails when claims is not an object or cannot be canonicalized.
[[nodiscard]] Result<std::string> JwtSign(
    const PrivateKey& key, const nlohmann::json& claims,
    const nlohmann::json& extra_header = nlohmann::json::object());

// Verifies the signature with `key`, then the claims; returns the claims.
[[nodiscard]] Result<nlohmann::json> JwtVerify(std::string_view token, const PublicKey& key,
                                               const JwtVerifyOptions& options);
// Same, choosing the key from a JWKS by "kid" (JwsVerifyCompactWithJwks).
[[nodiscard]] Result<nlohmann::json> JwtVerifyWithJwks(std::string_view token, const Jwks& jwks,
                                                       const JwtVerifyOptions& options);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_JWT_H_
