#include "crypto/aead.h"

#include <climits>
#include <string>

#include "common/check.h"
#include "common/secret_bytes.h"

namespace crypta {
namespace {

const EVP_CIPHER* Cipher(AeadAlg alg) {
  // Fetched once: implicit fetches (EVP_aes_256_gcm()) cost a lookup on every init.
  static EVP_CIPHER* const ciphers[3] = {
      EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr),
      EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr),
      EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr),
  };
  const EVP_CIPHER* c = ciphers[static_cast<int>(alg)];
  CRYPTA_CHECK(c != nullptr, "EVP_CIPHER_fetch");
  return c;
}

Status CheckSizes(ByteSpan nonce, size_t in, size_t out, size_t tag) {
  if (nonce.size() != kAeadNonceSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "AEAD nonce: got " + std::to_string(nonce.size()) + " bytes, want 12");
  }
  if (tag != kAeadTagSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "AEAD tag: got " + std::to_string(tag) + " bytes, want 16");
  }
  if (in != out) {
    return MakeError(ErrorCode::kInvalidArgument, "AEAD: output buffer size mismatch");
  }
  if (in > static_cast<size_t>(INT_MAX)) {
    return MakeError(ErrorCode::kOutOfRange, "AEAD: message larger than 2 GiB");
  }
  return OkStatus();
}

// Decrypts with a context already keyed (or keyed by this init when `key` is non-null).
bool GcmOpen(EVP_CIPHER_CTX* ctx, const EVP_CIPHER* cipher, const uint8_t* key, ByteSpan nonce,
             ByteSpan aad, ByteSpan ciphertext, ByteSpan tag, MutableByteSpan plaintext) {
  int len = 0;
  return EVP_DecryptInit_ex(ctx, cipher, nullptr, key, nonce.data()) == 1 &&
         (aad.empty() ||
          EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1) &&
         (ciphertext.empty() || EVP_DecryptUpdate(ctx, plaintext.data(), &len, ciphertext.data(),
                                                  static_cast<int>(ciphertext.size())) == 1) &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kAeadTagSize,
                             const_cast<uint8_t*>(tag.data())) == 1 &&
         EVP_DecryptFinal_ex(ctx, plaintext.data() + ciphertext.size(), &len) == 1;
}

Status OpenFailed(AeadAlg alg, MutableByteSpan plaintext) {
  SecureWipe(plaintext);
  OpensslErrorString("");  // clear the queue; the reason is always "bad tag"
  return MakeError(ErrorCode::kUnauthenticated,
                   std::string(AeadName(alg)) +
                       ": authentication failed (wrong key or modified ciphertext, nonce or AAD)");
}

}  // namespace

Status AeadOpenOnce(AeadAlg alg, ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan ciphertext,
                    ByteSpan tag, MutableByteSpan plaintext) {
  if (key.size() != AeadKeySize(alg)) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(AeadName(alg)) + " key: got " +
                                                      std::to_string(key.size()) + " bytes, want " +
                                                      std::to_string(AeadKeySize(alg)));
  }
  CRYPTA_RETURN_IF_ERROR(CheckSizes(nonce, ciphertext.size(), plaintext.size(), tag.size()));
  thread_local EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return MakeError(OpensslError(ErrorCode::kInternal, "EVP_CIPHER_CTX_new"));
  const bool ok =
      GcmOpen(ctx.get(), Cipher(alg), key.data(), nonce, aad, ciphertext, tag, plaintext);
  EVP_CIPHER_CTX_reset(ctx.get());  // cleanses the key schedule
  if (!ok) return OpenFailed(alg, plaintext);
  return OkStatus();
}

size_t AeadKeySize(AeadAlg alg) {
  switch (alg) {
    case AeadAlg::kAes128Gcm:
      return 16;
    case AeadAlg::kAes256Gcm:
      return 32;
    case AeadAlg::kChaCha20Poly1305:
      return 32;
  }
  return 0;
}

std::string_view AeadName(AeadAlg alg) {
  switch (alg) {
    case AeadAlg::kAes128Gcm:
      return "AES-128-GCM";
    case AeadAlg::kAes256Gcm:
      return "AES-256-GCM";
    case AeadAlg::kChaCha20Poly1305:
      return "ChaCha20-Poly1305";
  }
  return "?";
}

Result<Aead> Aead::Create(AeadAlg alg, ByteSpan key, AeadDirection direction) {
  if (key.size() != AeadKeySize(alg)) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(AeadName(alg)) + " key: got " +
                                                      std::to_string(key.size()) + " bytes, want " +
                                                      std::to_string(AeadKeySize(alg)));
  }
  const bool want_enc = direction != AeadDirection::kOpenOnly;
  const bool want_dec = direction != AeadDirection::kSealOnly;
  EvpCipherCtxPtr enc(want_enc ? EVP_CIPHER_CTX_new() : nullptr);
  EvpCipherCtxPtr dec(want_dec ? EVP_CIPHER_CTX_new() : nullptr);
  if ((want_enc &&
       (!enc || EVP_EncryptInit_ex(enc.get(), Cipher(alg), nullptr, key.data(), nullptr) != 1)) ||
      (want_dec &&
       (!dec || EVP_DecryptInit_ex(dec.get(), Cipher(alg), nullptr, key.data(), nullptr) != 1))) {
    return MakeError(OpensslError(ErrorCode::kInternal, "AEAD key setup failed"));
  }
  return Aead(alg, std::move(enc), std::move(dec));
}

Result<Aead> Aead::Clone() const {
  EvpCipherCtxPtr enc(enc_ ? EVP_CIPHER_CTX_new() : nullptr);
  EvpCipherCtxPtr dec(dec_ ? EVP_CIPHER_CTX_new() : nullptr);
  if ((enc_ && (!enc || EVP_CIPHER_CTX_copy(enc.get(), enc_.get()) != 1)) ||
      (dec_ && (!dec || EVP_CIPHER_CTX_copy(dec.get(), dec_.get()) != 1))) {
    return MakeError(OpensslError(ErrorCode::kInternal, "AEAD clone failed"));
  }
  return Aead(alg_, std::move(enc), std::move(dec));
}

Status Aead::SealInPlace(ByteSpan nonce, ByteSpan aad, ByteSpan plaintext,
                         MutableByteSpan ciphertext, MutableByteSpan tag) {
  CRYPTA_RETURN_IF_ERROR(CheckSizes(nonce, plaintext.size(), ciphertext.size(), tag.size()));
  if (!enc_) return MakeError(ErrorCode::kFailedPrecondition, "AEAD: keyed for opening only");
  EVP_CIPHER_CTX* ctx = enc_.get();
  int len = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (!plaintext.empty() && EVP_EncryptUpdate(ctx, ciphertext.data(), &len, plaintext.data(),
                                               static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx, ciphertext.data() + plaintext.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kAeadTagSize, tag.data()) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "AEAD seal failed"));
  }
  return OkStatus();
}

Status Aead::OpenInPlace(ByteSpan nonce, ByteSpan aad, ByteSpan ciphertext, ByteSpan tag,
                         MutableByteSpan plaintext) {
  CRYPTA_RETURN_IF_ERROR(CheckSizes(nonce, ciphertext.size(), plaintext.size(), tag.size()));
  if (!dec_) return MakeError(ErrorCode::kFailedPrecondition, "AEAD: keyed for sealing only");
  if (!GcmOpen(dec_.get(), nullptr, nullptr, nonce, aad, ciphertext, tag, plaintext)) {
    return OpenFailed(alg_, plaintext);
  }
  return OkStatus();
}

Result<Bytes> Aead::Seal(ByteSpan nonce, ByteSpan aad, ByteSpan plaintext) {
  Bytes out(plaintext.size() + kAeadTagSize);
  MutableByteSpan body(out.data(), plaintext.size());
  CRYPTA_RETURN_IF_ERROR(SealInPlace(nonce, aad, plaintext, body,
                                     MutableByteSpan(out.data() + plaintext.size(), kAeadTagSize)));
  return out;
}

Result<Bytes> Aead::Open(ByteSpan nonce, ByteSpan aad, ByteSpan ciphertext_and_tag) {
  if (ciphertext_and_tag.size() < kAeadTagSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(AeadName(alg_)) + ": ciphertext shorter than the 16-byte tag");
  }
  size_t n = ciphertext_and_tag.size() - kAeadTagSize;
  Bytes out(n);
  CRYPTA_RETURN_IF_ERROR(
      OpenInPlace(nonce, aad, ciphertext_and_tag.first(n), ciphertext_and_tag.subspan(n), out));
  return out;
}

}  // namespace crypta
