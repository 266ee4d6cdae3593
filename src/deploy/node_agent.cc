// The node agent (node_agent.h): reconcile the assigned deployments with child processes.
#include "deploy/node_agent.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "common/encoding.h"
#include "common/time_util.h"
#include "deploy/sim_launch.h"
#include "deploy/workload_process.h"

namespace crypta::deploy {

using nlohmann::json;

namespace {

constexpr char kRuntimeError[] = "crypta-runtime: error:";
constexpr char kLauncherError[] = "crypta: error:";
constexpr off_t kMaxLogBytes = off_t{8} << 20;  // rotated to .log.1 at the next launch

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Exits that mean the TEE side refused: counted as attestation failures (issue 6).
bool IsAttestationFailure(const std::string& reason) {
  const std::string r = Lower(reason);
  return r.find("denied") != std::string::npos || r.find("attest") != std::string::npos ||
         r.find("key release") != std::string::npos;
}

json OptionalJson(const auto& value) { return value ? json(*value) : json(nullptr); }

}  // namespace

struct NodeAgent::Workload {
  Assignment desired;
  bool removed = false;
  std::optional<WorkloadProcess> process;
  int64_t process_generation = 0;
  bool stopping = false;
  bool killed = false;
  Clock::time_point stop_deadline{};
  LogFollower log;
  std::string phase = "Starting";
  std::string reason;
  std::string endpoint;
  std::string measurement;
  int64_t restarts = 0;
  int64_t attestation_failures = 0;
  std::optional<int64_t> last_attestation;
  std::optional<bool> last_attestation_ok;
  std::deque<std::string> tail;
  std::string runtime_error;   // the last "crypta-runtime: error:" line of this run
  std::string launcher_error;  // the last "crypta: error:" line of this run
  int consecutive_failures = 0;
  bool exited_before = false;  // the next launch is a restart
  Clock::time_point next_start{};
  Clock::time_point next_probe{};
  Clock::time_point running_since{};

  std::string Key() const { return desired.tenant + "/" + desired.name; }
  void ResetForGeneration() {
    restarts = attestation_failures = 0;
    consecutive_failures = 0;
    exited_before = false;
    last_attestation.reset();
    last_attestation_ok.reset();
    measurement.clear();
    next_start = {};
  }
  void BeginStop(Clock::time_point now, std::chrono::milliseconds grace) {
    if (!process || stopping) return;
    process->Terminate();
    stopping = true;
    killed = false;
    stop_deadline = now + grace;
  }
};

Result<std::unique_ptr<NodeAgent>> NodeAgent::Create(NodeAgentOptions options,
                                                     std::unique_ptr<ControlPlaneClient> client) {
  if (!IsValidAgentName(options.name)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "--name: want 1-63 characters of [A-Za-z0-9._-], got \"" + options.name + "\"");
  }
  if (options.data_dir.empty()) return MakeError(ErrorCode::kInvalidArgument, "no --data-dir");
  if (options.launcher.empty() || options.runtime.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no launcher or runtime binary");
  }
  if (client == nullptr) return MakeError(ErrorCode::kInvalidArgument, "no control plane client");
  if (options.cpu < 0 || options.memory_bytes < 0 || options.gpus < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "--cpu, --memory and --gpus must be >= 0");
  }
  const std::string work = options.data_dir + "/nodes/" + options.name;
  if (std::find(options.tees.begin(), options.tees.end(), "sim") != options.tees.end()) {
    Result<attest::SimNodeIdentity> node = LoadSimNode(work);
    if (!node) {
      return MakeError(node.error().WithContext(
          "node " + options.name + ": no usable sim hardware identity (crypta up creates it)"));
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(work + "/workloads", ec);
  if (ec) return MakeError(ErrorCode::kUnavailable, work + "/workloads: " + ec.message());
  ::chmod(work.c_str(), 0700);
  ::chmod((work + "/workloads").c_str(), 0700);
  CRYPTA_ASSIGN_OR_RETURN(audit::Redactor redactor, audit::Redactor::Create());
  if (!options.probe) options.probe = ProbeAttestation;
  if (!options.log) {
    options.log = [](const std::string& line) {
      std::fprintf(stderr, "crypta node: %s\n", line.c_str());
    };
  }
  return std::unique_ptr<NodeAgent>(
      new NodeAgent(std::move(options), std::move(client), std::move(redactor)));
}

NodeAgent::NodeAgent(NodeAgentOptions options, std::unique_ptr<ControlPlaneClient> client,
                     audit::Redactor redactor)
    : options_(std::move(options)), client_(std::move(client)), redactor_(std::move(redactor)) {}

NodeAgent::~NodeAgent() = default;  // each WorkloadProcess kills and reaps its group

std::string NodeAgent::work_dir() const { return options_.data_dir + "/nodes/" + options_.name; }

std::string NodeAgent::NodePath(const std::string& suffix) const {
  return "/v1/nodes/" + options_.name + suffix;  // the name needs no percent-encoding
}

void NodeAgent::SetReachable(bool reachable, const std::string& why) {
  if (reachable && !reachable_) options_.log("control plane reachable again");
  if (!reachable && (reachable_ || why != last_problem_)) {
    options_.log("control plane: " + why + " (children keep running; retrying)");
  }
  reachable_ = reachable;
  last_problem_ = reachable ? "" : why;
}

void NodeAgent::SetPhase(Workload& w, const std::string& phase, const std::string& reason) {
  if (w.phase != phase) {
    options_.log(w.Key() + " (generation " + std::to_string(w.desired.generation) +
                 "): " + w.phase + " -> " + phase + (reason.empty() ? "" : ": " + reason));
  }
  w.phase = phase;
  w.reason = reason;
}

void NodeAgent::Tick() {
  const Clock::time_point now = Clock::now();
  json node = {{"name", options_.name},
               {"tees", options_.tees},
               {"cpu", options_.cpu},
               {"memory_bytes", options_.memory_bytes},
               {"gpus", options_.gpus}};
  if (Result<json> r = client_->Post("/v1/nodes", node); !r) {
    SetReachable(false, "register: " + r.error().message());
  } else if (Result<json> got = client_->Get(NodePath("/assignments")); !got) {
    SetReachable(false, "assignments: " + got.error().message());
  } else if (Result<std::vector<Assignment>> parsed = ParseAssignments(*got); !parsed) {
    SetReachable(false, parsed.error().message());  // keep what runs; say so once
  } else {
    SetReachable(true, "");
    Reconcile(*parsed);
  }
  for (auto& [key, w] : workloads_) Advance(*w, now);
  SendReport();
}

void NodeAgent::Reconcile(const std::vector<Assignment>& assignments) {
  const Clock::time_point now = Clock::now();
  std::set<std::string> listed;
  for (const Assignment& a : assignments) {
    const std::string key = a.tenant + "/" + a.name;
    listed.insert(key);
    auto it = workloads_.find(key);
    if (it == workloads_.end()) {
      auto w = std::make_unique<Workload>();
      w->desired = a;
      options_.log(key + " (generation " + std::to_string(a.generation) + "): assigned");
      workloads_.emplace(key, std::move(w));
      continue;
    }
    Workload& w = *it->second;
    const bool changed = !(w.desired == a);
    if (!w.removed && !changed) continue;
    w.removed = false;
    if (changed) {
      const int64_t old_generation = w.process ? w.process_generation : w.desired.generation;
      w.desired = a;
      w.ResetForGeneration();
      w.BeginStop(now, options_.stop_grace);
      SetPhase(w, "Starting",
               w.process ? "stopping generation " + std::to_string(old_generation) : "");
    } else if (!w.process) {
      SetPhase(w, "Starting", "");  // re-assigned before its Stopped report went out
    }
  }
  for (auto& [key, w] : workloads_) {
    if (listed.count(key) != 0 || w->removed) continue;
    w->removed = true;
    options_.log(key + ": unassigned; stopping");
    w->BeginStop(now, options_.stop_grace);
    if (w->process) w->reason = "stopping";
  }
}

void NodeAgent::ReadLog(Workload& w, bool flush) {
  for (std::string& line : w.log.ReadLines(flush)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string redacted = redactor_.Redact(line);
    if (w.endpoint.empty()) w.endpoint = ParseServingLine(line);
    if (line.find(kRuntimeError) != std::string::npos) {
      w.runtime_error = redacted.substr(
          redacted.find(kRuntimeError) == std::string::npos ? 0 : redacted.find(kRuntimeError));
    } else if (line.find(kLauncherError) != std::string::npos) {
      w.launcher_error = redacted;
    }
    w.tail.push_back(std::move(redacted));
    while (w.tail.size() > kLogTailLines) w.tail.pop_front();
  }
}

void NodeAgent::MarkFailed(Workload& w, Clock::time_point now, const std::string& reason) {
  ++w.consecutive_failures;
  const int shift = std::min(w.consecutive_failures - 1, 20);
  const auto delay = std::min<std::chrono::milliseconds>(
      options_.backoff_initial * (int64_t{1} << shift), options_.backoff_max);
  w.next_start = now + delay;
  w.endpoint.clear();
  SetPhase(w, "Failed", reason);
}

void NodeAgent::Advance(Workload& w, Clock::time_point now) {
  if (w.process) {
    ReadLog(w, false);
    if (std::optional<int> status = w.process->Poll()) {
      ReadLog(w, true);
      const bool was_stopping = w.stopping;
      w.process.reset();
      w.stopping = false;
      w.endpoint.clear();
      if (was_stopping) {
        if (w.removed) {
          SetPhase(w, "Stopped", "");
        } else {
          SetPhase(w, "Starting", "");  // an older generation is gone: launch the new one
          w.next_start = now;
        }
      } else {
        std::string reason = !w.runtime_error.empty()    ? w.runtime_error
                             : !w.launcher_error.empty() ? w.launcher_error
                                                         : "exited: " + DescribeExit(*status);
        if (IsAttestationFailure(reason)) ++w.attestation_failures;
        w.exited_before = true;
        MarkFailed(w, now, reason);
      }
    } else if (w.stopping) {
      if (!w.killed && now >= w.stop_deadline) {
        options_.log(w.Key() + ": still running " + std::to_string(options_.stop_grace.count()) +
                     " ms after SIGTERM; SIGKILL");
        w.process->Kill();
        w.killed = true;
      }
      return;
    } else {
      const bool running = w.phase == "Running";
      if (!w.endpoint.empty() && now >= w.next_probe) {
        Status ok = options_.probe(w.endpoint);
        if (!running && ok) {
          w.running_since = now;
          SetPhase(w, "Running", "");
        } else if (!running) {
          w.reason = "waiting for the attestation endpoint: " + ok.error().message();
        } else {
          w.reason = ok ? "" : "attestation check failed: " + ok.error().message();
        }
        if (running || ok) {
          w.last_attestation = UnixNow();
          w.last_attestation_ok = ok.has_value();
          w.next_probe = now + options_.attestation_interval;
        }
      }
      // A run that lasted longer than the longest backoff starts the sequence over.
      if (w.phase == "Running" && now - w.running_since >= options_.backoff_max) {
        w.consecutive_failures = 0;
      }
      return;
    }
  }
  if (w.removed) {
    if (w.phase != "Stopped") SetPhase(w, "Stopped", "");
    return;
  }
  if (now >= w.next_start) TryLaunch(w, now);
}

void NodeAgent::TryLaunch(Workload& w, Clock::time_point now) {
  const Assignment& a = w.desired;
  std::vector<std::string> runtime_argv = {options_.runtime};
  runtime_argv.insert(runtime_argv.end(), a.args.begin(), a.args.end());
  Result<Bytes> measurement = MeasureSimWorkload(runtime_argv);
  if (!measurement) {
    MarkFailed(w, now, "cannot measure the runtime: " + measurement.error().message());
    return;
  }
  w.measurement = HexEncode(*measurement);
  json launching = {{"tenant", a.tenant},
                    {"name", a.name},
                    {"generation", a.generation},
                    {"measurement", w.measurement},
                    {"host_data", a.host_data}};
  Result<json> answer = client_->Post(NodePath("/launching"), launching);
  if (!answer) {
    MarkFailed(w, now, "the control plane refused the launch: " + answer.error().message());
    return;
  }
  std::vector<std::string> argv = {options_.launcher, "sim", "launch", "--data-dir", work_dir()};
  if (!a.host_data.empty()) argv.insert(argv.end(), {"--host-data", a.host_data});
  if (a.debug) argv.push_back("--debug");
  if (a.gpus > 0) argv.insert(argv.end(), {"--gpus", std::to_string(a.gpus)});
  argv.push_back("--");
  argv.insert(argv.end(), runtime_argv.begin(), runtime_argv.end());

  const std::string log_path = work_dir() + "/workloads/" + a.tenant + "." + a.name + ".log";
  struct stat st {};
  if (::stat(log_path.c_str(), &st) == 0 && st.st_size > kMaxLogBytes) {
    std::error_code ec;
    std::filesystem::rename(log_path, log_path + ".1", ec);
  }
  w.log = LogFollower(log_path);
  w.runtime_error.clear();
  w.launcher_error.clear();
  Result<WorkloadProcess> child = WorkloadProcess::Spawn(argv, log_path);
  if (!child) {
    MarkFailed(w, now, "cannot start the launcher: " + child.error().message());
    return;
  }
  if (w.exited_before) ++w.restarts;
  w.process.emplace(std::move(*child));
  w.process_generation = a.generation;
  w.stopping = w.killed = false;
  w.endpoint.clear();
  w.next_probe = now;
  SetPhase(w, "Attesting", "");
}

json NodeAgent::BuildReport() const {
  json list = json::array();
  for (const auto& [key, w] : workloads_) {
    list.push_back({{"tenant", w->desired.tenant},
                    {"name", w->desired.name},
                    {"generation", w->desired.generation},
                    {"phase", w->phase},
                    {"reason", w->reason},
                    {"endpoint", w->endpoint},
                    {"measurement", w->measurement},
                    {"host_data", w->desired.host_data},
                    {"pid", w->process ? json(w->process->pid()) : json(nullptr)},
                    {"restarts", w->restarts},
                    {"attestation_failures", w->attestation_failures},
                    {"last_attestation", OptionalJson(w->last_attestation)},
                    {"last_attestation_ok", OptionalJson(w->last_attestation_ok)},
                    {"log_tail", json(std::vector<std::string>(w->tail.begin(), w->tail.end()))}});
  }
  return {{"deployments", std::move(list)}};
}

void NodeAgent::SendReport() {
  last_report_ = BuildReport();
  if (!reachable_) return;
  if (Result<json> r = client_->Post(NodePath("/status"), last_report_); !r) {
    SetReachable(false, "status: " + r.error().message());
    return;
  }
  // Stopped deployments were reported once: forget them.
  std::erase_if(workloads_, [](const auto& entry) {
    const Workload& w = *entry.second;
    return w.removed && !w.process && w.phase == "Stopped";
  });
}

void NodeAgent::Run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    Tick();
    const Clock::time_point next = Clock::now() + options_.poll_interval;
    while (!stop.load() && Clock::now() < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  Shutdown();
}

void NodeAgent::Shutdown() {
  Clock::time_point now = Clock::now();
  for (auto& [key, w] : workloads_) {
    w->removed = true;
    w->BeginStop(now, options_.stop_grace);
  }
  // SIGKILL follows after stop_grace; a child that even that does not end (stuck in the
  // kernel) is left to the destructor's blocking wait.
  const Clock::time_point give_up = now + options_.stop_grace + std::chrono::seconds(5);
  while (true) {
    now = Clock::now();
    bool any = false;
    for (auto& [key, w] : workloads_) {
      Advance(*w, now);
      any = any || w->process.has_value();
    }
    if (!any || now >= give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // One try, whatever the last poll saw: the control plane may be stopping too.
  last_report_ = BuildReport();
  if (Result<json> r = client_->Post(NodePath("/status"), last_report_); !r) {
    options_.log("could not report the stopped deployments: " + r.error().message());
  }
  workloads_.clear();
}

}  // namespace crypta::deploy
