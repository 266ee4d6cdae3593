// /metrics for crypta-runtime: Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Route labels come from
// a fixed set (RouteLabel in oip_router.h), never raw paths, so label cardinality stays
// bounded; no label ever holds request content.
//
//   crypta_runtime_http_requests_total{route,channel,status}        counter
//   crypta_runtime_http_request_duration_seconds{route,channel}     histogram
//   crypta_runtime_attestation_refreshes_total{kind}                counter (cached|fresh)
//   crypta_runtime_attestation_failures_total{kind}                 counter
//   crypta_runtime_ohttp_replays_total, crypta_runtime_ohttp_key_rotations_total,
//   crypta_runtime_ohttp_key_epoch                                  counter, counter, gauge
//   crypta_runtime_inference_batches_total, crypta_runtime_inference_requests_total,
//   crypta_runtime_inference_batch_size                             counter, counter, histogram
//
// Thread-safe: every method takes one mutex.
#ifndef CRYPTA_RUNTIME_METRICS_H_
#define CRYPTA_RUNTIME_METRICS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace crypta::runtime {

// A snapshot of the batcher's counters. batch_size_counts[n] = batches of n requests
// (index 0 unused).
struct BatchStatsView {
  uint64_t batches = 0;
  uint64_t requests = 0;
  std::vector<uint64_t> batch_size_counts;
};

// Values owned elsewhere, read when /metrics is rendered.
struct MetricsExtras {
  std::optional<BatchStatsView> batch;
  uint64_t ohttp_replays = 0;
  uint64_t ohttp_key_rotations = 0;
  uint64_t ohttp_key_epoch = 0;
};

class Metrics {
 public:
  // Upper bounds of the latency histogram buckets, in seconds (+Inf is implicit).
  static const std::vector<double>& LatencyBuckets();

  // One finished HTTP request. `channel` is "plain" (the outer HTTP server) or "ohttp"
  // (an inner request dispatched from an OHTTP message).
  void ObserveRequest(std::string_view route, std::string_view channel, int status, double seconds);
  // One evidence collection for /v1/attestation; `kind` is "cached" or "fresh".
  void CountAttestation(std::string_view kind, bool ok);

  // The whole exposition text, families in a fixed order. Without `inner_detail` the
  // requests inside OHTTP are one aggregate series (route="(inside ohttp)", status="all"):
  // what clients asked the model for, and how it answered, is theirs (issue 14).
  std::string Render(const MetricsExtras& extras, bool inner_detail = false) const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  // non-cumulative, one per LatencyBuckets() entry + Inf
    double sum = 0;
    uint64_t count = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Histogram> latency_;
  std::map<std::string, uint64_t> attestations_;
  std::map<std::string, uint64_t> attestation_failures_;
};

// Escapes a label value (backslash, double quote, newline) for the text format.
std::string EscapeLabelValue(std::string_view value);

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_METRICS_H_
