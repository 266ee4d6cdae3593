// Aggregation of unauthenticated denials (issue 14): anonymous traffic must not grow the
// audit log or the disk without bound, yet every kind of denial must stay visible. Within
// one interval the first denial of each (source, action, reason class) is recorded as it
// happens — up to a cap per source and in total — and the rest are only counted; when the
// interval ends, one summary entry per counted kind (and one for kinds over the caps)
// records how many there were. So the log grows by at most
// max_total + max_total + 1 entries per interval, whatever the request rate.
//
// Thread-safe (one mutex). Time is passed in.
#ifndef CRYPTA_AUDIT_DENIALS_H_
#define CRYPTA_AUDIT_DENIALS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace crypta::audit {

struct DenialSummary {
  std::string source, action, tenant, reason;  // reason: the first one seen of its kind
  uint64_t suppressed = 0;                     // denials counted but not recorded one by one
};

class DenialAggregator {
 public:
  struct Options {
    int64_t interval_s = 60;
    size_t max_per_source = 16;  // kinds recorded one by one per source and interval
    size_t max_total = 256;      // kinds recorded one by one per interval
  };
  DenialAggregator() : DenialAggregator(Options{}) {}
  explicit DenialAggregator(Options options) : options_(options) {}

  // True when this denial should be recorded now; false when it was only counted.
  bool Admit(std::string_view source, std::string_view action, std::string_view tenant,
             std::string_view reason, int64_t now);

  // The summaries of an interval that has ended by `now` (or of the current one when
  // `force`), which then starts afresh. Empty when nothing was suppressed.
  std::vector<DenialSummary> Flush(int64_t now, bool force = false);

  // The reason class: the reason with long tokens (hex, base64: 12+ characters) replaced by
  // "*" and numbers by "#", at most 160 bytes, so reasons that differ only in the values
  // they quote (a measurement, a nonce) are one kind. The caps bound the rest.
  static std::string ReasonClass(std::string_view reason);

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // source, action, class
  struct Kind {
    std::string tenant, reason;
    uint64_t suppressed = 0;
  };
  std::vector<DenialSummary> TakeLocked();

  Options options_;
  std::mutex mu_;
  int64_t interval_start_ = 0;
  std::map<Key, Kind> kinds_;
  std::map<std::string, size_t> per_source_;
  uint64_t over_caps_ = 0;  // denials of kinds beyond the caps
};

}  // namespace crypta::audit

#endif  // CRYPTA_AUDIT_DENIALS_H_
