// JSON Web Signature, compact serialization (RFC 7515 §7.1), with ES256/ES384/ES512
// (ECDSA, raw r||s signatures, RFC 7518 §3.4) and EdDSA over Ed25519 (RFC 8037 §3.1).
//
// Verification is deliberately narrow:
//  - the caller supplies the key AND an explicit allow-list of algorithms;
//  - "none" is always refused, HMAC ("HS*") is never accepted with a public key, and the
//    header "alg" must match the key (ES256 only with P-256, ES384 with P-384, ES512 with
//    P-521, EdDSA with Ed25519), which rules out algorithm confusion;
//  - "crit" extensions are refused unless the caller lists them as understood
//    (RFC 7515 §4.1.11), and unencoded payloads ("b64", RFC 7797) are refused;
//  - header keys that point at other keys ("jwk", "jku", "x5u", "x5c") are never used;
//  - the token is capped in size, base64url is strict (no padding, no '+'/'/'), the header
//    must be a JSON object without duplicate members;
//  - the signature is checked over the exact bytes received.
// Errors: kInvalidArgument (malformed), kResourceExhausted (size cap), kPermissionDenied
// (alg not allowed / not matching the key / "none"), kUnauthenticated (bad signature).
// All functions are thread-safe.
#ifndef CRYPTA_CRYPTO_JWS_H_
#define CRYPTA_CRYPTO_JWS_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/jwk.h"
#include "crypto/keys.h"

namespace crypta {

class EcdsaPresignature;  // crypto/ecdsa_presign.h

enum class JwsAlg { kEs256, kEs384, kEs512, kEdDsa };

// "ES256", "ES384", "ES512", "EdDSA".
std::string_view JwsAlgName(JwsAlg alg);
// Parses a supported alg name; fails for "none", "HS*", "RS*", "PS*" and unknown names.
[[nodiscard]] Result<JwsAlg> ParseJwsAlg(std::string_view name);
// The only alg crypta signs or verifies with for a key type; fails for X25519 and RSA.
[[nodiscard]] Result<JwsAlg> JwsAlgForKeyType(KeyType type);

inline constexpr size_t kDefaultMaxJwsBytes = 64 * 1024;

struct JwsVerifyOptions {
  std::vector<JwsAlg> allowed_algs;  // required; an empty list refuses everything
  size_t max_token_bytes = kDefaultMaxJwsBytes;
  std::vector<std::string> understood_crit;  // "crit" extensions the caller handles
};

struct VerifiedJws {
  nlohmann::json header;  // the protected header, parsed
  Bytes payload;          // decoded payload
  JwsAlg alg;
};

// Signs `payload` with the alg for the key type (JwsAlgForKeyType). The protected header
// is `extra_header` (a JSON object, e.g. {"kid":..,"typ":..}) plus "alg", serialized in
// RFC 8785 canonical form. Fails if extra_header is not an object or sets "alg", "crit"
// or "b64". With `presignature` (ES256 keys only; crypto/ecdsa_presign.h) the signature uses
// that prepared nonce, which it consumes.
[[nodiscard]] Result<std::string> JwsSignCompact(
    const PrivateKey& key, ByteSpan payload,
    const nlohmann::json& extra_header = nlohmann::json::object(),
    EcdsaPresignature* presignature = nullptr);

// Verifies a compact JWS against `key` under `options`; see the file comment.
[[nodiscard]] Result<VerifiedJws> JwsVerifyCompact(std::string_view token, const PublicKey& key,
                                                   const JwsVerifyOptions& options);

// Picks the key from `jwks` by the header's "kid" (or the only key when the set holds
// one and the header has no kid), checks the JWK's "alg"/"use"/"key_ops" allow it, then
// verifies as JwsVerifyCompact. kNotFound when no key has the kid.
[[nodiscard]] Result<VerifiedJws> JwsVerifyCompactWithJwks(std::string_view token, const Jwks& jwks,
                                                           const JwsVerifyOptions& options);

// Decodes the protected header WITHOUT verifying anything, e.g. to route by "kid". The
// result is untrusted. Applies the same size cap and parsing rules as verification.
[[nodiscard]] Result<nlohmann::json> JwsPeekHeader(std::string_view token,
                                                   size_t max_token_bytes = kDefaultMaxJwsBytes);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_JWS_H_
