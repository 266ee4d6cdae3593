// JSON Canonicalization Scheme (JCS, RFC 8785) and a strict JSON parser for untrusted text.
//
// Canonical form (RFC 8785 §3.2): no whitespace; literals as-is; strings with only the
// required escapes (§3.2.2.2); numbers as ECMAScript Number.prototype.toString
// (§3.2.2.3); object members sorted by the UTF-16 code units of their names (§3.2.3).
//
// Numbers: JCS treats every number as an IEEE-754 double. nlohmann::json keeps integers
// that fit int64/uint64 as integers; crypta reads them as doubles too, but refuses an
// integer whose double is not exactly itself in ECMAScript form (e.g. 9007199254740993,
// which would silently become ...992), so two different integers never share a canonical
// form, and canonical output always re-canonicalizes to itself. Every |n| <= 2^53 is
// accepted. Numbers written with a fraction or exponent (or too large for uint64) are
// doubles already and are formatted as ECMAScript does.
// NaN and ±Infinity are rejected (RFC 8785 §3.2.2.3).
//
// All functions are pure and thread-safe.
#ifndef CRYPTA_COMMON_JSON_CANONICAL_H_
#define CRYPTA_COMMON_JSON_CANONICAL_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace crypta {

// Limits for ParseJsonStrict. The defaults suit protocol messages (tokens, JWKs, RCAR).
struct JsonParseLimits {
  size_t max_bytes = 1 << 20;  // input text size cap (kResourceExhausted)
  int max_depth = 64;          // nesting of arrays/objects (kResourceExhausted)
};

// Returns the RFC 8785 canonical UTF-8 text of `value`.
// Fails (kInvalidArgument) on non-finite numbers, inexact integers (above), strings or member
// names that are not valid UTF-8 (including encoded surrogates), binary values, and
// nesting deeper than 256 levels.
[[nodiscard]] Result<std::string> CanonicalizeJson(const nlohmann::json& value);

// Parses untrusted JSON text (RFC 8259) strictly: size and depth caps, duplicate member
// names rejected (RFC 8785 §3.1 / I-JSON), invalid UTF-8 rejected, no trailing data, no
// comments. Errors are kInvalidArgument (malformed) or kResourceExhausted (a cap); the
// message names the byte position where nlohmann reports one. Never throws.
[[nodiscard]] Result<nlohmann::json> ParseJsonStrict(std::string_view text,
                                                     const JsonParseLimits& limits = {});

// ParseJsonStrict followed by CanonicalizeJson.
[[nodiscard]] Result<std::string> CanonicalizeJsonText(std::string_view text,
                                                       const JsonParseLimits& limits = {});

// ECMAScript Number::toString(value) for a finite double (RFC 8785 §3.2.2.3; "-0" gives
// "0"). Fails with kInvalidArgument for NaN and ±Infinity.
[[nodiscard]] Result<std::string> FormatJsonNumber(double value);

}  // namespace crypta

#endif  // CRYPTA_COMMON_JSON_CANONICAL_H_
