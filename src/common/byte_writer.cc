#include "common/byte_writer.h"

#include <string>

namespace crypta {

Status ByteWriter::WriteVarint(uint64_t v) {
  // RFC 9000 §16: 2-bit length prefix selects 1, 2, 4 or 8 bytes.
  if (v < (1ull << 6)) {
    WriteUint(v, 1);
  } else if (v < (1ull << 14)) {
    WriteUint(v | (0x1ull << 14), 2);
  } else if (v < (1ull << 30)) {
    WriteUint(v | (0x2ull << 30), 4);
  } else if (v < (1ull << 62)) {
    WriteUint(v | (0x3ull << 62), 8);
  } else {
    return MakeError(ErrorCode::kOutOfRange,
                     "varint: value " + std::to_string(v) + " exceeds 2^62-1");
  }
  return OkStatus();
}

Status ByteWriter::WriteVarintPrefixed(ByteSpan b) {
  CRYPTA_RETURN_IF_ERROR(WriteVarint(b.size()));
  WriteBytes(b);
  return OkStatus();
}

Status ByteWriter::WriteLengthPrefixed(int prefix_bytes, ByteSpan b) {
  uint64_t max = prefix_bytes >= 8 ? UINT64_MAX : (1ull << (8 * prefix_bytes)) - 1;
  if (b.size() > max) {
    return MakeError(ErrorCode::kOutOfRange,
                     "field of " + std::to_string(b.size()) + " bytes does not fit a " +
                         std::to_string(prefix_bytes) + "-byte length prefix");
  }
  WriteUint(b.size(), prefix_bytes);
  WriteBytes(b);
  return OkStatus();
}

}  // namespace crypta
