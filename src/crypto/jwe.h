// JSON Web Encryption, flattened JSON serialization (RFC 7516 §7.2.2), for key release
// (DESIGN.md §4.3): key management "ECDH-ES+A256KW" with P-256 (RFC 7518 §4.6: ephemeral
// ECDH, Concat KDF, AES-256 Key Wrap of the CEK) or "RSA-OAEP-256" (RFC 7518 §4.3: OAEP
// with SHA-256 and MGF1-SHA-256), content encryption "A256GCM" (RFC 7518 §5.3) with
// AAD = ASCII(BASE64URL(protected header)) [|| '.' || BASE64URL(aad)] (RFC 7516 §5.1
// step 14).
//
// Decryption refuses every other alg/enc, "zip", "crit", the general serialization
// ("recipients"), security parameters (alg, enc, epk, apu, apv) outside the protected
// header, an "epk" that is not a P-256 point on the curve, wrong IV/tag/key lengths, and
// input over the size cap. Every cryptographic failure (key unwrap, OAEP, GCM tag) is
// the same kUnauthenticated "JWE: decryption failed", and a failed RSA-OAEP decryption
// continues with a random CEK (RFC 7516 §11.5), so the errors are no oracle. Malformed
// input gives kInvalidArgument naming the member; a refused alg/enc kPermissionDenied.
// All functions are thread-safe.
#ifndef CRYPTA_CRYPTO_JWE_H_
#define CRYPTA_CRYPTO_JWE_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/keys.h"

namespace crypta {

enum class JweAlg { kEcdhEsA256Kw, kRsaOaep256 };

// "ECDH-ES+A256KW", "RSA-OAEP-256".
std::string_view JweAlgName(JweAlg alg);

inline constexpr size_t kDefaultMaxJweBytes = 1 << 20;

struct JweEncryptOptions {
  Bytes apu;        // ECDH-ES "apu" (Agreement PartyUInfo); omitted when empty
  Bytes apv;        // ECDH-ES "apv" (Agreement PartyVInfo); omitted when empty
  std::string kid;  // the recipient key's "kid" in the protected header; omitted when empty
};

struct JweDecryptOptions {
  std::vector<JweAlg> allowed_algs = {JweAlg::kEcdhEsA256Kw, JweAlg::kRsaOaep256};
  size_t max_bytes = kDefaultMaxJweBytes;  // cap on the serialized JWE
};

struct DecryptedJwe {
  nlohmann::json protected_header;
  SecretBytes plaintext;
};

// Encrypts `plaintext` to `recipient`: ECDH-ES+A256KW for a P-256 key, RSA-OAEP-256 for an
// RSA key (>= 2048 bits), always A256GCM. Returns the flattened JSON object with members
// "protected", "encrypted_key", "iv", "ciphertext", "tag". Fails with kInvalidArgument
// for other key types.
[[nodiscard]] Result<nlohmann::json> JweEncrypt(const PublicKey& recipient, ByteSpan plaintext,
                                                const JweEncryptOptions& options = {});

// Decrypts a flattened JSON JWE with `key` (P-256 for ECDH-ES+A256KW, RSA for
// RSA-OAEP-256); see the file comment for what is refused.
[[nodiscard]] Result<DecryptedJwe> JweDecrypt(const nlohmann::json& jwe, const PrivateKey& key,
                                              const JweDecryptOptions& options = {});
// Same, from untrusted text (strict JSON: duplicates refused, size cap applied first).
[[nodiscard]] Result<DecryptedJwe> JweDecryptText(std::string_view text, const PrivateKey& key,
                                                  const JweDecryptOptions& options = {});

// RFC 7518 §4.6.2 Concat KDF (NIST SP 800-56A §5.8.1, single-step, SHA-256):
// OtherInfo = len32(algorithm_id) || algorithm_id || len32(apu) || apu || len32(apv) ||
// apv || uint32_be(8 * key_bytes). key_bytes must be in [1, 1024].
[[nodiscard]] Result<SecretBytes> JoseConcatKdf(ByteSpan z, std::string_view algorithm_id,
                                                ByteSpan apu, ByteSpan apv, size_t key_bytes);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_JWE_H_
