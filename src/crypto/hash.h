// SHA-2 digests, HMAC and HKDF (RFC 5869) over OpenSSL 3 EVP.
//
// Digest objects are fetched once per process, so per-call cost is only the hashing.
// OpenSSL failures here can only mean a broken process (allocation failure), so these
// functions CHECK-fail instead of returning errors; functions whose inputs can be out of
// range (HKDF output length) return Result. All functions are thread-safe.
#ifndef CRYPTA_CRYPTO_HASH_H_
#define CRYPTA_CRYPTO_HASH_H_

#include <openssl/evp.h>

#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/openssl_util.h"

namespace crypta {

enum class HashAlg { kSha256, kSha384, kSha512 };

size_t HashSize(HashAlg alg);
std::string_view HashName(HashAlg alg);  // "SHA-256", "SHA-384", "SHA-512"
const EVP_MD* HashMd(HashAlg alg);       // process-lifetime, pre-fetched

Bytes Hash(HashAlg alg, ByteSpan data);
inline Bytes Sha256(ByteSpan data) { return Hash(HashAlg::kSha256, data); }
inline Bytes Sha384(ByteSpan data) { return Hash(HashAlg::kSha384, data); }
inline Bytes Sha512(ByteSpan data) { return Hash(HashAlg::kSha512, data); }

// Incremental hashing. Not thread-safe; movable.
class Hasher {
 public:
  explicit Hasher(HashAlg alg);
  void Update(ByteSpan data);
  Bytes Finish();  // the Hasher must not be used afterwards

 private:
  HashAlg alg_;
  EvpMdCtxPtr ctx_;
};

// Digest of a whole file, read in 1 MiB pieces (kNotFound / kUnavailable on I/O errors).
Result<Bytes> HashFile(HashAlg alg, const std::string& path);

Bytes Hmac(HashAlg alg, ByteSpan key, ByteSpan data);

// RFC 5869 §2.2. An empty salt means HashLen zero bytes.
Bytes HkdfExtract(HashAlg alg, ByteSpan salt, ByteSpan ikm);
// RFC 5869 §2.3. Fails when length > 255 * HashLen.
Result<Bytes> HkdfExpand(HashAlg alg, ByteSpan prk, ByteSpan info, size_t length);
// Extract then expand.
Result<Bytes> Hkdf(HashAlg alg, ByteSpan ikm, ByteSpan salt, ByteSpan info, size_t length);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_HASH_H_
