// Name validation (names.h).
#include "common/names.h"

#include <string>

namespace crypta {

Status ValidateName(std::string_view name, std::string_view what) {
  auto bad = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(what) + " \"" +
                                                      std::string(name.substr(0, 80)) + "\" " +
                                                      why + " (allowed: [a-z0-9][a-z0-9-]{0,62})");
  };
  if (name.empty()) return bad("is empty");
  if (name.size() > 63) return bad("is longer than 63 characters");
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);
    if (!ok) return bad("has a character not allowed at position " + std::to_string(i));
  }
  return OkStatus();
}

}  // namespace crypta
