#include "runtime/replay_cache.h"

#include <algorithm>

namespace crypta::runtime {

ReplayCache::ReplayCache(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {
  seen_.reserve(std::min<size_t>(capacity_, 4096));
}

ReplayCache::Outcome ReplayCache::Insert(ByteSpan enc) {
  std::string key = ToString(enc);
  std::lock_guard<std::mutex> lock(mu_);
  if (seen_.count(key) != 0) return Outcome::kReplay;
  if (seen_.size() >= capacity_) return Outcome::kFull;
  seen_.insert(std::move(key));
  return Outcome::kFresh;
}

size_t ReplayCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.size();
}

bool ReplayCache::full() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.size() >= capacity_;
}

}  // namespace crypta::runtime
