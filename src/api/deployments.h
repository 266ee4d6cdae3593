// Nodes, deployments and the scheduler (issue 6, DESIGN.md §3 "Deploy"): the control plane's
// record of which node runs which deployment. Node agents (src/deploy/node_agent.h) register,
// fetch their assignments and report status; `crypta vm …` creates, reads and deletes.
//
// Phases: Pending (stored) → Scheduled (a node was chosen) | Unschedulable (reason says
// why) → Starting → Attesting → Running, or Failed (the agent retries with backoff);
// Stopping after delete until the agent reports the workload gone.
//
// Thread-safety: the functions use the Database only (it serializes its users); Schedule
// runs in one transaction so two deploys cannot both take the last free resources.
#ifndef CRYPTA_API_DEPLOYMENTS_H_
#define CRYPTA_API_DEPLOYMENTS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/database.h"

namespace crypta::api {

struct NodeRecord {
  std::string name;
  std::vector<std::string> tees;  // canonical TEE names, e.g. "sim", "sev-snp", "tdx"
  double cpu = 0;
  int64_t memory_bytes = 0;
  int64_t gpus = 0;
  int64_t last_seen = 0;  // Unix seconds of the last heartbeat
};

// What a deployment needs from a node (from its spec).
struct Requirements {
  std::string tee;
  double cpu = 0;
  int64_t memory_bytes = 0;
  int64_t gpus = 0;
};

struct DeploymentRecord {
  std::string tenant, name;
  int64_t generation = 1;  // bumped when the spec changes
  std::string spec_json;   // the spec as deploy::SpecToJson text
  Requirements needs;
  bool register_measurement = false;
  bool deleting = false;
  std::string node;   // "" until scheduled
  std::string phase;  // see the header comment
  std::string reason;
  std::string endpoint;     // the runtime's base URL once Running
  std::string measurement;  // hex, as launched
  std::string host_data;    // hex
  int64_t pid = 0;
  int64_t restarts = 0;
  int64_t attestation_failures = 0;
  std::optional<int64_t> last_attestation;
  std::optional<bool> last_attestation_ok;
  std::vector<std::string> log_tail;  // redacted by the agent
  int64_t created = 0, updated = 0;
  // The local runtime's loopback port, chosen at its first assignment (the spec's first port
  // when free) and kept, so its endpoint and measurement survive restarts. 0 = not chosen yet.
  int64_t listen_port = 0;
};

// Nodes silent for longer than this are not scheduled on.
inline constexpr int64_t kNodeLivenessSeconds = 30;

Status CreateDeployTables(store::Database& db);
Status SetListenPort(store::Database& db, const std::string& tenant, const std::string& name,
                     int64_t port);

// What `--register-measurement` added to a key-release policy for a deployment (issue 12), so
// that it can be shown and, on `vm delete`, removed again. `field` is "measurements" or
// "host_data"; `created_list` is true when the policy had no such list before.
struct Registration {
  std::string key, field, value;
  bool created_list = false;
};
Status RecordRegistration(store::Database& db, const std::string& tenant,
                          const std::string& deployment, const Registration& r);
Result<std::vector<Registration>> ListRegistrations(store::Database& db, const std::string& tenant,
                                                    const std::string& deployment);
// Deletes the deployment's rows; returns those whose value no other deployment of the tenant
// registered on the same key and field (the values to take out of the policy).
Result<std::vector<Registration>> DropRegistrations(store::Database& db, const std::string& tenant,
                                                    const std::string& deployment);

// Registers a node or refreshes its capabilities and last_seen.
Status UpsertNode(store::Database& db, const NodeRecord& node);
Result<std::vector<NodeRecord>> ListNodes(store::Database& db);

// Creates (generation 1) or updates a deployment. An update with another spec bumps the
// generation and sends it back to Pending (the scheduler may move it); the same spec only
// updates register_measurement. Returns the stored record.
Result<DeploymentRecord> PutDeployment(store::Database& db, const std::string& tenant,
                                       const std::string& name, const std::string& spec_json,
                                       const Requirements& needs, bool register_measurement,
                                       int64_t now);
// The tenant's deployments ("" = every tenant), by name.
Result<std::vector<DeploymentRecord>> ListDeployments(store::Database& db,
                                                      const std::string& tenant);
// kNotFound naming it.
Result<DeploymentRecord> GetDeployment(store::Database& db, const std::string& tenant,
                                       const std::string& name);
// Marks it for deletion (phase Stopping); an unscheduled one is removed at once. Returns
// true when it was removed now.
Result<bool> DeleteDeployment(store::Database& db, const std::string& tenant,
                              const std::string& name, int64_t now);

// Places every Pending or Unschedulable deployment on a live node whose TEE matches and
// whose free resources (capacity minus what its deployments need) fit, preferring the
// node with the most free CPU; otherwise Unschedulable with a reason such as "no node
// with tee=tdx and 1 free GPU". A deployment whose node went silent is rescheduled.
Status Schedule(store::Database& db, int64_t now);

// The pure placement decision: the chosen node's name, or the Unschedulable reason
// (second). `used` holds, per node, what its current deployments need.
struct Placement {
  std::string node;
  std::string reason;
};
Placement Place(const Requirements& needs, const std::vector<NodeRecord>& live_nodes,
                const std::vector<Requirements>& used);

// A node's assignments: its deployments that are not being deleted.
Result<std::vector<DeploymentRecord>> Assignments(store::Database& db, const std::string& node);

// Applies an agent's status report (the JSON of POST /v1/nodes/<n>/status). Reports for
// deployments not on this node or of another generation are ignored; a "Stopped" report of
// a deployment being deleted removes it. Returns the (tenant, name, phase) transitions, for
// auditing.
struct PhaseChange {
  std::string tenant, name, from, to, reason;
};
Result<std::vector<PhaseChange>> ApplyNodeStatus(store::Database& db, const std::string& node,
                                                 const nlohmann::json& report, int64_t now);

// Records the measurement and host data an agent is about to launch with.
Status RecordLaunch(store::Database& db, const std::string& tenant, const std::string& name,
                    int64_t generation, const std::string& measurement,
                    const std::string& host_data, int64_t now);

// The deployment as `vm status --output json` shows it.
nlohmann::json DeploymentJson(const DeploymentRecord& d);

// "1 free GPU", "2 free CPUs", "32Gi free memory": for reasons.
std::string FormatMemory(int64_t bytes);

}  // namespace crypta::api

#endif  // CRYPTA_API_DEPLOYMENTS_H_
