// The runtime's health routes (server.h): /healthz and /readyz on the main listener and on
// the --health-listen HealthServer, over real sockets.
#include "runtime/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/fake_model_service_test.h"

namespace crypta::runtime {
namespace {

using nlohmann::json;

struct Answer {
  int status = 0;
  std::string body;
};

Answer Get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  auto res = client.Get(path.c_str());
  if (!res) return {};
  return {res->status, res->body};
}

TEST(RuntimeHealth, RepliesCarryOnlyAStatus) {
  EXPECT_EQ(HealthzReply().status, 200);
  EXPECT_EQ(json::parse(HealthzReply().body), json({{"status", "ok"}}));
  EXPECT_EQ(ReadyzReply(true).status, 200);
  EXPECT_EQ(json::parse(ReadyzReply(true).body), json({{"status", "ready"}}));
  EXPECT_EQ(ReadyzReply(false).status, 503);
  EXPECT_EQ(json::parse(ReadyzReply(false).body), json({{"status", "not ready"}}));
}

TEST(RuntimeHealth, HealthServerIsLiveBeforeReadyAndServesNothingElse) {
  Readiness readiness;
  HealthServer health("127.0.0.1", 0, &readiness);
  auto port = health.Start();
  ASSERT_TRUE(port.has_value()) << port.error().ToString();

  // Booting: alive, not ready.
  Answer live = Get(*port, "/healthz");
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(json::parse(live.body)["status"], "ok");
  Answer booting = Get(*port, "/readyz");
  EXPECT_EQ(booting.status, 503);
  EXPECT_EQ(json::parse(booting.body)["status"], "not ready");

  readiness.Set(true);
  EXPECT_EQ(Get(*port, "/readyz").status, 200);
  EXPECT_EQ(Get(*port, "/healthz").status, 200);
  readiness.Set(false);
  EXPECT_EQ(Get(*port, "/readyz").status, 503);

  // Only the two probes: no attestation, OHTTP, OIP or metrics on this port.
  for (const char* path : {"/v1/attestation", "/metrics", "/v2/health/ready", "/"}) {
    EXPECT_EQ(Get(*port, path).status, 404) << path;
  }
  health.Stop();
  EXPECT_EQ(Get(*port, "/healthz").status, 0);  // closed
  health.Stop();                                // idempotent
}

TEST(RuntimeHealth, HealthServerReportsAPortInUse) {
  Readiness readiness;
  HealthServer first("127.0.0.1", 0, &readiness);
  auto port = first.Start();
  ASSERT_TRUE(port.has_value());
  HealthServer second("127.0.0.1", *port, &readiness);
  auto again = second.Start();
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(again.error().message().find("--health-listen"), std::string::npos);
}

TEST(RuntimeHealth, MainListenerAnswersProbesOutsideMetricsAndStopMakesItUnready) {
  FakeModelService model;
  OipRouter router(&model);
  Metrics metrics;
  Readiness readiness;
  // The health routes touch neither attestation nor OHTTP.
  RuntimeServer server(ServerOptions{},
                       ServerDeps{nullptr, nullptr, &router, &metrics, nullptr, &readiness});
  auto port = server.Bind();
  ASSERT_TRUE(port.has_value()) << port.error().ToString();
  std::thread run([&server] { server.Run(); });
  for (int i = 0; i < 500 && !server.IsRunning(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(server.IsRunning());

  EXPECT_EQ(Get(*port, "/healthz").status, 200);
  EXPECT_EQ(Get(*port, "/readyz").status, 503);  // main() has not marked it ready yet
  readiness.Set(true);
  Answer ready = Get(*port, "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, R"({"status":"ready"})");  // no model name, no workload
  // Probes are not request metrics (no "other" series from the kubelet's polling).
  Answer text = Get(*port, "/metrics");
  EXPECT_EQ(text.status, 200);
  EXPECT_EQ(text.body.find("healthz"), std::string::npos);
  EXPECT_EQ(text.body.find("readyz"), std::string::npos);
  EXPECT_EQ(text.body.find("route=\"other\""), std::string::npos);

  server.Stop();
  EXPECT_FALSE(readiness.Get());
  run.join();
}

}  // namespace
}  // namespace crypta::runtime
