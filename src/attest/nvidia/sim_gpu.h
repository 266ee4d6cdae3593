// The simulated NVIDIA GPU: it gives NO isolation and NO confidentiality. Its "device key"
// is a P-384 key in memory, its certificate chains to the platform's sim root CA
// (attest/sim/sim_tee.h), and everything about it says SIMULATED. It exists so the GPU
// attestation path (composite CPU + GPU evidence, the gpu: policy section) runs on
// machines without an H100.
//
// Its reports use exactly the Hopper wire format (report.h): the same parser and
// NvidiaGpuVerifier path check them. NvidiaGpuVerifier accepts them only when it was
// given the sim root, and then claims simulated = true.
#ifndef CRYPTA_ATTEST_NVIDIA_SIM_GPU_H_
#define CRYPTA_ATTEST_NVIDIA_SIM_GPU_H_

#include <cstdint>
#include <string>
#include <vector>

#include "attest/sim/sim_tee.h"
#include "common/bytes.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace crypta::attest::nvidia {

struct SimGpu {
  std::string id;
  PrivateKey key;                  // the "FMC leaf" attestation key
  std::vector<Certificate> chain;  // leaf "CN=crypta SIMULATED GPU <id>", then the sim root
};

// Issues a P-384 leaf "CN=crypta SIMULATED GPU <id>" signed by the sim root, valid from
// now - 300 s for a year, with the TCG DICE FWID extension (2.23.133.5.4.1) holding
// SHA-384("crypta sim GPU FMC" || id). `gpu_id`: 1..64 printable ASCII characters.
Result<SimGpu> IssueSimGpu(const attest::SimCa& ca, const std::string& gpu_id, int64_t now);

struct SimGpuReport {
  Bytes nonce;  // exactly 32 bytes: the verifier's nonce
  std::string driver_version = "550.90.07";
  std::string vbios_version = "96.00.9f.00.01";
  bool cc_mode = true;
  bool devtools = false;  // devtools implies a CC mode: claims cc_mode "devtools", debug true
};

// Writes and signs a Hopper-format report: 64 DMTF blocks of SHA-384 values derived
// deterministically from the driver and VBIOS versions and the block index, a random
// responder nonce, the usual opaque fields (VBIOS, driver, chip/project fields "sim", FWID
// equal to the leaf's, FEATURE_FLAG SPT plus the sim-only CC-off / devtools bits of
// report.h), and the ECDSA P-384 signature. Thread-safe.
Result<Bytes> SignSimGpuReport(const SimGpu& gpu, const SimGpuReport& report);

// The 48-byte block value the simulated GPU reports at `index` (1..64) for these versions.
Bytes SimGpuMeasurement(uint8_t index, const std::string& driver_version,
                        const std::string& vbios_version);

}  // namespace crypta::attest::nvidia

#endif  // CRYPTA_ATTEST_NVIDIA_SIM_GPU_H_
