#include "transparency/text_util.h"

#include <cstdio>

namespace crypta::transparency::internal {
namespace {

std::string Hex2(unsigned value) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%02x", value & 0xffu);
  return buf;
}

bool IsUnicodeSpace(char32_t c) {
  // Go's unicode.IsSpace: the Latin-1 spaces, then the White_Space property.
  if (c == U'\t' || c == U'\n' || c == U'\v' || c == U'\f' || c == U'\r' || c == U' ' ||
      c == 0x85 || c == 0xA0) {
    return true;
  }
  return c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

}  // namespace

bool NextCodePoint(std::string_view text, size_t& pos, char32_t& code_point) {
  if (pos >= text.size()) return false;
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  size_t length;
  char32_t value;
  char32_t minimum;
  if (lead < 0x80) {
    code_point = lead;
    ++pos;
    return true;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, value = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, value = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, value = lead & 0x07, minimum = 0x10000;
  } else {
    return false;
  }
  if (text.size() - pos < length) return false;
  for (size_t i = 1; i < length; ++i) {
    const unsigned char b = byte(pos + i);
    if ((b & 0xC0) != 0x80) return false;
    value = (value << 6) | (b & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return false;
  code_point = value;
  pos += length;
  return true;
}

std::optional<std::string> FindBadCharacter(std::string_view text, bool allow_newline,
                                            bool strict) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t at = pos;
    char32_t c;
    if (!NextCodePoint(text, pos, c)) return "invalid UTF-8 at byte " + std::to_string(at);
    const bool control = (c < 0x20 && !(allow_newline && c == U'\n')) ||
                         (strict && (c == 0x7F || (c >= 0x80 && c <= 0x9F)));
    if (control) {
      return "control character " + Hex2(static_cast<unsigned>(c)) + " at byte " +
             std::to_string(at);
    }
  }
  return std::nullopt;
}

std::optional<std::string> FindBadKeyNameCharacter(std::string_view name) {
  if (auto bad = FindBadCharacter(name, /*allow_newline=*/false)) return bad;
  for (size_t pos = 0; pos < name.size();) {
    const size_t at = pos;
    char32_t c = 0;
    NextCodePoint(name, pos, c);  // valid: checked above
    if (IsUnicodeSpace(c)) return "has a space character at byte " + std::to_string(at);
    if (c == U'+') return "has a '+' at byte " + std::to_string(at);
  }
  return std::nullopt;
}

}  // namespace crypta::transparency::internal
