// Kubernetes-style resource quantities for the deployment spec (spec.h).
#include <cctype>
#include <cmath>

#include "deploy/spec.h"
#include "deploy/spec_internal.h"

namespace crypta::deploy {

using internal::Invalid;

std::string FormatCpuQuantity(double cpu) {
  if (!std::isfinite(cpu) || std::fabs(cpu) > 1e12) return std::to_string(cpu);
  const long long milli = std::llround(cpu * 1000);
  if (milli % 1000 == 0) return std::to_string(milli / 1000);
  return std::to_string(milli) + "m";
}

std::string FormatMemoryQuantity(int64_t bytes) {
  static constexpr std::pair<const char*, int> kSuffixes[] = {
      {"Pi", 50}, {"Ti", 40}, {"Gi", 30}, {"Mi", 20}, {"Ki", 10}};
  if (bytes > 0) {
    for (const auto& [suffix, shift] : kSuffixes) {
      const int64_t unit = int64_t{1} << shift;
      if (bytes % unit == 0) return std::to_string(bytes / unit) + suffix;
    }
  }
  return std::to_string(bytes);
}

namespace {
// Splits "<digits>[.<digits>]<suffix>" into whole, fraction digits and suffix.
bool SplitDecimal(std::string_view text, std::string_view* whole, std::string_view* frac,
                  std::string_view* suffix) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  *whole = text.substr(0, i);
  *frac = {};
  if (i < text.size() && text[i] == '.') {
    const size_t start = ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    *frac = text.substr(start, i - start);
    if (frac->empty()) return false;
  }
  *suffix = text.substr(i);
  return !whole->empty() && whole->size() <= 18 && frac->size() <= 9;
}

uint64_t ParseDigits(std::string_view digits) {
  uint64_t v = 0;
  for (char c : digits) v = v * 10 + static_cast<uint64_t>(c - '0');
  return v;
}
}  // namespace

Result<int64_t> ParseMemoryQuantity(std::string_view text) {
  if (!text.empty() && text[0] == '-') {
    return MakeError(Invalid("must be greater than 0", text));
  }
  std::string_view whole, frac, suffix;
  // Kubernetes resource.Quantity suffixes: binary Ki..Ei, decimal k..E (K accepted too).
  static const std::pair<std::string_view, unsigned __int128> kUnits[] = {
      {"", 1},
      {"k", 1000},
      {"K", 1000},
      {"M", 1000000},
      {"G", 1000000000},
      {"T", 1000000000000ULL},
      {"P", 1000000000000000ULL},
      {"E", 1000000000000000000ULL},
      {"Ki", 1ULL << 10},
      {"Mi", 1ULL << 20},
      {"Gi", 1ULL << 30},
      {"Ti", 1ULL << 40},
      {"Pi", 1ULL << 50},
      {"Ei", 1ULL << 60}};
  const auto bad = [&] {
    return MakeError(
        Invalid("not a memory quantity (bytes, or a number with Ki, Mi, Gi, Ti, "
                "Pi, k, M, G, T, P)",
                text));
  };
  if (!SplitDecimal(text, &whole, &frac, &suffix)) return bad();
  const unsigned __int128* unit = nullptr;
  for (const auto& [name, value] : kUnits) {
    if (name == suffix) unit = &value;
  }
  if (unit == nullptr) return bad();
  const uint64_t whole_value = ParseDigits(whole);
  if (static_cast<unsigned __int128>(whole_value) * *unit >
      static_cast<unsigned __int128>(kMaxMemoryBytes)) {
    return MakeError(Invalid("must be at most 1Pi", text));
  }
  unsigned __int128 pow10 = 1;
  for (size_t i = 0; i < frac.size(); ++i) pow10 *= 10;
  const unsigned __int128 scaled =
      static_cast<unsigned __int128>(whole_value) * pow10 + ParseDigits(frac);  // value * 10^|frac|
  // Overflow-free: whole * unit <= 2^50 above, so scaled * unit < 2^92.
  const unsigned __int128 numerator = scaled * *unit;
  if (numerator % pow10 != 0) return MakeError(Invalid("not a whole number of bytes", text));
  const unsigned __int128 bytes = numerator / pow10;
  if (bytes == 0) return MakeError(Invalid("must be greater than 0", text));
  if (bytes > static_cast<unsigned __int128>(kMaxMemoryBytes)) {
    return MakeError(Invalid("must be at most 1Pi", text));
  }
  return static_cast<int64_t>(bytes);
}

Result<double> ParseCpuQuantity(std::string_view text) {
  if (!text.empty() && text[0] == '-') return MakeError(Invalid("must be greater than 0", text));
  std::string_view whole, frac, suffix;
  if (!SplitDecimal(text, &whole, &frac, &suffix) || (suffix != "" && suffix != "m") ||
      (suffix == "m" && !frac.empty())) {
    return MakeError(
        Invalid("not a cpu quantity (cores such as 8 or 0.5, or millicores such "
                "as 500m)",
                text));
  }
  if (frac.size() > 3) return MakeError(Invalid("must be a multiple of 0.001 (1m)", text));
  uint64_t milli = ParseDigits(whole);
  if (suffix.empty()) {
    std::string padded(frac);
    padded.resize(3, '0');
    if (milli > 1000000) return MakeError(Invalid("must be at most 1024", text));
    milli = milli * 1000 + ParseDigits(padded);
  }
  if (milli == 0) return MakeError(Invalid("must be greater than 0", text));
  if (milli > 1024 * 1000) return MakeError(Invalid("must be at most 1024", text));
  return static_cast<double>(milli) / 1000.0;
}

}  // namespace crypta::deploy
