#include "common/encoding.h"

#include <array>
#include <cstdint>

namespace crypta {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Encode64(ByteSpan data, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out += "==";
  } else if (rest == 2) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out += "=";
  }
  return out;
}

Result<Bytes> Decode64(std::string_view text, const char* alphabet, bool padded,
                       std::string_view name) {
  std::array<int, 256> table;
  table.fill(-1);
  for (int i = 0; i < 64; ++i) table[static_cast<uint8_t>(alphabet[i])] = i;

  size_t len = text.size();
  if (padded) {
    if (len % 4 != 0) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          std::string(name) + ": length " + std::to_string(len) + " is not a multiple of 4");
    }
    if (len >= 1 && text[len - 1] == '=') --len;
    if (len >= 1 && text[len - 1] == '=') --len;
  }
  if (len % 4 == 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(name) + ": impossible length " + std::to_string(text.size()));
  }
  Bytes out;
  out.reserve(len * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; ++i) {
    int v = table[static_cast<uint8_t>(text[i])];
    if (v < 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string(name) + ": invalid character at position " + std::to_string(i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(name) + ": non-zero trailing bits (non-canonical encoding)");
  }
  return out;
}

}  // namespace

std::string HexEncode(ByteSpan data) {
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 15]);
  }
  return out;
}

Result<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "hex: odd length " + std::to_string(hex.size()));
  }
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return MakeError(ErrorCode::kInvalidArgument, "hex: invalid character at position " +
                                                        std::to_string(2 * i + (hi < 0 ? 0 : 1)));
    }
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return out;
}

std::string Base64UrlEncode(ByteSpan data) { return Encode64(data, kBase64Url, false); }
Result<Bytes> Base64UrlDecode(std::string_view text) {
  return Decode64(text, kBase64Url, false, "base64url");
}
std::string Base64Encode(ByteSpan data) { return Encode64(data, kBase64Std, true); }
Result<Bytes> Base64Decode(std::string_view text) {
  return Decode64(text, kBase64Std, true, "base64");
}

}  // namespace crypta
