// ByteWriter: appends big-endian integers, varints and length-prefixed fields.
#ifndef CRYPTA_COMMON_BYTE_WRITER_H_
#define CRYPTA_COMMON_BYTE_WRITER_H_

#include <cstdint>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta {

class ByteWriter {
 public:
  ByteWriter() = default;

  void WriteU8(uint8_t v) { out_.push_back(v); }
  void WriteU16BE(uint16_t v) { WriteUint(v, 2); }
  void WriteU32BE(uint32_t v) { WriteUint(v, 4); }
  void WriteU64BE(uint64_t v) { WriteUint(v, 8); }
  void WriteBytes(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void WriteString(std::string_view s) { WriteBytes(AsBytes(s)); }

  // QUIC varint (RFC 9000 §16), minimal length. Fails above 2^62-1.
  Status WriteVarint(uint64_t v);
  Status WriteVarintPrefixed(ByteSpan b);
  // Fails when b does not fit the prefix width (1, 2 or 4 bytes).
  Status WriteLengthPrefixed(int prefix_bytes, ByteSpan b);

  size_t size() const { return out_.size(); }
  const Bytes& bytes() const { return out_; }
  Bytes Take() { return std::move(out_); }

 private:
  void WriteUint(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  Bytes out_;
};

}  // namespace crypta

#endif  // CRYPTA_COMMON_BYTE_WRITER_H_
