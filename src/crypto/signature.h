// Digital signatures: ECDSA (P-256/P-384/P-521), RSA-PSS and Ed25519.
//
// Verification returns OkStatus or kUnauthenticated ("signature does not verify") or
// kInvalidArgument (the signature bytes are malformed). Signatures are always checked
// over the exact bytes given. All functions are thread-safe.
#ifndef CRYPTA_CRYPTO_SIGNATURE_H_
#define CRYPTA_CRYPTO_SIGNATURE_H_

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/hash.h"
#include "crypto/keys.h"

namespace crypta {

enum class EcdsaFormat {
  kDer,    // X9.62 / RFC 3279 Ecdsa-Sig-Value (X.509, TLS)
  kRaw,    // IEEE P1363 r || s, big-endian, each the field size (JOSE, COSE, DCAP)
  kRawLE,  // r || s, little-endian, each `component_size` bytes, zero-padded
           // (AMD SEV-SNP ATTESTATION_REPORT signature: 72 bytes each, SNP ABI §7.3 Table 139)
};

struct EcdsaOptions {
  EcdsaFormat format = EcdsaFormat::kDer;
  size_t component_size = 0;  // kRawLE only; 0 = the curve's field size
};

Status EcdsaVerify(const PublicKey& key, HashAlg hash, ByteSpan message, ByteSpan signature,
                   EcdsaOptions options = {});
Result<Bytes> EcdsaSign(const PrivateKey& key, HashAlg hash, ByteSpan message,
                        EcdsaOptions options = {});

// Conversions between DER and fixed-size r||s.
Result<Bytes> EcdsaDerToRaw(ByteSpan der, size_t component_size);
Result<Bytes> EcdsaRawToDer(ByteSpan raw);

// RSASSA-PSS (RFC 8017 §8.1) with MGF1 over the same hash.
Status RsaPssVerify(const PublicKey& key, HashAlg hash, ByteSpan message, ByteSpan signature,
                    int salt_length);
Result<Bytes> RsaPssSign(const PrivateKey& key, HashAlg hash, ByteSpan message, int salt_length);

// RSASSA-PKCS1-v1_5 verification (RFC 8017 §8.2), for certificates and JWKs that use it.
Status RsaPkcs1Verify(const PublicKey& key, HashAlg hash, ByteSpan message, ByteSpan signature);

// Ed25519 (RFC 8032 §5.1), pure mode.
Status Ed25519Verify(const PublicKey& key, ByteSpan message, ByteSpan signature);
Result<Bytes> Ed25519Sign(const PrivateKey& key, ByteSpan message);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_SIGNATURE_H_
