#include "audit/denials.h"

#include <cctype>

namespace crypta::audit {

std::string DenialAggregator::ReasonClass(std::string_view reason) {
  // Values quoted in reasons (hex digests, nonces, tokens, numbers) become "*" and "#".
  std::string out;
  size_t i = 0;
  auto token_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '+' ||
           c == '/' || c == '=';
  };
  while (i < reason.size() && out.size() < 160) {
    size_t j = i;
    while (j < reason.size() && token_char(reason[j])) ++j;
    if (j - i >= 12) {
      out += '*';
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(reason[i]))) {
      while (i < reason.size() && std::isdigit(static_cast<unsigned char>(reason[i]))) ++i;
      out += '#';
    } else {
      out += reason[i++];
    }
  }
  return out;
}

bool DenialAggregator::Admit(std::string_view source, std::string_view action,
                             std::string_view tenant, std::string_view reason, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (kinds_.empty() && over_caps_ == 0) interval_start_ = now;
  Key key{std::string(source), std::string(action), ReasonClass(reason)};
  auto it = kinds_.find(key);
  if (it != kinds_.end()) {
    ++it->second.suppressed;
    return false;
  }
  size_t& from_source = per_source_[std::string(source)];
  if (from_source >= options_.max_per_source || kinds_.size() >= options_.max_total) {
    ++over_caps_;
    return false;
  }
  ++from_source;
  kinds_.emplace(std::move(key), Kind{std::string(tenant), std::string(reason), 0});
  return true;
}

std::vector<DenialSummary> DenialAggregator::TakeLocked() {
  std::vector<DenialSummary> out;
  for (auto& [key, kind] : kinds_) {
    if (kind.suppressed == 0) continue;
    out.push_back({std::get<0>(key), std::get<1>(key), kind.tenant, kind.reason, kind.suppressed});
  }
  if (over_caps_ > 0) {
    out.push_back(
        {"*", "*", "", "denials of further kinds beyond the per-interval caps", over_caps_});
  }
  kinds_.clear();
  per_source_.clear();
  over_caps_ = 0;
  return out;
}

std::vector<DenialSummary> DenialAggregator::Flush(int64_t now, bool force) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!force && now < interval_start_ + options_.interval_s) return {};
  interval_start_ = now;
  return TakeLocked();
}

}  // namespace crypta::audit
