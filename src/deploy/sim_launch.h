// The sim TEE launcher (DESIGN.md §4.2): the host side of `crypta sim launch`. It plays the
// hardware for one workload: it measures what it launches (ComputeSimMeasurement over the
// runtime binary, its arguments and the value of --model), serves that workload's report
// socket (attest::SimReportServer, signing with the control plane's sim node key), and runs
// the workload as a child process with CRYPTA_SIM_SOCKET pointing at the socket.
//
// SIMULATED: the node key is a file on the host; this gives no isolation at all.
#ifndef CRYPTA_DEPLOY_SIM_LAUNCH_H_
#define CRYPTA_DEPLOY_SIM_LAUNCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "attest/nvidia/sim_gpu.h"
#include "attest/sim/sim_tee.h"
#include "common/bytes.h"
#include "common/status.h"

namespace crypta::deploy {

inline constexpr char kSimWarning[] = "SIMULATED TEE — no hardware isolation";
inline constexpr char kSimSocketEnv[] = "CRYPTA_SIM_SOCKET";
inline constexpr size_t kMaxRuntimeBinaryBytes = size_t{1} << 30;

// `name` itself when it holds a '/', else the first executable regular file of that name
// in $PATH. kNotFound otherwise.
Result<std::string> ResolveExecutable(const std::string& name);

// The value of "--model X" or "--model=X" in `args` (the last one wins, as CLI11 does);
// empty when absent.
std::string ModelArgument(const std::vector<std::string>& args);

// The sim launch measurement (48 bytes) of `argv` = {runtime binary, args...}: SHA-384 over
// the binary's bytes, argv[1..] and the --model value (attest::ComputeSimMeasurement).
// kInvalidArgument for an empty argv; kNotFound/kResourceExhausted for the binary.
Result<Bytes> MeasureSimWorkload(const std::vector<std::string>& argv);

// The local sim node identity from the control plane's data dir (api/data_dir.h):
// sim/node.pem (chain, node first) and sim/node.key.pem (must be owner-only).
Result<attest::SimNodeIdentity> LoadSimNode(const std::string& data_dir);

// Simulated GPUs (attest/nvidia/sim_gpu.h): every sim node has kSimGpusPerNode of them,
// sim/gpu-<i>.pem (chain) and sim/gpu-<i>.key.pem in its directory, issued by the sim CA.
inline constexpr int kSimGpusPerNode = 8;
// Issues the node's missing sim GPUs ("<node>-gpu<i>") into `sim_dir`.
Status EnsureSimGpus(const std::string& sim_dir, const attest::SimCa& ca, const std::string& node,
                     int64_t now);
// The first `count` sim GPUs of the data dir's node.
Result<std::vector<attest::nvidia::SimGpu>> LoadSimGpus(const std::string& data_dir, int count);

struct SimLaunchOptions {
  std::string data_dir;
  Bytes host_data;  // up to 32 bytes, zero-padded
  bool debug = false;
  uint32_t svn = 1;
  int gpus = 0;                   // simulated GPUs passed through (0..kSimGpusPerNode)
  std::vector<std::string> argv;  // runtime binary, then its arguments
};

// Measures, serves the report socket in a fresh 0700 temporary directory, runs the workload
// (PR_SET_PDEATHSIG: it dies with the launcher), forwards SIGTERM/SIGINT/SIGHUP to it,
// waits, removes the socket and directory and returns the workload's exit status (128 + N
// when signal N killed it). Must be called from a single-threaded process (it changes the
// signal mask of the calling thread before starting any thread). Errors: those above, and
// kUnavailable when the socket or the process cannot be created.
Result<int> RunSimLaunch(const SimLaunchOptions& options);

}  // namespace crypta::deploy

#endif  // CRYPTA_DEPLOY_SIM_LAUNCH_H_
