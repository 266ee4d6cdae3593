// Shared by the control plane's route files (server.cc, server_models.cc): the server's
// state and the helpers that turn results into HTTP responses. Not a public API.
#ifndef CRYPTA_API_SERVER_INTERNAL_H_
#define CRYPTA_API_SERVER_INTERNAL_H_

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/models.h"
#include "api/policy_edit.h"
#include "api/server.h"
#include "audit/denials.h"
#include "audit/log.h"
#include "kbs/rcar.h"
#include "kbs/tokens.h"
#include "net/http_server.h"
#include "store/blob_store.h"

namespace crypta::deploy {
struct DeploymentSpec;
}  // namespace crypta::deploy

namespace crypta::api {

// What PublishRelease did.
struct PublishedRelease {
  uint64_t index = 0;     // the release's index in the log
  bool appended = false;  // false: `once` found it published already
};

struct ControlPlane::Impl {
  ControlPlaneOptions options;
  std::unique_ptr<ControlPlaneState> state;
  std::unique_ptr<kbs::RcarServer> rcar;
  std::unique_ptr<net::HttpServer> http;  // HTTPS unless insecure_http
  std::optional<store::BlobStore> blobs;  // <data-dir>/blobs
  int port = 0;
  // Guards state->ear_key, ear_kid and retired_ear_keys (EAR key rotation). Taken after
  // the database's lock where both are needed (store/database.h lock order).
  std::mutex ear_mu;
  // Unauthenticated denials, aggregated (audit/denials.h).
  audit::DenialAggregator denials;
  // Audit entries not yet covered by a signed checkpoint; guarded by ear_mu.
  uint64_t unsigned_entries = 0;
  int64_t last_checkpoint = 0;

  // The store's leader lock for scheduled work (store::Database::TryLeadership).
  static constexpr int64_t kMaintenanceLeaderKey = 0x6372797074614c44;  // "cryptaLD"
  std::atomic<bool> is_leader{false};
  // The maintenance thread (scheduled rotations, stale-upload sweeps).
  std::thread maintenance;
  std::mutex maintenance_mu;
  std::condition_variable maintenance_cv;
  bool stopping = false;

  void Routes();
  void AdminRoutes();
  void AuditRoutes();
  void ModelRoutes();
  void DeployRoutes();
  void PkiRoutes();
  void TransparencyRoutes();
  // Appends a release to the transparency log with its audit entry, in one transaction; with
  // `once`, a release already published for the same tenant, measurement and model digest
  // is not appended again. kNotFound for an unknown tenant, kInvalidArgument for a bad entry.
  Result<PublishedRelease> PublishRelease(transparency::ReleaseEntry entry,
                                          const std::string& actor, bool once);
  // crypta-runtime's arguments (after the binary) for a deployment on a local node;
  // kInvalidArgument unless the spec names image crypta-runtime and a model.
  // `listen_port` 0: any free port.
  Result<std::vector<std::string>> RuntimeArgs(const deploy::DeploymentSpec& spec,
                                               const std::string& name,
                                               int64_t listen_port = 0) const;
  void RunMaintenance(int64_t now);
  // Shared store: takes the store's EAR keys (another replica may have rotated) into the
  // state and the RCAR server; true when the current key changed.
  Result<bool> RefreshEarKeys();
  std::atomic<int64_t> last_key_refresh{0};
  // The state's EAR keys (current and retired) to the RCAR server; ear_mu held.
  Status PushEarKeysLocked();
  // Best effort, for denials and reads: a failure is logged on stderr.
  void Audit(const std::string& actor, const std::string& tenant, const std::string& action,
             const std::string& outcome, const std::string& reason,
             nlohmann::json details = nlohmann::json::object());
  // The record of a decision that must not happen unrecorded (a key release): kUnavailable
  // when the entry cannot be written (the disk floor, a failing append), and then the
  // caller must not act.
  Status Record(audit::AuditEntry entry);
  // A state change and its audit entry as one transaction: `change` makes the change and
  // returns the entry that describes it; if the change fails its error is returned, and if
  // the entry cannot be written (kUnavailable) the change is rolled back. The change must
  // only touch the database (files go after the commit).
  Status RecordedChange(const std::function<Result<audit::AuditEntry>()>& change);
  // A denial of a request without a valid credential: aggregated per source, action and
  // reason (audit/denials.h), so anonymous traffic cannot grow the log without bound.
  void AuditAnonymous(const httplib::Request& req, const std::string& tenant,
                      const std::string& action, const std::string& reason,
                      nlohmann::json details = nlohmann::json::object());
  // kUnavailable when the data dir's file system has less free space than
  // ControlPlaneOptions::min_free_bytes.
  Status CheckDiskFloor() const;
  // Signs a checkpoint when entries are unsigned and checkpoint_every entries or
  // checkpoint_interval_s seconds have passed (or `force`), and writes the denial summaries
  // of an ended interval.
  void AuditMaintenance(int64_t now, bool force);
  // A model pushed with --tee is released only to those TEEs; OK when `object_id` is not a
  // model or the model allows any TEE.
  Status CheckModelTee(std::string_view credential, const std::string& tenant,
                       const std::string& key, const std::string& object_id, int64_t now);
  // A model metadata/blob read: an API token that may read the tenant's models, or the EAR
  // token of an attested session that the model key's policy would release the key to.
  bool AdmitModelReader(const httplib::Request& req, httplib::Response& res,
                        const ModelRecord& model);
  // Applies `edit` to <tenant>/<key>'s release policy (policy_edit.h) with its audit entry
  // (`actor`, `action`, `reason`) in one transaction; with `deployment` the added values are
  // recorded as that deployment's registrations. `result`, when given, receives the edit.
  Status EditReferenceValues(const std::string& tenant, const std::string& key,
                             const std::string& tee, const PolicyEdit& edit,
                             const std::string& actor, const std::string& action,
                             const std::string& reason, const std::string& deployment = "",
                             EditedPolicy* result = nullptr);
  // Takes out of the release policies what --register-measurement added for a deployment
  // and no other deployment registered too.
  Status UnregisterDeployment(const std::string& tenant, const std::string& deployment,
                              const std::string& actor);
  // Authenticates and authorizes an admin request; on failure answers it and returns false.
  bool Admit(const httplib::Request& req, httplib::Response& res, kbs::Action action,
             const std::string& tenant, kbs::Principal* out);
};

namespace internal {

// RFC 7807 §3 problem details; the status from the error code (400, 401, 403, 404, 409, 413).
// 5xx details are replaced by an incident id; the error itself goes to stderr.
void Problem(httplib::Response& res, int status, const std::string& detail);
void Problem(httplib::Response& res, const Error& error);
void Json(httplib::Response& res, const nlohmann::json& body, int status = 200);
// "Authorization: Bearer <x>" → x, else "".
std::string BearerToken(const httplib::Request& req);
// The kbs-session-id cookie, else "".
std::string SessionCookie(const httplib::Request& req);
// Parses a JSON object body; answers 400 naming the problem otherwise.
bool ParseBody(const httplib::Request& req, httplib::Response& res, nlohmann::json* out);
bool StringField(const nlohmann::json& body, const char* name, httplib::Response& res,
                 std::string* out);
// A query parameter that must be a decimal number <= max; answers 400 naming it otherwise.
bool NumberParam(const httplib::Request& req, httplib::Response& res, const char* name,
                 uint64_t max, uint64_t* out);

}  // namespace internal
}  // namespace crypta::api

#endif  // CRYPTA_API_SERVER_INTERNAL_H_
