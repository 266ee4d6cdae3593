#include "deploy/sim_launch.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "attest/sim/sim_socket.h"
#include "common/file_util.h"
#include "common/time_util.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

extern char** environ;

namespace crypta::deploy {
namespace {

// The node id `crypta up` gives its local sim node (api/data_dir.h kSimNodeId).
constexpr char kLocalNodeId[] = "local-node";
constexpr size_t kMaxPemBytes = 1 << 20;

Result<std::string> ReadText(const std::string& path, bool private_file) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return MakeError(ErrorCode::kNotFound,
                     path + ": " + std::strerror(errno) + " (is this a `crypta up` data dir?)");
  }
  if (!S_ISREG(st.st_mode)) {
    return MakeError(ErrorCode::kFailedPrecondition, path + ": not a regular file");
  }
  if (private_file && (st.st_mode & 077) != 0) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     path + ": readable by group or others; run chmod 600 " + path);
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes bytes, ReadFileBytes(path, kMaxPemBytes));
  return ToString(bytes);
}

// The launcher's cleanup: stop the server, remove the socket and its directory.
struct SocketDir {
  std::string dir;
  std::unique_ptr<attest::SimReportServer> server;
  ~SocketDir() {
    if (server) server->Stop();
    if (!dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
};

// Restores the caller's signal mask on every exit path.
struct MaskGuard {
  sigset_t old;
  ~MaskGuard() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
};

}  // namespace

Result<std::string> ResolveExecutable(const std::string& name) {
  if (name.empty()) return MakeError(ErrorCode::kInvalidArgument, "no runtime binary given");
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return MakeError(ErrorCode::kNotFound, name + ": not found in PATH");
}

std::string ModelArgument(const std::vector<std::string>& args) {
  std::string model;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--model" && i + 1 < args.size()) {
      model = args[++i];
    } else if (args[i].starts_with("--model=")) {
      model = args[i].substr(8);
    }
  }
  return model;
}

Result<Bytes> MeasureSimWorkload(const std::vector<std::string>& argv) {
  if (argv.empty()) return MakeError(ErrorCode::kInvalidArgument, "no runtime binary given");
  CRYPTA_ASSIGN_OR_RETURN(std::string binary, ResolveExecutable(argv[0]));
  Result<Bytes> bytes = ReadFileBytes(binary, kMaxRuntimeBinaryBytes);
  if (!bytes) return MakeError(bytes.error().WithContext("runtime binary " + binary));
  const std::vector<std::string> args(argv.begin() + 1, argv.end());
  return attest::ComputeSimMeasurement(*bytes, args, ModelArgument(args));
}

Result<attest::SimNodeIdentity> LoadSimNode(const std::string& data_dir) {
  CRYPTA_ASSIGN_OR_RETURN(std::string chain_pem, ReadText(data_dir + "/sim/node.pem", false));
  CRYPTA_ASSIGN_OR_RETURN(std::string key_pem, ReadText(data_dir + "/sim/node.key.pem", true));
  Result<std::vector<Certificate>> chain = Certificate::ParsePemBundle(chain_pem);
  if (!chain) return MakeError(chain.error().WithContext(data_dir + "/sim/node.pem"));
  Result<PrivateKey> key = PrivateKey::FromPem(key_pem);
  if (!key) return MakeError(key.error().WithContext(data_dir + "/sim/node.key.pem"));
  return attest::SimNodeIdentity{kLocalNodeId, std::move(*key), std::move(*chain)};
}

namespace {

std::string SimGpuPath(const std::string& sim_dir, int i, const char* suffix) {
  return sim_dir + "/gpu-" + std::to_string(i) + suffix;
}

}  // namespace

Status EnsureSimGpus(const std::string& sim_dir, const attest::SimCa& ca, const std::string& node,
                     int64_t now) {
  for (int i = 0; i < kSimGpusPerNode; ++i) {
    const std::string key_path = SimGpuPath(sim_dir, i, ".key.pem");
    struct stat st {};
    if (::lstat(key_path.c_str(), &st) == 0) continue;
    CRYPTA_ASSIGN_OR_RETURN(
        attest::nvidia::SimGpu gpu,
        attest::nvidia::IssueSimGpu(ca, node + "-gpu" + std::to_string(i), now));
    const std::string chain = CertificatesToPem(gpu.chain);
    CRYPTA_ASSIGN_OR_RETURN(std::string key_text, gpu.key.ToPkcs8Pem());
    // The chain first, the key last: the key's presence marks the GPU as complete.
    CRYPTA_RETURN_IF_ERROR(WriteFileAtomic(SimGpuPath(sim_dir, i, ".pem"), AsBytes(chain), 0644,
                                           /*overwrite=*/true));
    CRYPTA_RETURN_IF_ERROR(WriteFileAtomic(key_path, AsBytes(key_text), 0600, /*overwrite=*/false));
  }
  return OkStatus();
}

Result<std::vector<attest::nvidia::SimGpu>> LoadSimGpus(const std::string& data_dir, int count) {
  if (count < 0 || count > kSimGpusPerNode) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--gpus: a sim node has 0 to " + std::to_string(kSimGpusPerNode) + " GPUs");
  }
  std::vector<attest::nvidia::SimGpu> out;
  for (int i = 0; i < count; ++i) {
    const std::string chain_path = SimGpuPath(data_dir + "/sim", i, ".pem");
    const std::string key_path = SimGpuPath(data_dir + "/sim", i, ".key.pem");
    CRYPTA_ASSIGN_OR_RETURN(std::string chain_pem, ReadText(chain_path, false));
    CRYPTA_ASSIGN_OR_RETURN(std::string key_pem, ReadText(key_path, true));
    Result<std::vector<Certificate>> chain = Certificate::ParsePemBundle(chain_pem);
    if (!chain) return MakeError(chain.error().WithContext(chain_path));
    Result<PrivateKey> key = PrivateKey::FromPem(key_pem);
    if (!key) return MakeError(key.error().WithContext(key_path));
    out.push_back({"sim-gpu-" + std::to_string(i), std::move(*key), std::move(*chain)});
  }
  return out;
}

Result<int> RunSimLaunch(const SimLaunchOptions& options) {
  if (options.host_data.size() > attest::kSimHostDataSize) {
    return MakeError(ErrorCode::kInvalidArgument, "--host-data: at most 32 bytes");
  }
  CRYPTA_ASSIGN_OR_RETURN(std::vector<attest::nvidia::SimGpu> gpus,
                          LoadSimGpus(options.data_dir, options.gpus));
  CRYPTA_ASSIGN_OR_RETURN(Bytes measurement, MeasureSimWorkload(options.argv));
  CRYPTA_ASSIGN_OR_RETURN(std::string binary, ResolveExecutable(options.argv[0]));
  CRYPTA_ASSIGN_OR_RETURN(attest::SimNodeIdentity node, LoadSimNode(options.data_dir));
  attest::SimLaunch launch;
  launch.measurement = std::move(measurement);
  launch.host_data = options.host_data;
  launch.host_data.resize(attest::kSimHostDataSize, 0);
  launch.debug = options.debug;
  launch.svn = options.svn;

  // Block the signals we forward before any thread exists (the report server's thread
  // inherits the mask), so they are only ever taken by sigtimedwait below.
  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&forwarded, sig);
  MaskGuard mask;
  pthread_sigmask(SIG_BLOCK, &forwarded, &mask.old);

  SocketDir socket_dir;
  char dir_template[] = "/tmp/crypta-sim-XXXXXX";  // mkdtemp creates it 0700
  if (::mkdtemp(dir_template) == nullptr) {
    return MakeError(ErrorCode::kUnavailable, std::string("mkdtemp: ") + std::strerror(errno));
  }
  socket_dir.dir = dir_template;
  const std::string socket_path = socket_dir.dir + "/report.sock";
  CRYPTA_ASSIGN_OR_RETURN(socket_dir.server, attest::SimReportServer::Start(
                                                 socket_path, std::move(node), launch,
                                                 [] { return UnixNow(); }, std::move(gpus)));

  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> env_strings;
  const std::string env_prefix = std::string(kSimSocketEnv) + "=";
  for (char** e = environ; *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with(env_prefix)) env_strings.emplace_back(*e);
  }
  env_strings.push_back(env_prefix + socket_path);
  std::vector<char*> envp, argv;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = options.argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    return MakeError(ErrorCode::kUnavailable, std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);  // the launcher died before prctl took effect
    pthread_sigmask(SIG_SETMASK, &mask.old, nullptr);
    ::execve(binary.c_str(), argv.data(), envp.data());
    static const char kMsg[] = "crypta: error: cannot execute the runtime binary\n";
    (void)!::write(2, kMsg, sizeof(kMsg) - 1);
    ::_exit(127);
  }

  int status = 0;
  while (true) {
    timespec timeout{1, 0};
    const int sig = ::sigtimedwait(&forwarded, nullptr, &timeout);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) ::kill(child, sig);
    const pid_t done = ::waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (done < 0 && errno != EINTR) {
      return MakeError(ErrorCode::kInternal, std::string("waitpid: ") + std::strerror(errno));
    }
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace crypta::deploy
