// The sim TEE's report channel: the node agent serves one Unix socket per launched
// workload with that workload's launch values fixed; the workload connects and asks for a
// report over report_data it chooses (as a guest asks real hardware through a device).
//
// Protocol: one request line {"report_data":"<hex, up to 64 bytes>"}\n, one response line
// {"evidence":"<base64 evidence>"}\n or {"error":"…"}\n, then the connection closes. A
// workload launched with simulated GPUs may instead send {"gpu_nonce":"<hex, 32 bytes>"}\n
// and gets the evidence of all its GPUs (attest/nvidia/report.h's JSON envelope).
#ifndef CRYPTA_ATTEST_SIM_SIM_SOCKET_H_
#define CRYPTA_ATTEST_SIM_SIM_SOCKET_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "attest/nvidia/sim_gpu.h"
#include "attest/sim/sim_tee.h"

namespace crypta::attest {

// Serves reports on a Unix socket in a background thread. The socket file is created
// owner-only (umask 077) and removed by Stop() / the destructor.
class SimReportServer {
 public:
  using Clock = std::function<int64_t()>;
  // `gpus`: the simulated GPUs passed through to this workload (may be empty).
  static Result<std::unique_ptr<SimReportServer>> Start(const std::string& socket_path,
                                                        SimNodeIdentity node, SimLaunch launch,
                                                        Clock clock,
                                                        std::vector<nvidia::SimGpu> gpus = {});
  ~SimReportServer();
  void Stop();
  const std::string& socket_path() const { return path_; }

 private:
  SimReportServer(std::string path, int fd, SimNodeIdentity node, SimLaunch launch, Clock clock,
                  std::vector<nvidia::SimGpu> gpus);
  Result<Bytes> GpuEvidence(ByteSpan nonce) const;
  void Serve();
  void HandleClient(int fd);

  std::string path_;
  int listen_fd_;
  SimNodeIdentity node_;
  SimLaunch launch_;
  Clock clock_;
  std::vector<nvidia::SimGpu> gpus_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Workload side: asks the node's socket for evidence over `report_data`.
Result<Bytes> RequestSimEvidence(const std::string& socket_path, ByteSpan report_data);
// Workload side: the evidence of the simulated GPUs over the 32-byte `nonce`.
Result<Bytes> RequestSimGpuEvidence(const std::string& socket_path, ByteSpan nonce);

}  // namespace crypta::attest

#endif  // CRYPTA_ATTEST_SIM_SIM_SOCKET_H_
