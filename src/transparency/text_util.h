// Character checks shared by the signed-note parser and the release entry validation
// (internal to src/transparency). Pure functions, thread-safe.
#ifndef CRYPTA_TRANSPARENCY_TEXT_UTIL_H_
#define CRYPTA_TRANSPARENCY_TEXT_UTIL_H_

#include <optional>
#include <string>
#include <string_view>

namespace crypta::transparency::internal {

// Decodes the UTF-8 code point at `pos` (RFC 3629 §4: shortest form, no surrogates, at most
// U+10FFFF) and advances `pos`; false (pos unchanged) when the bytes there are not one.
bool NextCodePoint(std::string_view text, size_t& pos, char32_t& code_point);

// The first problem in `text`, described with its byte offset ("invalid UTF-8 at byte 7",
// "control character 0x0d at byte 12"), or nullopt. Control characters are those below
// U+0020 (signed-note §Format), newline excepted when allow_newline; with strict also DEL
// and the C1 controls U+0080-U+009F.
std::optional<std::string> FindBadCharacter(std::string_view text, bool allow_newline,
                                            bool strict = false);

// For signed-note key names (signed-note §Format): invalid UTF-8, control characters,
// Unicode spaces (White_Space, as Go's unicode.IsSpace) and '+' are refused.
std::optional<std::string> FindBadKeyNameCharacter(std::string_view name);

}  // namespace crypta::transparency::internal

#endif  // CRYPTA_TRANSPARENCY_TEXT_UTIL_H_
