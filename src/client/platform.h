// The model owner's side of DESIGN.md §3 "Seal and push a model", shared by `crypta model
// push` and the SDKs' Platform.encrypt_model: a fresh data key (DEK) is wrapped by the key
// broker under the tenant's key, the model is sealed locally with it, and only the sealed blob
// is uploaded. Also data sealed for attested workloads (SealDataForWorkload), whose key the
// broker releases by object id (TeeEnvironment::DecryptData).
#ifndef CRYPTA_CLIENT_PLATFORM_H_
#define CRYPTA_CLIENT_PLATFORM_H_

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/client.h"
#include "common/bytes.h"
#include "common/status.h"

namespace crypta::client {

struct PushModelRequest {
  std::string tenant;
  std::string key;                // the tenant key (KEK) that wraps the model's DEK
  std::string name;               // model name
  std::string file;               // plaintext model file
  std::vector<std::string> tees;  // release the key only to these TEEs; empty = any allowed
  // When > 0 the key must rotate (and so rewrap this model's DEK) at least this often.
  int64_t rotate_days = 0;
  std::string tmp_dir;  // where the sealed copy is written (0600, removed); "" = $TMPDIR or /tmp
  // What the model is, stored with it and delivered to crypta-runtime (issue 12): "torchscript"
  // or "onnx" ("" = inferred by the check, else not declared), and its signature JSON
  // (required for TorchScript; read from the graph for ONNX).
  std::string backend;
  std::string signature_json;
  // The crypta-model-check binary: when set, the file must load and run as its backend (in a
  // child process with memory and CPU limits) before anything is sealed, and the backend and
  // signature it reports are what is stored. "" = push unchecked.
  std::string model_checker;
  // Called with (sealed bytes uploaded, sealed size) as the upload goes.
  std::function<void(uint64_t, uint64_t)> progress;
};

// What crypta-model-check reported.
struct ModelCheck {
  std::string backend;
  std::string signature_json;  // canonical
};

// Runs `checker` on `file` (RLIMIT_AS 8 GiB or 4x the file, RLIMIT_CPU 300 s, killed after
// 600 s). kInvalidArgument with the checker's one-line reason when the file is not a servable
// model (a state_dict gets a hint to export it); kUnavailable when the checker cannot run.
Result<ModelCheck> CheckModelFile(const std::string& checker, const std::string& file,
                                  const std::string& backend, const std::string& signature_json);

// crypta-model-check next to `self` (an executable's path, e.g. /proc/self/exe's target), else
// on PATH; "" when neither exists.
std::string FindModelChecker(const std::string& self);

struct PushedModel {
  std::string reference;  // store://<tenant>/<name>@sha256:<hex of the sealed blob>
  uint64_t size = 0;      // sealed bytes
  uint32_t kek_version = 0;
  nlohmann::json record;  // the control plane's answer
  // True when the newest version of this model already held the same file (same plaintext
  // SHA-256, key, backend, signature and TEEs): nothing was sealed or uploaded, and
  // `reference` is that version's.
  bool unchanged = false;
};

// A re-push of an unchanged file is idempotent (PushedModel::unchanged).
// kFailedPrecondition when `rotate_days` is set and the key rotates less often (or only by
// hand); kDataLoss when the control plane answers without the wrapped DEK or stores another
// reference; the control plane's own errors otherwise (api/client.h).
Result<PushedModel> PushModel(const api::ApiClient& platform, const PushModelRequest& request);

struct SealedData {
  Bytes blob;             // a sealed blob (DESIGN.md §4.1) under <tenant>/<key>
  std::string object_id;  // what the broker releases its DEK by: <tenant>/<key>/<object_id>
};

// Seals `plaintext` with a fresh DEK the broker wraps and records under `object_id` (a fresh
// random one when empty). Only a workload whose attestation the key's release policy
// accepts can get that DEK back.
Result<SealedData> SealDataForWorkload(const api::ApiClient& platform, const std::string& tenant,
                                       const std::string& key, ByteSpan plaintext,
                                       std::string object_id = "");

}  // namespace crypta::client

#endif  // CRYPTA_CLIENT_PLATFORM_H_
