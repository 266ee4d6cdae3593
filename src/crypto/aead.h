// AEADs: AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 (96-bit nonces, 128-bit tags).
//
// An Aead object holds a keyed OpenSSL context, so each Seal/Open only sets the nonce:
// no key schedule or algorithm fetch per message. An Aead is NOT thread-safe; give each
// thread its own (Clone() is cheap). On authentication failure Open wipes any output.
#ifndef CRYPTA_CRYPTO_AEAD_H_
#define CRYPTA_CRYPTO_AEAD_H_

#include <cstddef>
#include <string_view>

#include "common/bytes.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/openssl_util.h"

namespace crypta {

enum class AeadAlg { kAes128Gcm, kAes256Gcm, kChaCha20Poly1305 };

inline constexpr size_t kAeadNonceSize = 12;
inline constexpr size_t kAeadTagSize = 16;

size_t AeadKeySize(AeadAlg alg);
std::string_view AeadName(AeadAlg alg);

// One-shot open under a key given as bytes, for unwrapping small keys: a single decrypt
// context per thread, keyed for this call and cleansed afterwards (no encrypt context is
// made, unlike Aead::Create). Same checks and errors as Aead::OpenInPlace, plus
// kInvalidArgument for a key of the wrong size.
Status AeadOpenOnce(AeadAlg alg, ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan ciphertext,
                    ByteSpan tag, MutableByteSpan plaintext);

// Which OpenSSL contexts an Aead keys. A context used in one direction only (an HPKE
// sender seals, a recipient opens; an OHTTP response is sealed once and opened once) needs
// one keyed context, not two: half the key schedules and allocations.
enum class AeadDirection { kBoth, kSealOnly, kOpenOnly };

class Aead {
 public:
  // Fails if the key length does not match the algorithm. Sealing with a kOpenOnly Aead or
  // opening with a kSealOnly one fails with kFailedPrecondition.
  static Result<Aead> Create(AeadAlg alg, ByteSpan key,
                             AeadDirection direction = AeadDirection::kBoth);

  Aead(Aead&&) noexcept = default;
  Aead& operator=(Aead&&) noexcept = default;

  AeadAlg alg() const { return alg_; }
  Result<Aead> Clone() const;

  // Encrypts `plaintext` into `ciphertext` (same length; may be the same buffer) and
  // writes the 16-byte tag.
  Status SealInPlace(ByteSpan nonce, ByteSpan aad, ByteSpan plaintext, MutableByteSpan ciphertext,
                     MutableByteSpan tag);
  // Decrypts and verifies; on failure `plaintext` is zeroed and kUnauthenticated returned.
  Status OpenInPlace(ByteSpan nonce, ByteSpan aad, ByteSpan ciphertext, ByteSpan tag,
                     MutableByteSpan plaintext);

  // Convenience forms: ciphertext || tag.
  Result<Bytes> Seal(ByteSpan nonce, ByteSpan aad, ByteSpan plaintext);
  Result<Bytes> Open(ByteSpan nonce, ByteSpan aad, ByteSpan ciphertext_and_tag);

 private:
  Aead(AeadAlg alg, EvpCipherCtxPtr enc, EvpCipherCtxPtr dec)
      : alg_(alg), enc_(std::move(enc)), dec_(std::move(dec)) {}

  AeadAlg alg_;
  EvpCipherCtxPtr enc_;
  EvpCipherCtxPtr dec_;
};

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_AEAD_H_
