// Replay protection for the OHTTP gateway (RFC 9458 §6.5: "a gateway ... can reject
// requests that reuse an encapsulated key"). crypta-runtime keeps every HPKE encapsulated
// key ("enc", RFC 9458 §4.3) it has accepted under the current OHTTP key, up to a fixed
// capacity; when the set fills, the runtime rotates its OHTTP key (a new key epoch, see
// key_ring.h), so a request sealed to an earlier key can never be accepted again.
#ifndef CRYPTA_RUNTIME_REPLAY_CACHE_H_
#define CRYPTA_RUNTIME_REPLAY_CACHE_H_

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_set>

#include "common/bytes.h"

namespace crypta::runtime {

// A bounded set of encapsulated keys. Thread-safe (one mutex).
class ReplayCache {
 public:
  enum class Outcome {
    kFresh,   // not seen before; now recorded
    kReplay,  // seen before: the request must be refused
    kFull,    // not seen before but the cache is full: nothing recorded, refuse and rotate
  };

  // `capacity` >= 1 (0 is treated as 1).
  explicit ReplayCache(size_t capacity);

  // Records `enc` unless it was seen before or the cache is full.
  Outcome Insert(ByteSpan enc);

  size_t size() const;
  size_t capacity() const { return capacity_; }
  // True once size() == capacity(): the key must be rotated.
  bool full() const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> seen_;
};

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_REPLAY_CACHE_H_
