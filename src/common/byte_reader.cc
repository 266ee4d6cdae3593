#include "common/byte_reader.h"

#include <string>

namespace crypta {
namespace {

Error Truncated(std::string_view field, size_t need, size_t have) {
  return Error(ErrorCode::kInvalidArgument, std::string(field) + ": truncated (need " +
                                                std::to_string(need) + " bytes, " +
                                                std::to_string(have) + " left)");
}

}  // namespace

Result<uint64_t> ByteReader::ReadUint(size_t n, bool big_endian, std::string_view field) {
  if (remaining() < n) return MakeError(Truncated(field, n, remaining()));
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t byte = data_[pos_ + (big_endian ? i : n - 1 - i)];
    v = (v << 8) | byte;
  }
  pos_ += n;
  return v;
}

Result<uint8_t> ByteReader::ReadU8(std::string_view field) {
  CRYPTA_ASSIGN_OR_RETURN(uint64_t v, ReadUint(1, true, field));
  return static_cast<uint8_t>(v);
}
Result<uint16_t> ByteReader::ReadU16BE(std::string_view field) {
  CRYPTA_ASSIGN_OR_RETURN(uint64_t v, ReadUint(2, true, field));
  return static_cast<uint16_t>(v);
}
Result<uint32_t> ByteReader::ReadU32BE(std::string_view field) {
  CRYPTA_ASSIGN_OR_RETURN(uint64_t v, ReadUint(4, true, field));
  return static_cast<uint32_t>(v);
}
Result<uint64_t> ByteReader::ReadU64BE(std::string_view field) { return ReadUint(8, true, field); }
Result<uint16_t> ByteReader::ReadU16LE(std::string_view field) {
  CRYPTA_ASSIGN_OR_RETURN(uint64_t v, ReadUint(2, false, field));
  return static_cast<uint16_t>(v);
}
Result<uint32_t> ByteReader::ReadU32LE(std::string_view field) {
  CRYPTA_ASSIGN_OR_RETURN(uint64_t v, ReadUint(4, false, field));
  return static_cast<uint32_t>(v);
}
Result<uint64_t> ByteReader::ReadU64LE(std::string_view field) { return ReadUint(8, false, field); }

Result<uint64_t> ByteReader::ReadVarint(std::string_view field) {
  if (remaining() < 1) return MakeError(Truncated(field, 1, 0));
  // RFC 9000 §16: the two high bits of the first byte give the length 1, 2, 4 or 8.
  size_t len = size_t{1} << (data_[pos_] >> 6);
  if (remaining() < len) return MakeError(Truncated(field, len, remaining()));
  uint64_t v = data_[pos_] & 0x3f;
  for (size_t i = 1; i < len; ++i) v = (v << 8) | data_[pos_ + i];
  pos_ += len;
  return v;
}

Result<ByteSpan> ByteReader::ReadBytes(size_t n, std::string_view field) {
  if (remaining() < n) return MakeError(Truncated(field, n, remaining()));
  ByteSpan out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

Result<ByteSpan> ByteReader::ReadLengthPrefixed(int prefix_bytes, std::string_view field) {
  if (prefix_bytes < 1 || prefix_bytes > 8) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(field) + ": length prefix width " +
                                                      std::to_string(prefix_bytes) +
                                                      " is not 1..8 bytes");
  }
  size_t start = pos_;
  Result<uint64_t> len = ReadUint(static_cast<size_t>(prefix_bytes), true, field);
  if (!len) return MakeError(len.error());
  if (remaining() < *len) {
    Error e = Truncated(field, static_cast<size_t>(*len), remaining());
    pos_ = start;
    return MakeError(e);
  }
  return ReadBytes(static_cast<size_t>(*len), field);
}

Result<ByteSpan> ByteReader::ReadVarintPrefixed(std::string_view field) {
  size_t start = pos_;
  CRYPTA_ASSIGN_OR_RETURN(uint64_t len, ReadVarint(field));
  if (remaining() < len) {
    Error e = Truncated(field, len > SIZE_MAX ? SIZE_MAX : static_cast<size_t>(len), remaining());
    pos_ = start;
    return MakeError(e);
  }
  return ReadBytes(static_cast<size_t>(len), field);
}

Status ByteReader::Skip(size_t n, std::string_view field) {
  CRYPTA_ASSIGN_OR_RETURN(ByteSpan ignored, ReadBytes(n, field));
  (void)ignored;
  return OkStatus();
}

Status ByteReader::ExpectZero(size_t n, std::string_view field) {
  if (remaining() < n) return MakeError(Truncated(field, n, remaining()));
  for (size_t i = 0; i < n; ++i) {
    if (data_[pos_ + i] != 0) {
      return MakeError(ErrorCode::kInvalidArgument, std::string(field) +
                                                        ": reserved byte at offset " +
                                                        std::to_string(pos_ + i) + " is not zero");
    }
  }
  pos_ += n;
  return OkStatus();
}

Status ByteReader::Finish(std::string_view what) const {
  if (remaining() != 0) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        std::string(what) + ": " + std::to_string(remaining()) + " unexpected trailing bytes");
  }
  return OkStatus();
}

}  // namespace crypta
