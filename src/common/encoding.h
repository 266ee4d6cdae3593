// Hex, base64 and base64url codecs. Decoders are strict: they reject characters outside
// the alphabet, bad padding and non-zero trailing bits, and name the position.
#ifndef CRYPTA_COMMON_ENCODING_H_
#define CRYPTA_COMMON_ENCODING_H_

#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta {

// Lowercase hex.
std::string HexEncode(ByteSpan data);
// Accepts upper- and lowercase; rejects odd length and non-hex characters.
Result<Bytes> HexDecode(std::string_view hex);

// RFC 4648 §5 base64url without padding (JOSE, RFC 7515 §2).
std::string Base64UrlEncode(ByteSpan data);
// Rejects '=' padding, '+', '/', whitespace and non-canonical trailing bits.
Result<Bytes> Base64UrlDecode(std::string_view text);

// RFC 4648 §4 base64 with padding.
std::string Base64Encode(ByteSpan data);
// Requires canonical padding; rejects whitespace.
Result<Bytes> Base64Decode(std::string_view text);

}  // namespace crypta

#endif  // CRYPTA_COMMON_ENCODING_H_
