// crypta up: run the control plane (key broker, RCAR, admin API, audit) from a data dir.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "api/data_dir.h"
#include "api/server.h"
#include "cli/api_connect.h"
#include "cli/commands.h"
#include "common/bytes.h"
#include "common/file_util.h"
#include "common/time_util.h"
#include "deploy/sim_launch.h"
#include "deploy/spec.h"

namespace crypta::cli {
namespace {

struct UpArgs {
  std::string listen = "127.0.0.1:8443";
  std::string data_dir;
  std::string store;
  int64_t maintenance_s = 15;
  bool insecure_http = false;
  uint64_t min_free_mb = 64;
  std::vector<std::string> tls_names;
  int nodes = 0;
  bool keep_nodes = false;
  // What each local sim node offers the scheduler. Simulated capacity (the seed documents
  // ask for 8 CPUs, 32Gi and a GPU): nothing enforces it on this machine.
  int64_t node_cpu = 16;
  std::string node_memory = "64Gi";
  int64_t node_gpus = 1;
};

// A local node agent (`crypta node run`), started as a child of `crypta up` (or, with
// --keep-nodes, found running from an earlier `crypta up`: not a child then).
struct NodeAgent {
  std::string name;
  pid_t pid = -1;
  bool reattached = false;  // found running (--keep-nodes)
};

// The PID in <node dir>/agent.pid when that process is still `crypta node run --name NAME`.
pid_t RunningKeptAgent(const std::string& dir, const std::string& name) {
  auto text = api::ReadPublicFile(dir + "/agent.pid");
  if (!text) return -1;
  const pid_t pid = static_cast<pid_t>(std::atol(Trim(*text).c_str()));
  if (pid <= 0) return -1;
  // (/proc files report size 0: read them as a stream.)
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string args((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::replace(args.begin(), args.end(), '\0', ' ');
  return args.find(" node run ") != std::string::npos &&
                 args.find(" --name " + name + " ") != std::string::npos
             ? pid
             : -1;
}

// Starts `crypta node run` for node `name` with its sim identity under <data>/nodes/<name>;
// its output goes to <data>/nodes/<name>/agent.log. The agent dies with `crypta up`.
Result<NodeAgent> StartNodeAgent(const std::string& data_dir, const std::string& name,
                                 const UpArgs& args) {
  CRYPTA_ASSIGN_OR_RETURN(int64_t memory, deploy::ParseMemoryQuantity(args.node_memory));
  const std::string cpu = std::to_string(args.node_cpu), memory_text = std::to_string(memory),
                    gpus = std::to_string(args.node_gpus);
  CRYPTA_ASSIGN_OR_RETURN(std::string dir, api::EnsureLocalNode(data_dir, name, UnixNow()));
  if (args.keep_nodes) {
    if (const pid_t running = RunningKeptAgent(dir, name); running > 0) {
      return NodeAgent{name, running, true};
    }
  }
  const std::string log = dir + "/agent.log";
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return MakeError(ErrorCode::kUnavailable, "cannot open " + log);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    return MakeError(ErrorCode::kUnavailable, "cannot start the node agent " + name);
  }
  if (pid == 0) {
    if (args.keep_nodes) {
      ::setsid();  // its own session: a Ctrl-C of crypta up does not reach it
    } else {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    }
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);  // crypta up blocks SIGTERM; the agent must not
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    // Nothing else of crypta up's goes along (a kept agent holding the listening socket
    // would keep the next crypta up from binding the port).
    ::close_range(3, ~0U, 0);
    ::execl("/proc/self/exe", "crypta", "node", "run", "--data-dir", data_dir.c_str(), "--name",
            name.c_str(), "--cpu", cpu.c_str(), "--memory", memory_text.c_str(), "--gpus",
            gpus.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fd);
  if (args.keep_nodes) {
    CRYPTA_RETURN_IF_ERROR(WriteFileAtomic(dir + "/agent.pid", AsBytes(std::to_string(pid) + "\n"),
                                           0644,
                                           /*overwrite=*/true));
  }
  return NodeAgent{name, pid, false};
}

// SIGTERM to every agent (they stop their workloads), then wait; SIGKILL after 20 s. Not
// called with --keep-nodes: those agents stay (reaped by init once crypta up exits).
void StopNodeAgents(std::vector<NodeAgent>& agents) {
  for (const NodeAgent& a : agents) ::kill(a.pid, SIGTERM);
  for (int waited = 0; waited < 200; ++waited) {
    bool all_gone = true;
    for (NodeAgent& a : agents) {
      if (a.pid > 0 && ::waitpid(a.pid, nullptr, WNOHANG) == a.pid) a.pid = -1;
      all_gone = all_gone && a.pid <= 0;
    }
    if (all_gone) return;
    ::usleep(100 * 1000);
  }
  for (NodeAgent& a : agents) {
    if (a.pid > 0) {
      ::kill(a.pid, SIGKILL);
      ::waitpid(a.pid, nullptr, 0);
      a.pid = -1;
    }
  }
}

Result<std::pair<std::string, int>> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  const std::string port_text = colon == std::string::npos ? "" : listen.substr(colon + 1);
  if (colon == 0 || colon == std::string::npos || port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) > 65535) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--listen must be HOST:PORT (e.g. 127.0.0.1:8443; port 0 = any free port)");
  }
  return std::make_pair(listen.substr(0, colon), std::stoi(port_text));
}

// One `crypta up` per data dir (issue 12: a second one would overwrite `url` and share the
// database): an exclusive flock on <dir>/lock, held until the process ends (also by kill -9),
// with the holder's PID written in it. Returns the descriptor to keep open.
Result<int> LockDataDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return MakeError(ErrorCode::kUnavailable, "cannot create " + dir + ": " + std::strerror(errno));
  }
  const std::string path = dir + "/lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return MakeError(ErrorCode::kUnavailable, "cannot open " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    const ssize_t n = ::pread(fd, pid, sizeof(pid) - 1, 0);
    ::close(fd);
    std::string holder = n > 0 ? Trim(std::string(pid, static_cast<size_t>(n))) : "another process";
    auto url = api::ReadPublicFile(dir + "/url");
    return MakeError(ErrorCode::kFailedPrecondition,
                     "data dir " + dir + " is already served by PID " + holder +
                         (url ? " at " + Trim(*url) : std::string()) +
                         " (stop it first, or use another --data-dir)");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    ::close(fd);
    return MakeError(ErrorCode::kUnavailable, "cannot write " + path);
  }
  return fd;
}

int RunUp(const UpArgs& args) {
  auto listen = ParseListen(args.listen);
  if (!listen) return ReportError(listen.error());
  api::ControlPlaneOptions options;
  options.data_dir = args.data_dir.empty() ? DefaultDataDir() : args.data_dir;
  options.host = listen->first;
  options.port = listen->second;
  options.insecure_http = args.insecure_http;
  options.tls_names = args.tls_names;
  options.min_free_bytes = args.min_free_mb << 20;
  options.maintenance_s = args.maintenance_s;
  auto lock = LockDataDir(options.data_dir);
  if (!lock) return ReportError(lock.error());
  auto store =
      api::ResolveStore(options.data_dir, args.store.empty() ? Env("CRYPTA_STORE") : args.store);
  if (!store) return ReportError(store.error());
  options.store = *store;

  // Block SIGINT/SIGTERM in every thread; one thread waits for them and stops the server.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto plane = api::ControlPlane::Start(options);
  if (!plane) return ReportError(plane.error());
  // Record where we listen so other commands find us through --data-dir (world-readable:
  // the URL is not a secret; the token stays in admin.token, 0600). Rewritten atomically.
  const bool ipv6 = options.host.find(':') != std::string::npos;  // RFC 3986 §3.2.2
  const std::string scheme = args.insecure_http ? "http://" : "https://";
  const std::string url = scheme + (ipv6 ? "[" + options.host + "]" : options.host) + ":" +
                          std::to_string((*plane)->port()) + "\n";
  if (Status s = WriteFileAtomic(options.data_dir + "/url", AsBytes(url), 0644,
                                 /*overwrite=*/true);
      !s) {
    return ReportError(s.error().WithContext("cannot write " + options.data_dir + "/url"));
  }
  std::printf("crypta: listening on %s%s:%d (data dir %s)\n", scheme.c_str(), options.host.c_str(),
              (*plane)->port(), options.data_dir.c_str());
  if (args.insecure_http) {
    std::printf("crypta: WARNING: plaintext HTTP (--insecure-http): use it on loopback only\n");
  } else {
    std::printf(
        "crypta: TLS by the platform CA, root %s (%s/tls/ca.pem); clients pin it with\n"
        "        --ca-cert FILE or CRYPTA_CA_CERT (--data-dir finds it)\n",
        (*plane)->TlsCaFingerprint().c_str(), options.data_dir.c_str());
  }
  std::printf("crypta: store %s%s\n", (*plane)->state().store.c_str(),
              (*plane)->state().shared_store ? " (shared: replicas may serve it too)" : "");
  std::printf("crypta: the local sim TEE is SIMULATED: no hardware isolation\n");
  if ((*plane)->state().first_start) {
    std::printf("crypta: platform-admin token written to %s/admin.token\n",
                options.data_dir.c_str());
  }
  std::vector<NodeAgent> agents;
  for (int i = 1; i <= args.nodes; ++i) {
    auto agent = StartNodeAgent(options.data_dir, "node-" + std::to_string(i), args);
    if (!agent) {
      if (!args.keep_nodes) StopNodeAgents(agents);
      return ReportError(agent.error());
    }
    std::printf("crypta: %s local sim node %s (pid %d, log %s/nodes/%s/agent.log)\n",
                agent->reattached ? "reattached to" : "started", agent->name.c_str(),
                static_cast<int>(agent->pid), options.data_dir.c_str(), agent->name.c_str());
    agents.push_back(*agent);
  }
  std::fflush(stdout);

  // On SIGINT/SIGTERM (or the SIGTERM sent below once Serve returns): the node agents stop
  // their workloads while the server still answers their last reports, then the server.
  std::thread waiter([&signals, &agents, &args, server = plane->get()] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    if (!args.keep_nodes) StopNodeAgents(agents);
    server->Stop();
  });
  Status served = (*plane)->Serve();
  // Wake the waiter if Serve ended on its own.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  if (!served) return ReportError(served.error());
  std::printf("crypta: stopped\n");
  return 0;
}

}  // namespace

std::string DefaultDataDir() {
  if (const char* dir = std::getenv("CRYPTA_DATA_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/crypta";
  }
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.local/share/crypta";
}

void RegisterUpCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<UpArgs>();
  CLI::App* up = app.add_subcommand("up", "Run the control plane (key broker, RCAR, admin API)");
  up->add_option("--listen", args->listen, "HOST:PORT to listen on (port 0 = any free port)")
      ->capture_default_str();
  up->add_option("--data-dir", args->data_dir,
                 "State directory (default $CRYPTA_DATA_DIR, else ~/.local/share/crypta)");
  up->add_option("--store", args->store,
                 "Keep the state in PostgreSQL: postgres://USER[:PASSWORD]@HOST[:PORT]/DB\n"
                 "(default $CRYPTA_STORE; without either, SQLite in the data dir). Several\n"
                 "replicas, each with a copy of the first one's data dir, serve one store\n"
                 "(docs/ha.md). The data dir records it in store.url");
  up->add_option("--maintenance-interval", args->maintenance_s,
                 "Seconds between runs of the scheduled work (key rotation, scheduling); with\n"
                 "replicas, also how soon another replica takes it over from a dead leader")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  up->add_flag("--insecure-http", args->insecure_http,
               "Serve plaintext HTTP instead of TLS (tests; loopback only)");
  up->add_option("--min-free-mb", args->min_free_mb,
                 "Refuse writes (503) when the data dir's file system has less free space\n"
                 "than this, so an audited operation never fails half-way on a full disk")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  up->add_option("--nodes", args->nodes,
                 "Start N local sim nodes (node agents, each with its own sim hardware key)")
      ->check(CLI::Range(0, 64));
  up->add_flag("--keep-nodes", args->keep_nodes,
               "Leave the --nodes agents (and their workloads) running when crypta up stops;\n"
               "the next crypta up --nodes N --keep-nodes reattaches to them, so deployments\n"
               "keep serving across control-plane restarts. Stop one with kill on\n"
               "DATA_DIR/nodes/NAME/agent.pid");
  up->add_option("--node-cpu", args->node_cpu, "CPUs each local sim node offers")
      ->capture_default_str();
  up->add_option("--node-memory", args->node_memory, "Memory each local sim node offers")
      ->capture_default_str();
  up->add_option("--node-gpus", args->node_gpus,
                 "Simulated GPUs each local sim node offers (their evidence is signed by sim "
                 "keys and says SIMULATED)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{deploy::kSimGpusPerNode}));
  up->add_option("--tls-name", args->tls_names,
                 "Extra DNS name or IP for the TLS certificate (localhost, 127.0.0.1, ::1 and\n"
                 "the --listen host are always included)");
  up->callback([args, exit_code] { *exit_code = RunUp(*args); });
}

}  // namespace crypta::cli
