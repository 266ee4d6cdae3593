#include "crypto/key_wrap.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <string>

#include "crypto/openssl_util.h"

namespace crypta {
namespace {

constexpr size_t kSemiblock = 8;
constexpr size_t kMaxKeyData = 4096;

const char* WrapCipherName(size_t kek_size) {
  switch (kek_size) {
    case 16:
      return "AES-128-WRAP";
    case 24:
      return "AES-192-WRAP";
    case 32:
      return "AES-256-WRAP";
    default:
      return nullptr;
  }
}

// Runs one wrap or unwrap over `in` into `out` (sized by the caller); returns the number
// of bytes written, or an error. `encrypt` selects the direction.
Result<size_t> RunWrap(ByteSpan kek, ByteSpan in, MutableByteSpan out, bool encrypt) {
  const char* name = WrapCipherName(kek.size());
  if (!name) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "AES key wrap: KEK must be 16, 24 or 32 bytes, got " + std::to_string(kek.size()));
  }
  EvpCipherPtr cipher(EVP_CIPHER_fetch(nullptr, name, nullptr));
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!cipher || !ctx) return MakeError(OpensslError(ErrorCode::kInternal, name));
  // Required by the legacy EVP path for wrap modes; harmless for provider ciphers.
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_CipherInit_ex2(ctx.get(), cipher.get(), kek.data(), nullptr, encrypt ? 1 : 0, nullptr) !=
      1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "AES key wrap init"));
  }
  int len = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &len, in.data(), static_cast<int>(in.size())) != 1) {
    ERR_clear_error();
    return MakeError(encrypt ? ErrorCode::kInternal : ErrorCode::kUnauthenticated,
                     encrypt ? "AES key wrap failed" : "AES key unwrap: integrity check failed");
  }
  int final_len = 0;
  if (EVP_CipherFinal_ex(ctx.get(), out.data() + len, &final_len) != 1) {
    ERR_clear_error();
    return MakeError(encrypt ? ErrorCode::kInternal : ErrorCode::kUnauthenticated,
                     encrypt ? "AES key wrap failed" : "AES key unwrap: integrity check failed");
  }
  return static_cast<size_t>(len + final_len);
}

}  // namespace

Result<Bytes> AesKeyWrap(ByteSpan kek, ByteSpan key_data) {
  // RFC 3394 §2: n >= 2 64-bit blocks of plaintext.
  if (key_data.size() < 2 * kSemiblock || key_data.size() % kSemiblock != 0 ||
      key_data.size() > kMaxKeyData) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "AES key wrap: key data must be a multiple of 8 bytes in [16, 4096], got " +
                         std::to_string(key_data.size()));
  }
  Bytes out(key_data.size() + kSemiblock);
  CRYPTA_ASSIGN_OR_RETURN(size_t written, RunWrap(kek, key_data, out, /*encrypt=*/true));
  if (written != out.size()) {
    return MakeError(ErrorCode::kInternal, "AES key wrap: unexpected output length");
  }
  return out;
}

Result<SecretBytes> AesKeyUnwrap(ByteSpan kek, ByteSpan wrapped) {
  if (wrapped.size() < 3 * kSemiblock || wrapped.size() % kSemiblock != 0 ||
      wrapped.size() > kMaxKeyData + kSemiblock) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "AES key unwrap: wrapped key must be a multiple of 8 bytes in [24, 4104], "
                     "got " +
                         std::to_string(wrapped.size()));
  }
  // OpenSSL writes the unwrapped data (and scratch) into the output; keep it secret.
  SecretBytes out(wrapped.size());
  CRYPTA_ASSIGN_OR_RETURN(size_t written,
                          RunWrap(kek, wrapped, out.RevealMutable(), /*encrypt=*/false));
  if (written != wrapped.size() - kSemiblock) {
    return MakeError(ErrorCode::kUnauthenticated, "AES key unwrap: integrity check failed");
  }
  return SecretBytes(out.Reveal().first(written));
}

}  // namespace crypta
