// ByteReader: a bounds-checked cursor over untrusted bytes (BoringSSL CBS style).
//
// Every read either succeeds and advances, or fails and leaves the cursor unchanged.
// Errors name the field being read, so parsers pass a field name to each call.
#ifndef CRYPTA_COMMON_BYTE_READER_H_
#define CRYPTA_COMMON_BYTE_READER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta {

class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }
  ByteSpan rest() const { return data_.subspan(pos_); }

  Result<uint8_t> ReadU8(std::string_view field);
  Result<uint16_t> ReadU16BE(std::string_view field);
  Result<uint32_t> ReadU32BE(std::string_view field);
  Result<uint64_t> ReadU64BE(std::string_view field);
  Result<uint16_t> ReadU16LE(std::string_view field);
  Result<uint32_t> ReadU32LE(std::string_view field);
  Result<uint64_t> ReadU64LE(std::string_view field);

  // A QUIC variable-length integer (RFC 9000 §16), as used by Binary HTTP (RFC 9292).
  // Non-minimal encodings are accepted, as RFC 9000 allows.
  Result<uint64_t> ReadVarint(std::string_view field);

  // A view of the next n bytes (valid as long as the underlying data).
  Result<ByteSpan> ReadBytes(size_t n, std::string_view field);

  // A length prefix of the given width (1, 2 or 4 bytes, big-endian) then that many bytes.
  Result<ByteSpan> ReadLengthPrefixed(int prefix_bytes, std::string_view field);

  // A varint length prefix then that many bytes.
  Result<ByteSpan> ReadVarintPrefixed(std::string_view field);

  Status Skip(size_t n, std::string_view field);

  // Consumes n bytes that must all be zero (reserved ranges).
  Status ExpectZero(size_t n, std::string_view field);

  // Fails if any bytes remain (no trailing data).
  Status Finish(std::string_view what) const;

 private:
  Result<uint64_t> ReadUint(size_t n, bool big_endian, std::string_view field);

  ByteSpan data_;
  size_t pos_ = 0;
};

}  // namespace crypta

#endif  // CRYPTA_COMMON_BYTE_READER_H_
