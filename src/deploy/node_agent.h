// The node agent (`crypta node run`, issue 6 "local" launcher): one process per node. Every
// poll it registers the node with the control plane, fetches the deployments assigned to
// it, makes the running set match (each deployment is `crypta sim launch … -- RUNTIME
// ARGS…` in its own process group, dying with the agent), health-checks the runtimes'
// GET /v1/attestation and reports what it sees.
//
// Control-plane contract (JSON, admin bearer token; paths percent-encoded):
//   POST /v1/nodes                        {"name","tees":[..],"cpu","memory_bytes","gpus"}
//   GET  /v1/nodes/NAME/assignments       → {"deployments":[{"tenant","name","generation",
//                                             "args":[..],"host_data":"<hex>","debug"}]}
//   POST /v1/nodes/NAME/launching         {"tenant","name","generation",
//                                          "measurement":"<96 hex>","host_data"}
//                                          → {"registered":bool}; non-2xx: do not launch
//   POST /v1/nodes/NAME/status            {"deployments":[{"tenant","name","generation",
//        "phase","reason","endpoint","measurement","host_data","pid","restarts",
//        "attestation_failures","last_attestation":unix|null,"last_attestation_ok":bool|null,
//        "log_tail":[..≤50 redacted lines]}]}
// Phases: Starting (assigned, not launched yet, or waiting for an older generation to
// stop), Attesting (launched, the runtime boots and attests; no serving line or no
// answer from /v1/attestation yet), Running, Failed (reason = the last
// "crypta-runtime: error: …" line or the exit status; relaunched after 1 s, 2 s, 4 s …
// capped at 30 s), Stopped (reported once after an unassigned deployment's process is
// gone; the control plane then forgets it). A deployment whose generation (or arguments)
// change is stopped and relaunched; only the new generation is reported meanwhile.
//
// SIMULATED: the sim TEE gives no isolation (sim_launch.h).
//
// Thread-safety: a NodeAgent is used from one thread, the one that created it (child
// processes get PR_SET_PDEATHSIG, which follows the creating thread).
#ifndef CRYPTA_DEPLOY_NODE_AGENT_H_
#define CRYPTA_DEPLOY_NODE_AGENT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "audit/redact.h"
#include "common/status.h"

namespace crypta::deploy {

// The control plane as the agent sees it. The CLI implements it over api::ApiClient; tests
// with an in-process fake. Errors are the control plane's answer (non-2xx) or kUnavailable.
class ControlPlaneClient {
 public:
  virtual ~ControlPlaneClient() = default;
  virtual Result<nlohmann::json> Get(const std::string& path) = 0;
  virtual Result<nlohmann::json> Post(const std::string& path, const nlohmann::json& body) = 0;
};

// OK when GET <endpoint>/v1/attestation answers 200 within a few seconds; kUnavailable
// naming the status or the connection error otherwise.
Status ProbeAttestation(const std::string& endpoint);

// The runtime's endpoint "http://HOST:PORT" from a log line holding
// "crypta-runtime: serving http://HOST:PORT" (src/runtime/README.md), or "" when the line
// is not such a line or the URL is not a plain host:port.
std::string ParseServingLine(std::string_view line);

// Whether `s` may name a node, tenant or deployment here (it becomes part of file names):
// 1-63 characters of [A-Za-z0-9._-], not starting with '.'.
bool IsValidAgentName(const std::string& s);

// One assigned deployment, as GET …/assignments lists it.
struct Assignment {
  std::string tenant;
  std::string name;
  int64_t generation = 0;
  std::vector<std::string> args;  // crypta-runtime's arguments
  std::string host_data;          // hex, up to 64 digits
  bool debug = false;
  int gpus = 0;  // simulated GPUs passed through (sim launch --gpus)

  bool operator==(const Assignment&) const = default;
};

// Parses the assignments answer. kInvalidArgument naming the field (tenant and name must
// be 1-63 characters of [A-Za-z0-9._-], not starting with '.'; host_data hex of up to 32
// bytes; gpus 0 to kSimGpusPerNode; at most 1024 deployments of at most 256 arguments each).
Result<std::vector<Assignment>> ParseAssignments(const nlohmann::json& answer);

struct NodeAgentOptions {
  std::string data_dir;  // the control plane's data dir
  std::string name;      // the node's name, [A-Za-z0-9._-]{1,63}
  std::vector<std::string> tees = {"sim"};
  int64_t cpu = 1;
  int64_t memory_bytes = 0;
  int64_t gpus = 0;
  std::string launcher;  // the `crypta` executable (runs `sim launch`)
  std::string runtime;   // the crypta-runtime executable (an absolute path)
  std::chrono::milliseconds poll_interval{500};
  std::chrono::milliseconds attestation_interval{5000};
  std::chrono::milliseconds stop_grace{10000};  // SIGTERM, then SIGKILL to the group
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{30000};
  // Checks a runtime's endpoint; ProbeAttestation when unset.
  std::function<Status(const std::string& endpoint)> probe;
  // One line per state change; stderr ("crypta node: …") when unset.
  std::function<void(const std::string& line)> log;
};

class NodeAgent {
 public:
  static constexpr size_t kLogTailLines = 50;

  // Checks the options, creates <data_dir>/nodes/<name>/workloads (0700) and, for the sim
  // TEE, loads <data_dir>/nodes/<name>/sim/node.pem and node.key.pem (kNotFound /
  // kFailedPrecondition naming the file when missing or unsafe).
  static Result<std::unique_ptr<NodeAgent>> Create(NodeAgentOptions options,
                                                   std::unique_ptr<ControlPlaneClient> client);
  // Kills (SIGKILL) and reaps any child still running.
  ~NodeAgent();

  // One poll: heartbeat, assignments, start/stop/restart/health-check, status report.
  // Control-plane failures are logged once per change and leave the children running.
  void Tick();

  // Ticks every poll_interval until `stop` becomes true, then Shutdown().
  void Run(const std::atomic<bool>& stop);

  // Stops every child (SIGTERM, SIGKILL to its group after stop_grace), waits for them,
  // reports them Stopped (one try; a failure is logged) and forgets them.
  void Shutdown();

  // The body of the last status report (built on every Tick, sent or not).
  const nlohmann::json& last_report() const { return last_report_; }
  bool control_plane_reachable() const { return reachable_; }
  std::string work_dir() const;

 private:
  struct Workload;
  using Clock = std::chrono::steady_clock;

  NodeAgent(NodeAgentOptions options, std::unique_ptr<ControlPlaneClient> client,
            audit::Redactor redactor);
  void SetReachable(bool reachable, const std::string& why);
  void Reconcile(const std::vector<Assignment>& assignments);
  void Advance(Workload& w, Clock::time_point now);
  void TryLaunch(Workload& w, Clock::time_point now);
  void MarkFailed(Workload& w, Clock::time_point now, const std::string& reason);
  void ReadLog(Workload& w, bool flush);
  void SetPhase(Workload& w, const std::string& phase, const std::string& reason);
  nlohmann::json BuildReport() const;
  void SendReport();
  std::string NodePath(const std::string& suffix) const;

  NodeAgentOptions options_;
  std::unique_ptr<ControlPlaneClient> client_;
  audit::Redactor redactor_;
  std::map<std::string, std::unique_ptr<Workload>> workloads_;  // by "tenant/name"
  nlohmann::json last_report_ = nlohmann::json::object();
  bool reachable_ = true;
  std::string last_problem_;
};

}  // namespace crypta::deploy

#endif  // CRYPTA_DEPLOY_NODE_AGENT_H_
