// Redaction of personal data from audit text before it is hashed and stored.
//
// Built-in detectors, applied in this order (earlier ones win where matches overlap):
//   email  — local@domain.tld
//   iban   — ISO 13616 IBANs (optionally grouped by spaces) passing the ISO 7064 mod-97 check
//   card   — payment card numbers of 13–19 digits, optionally separated by spaces or dashes,
//            that pass the Luhn check (others are left alone)
//   ssn    — US Social Security numbers NNN-NN-NNNN (not area 000/666/9xx, group 00 or
//            serial 0000, which the SSA never issues)
//   mrn    — medical record numbers: "MRN" then an optional ":", "#" or "-" and 6–10 digits
//            (case-insensitive; the pattern is configurable)
//   ipv6   — IPv6 addresses (RFC 4291 §2.2 text forms, validated with inet_pton)
//   ipv4   — dotted-quad IPv4 addresses with each octet 0–255
//   phone  — international (+CC ...) and US ((NNN) NNN-NNNN, NNN-NNN-NNNN, NNN.NNN.NNNN)
// then the configured extra patterns, in name order. Each match becomes "[REDACTED:<kind>]".
//
// Redactor is immutable after Create() and safe to use from many threads at once.
#ifndef CRYPTA_AUDIT_REDACT_H_
#define CRYPTA_AUDIT_REDACT_H_

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace crypta::audit {

// Texts (or JSON string values) longer than this are replaced whole by
// "[REDACTED:oversize]": libstdc++'s std::regex recurses once per matched character, so
// unbounded input could exhaust the stack. The audit log caps its fields accordingly.
inline constexpr size_t kMaxRedactBytes = 8 * 1024;

struct RedactorOptions {
  // ECMAScript regex for medical record numbers (matched case-insensitively).
  std::string mrn_pattern = R"(\bMRN[ \t]{0,3}[:#-]?[ \t]{0,3}\d{6,10}\b)";
  // Extra detectors: kind name ([a-z0-9_-]{1,32}) → ECMAScript regex. Every match is
  // redacted as "[REDACTED:<name>]". Bound every quantifier ({m,n}, not * or +): the
  // regex engine recurses once per repeated character.
  std::map<std::string, std::string> extra_patterns;
};

class Redactor {
 public:
  // Fails with kInvalidArgument naming the pattern when a regex does not compile or an
  // extra kind name is malformed or clashes with a built-in kind.
  static Result<Redactor> Create(const RedactorOptions& options = {});

  // Returns `text` with every detected item replaced. Never fails: if the regex engine
  // gives up on an input, the whole text is replaced by "[REDACTED:error]".
  std::string Redact(std::string_view text) const;

  // Returns a copy of `value` with Redact applied to every string value, at any depth.
  // Object keys, numbers, booleans and null are kept as they are.
  // Containers nested deeper than 64 levels are replaced by "[REDACTED:depth]".
  nlohmann::json RedactJson(const nlohmann::json& value) const;

  // One detector: the regex finds candidates (capture group `group`, 0 = whole match);
  // `locate`, when set, checks a candidate (Luhn, mod-97, ...) and returns the offset and
  // length of the part to redact inside it, or nullopt to leave it alone.
  struct Detector {
    std::string kind;
    std::regex pattern;
    int group = 0;
    std::function<std::optional<std::pair<size_t, size_t>>(std::string_view)> locate;
  };

 private:
  explicit Redactor(std::vector<std::shared_ptr<const Detector>> detectors)
      : detectors_(std::move(detectors)) {}
  std::string RedactOrThrow(std::string_view text) const;

  std::vector<std::shared_ptr<const Detector>> detectors_;
};

// Exposed for tests: the checks behind the card and IBAN detectors. Non-digit separators
// (space, dash) are ignored.
bool PassesLuhn(std::string_view digits);
bool PassesIbanMod97(std::string_view iban);

}  // namespace crypta::audit

#endif  // CRYPTA_AUDIT_REDACT_H_
