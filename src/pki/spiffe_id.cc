#include "pki/spiffe_id.h"

#include <vector>

#include "common/names.h"

namespace crypta::pki {
namespace {

constexpr std::string_view kScheme = "spiffe://";

std::string Quote(std::string_view s) { return "\"" + std::string(s.substr(0, 120)) + "\""; }

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? path.npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

// Splits "spiffe://td/p/a/t/h" into the trust domain and the path segments.
Status SplitUri(std::string_view uri, std::string_view what, std::string_view* trust_domain,
                std::vector<std::string_view>* segments) {
  if (uri.size() > kMaxSpiffeIdSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(what) + " is longer than " + std::to_string(kMaxSpiffeIdSize));
  }
  if (!uri.starts_with(kScheme)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(what) + " " + Quote(uri) + " does not start with spiffe://");
  }
  std::string_view rest = uri.substr(kScheme.size());
  size_t slash = rest.find('/');
  *trust_domain = rest.substr(0, slash);
  if (auto st = ValidateTrustDomain(*trust_domain); !st) {
    return MakeError(st.error().WithContext(std::string(what) + " " + Quote(uri)));
  }
  if (slash == std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(what) + " " + Quote(uri) + " has no path");
  }
  *segments = SplitPath(rest.substr(slash + 1));
  return OkStatus();
}

}  // namespace

std::string SpiffeId::ToString() const {
  return std::string(kScheme) + trust_domain + "/tenant/" + tenant + "/workload/" + workload;
}

Status ValidateTrustDomain(std::string_view td) {
  if (td.empty()) return MakeError(ErrorCode::kInvalidArgument, "trust domain is empty");
  if (td.size() > kMaxTrustDomainSize) {
    return MakeError(ErrorCode::kInvalidArgument, "trust domain is longer than 255 bytes");
  }
  for (size_t i = 0; i < td.size(); ++i) {
    char c = td[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "trust domain " + Quote(td) + " has a character not allowed at position " +
                           std::to_string(i) + " (SPIFFE-ID §2.1: [a-z0-9._-])");
    }
  }
  return OkStatus();
}

Result<SpiffeId> MakeSpiffeId(std::string_view trust_domain, std::string_view tenant,
                              std::string_view workload) {
  CRYPTA_RETURN_IF_ERROR(ValidateTrustDomain(trust_domain));
  CRYPTA_RETURN_IF_ERROR(ValidateName(tenant, "tenant"));
  CRYPTA_RETURN_IF_ERROR(ValidateName(workload, "workload"));
  return SpiffeId{std::string(trust_domain), std::string(tenant), std::string(workload)};
}

Result<SpiffeId> ParseSpiffeId(std::string_view uri) {
  std::string_view td;
  std::vector<std::string_view> segments;
  CRYPTA_RETURN_IF_ERROR(SplitUri(uri, "SPIFFE ID", &td, &segments));
  if (segments.size() != 4 || segments[0] != "tenant" || segments[2] != "workload") {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "SPIFFE ID " + Quote(uri) + " is not of the form spiffe://<td>/tenant/<t>/workload/<w>");
  }
  return MakeSpiffeId(td, segments[1], segments[3]);
}

Status ValidateSpiffePattern(std::string_view pattern) {
  std::string_view td;
  std::vector<std::string_view> segments;
  CRYPTA_RETURN_IF_ERROR(SplitUri(pattern, "SPIFFE ID pattern", &td, &segments));
  for (size_t i = 0; i < segments.size(); ++i) {
    std::string_view s = segments[i];
    if (s == "*" || (s == "**" && i + 1 == segments.size())) continue;
    if (s.empty() || s == "." || s == ".." || s.find('*') != std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "SPIFFE ID pattern " + Quote(pattern) + ": bad path segment " +
                           std::to_string(i) + " (\"*\" must be a whole segment, \"**\" last)");
    }
    for (char c : s) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '-' || c == '_';
      if (!ok) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "SPIFFE ID pattern " + Quote(pattern) + ": bad character in segment " +
                             std::to_string(i) + " (SPIFFE-ID §2.2: [A-Za-z0-9._-])");
      }
    }
  }
  return OkStatus();
}

bool MatchesSpiffePattern(std::string_view id, std::string_view pattern) {
  if (!ValidateSpiffePattern(pattern)) return false;
  std::string_view id_td, pattern_td;
  std::vector<std::string_view> id_segments, pattern_segments;
  if (!SplitUri(id, "SPIFFE ID", &id_td, &id_segments)) return false;
  if (!SplitUri(pattern, "pattern", &pattern_td, &pattern_segments)) return false;
  if (id_td != pattern_td) return false;
  for (size_t i = 0; i < pattern_segments.size(); ++i) {
    if (pattern_segments[i] == "**") return id_segments.size() > i;
    if (i >= id_segments.size()) return false;
    if (id_segments[i].empty()) return false;
    if (pattern_segments[i] != "*" && pattern_segments[i] != id_segments[i]) return false;
  }
  return id_segments.size() == pattern_segments.size();
}

}  // namespace crypta::pki
