#include "runtime/metrics.h"

#include <algorithm>
#include <cstdio>

namespace crypta::runtime {
namespace {

// Prometheus floats: shortest round-trippable form is not needed; %.9g keeps them exact
// enough for seconds and exact for integers below 1e9.
std::string Num(double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", value);
  return buf;
}

void Header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

const std::vector<double>& Metrics::LatencyBuckets() {
  static const std::vector<double> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                               0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                               1,      2.5,     5,      10};
  return kBuckets;
}

void Metrics::ObserveRequest(std::string_view route, std::string_view channel, int status,
                             double seconds) {
  const auto& bounds = LatencyBuckets();
  const size_t bucket =
      static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{std::string(route), std::string(channel), status}];
  Histogram& h = latency_[{std::string(route), std::string(channel)}];
  if (h.buckets.empty()) h.buckets.assign(bounds.size() + 1, 0);
  ++h.buckets[bucket];
  h.sum += seconds;
  ++h.count;
}

void Metrics::CountAttestation(std::string_view kind, bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  ++(ok ? attestations_ : attestation_failures_)[std::string(kind)];
}

std::string Metrics::Render(const MetricsExtras& extras, bool inner_detail) const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  // The inner (OHTTP) series folded into one unless detail is allowed.
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests;
  std::map<std::pair<std::string, std::string>, Histogram> latency;
  constexpr char kInner[] = "(inside ohttp)";
  constexpr int kAllStatuses = -1;
  for (const auto& [key, count] : requests_) {
    const bool fold = !inner_detail && std::get<1>(key) == "ohttp";
    requests[fold ? std::make_tuple(std::string(kInner), std::string("ohttp"), kAllStatuses)
                  : key] += count;
  }
  for (const auto& [key, h] : latency_) {
    const bool fold = !inner_detail && key.second == "ohttp";
    Histogram& into = latency[fold ? std::make_pair(std::string(kInner), key.second) : key];
    if (into.buckets.empty()) into.buckets.assign(h.buckets.size(), 0);
    for (size_t i = 0; i < h.buckets.size(); ++i) into.buckets[i] += h.buckets[i];
    into.sum += h.sum;
    into.count += h.count;
  }

  Header(out, "crypta_runtime_http_requests_total", "counter",
         "HTTP requests by route, channel (plain or ohttp) and status.");
  for (const auto& [key, count] : requests) {
    const auto& [route, channel, status] = key;
    out += "crypta_runtime_http_requests_total{route=\"" + EscapeLabelValue(route) +
           "\",channel=\"" + EscapeLabelValue(channel) + "\",status=\"" +
           (status == kAllStatuses ? std::string("all") : std::to_string(status)) + "\"} " +
           std::to_string(count) + "\n";
  }

  Header(out, "crypta_runtime_http_request_duration_seconds", "histogram",
         "HTTP request latency in seconds.");
  const auto& bounds = LatencyBuckets();
  for (const auto& [key, h] : latency) {
    const std::string labels = "route=\"" + EscapeLabelValue(key.first) + "\",channel=\"" +
                               EscapeLabelValue(key.second) + "\"";
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds.size(); ++i) {
      cumulative += h.buckets[i];
      const std::string le = i < bounds.size() ? Num(bounds[i]) : "+Inf";
      out += "crypta_runtime_http_request_duration_seconds_bucket{" + labels + ",le=\"" + le +
             "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "crypta_runtime_http_request_duration_seconds_sum{" + labels + "} " + Num(h.sum) + "\n";
    out += "crypta_runtime_http_request_duration_seconds_count{" + labels + "} " +
           std::to_string(h.count) + "\n";
  }

  Header(out, "crypta_runtime_attestation_refreshes_total", "counter",
         "Evidence collected for /v1/attestation (cached: per key epoch; fresh: with a nonce).");
  for (const char* kind : {"cached", "fresh"}) {
    auto it = attestations_.find(kind);
    out += std::string("crypta_runtime_attestation_refreshes_total{kind=\"") + kind + "\"} " +
           std::to_string(it == attestations_.end() ? 0 : it->second) + "\n";
  }
  Header(out, "crypta_runtime_attestation_failures_total", "counter",
         "Failed evidence collections for /v1/attestation.");
  for (const char* kind : {"cached", "fresh"}) {
    auto it = attestation_failures_.find(kind);
    out += std::string("crypta_runtime_attestation_failures_total{kind=\"") + kind + "\"} " +
           std::to_string(it == attestation_failures_.end() ? 0 : it->second) + "\n";
  }

  Header(out, "crypta_runtime_ohttp_replays_total", "counter",
         "OHTTP requests refused because their encapsulated key was already used.");
  out += "crypta_runtime_ohttp_replays_total " + std::to_string(extras.ohttp_replays) + "\n";
  Header(out, "crypta_runtime_ohttp_key_rotations_total", "counter",
         "OHTTP key rotations (a full replay cache starts a new key epoch).");
  out += "crypta_runtime_ohttp_key_rotations_total " + std::to_string(extras.ohttp_key_rotations) +
         "\n";
  Header(out, "crypta_runtime_ohttp_key_epoch", "gauge", "The current OHTTP key epoch.");
  out += "crypta_runtime_ohttp_key_epoch " + std::to_string(extras.ohttp_key_epoch) + "\n";

  if (extras.batch) {
    const BatchStatsView& b = *extras.batch;
    Header(out, "crypta_runtime_inference_batches_total", "counter", "Model runs (batches).");
    out += "crypta_runtime_inference_batches_total " + std::to_string(b.batches) + "\n";
    Header(out, "crypta_runtime_inference_requests_total", "counter",
           "Inference requests served through the batcher.");
    out += "crypta_runtime_inference_requests_total " + std::to_string(b.requests) + "\n";
    Header(out, "crypta_runtime_inference_batch_size", "histogram", "Requests per model run.");
    uint64_t cumulative = 0, weighted = 0;
    for (size_t n = 1; n < b.batch_size_counts.size(); ++n) {
      cumulative += b.batch_size_counts[n];
      weighted += n * b.batch_size_counts[n];
      out += "crypta_runtime_inference_batch_size_bucket{le=\"" + std::to_string(n) + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "crypta_runtime_inference_batch_size_bucket{le=\"+Inf\"} " + std::to_string(cumulative) +
           "\n";
    out += "crypta_runtime_inference_batch_size_sum " + std::to_string(weighted) + "\n";
    out += "crypta_runtime_inference_batch_size_count " + std::to_string(cumulative) + "\n";
  }
  return out;
}

}  // namespace crypta::runtime
