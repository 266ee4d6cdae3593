// AES Key Wrap (RFC 3394) with the default initial value A6A6A6A6A6A6A6A6, over OpenSSL's
// EVP "AES-128-WRAP" / "AES-192-WRAP" / "AES-256-WRAP" ciphers. JOSE uses it for the
// "A128KW"/"A256KW" key management algorithms (RFC 7518 §4.4) and ECDH-ES+AxxxKW (§4.6).
//
// All functions are thread-safe.
#ifndef CRYPTA_CRYPTO_KEY_WRAP_H_
#define CRYPTA_CRYPTO_KEY_WRAP_H_

#include "common/bytes.h"
#include "common/secret_bytes.h"
#include "common/status.h"

namespace crypta {

// Wraps `key_data` (a multiple of 8 bytes, at least 16, at most 4096) under `kek` (16, 24
// or 32 bytes). The output is 8 bytes longer than the input. Fails with
// kInvalidArgument on bad lengths.
[[nodiscard]] Result<Bytes> AesKeyWrap(ByteSpan kek, ByteSpan key_data);

// Unwraps and checks the RFC 3394 §2.2.3 integrity value. Fails with kInvalidArgument on
// bad lengths and kUnauthenticated when the integrity check fails (wrong KEK or altered
// input); no partial output is ever returned.
[[nodiscard]] Result<SecretBytes> AesKeyUnwrap(ByteSpan kek, ByteSpan wrapped);

}  // namespace crypta

#endif  // CRYPTA_CRYPTO_KEY_WRAP_H_
