// GPU attesters inside a confidential VM: the evidence of every GPU over a nonce, as the
// "nvidia" additional evidence of RCAR's composite body (attest/nvidia/report.h's JSON
// envelope). Two sources:
//  - NVIDIA's NVML confidential-computing API (libnvidia-ml.so.1), loaded with dlopen at
//    run time: crypta never links against it, and a host without it gets a clear error;
//  - the sim TEE's simulated GPUs, through the sim report socket (attest/sim/sim_socket.h).
#ifndef CRYPTA_ATTEST_GPU_COLLECTOR_H_
#define CRYPTA_ATTEST_GPU_COLLECTOR_H_

#include <memory>
#include <string>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta::attest {

inline constexpr size_t kGpuNonceSize = 32;  // SPDM 1.1 GET_MEASUREMENTS nonce

class GpuAttester {
 public:
  virtual ~GpuAttester() = default;
  virtual std::string name() const = 0;
  // One report per GPU over `nonce` (exactly 32 bytes), with each GPU's certificate chain.
  virtual Result<Bytes> Collect(ByteSpan nonce) = 0;
};

// NVML: every GPU the driver lists. Fails naming the cause when the library cannot be
// loaded, lacks the confidential-computing entry points (driver older than R535), or a GPU
// refuses (e.g. CC mode off).
Result<std::unique_ptr<GpuAttester>> OpenNvmlGpuAttester(
    const std::string& library = "libnvidia-ml.so.1");

// The simulated GPUs the sim TEE's report socket offers to this workload.
Result<std::unique_ptr<GpuAttester>> OpenSimGpuAttester(const std::string& socket_path);

// "nvml", "sim" (needs `sim_socket`) or "none" (nullptr).
Result<std::unique_ptr<GpuAttester>> OpenGpuAttester(const std::string& kind,
                                                     const std::string& sim_socket);

}  // namespace crypta::attest

#endif  // CRYPTA_ATTEST_GPU_COLLECTOR_H_
