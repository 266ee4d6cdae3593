// Nodes, deployments and the scheduler (deployments.h).
#include "api/deployments.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

namespace crypta::api {
namespace {

using nlohmann::json;

// CPU is stored in millicores (SQLite integers; no float rounding in sums).
int64_t Milli(double cpu) { return static_cast<int64_t>(std::llround(cpu * 1000)); }
double FromMilli(int64_t m) { return static_cast<double>(m) / 1000; }

constexpr char kSelectDeployment[] =
    "SELECT tenant, name, generation, spec, tee, cpu_milli, memory_bytes, gpus, "
    "register_measurement, deleting, node, phase, reason, endpoint, measurement, host_data, pid, "
    "restarts, attestation_failures, last_attestation, last_attestation_ok, log_tail, created, "
    "updated, listen_port FROM deployments ";

Result<std::vector<DeploymentRecord>> ReadDeployments(store::Statement& stmt) {
  std::vector<DeploymentRecord> out;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    DeploymentRecord d;
    d.tenant = stmt.ColumnText(0);
    d.name = stmt.ColumnText(1);
    d.generation = stmt.ColumnInt(2);
    d.spec_json = stmt.ColumnText(3);
    d.needs = {stmt.ColumnText(4), FromMilli(stmt.ColumnInt(5)), stmt.ColumnInt(6),
               stmt.ColumnInt(7)};
    d.register_measurement = stmt.ColumnInt(8) != 0;
    d.deleting = stmt.ColumnInt(9) != 0;
    d.node = stmt.ColumnText(10);
    d.phase = stmt.ColumnText(11);
    d.reason = stmt.ColumnText(12);
    d.endpoint = stmt.ColumnText(13);
    d.measurement = stmt.ColumnText(14);
    d.host_data = stmt.ColumnText(15);
    d.pid = stmt.ColumnInt(16);
    d.restarts = stmt.ColumnInt(17);
    d.attestation_failures = stmt.ColumnInt(18);
    if (!stmt.ColumnIsNull(19)) d.last_attestation = stmt.ColumnInt(19);
    if (!stmt.ColumnIsNull(20)) d.last_attestation_ok = stmt.ColumnInt(20) != 0;
    const json tail = json::parse(stmt.ColumnText(21), nullptr, false);
    if (tail.is_array()) {
      for (const auto& line : tail) {
        if (line.is_string()) d.log_tail.push_back(line.get<std::string>());
      }
    }
    d.created = stmt.ColumnInt(22);
    d.updated = stmt.ColumnInt(23);
    d.listen_port = stmt.ColumnInt(24);
    out.push_back(std::move(d));
  }
  return out;
}

Status SetPlacement(store::Database& db, const DeploymentRecord& d, const std::string& node,
                    const std::string& phase, const std::string& reason, int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(auto stmt, db.Prepare("UPDATE deployments SET node = ?, phase = ?, "
                                                "reason = ?, updated = ? WHERE tenant = ? AND "
                                                "name = ?"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, node));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, phase));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(3, reason));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(4, now));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(5, d.tenant));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(6, d.name));
  return stmt.Run();
}

std::string Plural(int64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string FormatCpu(double cpu) {
  const int64_t milli = Milli(cpu);
  if (milli % 1000 == 0) return Plural(milli / 1000, "free CPU", "free CPUs");
  return std::to_string(milli) + "m free CPU";
}

}  // namespace

std::string FormatMemory(int64_t bytes) {
  static const std::pair<int64_t, const char*> kUnits[] = {{int64_t{1} << 40, "Ti"},
                                                           {int64_t{1} << 30, "Gi"},
                                                           {int64_t{1} << 20, "Mi"},
                                                           {int64_t{1} << 10, "Ki"}};
  for (const auto& [size, unit] : kUnits) {
    if (bytes >= size && bytes % size == 0) return std::to_string(bytes / size) + unit;
  }
  return std::to_string(bytes);
}

Status CreateDeployTables(store::Database& db) {
  CRYPTA_RETURN_IF_ERROR(db.Exec(
      "CREATE TABLE IF NOT EXISTS nodes ("
      " name TEXT PRIMARY KEY, tees TEXT NOT NULL, cpu_milli INTEGER NOT NULL,"
      " memory_bytes INTEGER NOT NULL, gpus INTEGER NOT NULL, last_seen INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS deployments ("
      " tenant TEXT NOT NULL, name TEXT NOT NULL, generation INTEGER NOT NULL,"
      " spec TEXT NOT NULL, tee TEXT NOT NULL, cpu_milli INTEGER NOT NULL,"
      " memory_bytes INTEGER NOT NULL, gpus INTEGER NOT NULL,"
      " register_measurement INTEGER NOT NULL, deleting INTEGER NOT NULL DEFAULT 0,"
      " node TEXT NOT NULL DEFAULT '', phase TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',"
      " endpoint TEXT NOT NULL DEFAULT '', measurement TEXT NOT NULL DEFAULT '',"
      " host_data TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL DEFAULT 0,"
      " restarts INTEGER NOT NULL DEFAULT 0, attestation_failures INTEGER NOT NULL DEFAULT 0,"
      " last_attestation INTEGER, last_attestation_ok INTEGER,"
      " log_tail TEXT NOT NULL DEFAULT '[]', created INTEGER NOT NULL,"
      " updated INTEGER NOT NULL, PRIMARY KEY (tenant, name));"
      "CREATE TABLE IF NOT EXISTS deployment_registrations ("
      " tenant TEXT NOT NULL, deployment TEXT NOT NULL, key TEXT NOT NULL,"
      " field TEXT NOT NULL, value TEXT NOT NULL, created_list INTEGER NOT NULL,"
      " PRIMARY KEY (tenant, deployment, key, field, value));"));
  // Added after the first release: present in new tables, added to old ones.
  CRYPTA_ASSIGN_OR_RETURN(bool has_port, db.HasColumn("deployments", "listen_port"));
  if (!has_port) {
    CRYPTA_RETURN_IF_ERROR(
        db.Exec("ALTER TABLE deployments ADD COLUMN listen_port INTEGER NOT NULL DEFAULT 0"));
  }
  return OkStatus();
}

Status SetListenPort(store::Database& db, const std::string& tenant, const std::string& name,
                     int64_t port) {
  CRYPTA_ASSIGN_OR_RETURN(
      auto stmt,
      db.Prepare("UPDATE deployments SET listen_port = ? WHERE tenant = ? AND name = ?"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, port));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, tenant));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(3, name));
  return stmt.Run();
}

Status RecordRegistration(store::Database& db, const std::string& tenant,
                          const std::string& deployment, const Registration& r) {
  CRYPTA_ASSIGN_OR_RETURN(
      auto stmt, db.Prepare("INSERT INTO deployment_registrations (tenant, deployment, key, "
                            "field, value, created_list) VALUES (?, ?, ?, ?, ?, ?) "
                            "ON CONFLICT DO NOTHING"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, deployment));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(3, r.key));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(4, r.field));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(5, r.value));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(6, r.created_list ? 1 : 0));
  return stmt.Run();
}

Result<std::vector<Registration>> ListRegistrations(store::Database& db, const std::string& tenant,
                                                    const std::string& deployment) {
  CRYPTA_ASSIGN_OR_RETURN(
      auto stmt, db.Prepare("SELECT key, field, value, created_list FROM deployment_registrations "
                            "WHERE tenant = ? AND deployment = ? ORDER BY key, field, value"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, deployment));
  std::vector<Registration> out;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out.push_back(
        {stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnText(2), stmt.ColumnInt(3) != 0});
  }
  return out;
}

Result<std::vector<Registration>> DropRegistrations(store::Database& db, const std::string& tenant,
                                                    const std::string& deployment) {
  CRYPTA_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(db));
  CRYPTA_ASSIGN_OR_RETURN(std::vector<Registration> mine,
                          ListRegistrations(db, tenant, deployment));
  CRYPTA_ASSIGN_OR_RETURN(
      auto del,
      db.Prepare("DELETE FROM deployment_registrations WHERE tenant = ? AND deployment = ?"));
  CRYPTA_RETURN_IF_ERROR(del.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(del.Bind(2, deployment));
  CRYPTA_RETURN_IF_ERROR(del.Run());
  std::vector<Registration> unused;
  for (const Registration& r : mine) {
    CRYPTA_ASSIGN_OR_RETURN(
        auto others, db.Prepare("SELECT COUNT(*) FROM deployment_registrations WHERE tenant = ? "
                                "AND key = ? AND field = ? AND value = ?"));
    CRYPTA_RETURN_IF_ERROR(others.Bind(1, tenant));
    CRYPTA_RETURN_IF_ERROR(others.Bind(2, r.key));
    CRYPTA_RETURN_IF_ERROR(others.Bind(3, r.field));
    CRYPTA_RETURN_IF_ERROR(others.Bind(4, r.value));
    CRYPTA_ASSIGN_OR_RETURN(bool row, others.Step());
    if (row && others.ColumnInt(0) == 0) unused.push_back(r);
  }
  CRYPTA_RETURN_IF_ERROR(txn.Commit());
  return unused;
}

Status UpsertNode(store::Database& db, const NodeRecord& node) {
  CRYPTA_ASSIGN_OR_RETURN(
      auto stmt,
      db.Prepare("INSERT INTO nodes (name, tees, cpu_milli, memory_bytes, gpus, last_seen) "
                 "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET tees = excluded.tees,"
                 " cpu_milli = excluded.cpu_milli, memory_bytes = excluded.memory_bytes,"
                 " gpus = excluded.gpus, last_seen = excluded.last_seen"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, node.name));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, json(node.tees).dump()));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(3, Milli(node.cpu)));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(4, node.memory_bytes));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(5, node.gpus));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(6, node.last_seen));
  return stmt.Run();
}

Result<std::vector<NodeRecord>> ListNodes(store::Database& db) {
  CRYPTA_ASSIGN_OR_RETURN(auto stmt, db.Prepare("SELECT name, tees, cpu_milli, memory_bytes, "
                                                "gpus, last_seen FROM nodes ORDER BY name"));
  std::vector<NodeRecord> out;
  while (true) {
    CRYPTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    NodeRecord n;
    n.name = stmt.ColumnText(0);
    const json tees = json::parse(stmt.ColumnText(1), nullptr, false);
    if (tees.is_array()) {
      for (const auto& t : tees) {
        if (t.is_string()) n.tees.push_back(t.get<std::string>());
      }
    }
    n.cpu = FromMilli(stmt.ColumnInt(2));
    n.memory_bytes = stmt.ColumnInt(3);
    n.gpus = stmt.ColumnInt(4);
    n.last_seen = stmt.ColumnInt(5);
    out.push_back(std::move(n));
  }
  return out;
}

Result<DeploymentRecord> PutDeployment(store::Database& db, const std::string& tenant,
                                       const std::string& name, const std::string& spec_json,
                                       const Requirements& needs, bool register_measurement,
                                       int64_t now) {
  {
    CRYPTA_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(db));
    auto existing = GetDeployment(db, tenant, name);
    if (!existing && existing.error().code() != ErrorCode::kNotFound) {
      return MakeError(existing.error());
    }
    if (existing && existing->deleting) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "deployment " + tenant + "/" + name + " is being deleted; retry shortly");
    }
    if (existing && existing->spec_json == spec_json) {
      CRYPTA_ASSIGN_OR_RETURN(auto stmt,
                              db.Prepare("UPDATE deployments SET register_measurement = ?, "
                                         "updated = ? WHERE tenant = ? AND name = ?"));
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, register_measurement ? 1 : 0));
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, now));
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(3, tenant));
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(4, name));
      CRYPTA_RETURN_IF_ERROR(stmt.Run());
    } else {
      // New, or a new spec: the next generation starts from Pending, keeping the counters.
      CRYPTA_ASSIGN_OR_RETURN(
          auto stmt,
          db.Prepare(
              "INSERT INTO deployments (tenant, name, generation, spec, tee, cpu_milli, "
              "memory_bytes, gpus, register_measurement, phase, created, updated) "
              "VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, 'Pending', ?, ?) "
              "ON CONFLICT(tenant, name) DO UPDATE SET generation = deployments.generation + 1, "
              "spec = excluded.spec, tee = excluded.tee, cpu_milli = excluded.cpu_milli, "
              "memory_bytes = excluded.memory_bytes, gpus = excluded.gpus, "
              "register_measurement = excluded.register_measurement, node = '', "
              "phase = 'Pending', reason = '', endpoint = '', pid = 0, "
              "updated = excluded.updated"));
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, tenant));
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, name));
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(3, spec_json));
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(4, needs.tee));
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(5, Milli(needs.cpu)));
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(6, needs.memory_bytes));
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(7, needs.gpus));
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(8, register_measurement ? 1 : 0));
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(9, now));
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(10, now));
      CRYPTA_RETURN_IF_ERROR(stmt.Run());
    }
    CRYPTA_RETURN_IF_ERROR(txn.Commit());
  }
  CRYPTA_RETURN_IF_ERROR(Schedule(db, now));
  return GetDeployment(db, tenant, name);
}

Result<std::vector<DeploymentRecord>> ListDeployments(store::Database& db,
                                                      const std::string& tenant) {
  CRYPTA_ASSIGN_OR_RETURN(auto stmt, db.Prepare(std::string(kSelectDeployment) +
                                                "WHERE ? = '' OR tenant = ? ORDER BY tenant, "
                                                "name"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, tenant));
  return ReadDeployments(stmt);
}

Result<DeploymentRecord> GetDeployment(store::Database& db, const std::string& tenant,
                                       const std::string& name) {
  CRYPTA_ASSIGN_OR_RETURN(
      auto stmt, db.Prepare(std::string(kSelectDeployment) + "WHERE tenant = ? AND name = ?"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, tenant));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, name));
  CRYPTA_ASSIGN_OR_RETURN(auto rows, ReadDeployments(stmt));
  if (rows.empty()) {
    return MakeError(ErrorCode::kNotFound, "no deployment " + name + " in tenant " + tenant);
  }
  return rows.front();
}

Result<bool> DeleteDeployment(store::Database& db, const std::string& tenant,
                              const std::string& name, int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(db));
  CRYPTA_ASSIGN_OR_RETURN(DeploymentRecord d, GetDeployment(db, tenant, name));
  const bool now_gone = d.node.empty();
  CRYPTA_ASSIGN_OR_RETURN(
      auto stmt, db.Prepare(now_gone ? "DELETE FROM deployments WHERE tenant = ? AND name = ?"
                                     : "UPDATE deployments SET deleting = 1, phase = 'Stopping', "
                                       "updated = ? WHERE tenant = ? AND name = ?"));
  int i = 1;
  if (!now_gone) CRYPTA_RETURN_IF_ERROR(stmt.Bind(i++, now));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(i++, tenant));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(i++, name));
  CRYPTA_RETURN_IF_ERROR(stmt.Run());
  CRYPTA_RETURN_IF_ERROR(txn.Commit());
  return now_gone;
}

Placement Place(const Requirements& needs, const std::vector<NodeRecord>& live_nodes,
                const std::vector<Requirements>& used) {
  const NodeRecord* best = nullptr;
  double best_free_cpu = -1;
  bool any_tee = false;
  for (size_t i = 0; i < live_nodes.size(); ++i) {
    const NodeRecord& n = live_nodes[i];
    if (std::find(n.tees.begin(), n.tees.end(), needs.tee) == n.tees.end()) continue;
    any_tee = true;
    const Requirements& u = used[i];
    const double free_cpu = n.cpu - u.cpu;
    if (Milli(free_cpu) < Milli(needs.cpu) ||
        n.memory_bytes - u.memory_bytes < needs.memory_bytes || n.gpus - u.gpus < needs.gpus) {
      continue;
    }
    if (free_cpu > best_free_cpu) {
      best = &n;
      best_free_cpu = free_cpu;
    }
  }
  if (best != nullptr) return {best->name, ""};
  std::string reason = "no node with tee=" + needs.tee;
  if (any_tee) {
    // Name what did not fit, e.g. "no node with tee=sim and 1 free GPU".
    std::vector<std::string> wants;
    if (needs.gpus > 0) wants.push_back(Plural(needs.gpus, "free GPU", "free GPUs"));
    if (needs.cpu > 0) wants.push_back(FormatCpu(needs.cpu));
    if (needs.memory_bytes > 0) wants.push_back(FormatMemory(needs.memory_bytes) + " free memory");
    for (size_t i = 0; i < wants.size(); ++i) {
      reason += (i == 0 ? " and " : i + 1 == wants.size() ? " and " : ", ") + wants[i];
    }
  }
  return {"", reason};
}

Status Schedule(store::Database& db, int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(db));
  CRYPTA_ASSIGN_OR_RETURN(std::vector<NodeRecord> nodes, ListNodes(db));
  std::vector<NodeRecord> live;
  for (auto& n : nodes) {
    if (now - n.last_seen <= kNodeLivenessSeconds) live.push_back(std::move(n));
  }
  CRYPTA_ASSIGN_OR_RETURN(std::vector<DeploymentRecord> all, ListDeployments(db, ""));
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < live.size(); ++i) index[live[i].name] = i;
  std::vector<Requirements> used(live.size());
  std::vector<const DeploymentRecord*> waiting;
  for (const DeploymentRecord& d : all) {
    auto it = d.node.empty() ? index.end() : index.find(d.node);
    if (it != index.end()) {
      Requirements& u = used[it->second];
      u.cpu += d.needs.cpu;
      u.memory_bytes += d.needs.memory_bytes;
      u.gpus += d.needs.gpus;
    } else if (!d.deleting) {
      waiting.push_back(&d);  // never placed, or its node went silent
    }
  }
  for (const DeploymentRecord* d : waiting) {
    const Placement p = Place(d->needs, live, used);
    if (!p.node.empty()) {
      Requirements& u = used[index[p.node]];
      u.cpu += d->needs.cpu;
      u.memory_bytes += d->needs.memory_bytes;
      u.gpus += d->needs.gpus;
      CRYPTA_RETURN_IF_ERROR(SetPlacement(db, *d, p.node, "Scheduled", "", now));
    } else if (d->phase != "Unschedulable" || d->reason != p.reason || !d->node.empty()) {
      CRYPTA_RETURN_IF_ERROR(SetPlacement(db, *d, "", "Unschedulable", p.reason, now));
    }
  }
  return txn.Commit();
}

Result<std::vector<DeploymentRecord>> Assignments(store::Database& db, const std::string& node) {
  CRYPTA_ASSIGN_OR_RETURN(auto stmt, db.Prepare(std::string(kSelectDeployment) +
                                                "WHERE node = ? AND deleting = 0 ORDER BY "
                                                "tenant, name"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, node));
  return ReadDeployments(stmt);
}

Status RecordLaunch(store::Database& db, const std::string& tenant, const std::string& name,
                    int64_t generation, const std::string& measurement,
                    const std::string& host_data, int64_t now) {
  CRYPTA_ASSIGN_OR_RETURN(auto stmt,
                          db.Prepare("UPDATE deployments SET measurement = ?, host_data = ?, "
                                     "updated = ? WHERE tenant = ? AND name = ? AND "
                                     "generation = ?"));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, measurement));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, host_data));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(3, now));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(4, tenant));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(5, name));
  CRYPTA_RETURN_IF_ERROR(stmt.Bind(6, generation));
  return stmt.Run();
}

Result<std::vector<PhaseChange>> ApplyNodeStatus(store::Database& db, const std::string& node,
                                                 const json& report, int64_t now) {
  auto list = report.find("deployments");
  if (list == report.end() || !list->is_array() || list->size() > 1000) {
    return MakeError(ErrorCode::kInvalidArgument, "status: \"deployments\" must be an array");
  }
  std::vector<PhaseChange> changes;
  CRYPTA_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(db));
  for (const json& r : *list) {
    if (!r.is_object() || !r.value("tenant", json()).is_string() ||
        !r.value("name", json()).is_string() || !r.value("phase", json()).is_string() ||
        !r.value("generation", json()).is_number_integer()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "status: each deployment needs tenant, name, generation and phase");
    }
    auto current = GetDeployment(db, r["tenant"], r["name"]);
    if (!current || current->node != node || current->generation != r["generation"]) continue;
    const std::string phase = r["phase"];
    static const char* kPhases[] = {"Starting", "Attesting", "Running", "Failed", "Stopped"};
    if (std::find(std::begin(kPhases), std::end(kPhases), phase) == std::end(kPhases)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "status: unknown phase \"" + phase.substr(0, 40) + "\"");
    }
    const std::string reason = r.value("reason", json("")).is_string()
                                   ? r.value("reason", std::string()).substr(0, 1000)
                                   : "";
    if (phase == "Stopped" && current->deleting) {
      CRYPTA_ASSIGN_OR_RETURN(auto del,
                              db.Prepare("DELETE FROM deployments WHERE tenant = ? AND name = ?"));
      CRYPTA_RETURN_IF_ERROR(del.Bind(1, current->tenant));
      CRYPTA_RETURN_IF_ERROR(del.Bind(2, current->name));
      CRYPTA_RETURN_IF_ERROR(del.Run());
      changes.push_back({current->tenant, current->name, current->phase, "Deleted", reason});
      continue;
    }
    const std::string shown = current->deleting ? "Stopping" : phase;
    json tail = json::array();
    if (auto t = r.find("log_tail"); t != r.end() && t->is_array()) {
      for (const auto& line : *t) {
        if (line.is_string() && tail.size() < 200) {
          tail.push_back(line.get<std::string>().substr(0, 2000));
        }
      }
    }
    auto int_or = [&r](const char* field, int64_t fallback) {
      auto it = r.find(field);
      return it != r.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
    };
    CRYPTA_ASSIGN_OR_RETURN(
        auto stmt,
        db.Prepare("UPDATE deployments SET phase = ?, reason = ?, endpoint = ?, pid = ?, "
                   "restarts = ?, attestation_failures = ?, last_attestation = ?, "
                   "last_attestation_ok = ?, log_tail = ?, updated = ? WHERE tenant = ? AND "
                   "name = ?"));
    CRYPTA_RETURN_IF_ERROR(stmt.Bind(1, shown));
    CRYPTA_RETURN_IF_ERROR(stmt.Bind(2, reason));
    CRYPTA_RETURN_IF_ERROR(stmt.Bind(3, r.value("endpoint", json("")).is_string()
                                            ? r.value("endpoint", std::string()).substr(0, 300)
                                            : std::string()));
    CRYPTA_RETURN_IF_ERROR(stmt.Bind(4, int_or("pid", 0)));
    CRYPTA_RETURN_IF_ERROR(stmt.Bind(5, int_or("restarts", current->restarts)));
    CRYPTA_RETURN_IF_ERROR(
        stmt.Bind(6, int_or("attestation_failures", current->attestation_failures)));
    if (auto t = r.find("last_attestation"); t != r.end() && t->is_number_integer()) {
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(7, t->get<int64_t>()));
    } else {
      CRYPTA_RETURN_IF_ERROR(stmt.BindNull(7));
    }
    if (auto t = r.find("last_attestation_ok"); t != r.end() && t->is_boolean()) {
      CRYPTA_RETURN_IF_ERROR(stmt.Bind(8, t->get<bool>() ? 1 : 0));
    } else {
      CRYPTA_RETURN_IF_ERROR(stmt.BindNull(8));
    }
    CRYPTA_RETURN_IF_ERROR(stmt.Bind(9, tail.dump()));
    CRYPTA_RETURN_IF_ERROR(stmt.Bind(10, now));
    CRYPTA_RETURN_IF_ERROR(stmt.Bind(11, current->tenant));
    CRYPTA_RETURN_IF_ERROR(stmt.Bind(12, current->name));
    CRYPTA_RETURN_IF_ERROR(stmt.Run());
    if (shown != current->phase || int_or("restarts", 0) > current->restarts) {
      changes.push_back({current->tenant, current->name, current->phase, shown, reason});
    }
  }
  CRYPTA_RETURN_IF_ERROR(txn.Commit());
  return changes;
}

json DeploymentJson(const DeploymentRecord& d) {
  json out = {{"tenant", d.tenant},
              {"name", d.name},
              {"generation", d.generation},
              {"phase", d.phase},
              {"reason", d.reason},
              {"node", d.node.empty() ? json() : json(d.node)},
              {"endpoint", d.endpoint.empty() ? json() : json(d.endpoint)},
              {"measurement", d.measurement.empty() ? json() : json(d.measurement)},
              {"host_data", d.host_data.empty() ? json() : json(d.host_data)},
              {"pid", d.pid == 0 ? json() : json(d.pid)},
              {"restarts", d.restarts},
              {"attestation_failures", d.attestation_failures},
              {"register_measurement", d.register_measurement},
              {"listen_port", d.listen_port == 0 ? json(nullptr) : json(d.listen_port)},
              {"requirements",
               {{"tee", d.needs.tee},
                {"cpu", d.needs.cpu},
                {"memory", FormatMemory(d.needs.memory_bytes)},
                {"gpu", d.needs.gpus}}},
              {"created", d.created},
              {"updated", d.updated}};
  json last = json::object();
  last["time"] = d.last_attestation ? json(*d.last_attestation) : json();
  last["result"] = !d.last_attestation_ok ? json() : json(*d.last_attestation_ok ? "ok" : "failed");
  out["last_attestation"] = last;
  return out;
}

}  // namespace crypta::api
