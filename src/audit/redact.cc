#include "audit/redact.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace crypta::audit {
namespace {

using Span = std::pair<size_t, size_t>;
using Locate = std::function<std::optional<Span>(std::string_view)>;

constexpr int kMaxJsonDepth = 64;

std::string RedactionMarker(std::string_view kind) {
  return "[REDACTED:" + std::string(kind) + "]";
}

std::string DigitsOnly(std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (c >= '0' && c <= '9') digits.push_back(c);
  }
  return digits;
}

// Splits text at spaces and dashes into groups: (offset, length) of each maximal run of
// other characters.
std::vector<Span> Groups(std::string_view text) {
  std::vector<Span> groups;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '-')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '-') ++i;
    if (i > start) groups.emplace_back(start, i - start);
  }
  return groups;
}

// A greedy regex may take in a neighbouring group (say, a quantity after a card number);
// try every contiguous run of groups, longest first, leftmost first.
std::optional<Span> FindValidGroupRun(std::string_view text,
                                      const std::function<bool(std::string_view)>& valid) {
  std::vector<Span> groups = Groups(text);
  for (size_t count = groups.size(); count >= 1; --count) {
    for (size_t first = 0; first + count <= groups.size(); ++first) {
      size_t begin = groups[first].first;
      size_t end = groups[first + count - 1].first + groups[first + count - 1].second;
      if (valid(text.substr(begin, end - begin))) return Span{begin, end - begin};
    }
  }
  return std::nullopt;
}

bool IsCardNumber(std::string_view text) {
  std::string digits = DigitsOnly(text);
  return digits.size() >= 13 && digits.size() <= 19 && PassesLuhn(digits);
}

bool IsIban(std::string_view text) { return PassesIbanMod97(text); }

// SSA never issues area 000, 666 or 900-999, group 00 or serial 0000.
bool IsSsn(std::string_view text) {
  std::string d = DigitsOnly(text);
  if (d.size() != 9) return false;
  std::string_view area(d.data(), 3), group(d.data() + 3, 2), serial(d.data() + 5, 4);
  return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000";
}

bool IsIpv6(std::string_view text) {
  if (text.size() > 45) return false;
  std::string s(text);
  in6_addr addr;
  return inet_pton(AF_INET6, s.c_str(), &addr) == 1;
}

// E.164 numbers have at most 15 digits; require 8 so short codes and counts stay.
bool IsInternationalPhone(std::string_view text) {
  size_t n = DigitsOnly(text).size();
  return n >= 8 && n <= 15;
}

Locate WholeIf(bool (*valid)(std::string_view)) {
  return [valid](std::string_view text) -> std::optional<Span> {
    if (!valid(text)) return std::nullopt;
    return Span{0, text.size()};
  };
}

Locate GroupRunIf(bool (*valid)(std::string_view)) {
  return [valid](std::string_view text) { return FindValidGroupRun(text, valid); };
}

bool ValidKindName(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

}  // namespace

bool PassesLuhn(std::string_view text) {
  std::string digits = DigitsOnly(text);
  if (digits.empty()) return false;
  int sum = 0;
  bool double_it = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (double_it) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double_it = !double_it;
  }
  return sum % 10 == 0;
}

// ISO 13616 / ISO 7064 MOD 97-10: move the first four characters to the end, map letters
// to 10..35, and the number must be 1 mod 97.
bool PassesIbanMod97(std::string_view text) {
  std::string iban;
  for (char c : text) {
    if (c == ' ') continue;
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
    iban.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (iban.size() < 15 || iban.size() > 34) return false;
  if (!std::isalpha(static_cast<unsigned char>(iban[0])) ||
      !std::isalpha(static_cast<unsigned char>(iban[1])) ||
      !std::isdigit(static_cast<unsigned char>(iban[2])) ||
      !std::isdigit(static_cast<unsigned char>(iban[3]))) {
    return false;
  }
  std::rotate(iban.begin(), iban.begin() + 4, iban.end());
  int remainder = 0;
  for (char c : iban) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      remainder = (remainder * 10 + (c - '0')) % 97;
    } else {
      remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
    }
  }
  return remainder == 1;
}

Result<Redactor> Redactor::Create(const RedactorOptions& options) {
  std::vector<std::shared_ptr<const Detector>> detectors;
  auto add = [&](std::string kind, const std::string& pattern, int group, Locate locate,
                 bool icase) -> Status {
    try {
      auto flags = std::regex::ECMAScript | std::regex::optimize;
      if (icase) flags |= std::regex::icase;
      detectors.push_back(std::make_shared<const Detector>(
          Detector{std::move(kind), std::regex(pattern, flags), group, std::move(locate)}));
    } catch (const std::regex_error& e) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "redaction pattern for '" + kind + "' does not compile: " + e.what());
    }
    return OkStatus();
  };
  CRYPTA_RETURN_IF_ERROR(add("email",
                             R"([A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63})", 0,
                             nullptr, false));
  CRYPTA_RETURN_IF_ERROR(
      add("iban", R"(\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b)", 0, GroupRunIf(IsIban), false));
  CRYPTA_RETURN_IF_ERROR(
      add("card", R"(\b(?:\d[ -]?){12,18}\d\b)", 0, GroupRunIf(IsCardNumber), false));
  CRYPTA_RETURN_IF_ERROR(add("ssn", R"(\b\d{3}-\d{2}-\d{4}\b)", 0, WholeIf(IsSsn), false));
  CRYPTA_RETURN_IF_ERROR(add("mrn", options.mrn_pattern, 0, nullptr, true));
  // Every quantifier is bounded: libstdc++ matches by recursion, one level per repetition.
  // No lookbehind in ECMAScript regex: the candidate must follow the start or a character
  // that cannot be part of an address (so "std::string" is not "d::").
  CRYPTA_RETURN_IF_ERROR(
      add("ipv6", R"((?:^|[^0-9A-Za-z_:.])([0-9A-Fa-f:.]{1,44}[0-9A-Fa-f:])(?![0-9A-Za-z_:]))", 1,
          WholeIf(IsIpv6), false));
  CRYPTA_RETURN_IF_ERROR(add(
      "ipv4",
      R"((?:^|[^\d.])((?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))(?!\.?\d))",
      1, nullptr, false));
  CRYPTA_RETURN_IF_ERROR(add("phone", R"(\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?!\d))", 0,
                             WholeIf(IsInternationalPhone), false));
  CRYPTA_RETURN_IF_ERROR(
      add("phone", R"((?:\(\d{3}\) ?|\b\d{3}[-. ])\d{3}[-. ]\d{4}\b)", 0, nullptr, false));
  for (const auto& [name, pattern] : options.extra_patterns) {
    bool builtin = std::any_of(detectors.begin(), detectors.end(),
                               [&name = name](const auto& d) { return d->kind == name; });
    if (!ValidKindName(name) || builtin) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          "extra redaction kind '" + name + "' must be 1-32 of [a-z0-9_-] and not a built-in kind");
    }
    CRYPTA_RETURN_IF_ERROR(add(name, pattern, 0, nullptr, false));
  }
  return Redactor(std::move(detectors));
}

std::string Redactor::RedactOrThrow(std::string_view input) const {
  std::string text(input);
  for (const auto& detector : detectors_) {
    std::string out;
    size_t last = 0;
    auto end = std::sregex_iterator();
    for (auto it = std::sregex_iterator(text.begin(), text.end(), detector->pattern); it != end;
         ++it) {
      const std::smatch& m = *it;
      if (!m[detector->group].matched) continue;
      size_t pos = static_cast<size_t>(m.position(detector->group));
      size_t len = static_cast<size_t>(m.length(detector->group));
      if (len == 0 || pos < last) continue;
      std::optional<Span> span = Span{0, len};
      if (detector->locate) span = detector->locate(std::string_view(text).substr(pos, len));
      if (!span) continue;
      out.append(text, last, pos + span->first - last);
      out += RedactionMarker(detector->kind);
      last = pos + span->first + span->second;
    }
    if (last == 0 && out.empty()) continue;  // nothing replaced
    out.append(text, last, std::string::npos);
    text = std::move(out);
  }
  return text;
}

std::string Redactor::Redact(std::string_view text) const {
  if (text.size() > kMaxRedactBytes) return RedactionMarker("oversize");
  try {
    return RedactOrThrow(text);
  } catch (const std::exception&) {  // std::regex_error (complexity, stack), bad_alloc
    return RedactionMarker("error");
  }
}

namespace {

nlohmann::json RedactJsonAt(const Redactor& redactor, const nlohmann::json& value, int depth) {
  if (value.is_string()) return redactor.Redact(value.get_ref<const std::string&>());
  if (!value.is_structured()) return value;
  if (depth >= kMaxJsonDepth) return RedactionMarker("depth");
  nlohmann::json out = value.is_array() ? nlohmann::json::array() : nlohmann::json::object();
  if (value.is_array()) {
    for (const auto& item : value) out.push_back(RedactJsonAt(redactor, item, depth + 1));
  } else {
    for (auto it = value.begin(); it != value.end(); ++it) {
      out[it.key()] = RedactJsonAt(redactor, it.value(), depth + 1);
    }
  }
  return out;
}

}  // namespace

nlohmann::json Redactor::RedactJson(const nlohmann::json& value) const {
  return RedactJsonAt(*this, value, 0);
}

}  // namespace crypta::audit
