// The control plane's model registry (DESIGN.md §3 "Seal and push a model"): sealed model
// blobs in a content-addressed BlobStore (<data-dir>/blobs) and one `models` row per pushed
// (tenant, name, digest). The server only ever receives and stores ciphertext: the client
// seals the model with a DEK that the key broker wrapped.
//
// Reference format: store://<tenant>/<name>@sha256:<64 hex of the sealed blob>.
// Thread-safety: the functions only use the Database (serialized mode) and BlobStore
// (thread-safe), so they may run concurrently.
#ifndef CRYPTA_API_MODELS_H_
#define CRYPTA_API_MODELS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/blob_store.h"
#include "store/database.h"

namespace crypta::api {

// Largest sealed model accepted by PUT /v1/tenants/<t>/models/<name>.
inline constexpr uint64_t kMaxModelBytes = 16ull << 30;

struct ModelRecord {
  std::string tenant;
  std::string name;
  std::string digest;     // 64 lowercase hex (SHA-256 of the sealed blob)
  std::string key;        // KEK name the DEK was wrapped under
  std::string object_id;  // the object id bound into the wrapped DEK
  uint64_t size = 0;      // sealed blob bytes
  std::string tees;       // JSON array text of allowed TEE kinds ("[]" = any)
  int64_t created = 0;    // Unix seconds
  std::string backend;    // "torchscript" | "onnx" | "" (not declared at push)
  // The model's inputs and outputs (infer::ModelSignatureToJson), "" when not declared: what
  // crypta-runtime serves a TorchScript model with when its command line has no --signature.
  std::string signature;
  // SHA-256 of the plaintext model (hex, "" when not given): a re-push of the same file is
  // recognized by it (client::PushModel) instead of storing another sealed copy.
  std::string content_sha256;
};

// CREATE TABLE IF NOT EXISTS models (..., UNIQUE (tenant, name, digest)); adds the backend
// and signature columns to a table created before they existed.
Status CreateModelTable(store::Database& db);

// A model name: 1–128 characters of [A-Za-z0-9._-], not starting with '.'.
// kInvalidArgument naming the field otherwise.
Status ValidateModelName(const std::string& name);

// Checks and stores an uploaded sealed blob at `sealed_path` (left in place; the caller
// deletes it). `record` carries tenant, name, key, object_id and the expected digest
// ("sha256:HEX" or "HEX"). Fails with kInvalidArgument when the digest is malformed, the
// file is not a sealed blob, or its header's key reference names another tenant or key;
// kDataLoss when the content does not hash to the digest; kAlreadyExists when the same
// (tenant, name, digest) was already pushed. Returns the stored row.
Result<ModelRecord> StoreModel(store::Database& db, store::BlobStore& blobs, ModelRecord record,
                               const std::string& sealed_path, int64_t now);

// The tenant's models, newest first.
Result<std::vector<ModelRecord>> ListModels(store::Database& db, const std::string& tenant);

// The model (tenant, name) with `digest` (64 hex, or "sha256:" + 64 hex), or the most recently
// pushed one when `digest` is empty. kNotFound when there is none; kInvalidArgument for a
// malformed digest.
Result<ModelRecord> FindModel(store::Database& db, const std::string& tenant,
                              const std::string& name, const std::string& digest);

// The model whose DEK is (tenant, key, object_id), if any (a DEK may wrap other objects).
Result<std::optional<ModelRecord>> FindModelByObject(store::Database& db, const std::string& tenant,
                                                     const std::string& key,
                                                     const std::string& object_id);

// Deletes the rows of (tenant, name) — one digest, or every digest when `digest` is empty —
// in one transaction (a savepoint of the caller's, when it has one). Returns the deleted
// rows; kNotFound when nothing matched.
Result<std::vector<ModelRecord>> DeleteModelRows(store::Database& db, const std::string& tenant,
                                                 const std::string& name,
                                                 const std::string& digest);
// Then, once that is committed: removes the blobs of `rows` that no row references any more.
// A failure or crash here leaves only unreferenced blobs (ciphertext nobody can name), never
// a row without its blob.
Status RemoveUnusedBlobs(store::Database& db, store::BlobStore& blobs,
                         const std::vector<ModelRecord>& rows);

// store://<tenant>/<name>@sha256:<digest>
std::string ModelReference(const ModelRecord& record);

}  // namespace crypta::api

#endif  // CRYPTA_API_MODELS_H_
