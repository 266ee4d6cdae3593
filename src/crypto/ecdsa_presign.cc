#include "crypto/ecdsa_presign.h"

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <memory>
#include <utility>

#include "crypto/openssl_util.h"

// ECDSA_sign_setup and ECDSA_do_sign_ex are OpenSSL's only interface to a nonce prepared
// ahead of the message; OpenSSL 3 marks the EC_KEY family deprecated but keeps it.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace crypta {
namespace {

constexpr size_t kP256Bytes = 32;

// The key's EC_KEY (a reference owned by the caller), or an error for another key type.
Result<std::unique_ptr<EC_KEY, decltype(&EC_KEY_free)>> EcKeyOf(const PrivateKey& key) {
  if (key.type() != KeyType::kEcP256) {
    return MakeError(ErrorCode::kInvalidArgument, "ECDSA presignature: the key is not P-256");
  }
  EC_KEY* ec = EVP_PKEY_get1_EC_KEY(key.pkey());
  if (ec == nullptr) {
    return MakeError(OpensslError(ErrorCode::kInternal, "ECDSA presignature: EC key"));
  }
  return std::unique_ptr<EC_KEY, decltype(&EC_KEY_free)>(ec, EC_KEY_free);
}

}  // namespace

EcdsaPresignature::EcdsaPresignature(EcdsaPresignature&& other) noexcept
    : kinv_(std::exchange(other.kinv_, nullptr)), r_(std::exchange(other.r_, nullptr)) {}

EcdsaPresignature& EcdsaPresignature::operator=(EcdsaPresignature&& other) noexcept {
  if (this != &other) {
    Clear();
    kinv_ = std::exchange(other.kinv_, nullptr);
    r_ = std::exchange(other.r_, nullptr);
  }
  return *this;
}

EcdsaPresignature::~EcdsaPresignature() { Clear(); }

void EcdsaPresignature::Clear() {
  BN_clear_free(kinv_);
  BN_clear_free(r_);
  kinv_ = r_ = nullptr;
}

Result<EcdsaPresignature> PresignEcdsa(const PrivateKey& key) {
  CRYPTA_ASSIGN_OR_RETURN(auto ec, EcKeyOf(key));
  EcdsaPresignature out;
  if (ECDSA_sign_setup(ec.get(), nullptr, &out.kinv_, &out.r_) != 1) {
    return MakeError(OpensslError(ErrorCode::kInternal, "ECDSA presignature"));
  }
  return out;
}

Result<Bytes> SignEcdsaPresigned(const PrivateKey& key, ByteSpan digest,
                                 EcdsaPresignature presignature) {
  if (presignature.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "ECDSA presignature: empty (already used?)");
  }
  if (digest.size() != kP256Bytes) {
    return MakeError(ErrorCode::kInvalidArgument, "ECDSA presignature: the digest is not 32 bytes");
  }
  CRYPTA_ASSIGN_OR_RETURN(auto ec, EcKeyOf(key));
  ECDSA_SIG* sig = ECDSA_do_sign_ex(digest.data(), static_cast<int>(digest.size()),
                                    presignature.kinv_, presignature.r_, ec.get());
  presignature.Clear();  // one signature per nonce, whatever happened
  if (sig == nullptr) return MakeError(OpensslError(ErrorCode::kInternal, "ECDSA sign"));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  Bytes out(2 * kP256Bytes);
  const bool ok =
      BN_bn2binpad(r, out.data(), kP256Bytes) == static_cast<int>(kP256Bytes) &&
      BN_bn2binpad(s, out.data() + kP256Bytes, kP256Bytes) == static_cast<int>(kP256Bytes);
  ECDSA_SIG_free(sig);
  if (!ok) return MakeError(ErrorCode::kInternal, "ECDSA sign: r or s does not fit 32 bytes");
  return out;
}

}  // namespace crypta
