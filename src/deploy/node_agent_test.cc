// The node agent against an in-process fake control plane and real child processes: shell
// scripts stand in for `crypta sim launch` (it execs what follows "--") and for
// crypta-runtime (print the serving line, or an error line and exit 1). The runtime's
// /v1/attestation is an httplib server in this process.
#include "deploy/node_agent.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "attest/sim/sim_tee.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "crypto/x509.h"
#include "deploy/sim_launch.h"
#include "testing/test_util.h"

namespace crypta::deploy {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kHostData[] = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

// The control plane: records what the agent sends, answers with `assignments`.
struct FakeState {
  json assignments = {{"deployments", json::array()}};
  bool down = false;
  std::optional<Error> refuse_launching;
  std::vector<json> nodes, launching, statuses;
  std::vector<std::chrono::steady_clock::time_point> launch_times;
};

class FakeControlPlane : public ControlPlaneClient {
 public:
  explicit FakeControlPlane(FakeState* state) : s_(state) {}
  Result<json> Get(const std::string& path) override {
    if (s_->down) return MakeError(ErrorCode::kUnavailable, "cannot reach the control plane");
    if (path == "/v1/nodes/n1/assignments") return s_->assignments;
    return MakeError(ErrorCode::kNotFound, "no route " + path);
  }
  Result<json> Post(const std::string& path, const json& body) override {
    if (s_->down) return MakeError(ErrorCode::kUnavailable, "cannot reach the control plane");
    if (path == "/v1/nodes") {
      s_->nodes.push_back(body);
    } else if (path == "/v1/nodes/n1/launching") {
      if (s_->refuse_launching) return MakeError(*s_->refuse_launching);
      s_->launching.push_back(body);
      s_->launch_times.push_back(std::chrono::steady_clock::now());
      return json{{"registered", false}};
    } else if (path == "/v1/nodes/n1/status") {
      s_->statuses.push_back(body);
    } else {
      return MakeError(ErrorCode::kNotFound, "no route " + path);
    }
    return json::object();
  }

 private:
  FakeState* s_;
};

class NodeAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/crypta-agent-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    const std::string sim = dir_ + "/nodes/n1/sim";
    fs::create_directories(sim);
    const int64_t now = UnixNow();
    auto ca = attest::CreateSimRootCa(now - 60);
    ASSERT_TRUE(ca.has_value());
    auto node = attest::IssueSimNode(*ca, "n1", now - 60);
    ASSERT_TRUE(node.has_value());
    std::string chain;
    for (const Certificate& c : node->chain) {
      const std::string b64 = Base64Encode(c.der());
      chain += "-----BEGIN CERTIFICATE-----\n";
      for (size_t i = 0; i < b64.size(); i += 64) chain += b64.substr(i, 64) + "\n";
      chain += "-----END CERTIFICATE-----\n";
    }
    Write(sim + "/node.pem", chain, 0644);
    Write(sim + "/node.key.pem", *node->key.ToPkcs8Pem(), 0600);
    // The launcher records its arguments, then runs what follows "--".
    Write(dir_ + "/launcher.sh",
          "#!/bin/sh\necho \"$@\" >> " + dir_ +
              "/launcher.args\nwhile [ \"$1\" != -- ]; do shift; done\nshift\nexec \"$@\"\n",
          0755);
    // A runtime that serves: the endpoint is its last argument.
    Write(dir_ + "/serving.sh",
          "#!/bin/sh\nfor a; do url=$a; done\necho 'booting; contact alice@example.com'\n"
          "echo \"crypta-runtime: serving $url\"\nexec sleep 600\n",
          0755);
    Write(dir_ + "/denied.sh",
          "#!/bin/sh\necho 'crypta-runtime: error: key release denied by the control plane: "
          "HTTP 403' >&2\nexit 1\n",
          0755);
    Write(dir_ + "/stubborn.sh",
          "#!/bin/sh\ntrap '' TERM\nfor a; do url=$a; done\necho \"crypta-runtime: serving "
          "$url\"\nwhile :; do sleep 0.05; done\n",
          0755);

    server_.Get("/v1/attestation", [this](const httplib::Request&, httplib::Response& res) {
      res.status = attestation_ok_.load() ? 200 : 500;
      res.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    server_thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  void TearDown() override {
    agent_.reset();
    server_.stop();
    server_thread_.join();
    fs::remove_all(dir_);
  }

  static void Write(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
  }

  std::string Endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  NodeAgentOptions Options(const std::string& runtime) {
    NodeAgentOptions o;
    o.data_dir = dir_;
    o.name = "n1";
    o.cpu = 4;
    o.memory_bytes = int64_t{8} << 30;
    o.launcher = dir_ + "/launcher.sh";
    o.runtime = dir_ + "/" + runtime;
    o.poll_interval = 20ms;
    o.attestation_interval = 100ms;
    o.stop_grace = 300ms;
    o.backoff_initial = 100ms;
    o.backoff_max = 400ms;
    o.log = [this](const std::string& line) { log_.push_back(line); };
    return o;
  }

  void Start(const std::string& runtime) {
    auto agent = NodeAgent::Create(Options(runtime), std::make_unique<FakeControlPlane>(&cp_));
    ASSERT_TRUE(agent.has_value()) << agent.error().message();
    agent_ = std::move(*agent);
  }

  json Deployment(const std::string& name, int64_t generation) const {
    return {{"tenant", "acme"},         {"name", name},
            {"generation", generation}, {"args", {"--listen", "127.0.0.1:0", Endpoint()}},
            {"host_data", kHostData},   {"debug", false}};
  }
  void Assign(std::vector<json> deployments) { cp_.assignments["deployments"] = deployments; }

  // The agent's report entry for acme/<name>, or null.
  json Entry(const std::string& name) const {
    for (const json& d : agent_->last_report()["deployments"]) {
      if (d["name"] == name) return d;
    }
    return nullptr;
  }

  // Ticks until `done` holds (true) or `limit` passes (false).
  bool TickUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      agent_->Tick();
      if (done()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  bool PhaseIs(const std::string& name, const std::string& phase) {
    const json e = Entry(name);
    return e.is_object() && e["phase"] == phase;
  }
  static bool Alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }
  // Whether a process of group `pgid` is still running (zombies waiting for init to reap
  // them, orphaned by a SIGKILL of the group, do not count).
  static bool GroupRunning(pid_t pgid) {
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::ifstream in(entry.path() / "stat");
      std::string stat;
      if (!std::getline(in, stat)) continue;
      const size_t close = stat.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(stat.substr(close + 1));
      char state = 0;
      pid_t ppid = 0, group = 0;
      rest >> state >> ppid >> group;
      if (group == pgid && state != 'Z' && state != 'X') return true;
    }
    return false;
  }

  std::string dir_;
  FakeState cp_;
  std::vector<std::string> log_;
  std::unique_ptr<NodeAgent> agent_;
  httplib::Server server_;
  std::thread server_thread_;
  int port_ = 0;
  std::atomic<bool> attestation_ok_{true};
};

TEST(ParseAssignmentsTest, AcceptsTheContractAndNamesTheBadField) {
  const json good = {{"deployments",
                      {{{"tenant", "acme"},
                        {"name", "web-1"},
                        {"generation", 3},
                        {"args", {"--broker", "https://127.0.0.1:1"}},
                        {"host_data", kHostData},
                        {"debug", true}}}}};
  CRYPTA_ASSIGN_OR_FAIL(std::vector<Assignment> got, ParseAssignments(good));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].tenant, "acme");
  EXPECT_EQ(got[0].generation, 3);
  EXPECT_EQ(got[0].args, (std::vector<std::string>{"--broker", "https://127.0.0.1:1"}));
  EXPECT_TRUE(got[0].debug);
  EXPECT_TRUE(ParseAssignments(json::object())->empty());

  auto error_for = [&](const char* field, const json& value) {
    json bad = good;
    bad["deployments"][0][field] = value;
    auto r = ParseAssignments(bad);
    return r ? std::string("accepted") : r.error().message();
  };
  EXPECT_NE(error_for("tenant", "../etc").find("deployments[0].tenant"), std::string::npos);
  EXPECT_NE(error_for("name", "").find("deployments[0].name"), std::string::npos);
  EXPECT_NE(error_for("generation", "1").find(".generation"), std::string::npos);
  EXPECT_NE(error_for("args", "x").find(".args"), std::string::npos);
  EXPECT_NE(error_for("host_data", "zz").find(".host_data"), std::string::npos);
  EXPECT_NE(error_for("host_data", std::string(66, 'a')).find(".host_data"), std::string::npos);
  EXPECT_NE(error_for("debug", 1).find(".debug"), std::string::npos);
  json twice = good;
  twice["deployments"].push_back(good["deployments"][0]);
  EXPECT_NE(ParseAssignments(twice).error().message().find("listed twice"), std::string::npos);
}

TEST(ParseServingLineTest, TakesOnlyAnHttpOrHttpsHostAndPort) {
  EXPECT_EQ(ParseServingLine("crypta-runtime: serving http://127.0.0.1:8443"),
            "http://127.0.0.1:8443");
  EXPECT_EQ(ParseServingLine("crypta-runtime: serving http://[::1]:80\r"), "http://[::1]:80");
  EXPECT_EQ(ParseServingLine("crypta-runtime: serving http://127.0.0.1"), "");
  EXPECT_EQ(ParseServingLine("crypta-runtime: serving https://127.0.0.1:8443"),
            "https://127.0.0.1:8443");
  EXPECT_EQ(ParseServingLine("crypta-runtime: serving http://a/b:1"), "");
  EXPECT_EQ(ParseServingLine("crypta-runtime: serving ftp://127.0.0.1:1"), "");
  EXPECT_EQ(ParseServingLine("crypta-runtime: error: no key"), "");
}

TEST_F(NodeAgentTest, RefusesToStartWithoutTheSimIdentity) {
  fs::remove(dir_ + "/nodes/n1/sim/node.key.pem");
  auto agent = NodeAgent::Create(Options("serving.sh"), std::make_unique<FakeControlPlane>(&cp_));
  ASSERT_FALSE(agent.has_value());
  EXPECT_NE(agent.error().message().find("node.key.pem"), std::string::npos);
  EXPECT_NE(agent.error().message().find("sim hardware identity"), std::string::npos);
}

TEST_F(NodeAgentTest, LaunchesAttestsReachesRunningAndReports) {
  Start("serving.sh");
  Assign({Deployment("web", 1)});
  agent_->Tick();
  ASSERT_EQ(cp_.nodes.size(), 1u);
  EXPECT_EQ(cp_.nodes[0], (json{{"name", "n1"},
                                {"tees", {"sim"}},
                                {"cpu", 4},
                                {"memory_bytes", int64_t{8} << 30},
                                {"gpus", 0}}));
  EXPECT_EQ(Entry("web")["phase"], "Attesting");

  // The launch was announced with the measurement crypta sim launch will compute.
  ASSERT_EQ(cp_.launching.size(), 1u);
  CRYPTA_ASSIGN_OR_FAIL(
      Bytes m, MeasureSimWorkload({dir_ + "/serving.sh", "--listen", "127.0.0.1:0", Endpoint()}));
  EXPECT_EQ(cp_.launching[0], (json{{"tenant", "acme"},
                                    {"name", "web"},
                                    {"generation", 1},
                                    {"measurement", HexEncode(m)},
                                    {"host_data", kHostData}}));

  ASSERT_TRUE(TickUntil([&] { return PhaseIs("web", "Running"); }));
  const json e = Entry("web");
  EXPECT_EQ(e["endpoint"], Endpoint());
  EXPECT_EQ(e["measurement"], HexEncode(m));
  EXPECT_EQ(e["last_attestation_ok"], true);
  EXPECT_GE(e["last_attestation"].get<int64_t>(), UnixNow() - 5);
  EXPECT_EQ(e["restarts"], 0);
  ASSERT_TRUE(e["pid"].is_number_integer());
  EXPECT_TRUE(Alive(e["pid"].get<pid_t>()));
  EXPECT_EQ(cp_.statuses.back(), agent_->last_report());
  // The log tail is redacted; the launcher got the node's work dir and the host data.
  const std::string tail = e["log_tail"].dump();
  EXPECT_NE(tail.find("[REDACTED:email]"), std::string::npos);
  EXPECT_EQ(tail.find("alice@example.com"), std::string::npos);
  std::stringstream args;
  args << std::ifstream(dir_ + "/launcher.args").rdbuf();
  EXPECT_EQ(args.str(), "sim launch --data-dir " + dir_ + "/nodes/n1 --host-data " + kHostData +
                            " -- " + dir_ + "/serving.sh --listen 127.0.0.1:0 " + Endpoint() +
                            "\n");
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/nodes/n1/workloads/acme.web.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // A failing health check marks the attestation bad but keeps the workload.
  attestation_ok_ = false;
  ASSERT_TRUE(TickUntil([&] { return Entry("web")["last_attestation_ok"] == false; }));
  EXPECT_EQ(Entry("web")["phase"], "Running");
  EXPECT_NE(Entry("web")["reason"].get<std::string>().find("HTTP 500"), std::string::npos);
}

TEST_F(NodeAgentTest, WaitsInAttestingUntilTheAttestationEndpointAnswers) {
  attestation_ok_ = false;
  Start("serving.sh");
  Assign({Deployment("web", 1)});
  ASSERT_TRUE(TickUntil([&] { return !Entry("web")["reason"].get<std::string>().empty(); }));
  EXPECT_EQ(Entry("web")["phase"], "Attesting");
  attestation_ok_ = true;
  EXPECT_TRUE(TickUntil([&] { return PhaseIs("web", "Running"); }));
}

TEST_F(NodeAgentTest, RestartsACrashedRuntimeWithBackoffAndCountsKeyReleaseDenials) {
  Start("denied.sh");
  Assign({Deployment("web", 1)});
  ASSERT_TRUE(TickUntil([&] { return Entry("web")["restarts"] == 3; }, 8000ms));
  ASSERT_TRUE(TickUntil([&] { return PhaseIs("web", "Failed"); }));
  const json e = Entry("web");
  EXPECT_EQ(e["reason"],
            "crypta-runtime: error: key release denied by the control plane: HTTP 403");
  EXPECT_GE(e["attestation_failures"].get<int>(), 3);
  EXPECT_TRUE(e["pid"].is_null());
  EXPECT_TRUE(e["endpoint"].get<std::string>().empty());
  // 100 ms, 200 ms, 400 ms (the cap) between launches.
  ASSERT_GE(cp_.launch_times.size(), 4u);
  auto gap = [&](size_t i) { return cp_.launch_times[i] - cp_.launch_times[i - 1]; };
  EXPECT_GE(gap(1), 100ms);
  EXPECT_GE(gap(2), 200ms);
  EXPECT_GE(gap(3), 400ms);
  EXPECT_LT(gap(3), 1500ms);
}

TEST_F(NodeAgentTest, RestartsAKilledWorkloadAndItRunsAgain) {
  Start("serving.sh");
  Assign({Deployment("web", 1)});
  ASSERT_TRUE(TickUntil([&] { return PhaseIs("web", "Running"); }));
  const pid_t pid = Entry("web")["pid"].get<pid_t>();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(TickUntil([&] { return PhaseIs("web", "Failed"); }));
  EXPECT_EQ(Entry("web")["reason"], "exited: killed by signal 9 (SIGKILL)");
  EXPECT_TRUE(Entry("web")["endpoint"].get<std::string>().empty());
  ASSERT_TRUE(TickUntil([&] { return PhaseIs("web", "Running"); }));
  const json e = Entry("web");
  EXPECT_EQ(e["restarts"], 1);
  EXPECT_EQ(e["attestation_failures"], 0);
  EXPECT_NE(e["pid"].get<pid_t>(), pid);
}

TEST_F(NodeAgentTest, ARefusedLaunchIsFailedAndNothingStarts) {
  cp_.refuse_launching = Error(ErrorCode::kPermissionDenied, "measurement not allowed");
  Start("serving.sh");
  Assign({Deployment("web", 1)});
  agent_->Tick();
  json e = Entry("web");
  EXPECT_EQ(e["phase"], "Failed");
  EXPECT_NE(e["reason"].get<std::string>().find("measurement not allowed"), std::string::npos);
  EXPECT_TRUE(e["pid"].is_null());
  EXPECT_FALSE(fs::exists(dir_ + "/launcher.args"));
  EXPECT_EQ(e["restarts"], 0);
  cp_.refuse_launching.reset();
  ASSERT_TRUE(TickUntil([&] { return PhaseIs("web", "Running"); }));
  EXPECT_EQ(Entry("web")["restarts"], 0);
}

TEST_F(NodeAgentTest, StopsAnUnassignedDeploymentAndReportsItStoppedOnce) {
  Start("serving.sh");
  Assign({Deployment("web", 1), Deployment("api", 1)});
  ASSERT_TRUE(TickUntil([&] { return PhaseIs("web", "Running") && PhaseIs("api", "Running"); }));
  const pid_t pid = Entry("web")["pid"].get<pid_t>();
  Assign({Deployment("api", 1)});
  ASSERT_TRUE(TickUntil([&] { return PhaseIs("web", "Stopped"); }, 2000ms));
  EXPECT_FALSE(Alive(pid));
  EXPECT_TRUE(Entry("web")["pid"].is_null());
  agent_->Tick();
  EXPECT_TRUE(Entry("web").is_null());  // reported once, then forgotten
  EXPECT_EQ(Entry("api")["phase"], "Running");
}

TEST_F(NodeAgentTest, KillsAChildThatIgnoresSigtermAfterTheGrace) {
  Start("stubborn.sh");
  Assign({Deployment("web", 1)});
  ASSERT_TRUE(TickUntil([&] { return PhaseIs("web", "Running"); }));
  const pid_t pid = Entry("web")["pid"].get<pid_t>();
  Assign({});
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(TickUntil([&] { return PhaseIs("web", "Stopped"); }, 3000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
  EXPECT_FALSE(Alive(pid));
  EXPECT_FALSE(GroupRunning(pid));  // nothing left in its process group
}

TEST_F(NodeAgentTest, ReplacesAProcessWhenTheGenerationChanges) {
  Start("serving.sh");
  Assign({Deployment("web", 1)});
  ASSERT_TRUE(TickUntil([&] { return PhaseIs("web", "Running"); }));
  const pid_t old_pid = Entry("web")["pid"].get<pid_t>();
  Assign({Deployment("web", 2)});
  ASSERT_TRUE(TickUntil([&] {
    const json e = Entry("web");
    return e["generation"] == 2 && e["phase"] == "Running";
  }));
  EXPECT_FALSE(Alive(old_pid));
  EXPECT_NE(Entry("web")["pid"].get<pid_t>(), old_pid);
  EXPECT_EQ(cp_.launching.back()["generation"], 2);
  for (const json& report : cp_.statuses) {
    for (const json& d : report["deployments"]) EXPECT_NE(d["phase"], "Stopped");
  }
}

TEST_F(NodeAgentTest, ShutdownStopsEveryChildAndReportsThemStopped) {
  Start("serving.sh");
  Assign({Deployment("web", 1), Deployment("api", 1)});
  ASSERT_TRUE(TickUntil([&] { return PhaseIs("web", "Running") && PhaseIs("api", "Running"); }));
  const pid_t a = Entry("web")["pid"].get<pid_t>(), b = Entry("api")["pid"].get<pid_t>();
  std::atomic<bool> stop{true};
  agent_->Run(stop);  // stop already set: shut down at once
  EXPECT_FALSE(Alive(a));
  EXPECT_FALSE(Alive(b));
  const json& last = cp_.statuses.back()["deployments"];
  ASSERT_EQ(last.size(), 2u);
  for (const json& d : last) EXPECT_EQ(d["phase"], "Stopped");
}

TEST_F(NodeAgentTest, KeepsChildrenRunningWhileTheControlPlaneIsDown) {
  Start("serving.sh");
  Assign({Deployment("web", 1)});
  ASSERT_TRUE(TickUntil([&] { return PhaseIs("web", "Running"); }));
  const pid_t pid = Entry("web")["pid"].get<pid_t>();
  const size_t reports = cp_.statuses.size();
  cp_.down = true;
  for (int i = 0; i < 10; ++i) agent_->Tick();
  EXPECT_FALSE(agent_->control_plane_reachable());
  EXPECT_TRUE(Alive(pid));
  EXPECT_EQ(cp_.statuses.size(), reports);
  EXPECT_EQ(std::count_if(log_.begin(), log_.end(),
                          [](const std::string& l) { return l.starts_with("control plane"); }),
            1);
  cp_.down = false;
  agent_->Tick();
  EXPECT_TRUE(agent_->control_plane_reachable());
  EXPECT_EQ(Entry("web")["pid"], pid);
}

TEST_F(NodeAgentTest, DestroyingTheAgentLeavesNoChildBehind) {
  Start("stubborn.sh");
  Assign({Deployment("web", 1)});
  ASSERT_TRUE(TickUntil([&] { return PhaseIs("web", "Running"); }));
  const pid_t pid = Entry("web")["pid"].get<pid_t>();
  agent_.reset();
  EXPECT_FALSE(Alive(pid));  // the leader is reaped by the destructor
  // SIGKILL reaches the rest of the group asynchronously: wait for the kernel to finish it
  // (a liveness bound, not a timing assertion).
  for (int i = 0; i < 500 && GroupRunning(pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(GroupRunning(pid));
}

}  // namespace
}  // namespace crypta::deploy
