// JSON Web Keys (RFC 7517) for the key types of RFC 7518 §6 (EC, RSA) and RFC 8037 (OKP:
// Ed25519, X25519), JWK Sets, and JWK thumbprints (RFC 7638).
//
// Parsing is strict: unknown "kty"/"crv" give kUnimplemented; missing or mistyped members,
// base64url that is not canonical, coordinates of the wrong length, points off the curve,
// RSA moduli under 2048 bits, and inconsistent "use"/"key_ops" give kInvalidArgument with
// the member named. A public-key parser refuses JWKs that carry private members ("d",
// "p", ..., "k"), so a private key is never mistaken for a public one.
//
// All functions are pure and thread-safe; Jwks is immutable after parsing.
#ifndef CRYPTA_CRYPTO_JWK_H_
#define CRYPTA_CRYPTO_JWK_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crypto/keys.h"

namespace crypta {

// A parsed public JWK with the optional members crypta uses.
struct Jwk {
  PublicKey key;
  std::string kid;                   // "kid", empty when absent
  std::string alg;                   // "alg", empty when absent (not checked here)
  std::string use;                   // "use": "sig", "enc" or empty
  std::vector<std::string> key_ops;  // "key_ops", empty when absent
};

// Parses a public JWK object. EC needs "crv" (P-256/P-384/P-521), "x" and "y" of exactly
// the field size; OKP needs "crv" (Ed25519/X25519) and a 32-byte "x"; RSA needs "n"
// (>= 2048 bits, no leading zero octet) and "e".
[[nodiscard]] Result<Jwk> ParsePublicJwk(const nlohmann::json& jwk);
// Same, from untrusted text (parsed with ParseJsonStrict: size cap 64 KiB, duplicates
// rejected).
[[nodiscard]] Result<Jwk> ParsePublicJwkText(std::string_view text);

// Parses a private EC or OKP JWK ("d" plus the public members) for tests and the sim TEE.
// Fails unless "d" is the right length and matches the public members.
[[nodiscard]] Result<PrivateKey> ParsePrivateJwk(const nlohmann::json& jwk);

// Serializes a public key as a JWK with the required members only (RFC 7518 §6.2.1,
// §6.3.1, RFC 8037 §2), plus "kid" when non-empty.
[[nodiscard]] Result<nlohmann::json> PublicKeyToJwk(const PublicKey& key,
                                                    std::string_view kid = {});
// Serializes an EC or OKP private key, including "d". For tests and the sim TEE only: the
// returned JSON holds the secret in an ordinary string that is not wiped.
[[nodiscard]] Result<nlohmann::json> PrivateKeyToJwk(const PrivateKey& key);

// RFC 7638 §3 JWK thumbprint: base64url(SHA-256(JCS of the required members)).
[[nodiscard]] Result<std::string> JwkThumbprint(const PublicKey& key);

// A JWK Set (RFC 7517 §5).
class Jwks {
 public:
  // Parses {"keys":[...]}. Members whose "kty" or "crv" crypta does not support are
  // skipped (RFC 7517 §5 says to ignore them); malformed members of supported types,
  // duplicate "kid"s, and more than 64 keys are errors.
  [[nodiscard]] static Result<Jwks> Parse(const nlohmann::json& jwks);
  [[nodiscard]] static Result<Jwks> ParseText(std::string_view text);
  static Jwks FromKeys(std::vector<Jwk> keys) { return Jwks(std::move(keys)); }

  // The key whose "kid" equals `kid`; kNotFound if none.
  [[nodiscard]] Result<const Jwk*> FindByKid(std::string_view kid) const;
  const std::vector<Jwk>& keys() const { return keys_; }
  // {"keys":[...]} with each key's kid (and use/alg when set).
  [[nodiscard]] Result<nlohmann::json> ToJson() const;

 private:
  explicit Jwks(std::vector<Jwk> keys) : keys_(std::move(keys)) {}
  std::vector<Jwk> keys_;
};

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_JWK_H_
