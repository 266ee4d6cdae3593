#include "common/json_canonical.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

namespace crypta {
namespace {

using Json = nlohmann::json;

// Hard recursion bound for CanonicalizeJson on in-process values (parsed values are
// already bounded by JsonParseLimits::max_depth).
constexpr int kMaxCanonicalDepth = 256;
// 2^53: the largest integer below which every integer is an exact IEEE-754 double.
constexpr uint64_t kMaxExactInteger = uint64_t{1} << 53;

// Decodes UTF-8 (RFC 3629: shortest forms only, no surrogates, <= U+10FFFF) into UTF-16
// code units. Returns false on any invalid sequence.
bool Utf8ToUtf16(std::string_view s, std::u16string* out) {
  out->clear();
  size_t i = 0;
  while (i < s.size()) {
    uint8_t b0 = static_cast<uint8_t>(s[i]);
    uint32_t cp = 0;
    size_t len = 0;
    if (b0 < 0x80) {
      cp = b0;
      len = 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      cp = b0 & 0x1F;
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      cp = b0 & 0x0F;
      len = 3;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      cp = b0 & 0x07;
      len = 4;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t j = 1; j < len; ++j) {
      uint8_t b = static_cast<uint8_t>(s[i + j]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;  // overlong form, out of range, or an encoded surrogate
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out->push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out->push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out->push_back(static_cast<char16_t>(cp));
    }
    i += len;
  }
  return true;
}

// RFC 8785 §3.2.2.2: serializes a (valid UTF-8) string with only the required escapes.
void AppendString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : s) {
    uint8_t b = static_cast<uint8_t>(c);
    switch (b) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case 0x08:
        out->append("\\b");
        break;
      case 0x09:
        out->append("\\t");
        break;
      case 0x0A:
        out->append("\\n");
        break;
      case 0x0C:
        out->append("\\f");
        break;
      case 0x0D:
        out->append("\\r");
        break;
      default:
        if (b < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[b >> 4]);
          out->push_back(kHex[b & 0xF]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// Integers that nlohmann keeps as int64/uint64 are IEEE-754 doubles to JCS (as to
// ECMAScript's JSON.parse). Up to 2^53 every integer is exact. Beyond that, accept the
// integer only when the ECMAScript text of its double is the integer's own digits, so no
// value is silently changed (9007199254740993 is refused) while canonical output always
// re-canonicalizes to itself (-555500415155255300 is accepted).
template <typename Int>
Result<std::string> FormatJsonInteger(Int i) {
  std::string digits = std::to_string(i);
  uint64_t magnitude = i < 0 ? uint64_t{0} - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
  if (magnitude <= kMaxExactInteger) return digits;  // below 1e21: plain digits
  Result<std::string> as_double = FormatJsonNumber(static_cast<double>(i));
  if (!as_double || *as_double != digits) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "JCS: integer " + digits + " is not exactly an IEEE-754 double");
  }
  return digits;
}

Status AppendCanonical(const Json& v, int depth, std::string* out);

Status AppendObject(const Json& v, int depth, std::string* out) {
  // RFC 8785 §3.2.3: sort member names by their UTF-16 code units, not by UTF-8 bytes
  // (the order nlohmann's std::map keeps).
  std::vector<std::pair<std::u16string, Json::const_iterator>> members;
  members.reserve(v.size());
  for (auto it = v.begin(); it != v.end(); ++it) {
    std::u16string key16;
    if (!Utf8ToUtf16(it.key(), &key16)) {
      return MakeError(ErrorCode::kInvalidArgument, "JCS: member name is not valid UTF-8");
    }
    members.emplace_back(std::move(key16), it);
  }
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  out->push_back('{');
  bool first = true;
  for (const auto& [key16, it] : members) {
    if (!first) out->push_back(',');
    first = false;
    AppendString(it.key(), out);
    out->push_back(':');
    CRYPTA_RETURN_IF_ERROR(AppendCanonical(it.value(), depth + 1, out));
  }
  out->push_back('}');
  return OkStatus();
}

Status AppendCanonical(const Json& v, int depth, std::string* out) {
  if (depth > kMaxCanonicalDepth) {
    return MakeError(ErrorCode::kInvalidArgument, "JCS: nesting deeper than 256 levels");
  }
  switch (v.type()) {
    case Json::value_t::null:
      out->append("null");
      return OkStatus();
    case Json::value_t::boolean:
      out->append(v.get<bool>() ? "true" : "false");
      return OkStatus();
    case Json::value_t::number_integer: {
      CRYPTA_ASSIGN_OR_RETURN(std::string num, FormatJsonInteger(v.get<int64_t>()));
      out->append(num);
      return OkStatus();
    }
    case Json::value_t::number_unsigned: {
      CRYPTA_ASSIGN_OR_RETURN(std::string num, FormatJsonInteger(v.get<uint64_t>()));
      out->append(num);
      return OkStatus();
    }
    case Json::value_t::number_float: {
      CRYPTA_ASSIGN_OR_RETURN(std::string num, FormatJsonNumber(v.get<double>()));
      out->append(num);
      return OkStatus();
    }
    case Json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      std::u16string ignored;
      if (!Utf8ToUtf16(s, &ignored)) {
        return MakeError(ErrorCode::kInvalidArgument, "JCS: string is not valid UTF-8");
      }
      AppendString(s, out);
      return OkStatus();
    }
    case Json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const Json& e : v) {
        if (!first) out->push_back(',');
        first = false;
        CRYPTA_RETURN_IF_ERROR(AppendCanonical(e, depth + 1, out));
      }
      out->push_back(']');
      return OkStatus();
    }
    case Json::value_t::object:
      return AppendObject(v, depth, out);
    case Json::value_t::binary:
      return MakeError(ErrorCode::kInvalidArgument, "JCS: binary values have no JSON form");
    case Json::value_t::discarded:
      return MakeError(ErrorCode::kInvalidArgument, "JCS: discarded value");
  }
  return MakeError(ErrorCode::kInternal, "JCS: unknown JSON value type");
}

// Maximum nesting of arrays/objects in `text`, counting brackets outside strings. Runs
// before nlohmann builds anything, so hostile nesting costs no allocation.
int MaxNesting(std::string_view text) {
  int depth = 0;
  int max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // skip the escaped character
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

}  // namespace

Result<std::string> FormatJsonNumber(double value) {
  if (!std::isfinite(value)) {
    return MakeError(ErrorCode::kInvalidArgument, "JCS: NaN and Infinity are not JSON numbers");
  }
  if (value == 0) return std::string("0");  // also -0 (ECMAScript ToString(-0) is "0")
  std::string out;
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  // std::to_chars gives the shortest digits that round-trip, ties broken towards the
  // closer value: the digit string s of ECMAScript Number::toString step 5.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  if (ec != std::errc()) return MakeError(ErrorCode::kInternal, "JCS: to_chars failed");
  std::string_view sci(buf, static_cast<size_t>(end - buf));  // d[.ddd]e±XX
  size_t e_pos = sci.find('e');
  if (e_pos == std::string_view::npos) {
    return MakeError(ErrorCode::kInternal, "JCS: unexpected to_chars output");
  }
  std::string digits(1, sci[0]);
  if (e_pos > 2) digits.append(sci.substr(2, e_pos - 2));
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int exp10 = 0;
  std::string_view exp_text = sci.substr(e_pos + 1);
  if (!exp_text.empty() && exp_text[0] == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp10);

  // value = 0.d1d2...dk × 10^n (ECMAScript's n); k = number of digits.
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;
  if (k <= n && n <= 21) {
    out.append(digits);
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<size_t>(n));
    out.push_back('.');
    out.append(digits, static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out.append("0.");
    out.append(static_cast<size_t>(-n), '0');
    out.append(digits);
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out.push_back('e');
    out.push_back(n - 1 >= 0 ? '+' : '-');
    out.append(std::to_string(std::abs(n - 1)));
  }
  return out;
}

Result<std::string> CanonicalizeJson(const nlohmann::json& value) {
  std::string out;
  CRYPTA_RETURN_IF_ERROR(AppendCanonical(value, 0, &out));
  return out;
}

Result<nlohmann::json> ParseJsonStrict(std::string_view text, const JsonParseLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return MakeError(ErrorCode::kResourceExhausted, "JSON: " + std::to_string(text.size()) +
                                                        " bytes exceeds the cap of " +
                                                        std::to_string(limits.max_bytes));
  }
  if (int depth = MaxNesting(text); depth > limits.max_depth) {
    return MakeError(ErrorCode::kResourceExhausted, "JSON: nesting depth " + std::to_string(depth) +
                                                        " exceeds the cap of " +
                                                        std::to_string(limits.max_depth));
  }
  // Duplicate member names: nlohmann keeps the last one silently, so track the names of
  // every open object through the parser callback.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  bool has_duplicate = false;
  auto callback = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string() &&
            !open_objects.back().insert(parsed.get<std::string>()).second && !has_duplicate) {
          has_duplicate = true;
          duplicate = parsed.get<std::string>().substr(0, 64);
        }
        break;
      default:
        break;
    }
    return true;
  };
  try {
    Json parsed = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                              /*ignore_comments=*/false);
    if (has_duplicate) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "JSON: duplicate member name \"" + duplicate + "\"");
    }
    return parsed;
  } catch (const Json::parse_error& e) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "JSON: malformed at byte " + std::to_string(e.byte));
  } catch (const Json::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("JSON: ") + e.what());
  } catch (const std::bad_alloc&) {
    return MakeError(ErrorCode::kResourceExhausted, "JSON: out of memory");
  }
}

Result<std::string> CanonicalizeJsonText(std::string_view text, const JsonParseLimits& limits) {
  CRYPTA_ASSIGN_OR_RETURN(Json parsed, ParseJsonStrict(text, limits));
  return CanonicalizeJson(parsed);
}

}  // namespace crypta
