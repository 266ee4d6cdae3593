#include "common/secret_bytes.h"

#include <openssl/crypto.h>

#include <cstring>
#include <utility>

namespace crypta {

void SecureWipe(MutableByteSpan data) {
  if (!data.empty()) OPENSSL_cleanse(data.data(), data.size());
}

SecretBytes::SecretBytes(size_t size)
    : data_(size ? std::make_unique<uint8_t[]>(size) : nullptr), size_(size) {}

SecretBytes::SecretBytes(ByteSpan data) : SecretBytes(data.size()) {
  if (size_) std::memcpy(data_.get(), data.data(), size_);
}

SecretBytes::~SecretBytes() { Clear(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Clear();
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void SecretBytes::Clear() {
  SecureWipe(RevealMutable());
  data_.reset();
  size_ = 0;
}

}  // namespace crypta
