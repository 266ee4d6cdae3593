// RFC 3339 timestamps <-> unix seconds (UTC).
#ifndef CRYPTA_COMMON_TIME_UTIL_H_
#define CRYPTA_COMMON_TIME_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace crypta {

// Accepts "2025-06-01T00:00:00Z", fractional seconds, and "+hh:mm"/"-hh:mm" offsets,
// or a plain date "2025-06-01" (midnight UTC).
Result<int64_t> ParseRfc3339(std::string_view text);
// "2025-06-01T00:00:00Z".
std::string FormatRfc3339(int64_t unix_seconds);
// The current time in unix seconds.
int64_t UnixNow();

}  // namespace crypta

#endif  // CRYPTA_COMMON_TIME_UTIL_H_
