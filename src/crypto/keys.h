// Asymmetric keys: EC (P-256, P-384, P-521), X25519, Ed25519 and RSA, over EVP_PKEY.
//
// PublicKey and PrivateKey own an EVP_PKEY. Import functions take untrusted bytes and
// validate them (points on the curve, correct lengths); they never abort.
// Keys are immutable after construction and safe to share between threads.
#ifndef CRYPTA_CRYPTO_KEYS_H_
#define CRYPTA_CRYPTO_KEYS_H_

#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/openssl_util.h"

namespace crypta {

enum class KeyType { kEcP256, kEcP384, kEcP521, kX25519, kEd25519, kRsa };

std::string_view KeyTypeName(KeyType type);
bool IsEcKeyType(KeyType type);
// Field size in bytes for EC curves (32, 48, 66); raw key size for X25519/Ed25519 (32).
size_t KeyCoordinateSize(KeyType type);

class PublicKey {
 public:
  // X.509 SubjectPublicKeyInfo, DER or PEM.
  static Result<PublicKey> FromSpkiDer(ByteSpan der);
  static Result<PublicKey> FromPem(std::string_view pem);
  // SEC 1 §2.3.3 uncompressed point 0x04 || X || Y.
  static Result<PublicKey> FromEcPoint(KeyType curve, ByteSpan uncompressed_point);
  // Big-endian affine coordinates (JWK "x"/"y"); each must be the field size.
  static Result<PublicKey> FromEcCoordinates(KeyType curve, ByteSpan x, ByteSpan y);
  // Raw 32-byte X25519 or Ed25519 public key (RFC 7748 / RFC 8032).
  static Result<PublicKey> FromRaw(KeyType type, ByteSpan raw);
  // RSA modulus and public exponent, big-endian.
  static Result<PublicKey> FromRsaComponents(ByteSpan n, ByteSpan e);

  KeyType type() const { return type_; }
  EVP_PKEY* pkey() const { return pkey_.get(); }

  Result<Bytes> ToSpkiDer() const;
  Result<std::string> ToPem() const;
  // EC only: 0x04 || X || Y.
  Result<Bytes> EcPoint() const;
  // X25519/Ed25519 only.
  Result<Bytes> Raw() const;
  // RSA only: modulus and exponent, big-endian, no leading zeros.
  Result<Bytes> RsaModulus() const;
  Result<Bytes> RsaExponent() const;
  int RsaBits() const;

 private:
  friend class PrivateKey;
  PublicKey(KeyType type, EvpPkeyPtr pkey);
  static Result<PublicKey> Adopt(EvpPkeyPtr pkey);

  KeyType type_;
  std::shared_ptr<EVP_PKEY> pkey_;
};

class PrivateKey {
 public:
  // RSA generation uses 3072 bits; use GenerateRsa for another size.
  static Result<PrivateKey> Generate(KeyType type);
  static Result<PrivateKey> GenerateRsa(int bits);
  // PKCS#8 (or traditional) PEM / DER.
  static Result<PrivateKey> FromPem(std::string_view pem);
  static Result<PrivateKey> FromPkcs8Der(ByteSpan der);
  // EC private scalar (big-endian, field size) — used by test vectors and JWK "d".
  static Result<PrivateKey> FromEcScalar(KeyType curve, ByteSpan d);
  // Raw 32-byte X25519 / Ed25519 private key.
  static Result<PrivateKey> FromRaw(KeyType type, ByteSpan raw);

  KeyType type() const { return type_; }
  EVP_PKEY* pkey() const { return pkey_.get(); }
  PublicKey GetPublicKey() const;

  Result<std::string> ToPkcs8Pem() const;
  // EC: big-endian scalar padded to the field size. X25519/Ed25519: raw 32 bytes.
  Result<SecretBytes> RawSecret() const;

 private:
  PrivateKey(KeyType type, EvpPkeyPtr pkey);
  static Result<PrivateKey> Adopt(EvpPkeyPtr pkey);

  KeyType type_;
  std::shared_ptr<EVP_PKEY> pkey_;
};

// Key agreement: ECDH (the x-coordinate, SEC 1 §3.3.1) or X25519 (RFC 7748 §6.1).
// Fails when the key types differ, the peer is invalid, or (X25519) the result is all
// zeros (RFC 7748 §6.1 check; a low-order peer key).
Result<SecretBytes> DeriveSharedSecret(const PrivateKey& own, const PublicKey& peer);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_KEYS_H_
