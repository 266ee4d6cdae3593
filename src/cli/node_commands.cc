// crypta node run: the node agent (src/deploy/node_agent.h), one process per node, started
// by `crypta up --nodes N`. `crypta node list` lives in platform_commands.cc (NodeApp).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/data_dir.h"
#include "cli/api_connect.h"
#include "cli/commands.h"
#include "common/time_util.h"
#include "deploy/node_agent.h"
#include "deploy/sim_launch.h"

namespace crypta::cli {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_stop{false};

void OnStopSignal(int) { g_stop.store(true); }

// The control plane over ApiClient. It (re)reads url, admin.token and tls/ca.pem from the
// data dir whenever it has no working connection, so a restarted control plane (new port)
// is found again. With replica URLs (--control-plane) it uses them in turn: when one does not
// answer, the next (token and CA still from the data dir, or CRYPTA_TOKEN/--ca-cert).
class ApiControlPlane : public deploy::ControlPlaneClient {
 public:
  ApiControlPlane(std::string data_dir, std::vector<std::string> urls, std::string ca_cert)
      : data_dir_(std::move(data_dir)), urls_(std::move(urls)), ca_cert_(std::move(ca_cert)) {}

  Result<nlohmann::json> Get(const std::string& path) override {
    CRYPTA_RETURN_IF_ERROR(Ensure());
    return Check(client_->Get(path));
  }
  Result<nlohmann::json> Post(const std::string& path, const nlohmann::json& body) override {
    CRYPTA_RETURN_IF_ERROR(Ensure());
    return Check(client_->Post(path, body));
  }

 private:
  Status Ensure() {
    if (client_) return OkStatus();
    ServerArgs args;
    args.data_dir = data_dir_;
    args.ca_cert = ca_cert_;
    if (!urls_.empty()) args.url = urls_[next_ % urls_.size()];
    args.token = Env("CRYPTA_TOKEN");
    CRYPTA_ASSIGN_OR_RETURN(api::ApiClient client, Connect(args));
    client_.emplace(std::move(client));
    return OkStatus();
  }
  Result<nlohmann::json> Check(Result<nlohmann::json> r) {
    if (!r && (r.error().code() == ErrorCode::kUnavailable ||
               r.error().code() == ErrorCode::kUnauthenticated)) {
      client_.reset();  // reconnect next time: the URL or token may have changed
      ++next_;          // (to the next replica, when there are several)
    }
    return r;
  }

  std::string data_dir_;
  std::vector<std::string> urls_;
  std::string ca_cert_;
  size_t next_ = 0;
  std::optional<api::ApiClient> client_;
};

struct NodeRunArgs {
  std::string data_dir;
  std::string name;
  std::vector<std::string> tees = {"sim"};
  int64_t cpu = -1;
  int64_t memory_bytes = -1;
  int64_t gpus = 0;
  std::string runtime;
  int64_t poll_ms = 500;
  std::vector<std::string> control_plane;
  std::string ca_cert;
};

// crypta-runtime next to this executable, else in $PATH; or the given one, made absolute.
Result<std::string> FindRuntime(const std::string& self, const std::string& given) {
  if (!given.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(std::string path, deploy::ResolveExecutable(given));
    std::error_code ec;
    const fs::path absolute = fs::absolute(path, ec);
    return ec ? path : absolute.string();
  }
  const std::string beside = (fs::path(self).parent_path() / "crypta-runtime").string();
  if (::access(beside.c_str(), X_OK) == 0) return beside;
  Result<std::string> found = deploy::ResolveExecutable("crypta-runtime");
  if (!found) {
    return MakeError(ErrorCode::kNotFound,
                     "crypta-runtime: not beside " + self + " nor in PATH; pass --runtime");
  }
  return found;
}

int RunNode(const NodeRunArgs& a) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return ReportError(Error(ErrorCode::kInternal, "/proc/self/exe: " + ec.message()));
  }
  Result<std::string> runtime = FindRuntime(self.string(), a.runtime);
  if (!runtime) return ReportError(runtime.error());
  if (a.poll_ms < 50 || a.poll_ms > 60000) {
    return ReportError(Error(ErrorCode::kInvalidArgument, "--poll-ms: want 50..60000"));
  }

  deploy::NodeAgentOptions options;
  options.data_dir = a.data_dir.empty() ? DefaultDataDir() : a.data_dir;
  options.name = a.name;
  options.tees = a.tees;
  const unsigned cores = std::thread::hardware_concurrency();
  options.cpu = a.cpu >= 0 ? a.cpu : (cores > 0 ? cores : 1);
  options.memory_bytes = a.memory_bytes >= 0 ? a.memory_bytes
                                             : static_cast<int64_t>(::sysconf(_SC_PHYS_PAGES)) *
                                                   ::sysconf(_SC_PAGE_SIZE);
  options.gpus = a.gpus;
  options.launcher = self.string();
  options.runtime = *runtime;
  options.poll_interval = std::chrono::milliseconds(a.poll_ms);
  const std::string prefix = "crypta node " + a.name + ": ";
  options.log = [prefix](const std::string& line) {
    std::fprintf(stderr, "%s%s\n", prefix.c_str(), line.c_str());
  };

  // A node started on its own (not by `crypta up --nodes`) gets its sim identity here, from
  // the data dir's sim CA.
  if (auto node_dir = api::EnsureLocalNode(options.data_dir, a.name, UnixNow()); !node_dir) {
    return ReportError(node_dir.error());
  }
  auto agent = deploy::NodeAgent::Create(
      options, std::make_unique<ApiControlPlane>(options.data_dir, a.control_plane, a.ca_cert));
  if (!agent) return ReportError(agent.error());

  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  std::fprintf(stderr, "%sstarted (tees %s, runtime %s; %s)\n", prefix.c_str(),
               a.tees.empty() ? "-" : a.tees.front().c_str(), runtime->c_str(),
               deploy::kSimWarning);
  (*agent)->Run(g_stop);
  std::fprintf(stderr, "%sstopped\n", prefix.c_str());
  return 0;
}

}  // namespace

CLI::App* NodeApp(CLI::App& app) {
  try {
    return app.get_subcommand("node");
  } catch (const CLI::OptionNotFound&) {
    CLI::App* node = app.add_subcommand("node", "Nodes: run a node agent, list nodes");
    node->require_subcommand(1);
    return node;
  }
}

void RegisterNodeCommands(CLI::App& app, int* exit_code) {
  CLI::App* node = NodeApp(app);
  auto args = std::make_shared<NodeRunArgs>();
  CLI::App* run = node->add_subcommand(
      "run",
      "Run a node agent: register with the control plane, run the deployments assigned to "
      "this node in the sim TEE, health-check and report them (started by `crypta up --nodes`)");
  run->add_option("--data-dir", args->data_dir,
                  "The control plane's data dir (url, admin.token, tls/ca.pem, nodes/NAME/)");
  run->add_option("--name", args->name, "This node's name")->required();
  run->add_option("--tees", args->tees, "TEE types this node offers")
      ->delimiter(',')
      ->check(CLI::IsMember({"sim"}))
      ->capture_default_str();
  run->add_option("--cpu", args->cpu, "CPUs offered (default: this machine's)");
  run->add_option("--memory", args->memory_bytes, "Memory offered in bytes (default: all)");
  run->add_option("--gpus", args->gpus, "Simulated GPUs offered (sim nodes have up to 8)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{deploy::kSimGpusPerNode}));
  run->add_option("--runtime", args->runtime,
                  "crypta-runtime binary (default: beside crypta, else in PATH)");
  run->add_option("--poll-ms", args->poll_ms, "Poll interval in ms")->capture_default_str();
  run->add_option("--control-plane", args->control_plane,
                  "Control-plane URLs (replicas of one store), tried in turn when one does not\n"
                  "answer (default: the data dir's url). The token comes from CRYPTA_TOKEN or\n"
                  "the data dir's admin.token")
      ->delimiter(',');
  run->add_option("--ca-cert", args->ca_cert,
                  "CA bundle the control plane's TLS certificate chains to (default: the data\n"
                  "dir's tls/ca.pem)");
  run->callback([args, exit_code] { *exit_code = RunNode(*args); });
}

}  // namespace crypta::cli
