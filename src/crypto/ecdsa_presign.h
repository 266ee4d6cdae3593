// ECDSA with the per-signature nonce prepared ahead of the message (FIPS 186-5 §6.4.1's
// k⁻¹ and r = (k·G).x, computed before the hash is known): the scalar multiplication, which
// is most of an ECDSA signature's cost, moves off the path that waits for the signature, and
// the signature itself becomes a few modular multiplications (s = k⁻¹(e + r·d)). crypta-
// runtime prepares one per receipt on a worker while the model runs (runtime/receipts.h).
//
// Each presignature is used for exactly one signature (reusing k would reveal the key): it
// is move-only, consumed by SignEcdsaPresigned, and its secrets are cleared when destroyed.
// k comes from OpenSSL's RNG (ECDSA_sign_setup). P-256 only. Thread-safe (no shared state).
#ifndef CRYPTA_CRYPTO_ECDSA_PRESIGN_H_
#define CRYPTA_CRYPTO_ECDSA_PRESIGN_H_

#include <openssl/bn.h>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/keys.h"

namespace crypta {

class EcdsaPresignature {
 public:
  EcdsaPresignature() = default;
  EcdsaPresignature(EcdsaPresignature&& other) noexcept;
  EcdsaPresignature& operator=(EcdsaPresignature&& other) noexcept;
  EcdsaPresignature(const EcdsaPresignature&) = delete;
  EcdsaPresignature& operator=(const EcdsaPresignature&) = delete;
  ~EcdsaPresignature();
  bool empty() const { return kinv_ == nullptr; }

 private:
  friend Result<EcdsaPresignature> PresignEcdsa(const PrivateKey& key);
  friend Result<Bytes> SignEcdsaPresigned(const PrivateKey& key, ByteSpan digest,
                                          EcdsaPresignature presignature);
  void Clear();
  BIGNUM* kinv_ = nullptr;
  BIGNUM* r_ = nullptr;
};

// A fresh presignature for `key` (an EC P-256 private key; kInvalidArgument otherwise).
Result<EcdsaPresignature> PresignEcdsa(const PrivateKey& key);

// The ECDSA signature of `digest` (the 32-byte SHA-256 of the message) with `key` and the
// presignature made for it, as r || s, 32 bytes each (JWS ES256, RFC 7518 §3.4).
// kInvalidArgument for an empty presignature or a digest of another size.
Result<Bytes> SignEcdsaPresigned(const PrivateKey& key, ByteSpan digest,
                                 EcdsaPresignature presignature);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_ECDSA_PRESIGN_H_
