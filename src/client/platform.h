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
};

struct PushedModel {
  std::string reference;  // store://<tenant>/<name>@sha256:<hex of the sealed blob>
  uint64_t size = 0;      // sealed bytes
  uint32_t kek_version = 0;
  nlohmann::json record;  // the control plane's answer
};

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
