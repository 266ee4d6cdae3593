#include "runtime/metrics.h"

#include <gtest/gtest.h>

namespace crypta::runtime {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(MetricsTest, CountsRequestsByRouteChannelAndStatus) {
  Metrics m;
  m.ObserveRequest("/v1/ohttp", "plain", 200, 0.003);
  m.ObserveRequest("/v1/ohttp", "plain", 200, 0.004);
  m.ObserveRequest("/v1/ohttp", "plain", 400, 0.0001);
  m.ObserveRequest("/v2/models/{model}/infer", "ohttp", 200, 0.002);
  const std::string text = m.Render({}, /*inner_detail=*/true);
  EXPECT_TRUE(Has(
      text,
      R"(crypta_runtime_http_requests_total{route="/v1/ohttp",channel="plain",status="200"} 2)"));
  EXPECT_TRUE(Has(
      text,
      R"(crypta_runtime_http_requests_total{route="/v1/ohttp",channel="plain",status="400"} 1)"));
  EXPECT_TRUE(Has(
      text,
      R"(crypta_runtime_http_requests_total{route="/v2/models/{model}/infer",channel="ohttp",status="200"} 1)"));
  EXPECT_TRUE(Has(text, "# TYPE crypta_runtime_http_requests_total counter"));
}

// By default the requests inside OHTTP are one series: no route, no status (issue 14).
TEST(MetricsTest, RequestsInsideOhttpAreAggregatedUnlessDetailIsAllowed) {
  Metrics m;
  m.ObserveRequest("/v2/models/{model}/infer", "ohttp", 200, 0.002);
  m.ObserveRequest("/v2/models/{model}/ready", "ohttp", 404, 0.001);
  m.ObserveRequest("/v1/ohttp", "plain", 200, 0.003);
  const std::string text = m.Render({});
  EXPECT_EQ(text.find("/v2/models"), std::string::npos) << text;
  EXPECT_TRUE(Has(
      text,
      R"x(crypta_runtime_http_requests_total{route="(inside ohttp)",channel="ohttp",status="all"} 2)x"));
  EXPECT_TRUE(Has(
      text,
      R"x(crypta_runtime_http_request_duration_seconds_count{route="(inside ohttp)",channel="ohttp"} 2)x"));
  EXPECT_TRUE(Has(
      text,
      R"(crypta_runtime_http_requests_total{route="/v1/ohttp",channel="plain",status="200"} 1)"));
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  Metrics m;
  m.ObserveRequest("/predict", "plain", 200, 0.0004);  // le 0.0005
  m.ObserveRequest("/predict", "plain", 200, 0.003);   // le 0.005
  m.ObserveRequest("/predict", "plain", 200, 20);      // only +Inf
  const std::string text = m.Render({});
  const std::string p =
      R"(crypta_runtime_http_request_duration_seconds_bucket{route="/predict",channel="plain",le=")";
  EXPECT_TRUE(Has(text, p + R"(0.00025"} 0)"));
  EXPECT_TRUE(Has(text, p + R"(0.0005"} 1)"));
  EXPECT_TRUE(Has(text, p + R"(0.0025"} 1)"));
  EXPECT_TRUE(Has(text, p + R"(0.005"} 2)"));
  EXPECT_TRUE(Has(text, p + R"(10"} 2)"));
  EXPECT_TRUE(Has(text, p + R"(+Inf"} 3)"));
  EXPECT_TRUE(Has(
      text,
      R"(crypta_runtime_http_request_duration_seconds_count{route="/predict",channel="plain"} 3)"));
  EXPECT_TRUE(Has(
      text,
      R"(crypta_runtime_http_request_duration_seconds_sum{route="/predict",channel="plain"} 20.0034)"));
}

TEST(MetricsTest, AttestationCountersStartAtZeroAndSplitFailures) {
  Metrics m;
  m.CountAttestation("cached", true);
  m.CountAttestation("fresh", true);
  m.CountAttestation("fresh", true);
  m.CountAttestation("fresh", false);
  const std::string text = m.Render({});
  EXPECT_TRUE(Has(text, R"(crypta_runtime_attestation_refreshes_total{kind="cached"} 1)"));
  EXPECT_TRUE(Has(text, R"(crypta_runtime_attestation_refreshes_total{kind="fresh"} 2)"));
  EXPECT_TRUE(Has(text, R"(crypta_runtime_attestation_failures_total{kind="cached"} 0)"));
  EXPECT_TRUE(Has(text, R"(crypta_runtime_attestation_failures_total{kind="fresh"} 1)"));
}

TEST(MetricsTest, RendersBatchSizesAndOhttpCountersFromExtras) {
  Metrics m;
  MetricsExtras extras;
  extras.batch = BatchStatsView{5, 9, {0, 3, 0, 2}};  // three batches of 1, two of 3
  extras.ohttp_replays = 4;
  extras.ohttp_key_rotations = 1;
  extras.ohttp_key_epoch = 2;
  const std::string text = m.Render(extras);
  EXPECT_TRUE(Has(text, "crypta_runtime_inference_batches_total 5"));
  EXPECT_TRUE(Has(text, "crypta_runtime_inference_requests_total 9"));
  EXPECT_TRUE(Has(text, R"(crypta_runtime_inference_batch_size_bucket{le="1"} 3)"));
  EXPECT_TRUE(Has(text, R"(crypta_runtime_inference_batch_size_bucket{le="2"} 3)"));
  EXPECT_TRUE(Has(text, R"(crypta_runtime_inference_batch_size_bucket{le="3"} 5)"));
  EXPECT_TRUE(Has(text, R"(crypta_runtime_inference_batch_size_bucket{le="+Inf"} 5)"));
  EXPECT_TRUE(Has(text, "crypta_runtime_inference_batch_size_sum 9"));
  EXPECT_TRUE(Has(text, "crypta_runtime_ohttp_replays_total 4"));
  EXPECT_TRUE(Has(text, "crypta_runtime_ohttp_key_rotations_total 1"));
  EXPECT_TRUE(Has(text, "crypta_runtime_ohttp_key_epoch 2"));
}

TEST(MetricsTest, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

}  // namespace
}  // namespace crypta::runtime
