// Code running inside a TEE (a Python or Node workload under `crypta sim launch` or in a
// confidential VM) getting its secrets the way crypta-runtime does (DESIGN.md §3 "Boot inside
// the TEE"): evidence from the TEE's attester, RCAR with the key broker for an EAR token, then
// key release to an ephemeral key whose public half the evidence bound. Nothing here runs
// outside an attester: DetectAttester finds the hardware (configfs-tsm, /dev/sev-guest,
// /dev/tdx_guest, Gramine) or the sim TEE's report socket (CRYPTA_SIM_SOCKET).
//
// Thread-safety: none; give each thread its own TeeEnvironment or serialize calls.
#ifndef CRYPTA_CLIENT_TEE_ENVIRONMENT_H_
#define CRYPTA_CLIENT_TEE_ENVIRONMENT_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "attest/collector.h"
#include "common/bytes.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "runtime/boot.h"
#include "runtime/http_fetcher.h"

namespace crypta::client {

struct TeeEnvironmentOptions {
  std::string broker_url;      // the control plane (key broker); "" = $CRYPTA_BROKER_URL
  std::string broker_ca_path;  // its CA certificate for https:// ("" = $CRYPTA_BROKER_CA)
  std::string tee = "auto";    // "auto" (detect) or "sim"
  std::string sim_socket;      // "" = $CRYPTA_SIM_SOCKET
  uint64_t max_model_bytes = uint64_t{4} << 30;
  // GPUs attested with the TEE (composite RCAR evidence; a key's policy may demand them in
  // its gpu: section): "none", "nvml" (NVIDIA's NVML, loaded at run time) or "sim" (the sim
  // TEE's simulated GPUs, `crypta sim launch --gpus N`).
  std::string gpu_evidence = "none";
};

class TeeEnvironment {
 public:
  // Finds the attester and checks the broker URL; talks to nobody yet. kFailedPrecondition
  // when no TEE (or sim socket) is found, kInvalidArgument for a bad URL or tee.
  static Result<std::unique_ptr<TeeEnvironment>> Create(const TeeEnvironmentOptions& options);

  // The attester's name ("sim", "sev-snp", "tdx", "sgx", "configfs-tsm"); simulated() is
  // true for the sim TEE, which isolates nothing.
  std::string tee() const { return attester_->name(); }
  bool simulated() const { return attester_->name() == "sim"; }

  // The model store://<tenant>/<name>@sha256:<hex>, unsealed in memory (runtime::BootModel).
  Result<runtime::BootedModel> LoadModel(const std::string& reference);

  // The plaintext of a blob sealed with client::SealDataForWorkload: its DEK is released by
  // <tenant>/<key> (from the blob's header) and `object_id`.
  Result<Bytes> DecryptData(ByteSpan blob, const std::string& object_id);
  // Seals `plaintext` under the same key as `like` (a blob of that object: its key reference
  // and wrapped DEK are reused, with a fresh random nonce prefix), so the owner and attested
  // workloads alike open the result with `object_id`.
  Result<Bytes> EncryptData(ByteSpan plaintext, ByteSpan like, const std::string& object_id);

  // An RCAR session's EAR token (the most recent one; "" before the first call).
  const std::string& ear_token() const { return ear_token_; }

 private:
  TeeEnvironment(std::unique_ptr<attest::Attester> attester,
                 std::unique_ptr<attest::GpuAttester> gpus,
                 std::unique_ptr<runtime::HttpFetcher> broker, uint64_t max_model_bytes)
      : attester_(std::move(attester)),
        gpus_(std::move(gpus)),
        broker_(std::move(broker)),
        max_model_bytes_(max_model_bytes) {}
  Result<SecretBytes> DataKey(ByteSpan blob, const std::string& object_id);

  std::unique_ptr<attest::Attester> attester_;
  std::unique_ptr<attest::GpuAttester> gpus_;  // may be null
  std::unique_ptr<runtime::HttpFetcher> broker_;
  uint64_t max_model_bytes_;
  std::string ear_token_;
};

}  // namespace crypta::client

#endif  // CRYPTA_CLIENT_TEE_ENVIRONMENT_H_
