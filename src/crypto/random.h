// Cryptographically secure randomness from OpenSSL's DRBG (seeded by the OS).
#ifndef CRYPTA_CRYPTO_RANDOM_H_
#define CRYPTA_CRYPTO_RANDOM_H_

#include "common/bytes.h"
#include "common/secret_bytes.h"
#include "common/status.h"

namespace crypta {

// Fills `out`. Fails only if the DRBG cannot be seeded.
Status RandomFill(MutableByteSpan out);
Result<Bytes> RandomBytes(size_t n);
Result<SecretBytes> RandomSecret(size_t n);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_RANDOM_H_
