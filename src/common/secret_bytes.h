// SecretBytes: a move-only buffer for key material, wiped on destruction.
//
// Access to the bytes is spelled `Reveal()` so every use is easy to find in review.
// Never log or format a SecretBytes; it deliberately has no operator<<.
#ifndef CRYPTA_COMMON_SECRET_BYTES_H_
#define CRYPTA_COMMON_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/bytes.h"

namespace crypta {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size);  // zero-filled
  explicit SecretBytes(ByteSpan data);
  ~SecretBytes();

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  // An explicit, greppable copy.
  SecretBytes Clone() const { return SecretBytes(Reveal()); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  ByteSpan Reveal() const { return ByteSpan(data_.get(), size_); }
  MutableByteSpan RevealMutable() { return MutableByteSpan(data_.get(), size_); }

  // Wipes and empties the buffer.
  void Clear();

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

// Overwrites memory in a way the compiler cannot elide.
void SecureWipe(MutableByteSpan data);

}  // namespace crypta

#endif  // CRYPTA_COMMON_SECRET_BYTES_H_
