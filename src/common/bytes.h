// Byte containers used across crypta.
#ifndef CRYPTA_COMMON_BYTES_H_
#define CRYPTA_COMMON_BYTES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace crypta {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;
using MutableByteSpan = std::span<uint8_t>;

inline ByteSpan AsBytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view AsStringView(ByteSpan b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string ToString(ByteSpan b) { return std::string(b.begin(), b.end()); }

// Concatenates any number of byte ranges.
template <typename... Spans>
Bytes Concat(const Spans&... parts) {
  Bytes out;
  out.reserve((ByteSpan(parts).size() + ... + 0));
  (out.insert(out.end(), ByteSpan(parts).begin(), ByteSpan(parts).end()), ...);
  return out;
}

}  // namespace crypta

#endif  // CRYPTA_COMMON_BYTES_H_
