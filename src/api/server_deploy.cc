// Deployment routes (issue 6): nodes register and report, tenants deploy, the scheduler places
// (api/deployments.h). Node-agent routes need the platform admin's token (the local agents
// that `crypta up --nodes N` starts read it from the data dir).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "api/deployments.h"
#include "api/models.h"
#include "api/server_internal.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "crypto/jwt.h"
#include "deploy/spec.h"

namespace crypta::api {

using internal::Json;
using internal::ParseBody;
using internal::Problem;
using nlohmann::json;

namespace {

// `preferred` when it can be bound on 127.0.0.1 now, else a free port the kernel picks; 0 when
// neither. (Checked by binding: the runtime binds it moments later, with SO_REUSEADDR.)
int FreeLoopbackPort(int preferred) {
  for (int want : {preferred, 0}) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(want));
    socklen_t len = sizeof(addr);
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    ::close(fd);
    if (bound) return ntohs(addr.sin_port);
    if (want == 0) return 0;
  }
  return 0;
}

}  // namespace

Status ControlPlane::Impl::EditReferenceValues(const std::string& tenant, const std::string& key,
                                               const std::string& tee, const PolicyEdit& edit,
                                               const std::string& actor, const std::string& action,
                                               const std::string& reason,
                                               const std::string& deployment,
                                               EditedPolicy* result) {
  EditedPolicy edited;
  Status done = RecordedChange([&]() -> Result<audit::AuditEntry> {
    auto stored = state->broker->GetPolicy(tenant, key);
    std::optional<std::string> existing;
    if (stored) {
      existing = stored->text;
    } else if (stored.error().code() != ErrorCode::kNotFound) {
      return MakeError(stored.error());
    }
    CRYPTA_ASSIGN_OR_RETURN(edited, EditPolicyLists(existing, tee, edit));
    CRYPTA_ASSIGN_OR_RETURN(std::string id, state->broker->SetPolicy(tenant, key, edited.text));
    json added = json::array(), removed = json::array();
    for (const auto& [field, value] : edited.added) {
      added.push_back({{"field", field}, {"value", value}});
      if (!deployment.empty()) {
        CRYPTA_RETURN_IF_ERROR(
            RecordRegistration(*state->db, tenant, deployment,
                               {key, field, value, edited.created_lists.count(field) != 0}));
      }
    }
    for (const auto& [field, value] : edited.removed) {
      removed.push_back({{"field", field}, {"value", value}});
    }
    json details = {{"key", key}, {"policy_id", id}, {"added", added}, {"removed", removed}};
    if (!deployment.empty()) details["deployment"] = deployment;
    return audit::AuditEntry{actor, tenant, action, "allow", reason, details};
  });
  if (!done) {
    Audit(actor, tenant, action, "deny", done.error().message(), {{"key", key}});
    return done;
  }
  if (result != nullptr) *result = std::move(edited);
  return OkStatus();
}

Status ControlPlane::Impl::UnregisterDeployment(const std::string& tenant,
                                                const std::string& deployment,
                                                const std::string& actor) {
  // One transaction: if a policy cannot be edited, the registrations stay as they were.
  CRYPTA_ASSIGN_OR_RETURN(auto txn, store::Transaction::Begin(*state->db));
  CRYPTA_ASSIGN_OR_RETURN(std::vector<Registration> unused,
                          DropRegistrations(*state->db, tenant, deployment));
  std::map<std::string, PolicyEdit> by_key;
  for (const Registration& r : unused) {
    PolicyEdit& e = by_key[r.key];
    e.remove.push_back({r.field, r.value});
    if (r.created_list) e.drop_when_empty.insert(r.field);
  }
  for (const auto& [key, edit] : by_key) {
    CRYPTA_RETURN_IF_ERROR(EditReferenceValues(
        tenant, key, "", edit, actor, "policy.unregister_measurement",
        "deleted deployment's registered reference values removed from the release policy"));
  }
  return txn.Commit();
}

Result<std::vector<std::string>> ControlPlane::Impl::RuntimeArgs(const deploy::DeploymentSpec& spec,
                                                                 const std::string& name,
                                                                 int64_t listen_port) const {
  if (spec.image != "crypta-runtime" || !spec.model) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the local target runs the built-in runtime: spec.image must be "
                     "crypta-runtime and spec.model must name a pushed model (got image " +
                         spec.image + ")");
  }
  const bool ipv6 = options.host.find(':') != std::string::npos;
  const std::string url = std::string(options.insecure_http ? "http://" : "https://") +
                          (ipv6 ? "[" + options.host + "]" : options.host) + ":" +
                          std::to_string(port);
  std::vector<std::string> args = {"--broker", url};
  if (!options.insecure_http) {
    args.insert(args.end(), {"--broker-ca", state->data_dir + "/tls/ca.pem"});
  }
  args.insert(args.end(), {"--model", spec.model->ref});
  // Without one in the spec, the runtime uses the backend pushed with the model.
  if (!spec.model->backend.empty()) args.insert(args.end(), {"--backend", spec.model->backend});
  if (!spec.model->name.empty()) args.insert(args.end(), {"--model-name", spec.model->name});
  if (!spec.model->signature_json.empty()) {
    args.insert(args.end(), {"--signature-json", spec.model->signature_json});
  }
  args.insert(args.end(),
              {"--workload", name, "--listen", "127.0.0.1:" + std::to_string(listen_port)});
  // The local target's nodes are sim nodes: their GPUs are simulated too (sim launch --gpus),
  // and the runtime attests them with the CPU so that a gpu: policy section can decide.
  if (spec.gpu > 0) args.insert(args.end(), {"--gpu-evidence", "sim"});
  if (spec.mtls != "off") {
    // TLS with the workload's SVID; client SVIDs checked against the spec's patterns.
    args.insert(args.end(), {"--tls", "svid", "--mtls", spec.mtls, "--trust-domain",
                             state->pki->trust_domain()});
    for (const std::string& peer : spec.allowed_peers) {
      args.insert(args.end(), {"--allow-peer", peer});
    }
  }
  return args;
}

void ControlPlane::Impl::DeployRoutes() {
  using httplib::Request;
  using httplib::Response;
  net::HttpServer& http = *this->http;

  // Node agents.
  http.Post("/v1/nodes", [this](const Request& req, Response& res) {
    kbs::Principal p;
    json body;
    if (!Admit(req, res, kbs::Action::kManagePlatform, "", &p) || !ParseBody(req, res, &body)) {
      return;
    }
    NodeRecord node;
    try {
      node.name = body.at("name").get<std::string>();
      node.tees = body.at("tees").get<std::vector<std::string>>();
      node.cpu = body.at("cpu").get<double>();
      node.memory_bytes = body.at("memory_bytes").get<int64_t>();
      node.gpus = body.value("gpus", int64_t{0});
    } catch (const json::exception&) {
      return Problem(res, 400, "node: name, tees, cpu and memory_bytes are required");
    }
    if (Status ok = kbs::ValidateName(node.name, "node name"); !ok) return Problem(res, ok.error());
    for (const std::string& tee : node.tees) {
      auto canonical = deploy::CanonicalTee(tee);
      if (!canonical || *canonical != tee) return Problem(res, 400, "node: unknown TEE " + tee);
    }
    node.last_seen = UnixNow();
    if (Status s = UpsertNode(*state->db, node); !s) return Problem(res, s.error());
    if (Status s = Schedule(*state->db, node.last_seen); !s) return Problem(res, s.error());
    Json(res, {{"name", node.name}});
  });
  http.Get("/v1/nodes", [this](const Request& req, Response& res) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kManagePlatform, "", &p)) return;
    auto nodes = ListNodes(*state->db);
    auto deployments = ListDeployments(*state->db, "");
    if (!nodes || !deployments) return Problem(res, 500, "cannot list nodes");
    const int64_t now = UnixNow();
    json out = json::array();
    for (const NodeRecord& n : *nodes) {
      int count = 0;
      for (const auto& d : *deployments) count += d.node == n.name ? 1 : 0;
      out.push_back({{"name", n.name},
                     {"tees", n.tees},
                     {"cpu", n.cpu},
                     {"memory", FormatMemory(n.memory_bytes)},
                     {"gpus", n.gpus},
                     {"last_seen", n.last_seen},
                     {"ready", now - n.last_seen <= kNodeLivenessSeconds},
                     {"deployments", count}});
    }
    Json(res, {{"nodes", out}});
  });
  http.Get(R"(/v1/nodes/([^/]+)/assignments)", [this](const Request& req, Response& res) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kManagePlatform, "", &p)) return;
    auto assigned = Assignments(*state->db, req.matches[1]);
    if (!assigned) return Problem(res, assigned.error());
    json out = json::array();
    for (const DeploymentRecord& d : *assigned) {
      auto spec = deploy::SpecFromJson(json::parse(d.spec_json, nullptr, false));
      if (!spec) continue;  // refused at deploy time; a stored spec cannot change
      // Chosen once and kept: the endpoint (and the measurement, which covers the arguments)
      // stay the same across restarts of the runtime and of the control plane. Chosen again
      // only when the runtime failed and its port is now held by something else.
      int64_t listen_port = d.listen_port;
      const int wanted = listen_port != 0      ? static_cast<int>(listen_port)
                         : spec->ports.empty() ? 0
                                               : spec->ports.front().port;
      if (listen_port == 0 || d.phase == "Failed") {
        const int64_t chosen = FreeLoopbackPort(wanted);
        if (chosen == 0 && listen_port == 0) continue;  // no port yet; the agent asks again
        if (chosen != 0 && chosen != listen_port) {
          if (Status s = SetListenPort(*state->db, d.tenant, d.name, chosen); !s) {
            return Problem(res, s.error());
          }
          if (wanted != 0 && chosen != wanted) {
            Audit("server", d.tenant, "deployment.port", "allow",
                  "port " + std::to_string(wanted) + " is in use on this host; serving on " +
                      std::to_string(chosen),
                  {{"deployment", d.name}, {"port", chosen}});
            std::fprintf(stderr, "crypta: deployment %s/%s: port %d is in use; serving on %lld\n",
                         d.tenant.c_str(), d.name.c_str(), wanted, static_cast<long long>(chosen));
          }
          listen_port = chosen;
        }
      }
      auto args = RuntimeArgs(*spec, d.name, listen_port);
      if (!args) continue;  // refused at deploy time; a stored spec cannot change
      out.push_back({{"tenant", d.tenant},
                     {"name", d.name},
                     {"generation", d.generation},
                     {"args", *args},
                     {"host_data", HexEncode(deploy::SpecHostData(*spec))},
                     {"debug", false},
                     {"gpus", spec->gpu}});
    }
    Json(res, {{"deployments", out}});
  });
  http.Post(R"(/v1/nodes/([^/]+)/launching)", [this](const Request& req, Response& res) {
    kbs::Principal p;
    json body;
    if (!Admit(req, res, kbs::Action::kManagePlatform, "", &p) || !ParseBody(req, res, &body)) {
      return;
    }
    std::string tenant, name, measurement, host_data;
    int64_t generation = 0;
    try {
      tenant = body.at("tenant").get<std::string>();
      name = body.at("name").get<std::string>();
      generation = body.at("generation").get<int64_t>();
      measurement = body.at("measurement").get<std::string>();
      host_data = body.at("host_data").get<std::string>();
    } catch (const json::exception&) {
      return Problem(res, 400, "launching: tenant, name, generation, measurement, host_data");
    }
    auto d = GetDeployment(*state->db, tenant, name);
    if (!d) return Problem(res, d.error());
    if (d->node != req.matches[1] || d->generation != generation) {
      return Problem(res, 409, "deployment " + name + " is not assigned to this node");
    }
    auto m = HexDecode(measurement);
    auto h = HexDecode(host_data);
    if (!m || !h || m->empty() || m->size() > 64 || h->size() > 64) {
      return Problem(res, 400, "launching: measurement and host_data must be hex");
    }
    if (Status s =
            RecordLaunch(*state->db, tenant, name, generation, measurement, host_data, UnixNow());
        !s) {
      return Problem(res, s.error());
    }
    if (d->register_measurement) {
      auto spec = deploy::SpecFromJson(json::parse(d->spec_json, nullptr, false));
      if (!spec || !spec->model) return Problem(res, 409, "the deployment has no model");
      auto ref = deploy::SplitModelRef(spec->model->ref);
      if (!ref) return Problem(res, ref.error().WithContext("spec.model.ref"));
      auto model = FindModel(*state->db, ref->tenant, ref->name, ref->version);
      if (!model) return Problem(res, model.error());
      // The launched values join the key's reference values; what was added is recorded
      // with the deployment (shown by vm status, taken out again by vm delete).
      Status edited =
          EditReferenceValues(model->tenant, model->key, spec->tee,
                              {{{"measurements", measurement}, {"host_data", host_data}}, {}, {}},
                              "node:" + std::string(req.matches[1]), "policy.register_measurement",
                              "launched measurement added to the key-release policy", name);
      if (!edited) return Problem(res, edited.error());
      // ... and the release log (issue 17): clients and require_published policies find it.
      transparency::ReleaseEntry release{
          tenant,
          name,
          HexEncode(*m),
          "sha256:" + model->digest,
          HexEncode(*h),
          "launched by node " + std::string(req.matches[1]) + " (vm deploy --register-measurement)",
          0};
      auto published = PublishRelease(std::move(release), "node:" + std::string(req.matches[1]),
                                      /*once=*/true);
      if (!published) return Problem(res, published.error());
      return Json(res, {{"registered", true}, {"release_index", published->index}});
    }
    Json(res, {{"registered", false}});
  });
  http.Post(R"(/v1/nodes/([^/]+)/status)", [this](const Request& req, Response& res) {
    kbs::Principal p;
    json body;
    if (!Admit(req, res, kbs::Action::kManagePlatform, "", &p) || !ParseBody(req, res, &body)) {
      return;
    }
    const std::string node = req.matches[1];
    auto changes = ApplyNodeStatus(*state->db, node, body, UnixNow());
    if (!changes) return Problem(res, changes.error());
    for (const PhaseChange& c : *changes) {
      Audit("node:" + node, c.tenant, "deployment.phase", c.to == "Failed" ? "error" : "allow",
            c.from + " -> " + c.to + (c.reason.empty() ? "" : ": " + c.reason),
            {{"deployment", c.name}});
    }
    Json(res, json::object());
  });

  // Tenants' deployments.
  static const std::string kOne = R"(/v1/tenants/([^/]+)/deployments/([^/]+))";
  http.Post(R"(/v1/tenants/([^/]+)/deployments)", [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1];
    kbs::Principal p;
    json body;
    if (!Admit(req, res, kbs::Action::kDeploy, tenant, &p) || !ParseBody(req, res, &body)) {
      return;
    }
    auto spec = deploy::SpecFromJson(body.value("spec", json()));
    if (!spec) return Problem(res, spec.error());
    if (auto args = RuntimeArgs(*spec, spec->name); !args) return Problem(res, args.error());
    if (auto ok = kbs::ValidateName(spec->name, "metadata.name"); !ok) {
      return Problem(res, ok.error());
    }
    auto ref = deploy::SplitModelRef(spec->model->ref);
    if (!ref) return Problem(res, ref.error().WithContext("spec.model.ref"));
    if (ref->tenant != tenant) {
      return Problem(res, 403, "spec.model.ref names tenant " + ref->tenant + ", not " + tenant);
    }
    // @latest names the newest version; the stored spec (and so its host data and the
    // runtime's --model) carries that version's digest.
    const bool latest = ref->version == "latest";
    auto model = FindModel(*state->db, tenant, ref->name, latest ? "" : ref->version);
    if (!model) return Problem(res, model.error());
    spec->model->ref = ModelReference(*model);
    const Requirements needs{spec->tee, spec->cpu, spec->memory_bytes, spec->gpu};
    auto stored = PutDeployment(*state->db, tenant, spec->name, deploy::SpecToJson(*spec).dump(),
                                needs, body.value("register_measurement", false), UnixNow());
    if (!stored) return Problem(res, stored.error());
    Audit("token:" + p.token_id, tenant, "deployment.apply", "allow", "deployment stored",
          {{"deployment", spec->name},
           {"generation", stored->generation},
           {"host_data", HexEncode(deploy::SpecHostData(*spec))},
           {"register_measurement", stored->register_measurement}});
    json out = DeploymentJson(*stored);
    out["model_ref"] = spec->model->ref;
    out["spec_host_data"] = HexEncode(deploy::SpecHostData(*spec));
    Json(res, out, 201);
  });
  http.Get(R"(/v1/tenants/([^/]+)/deployments)", [this](const Request& req, Response& res) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kReadModel, req.matches[1], &p)) return;
    auto list = ListDeployments(*state->db, req.matches[1]);
    if (!list) return Problem(res, list.error());
    json out = json::array();
    for (const auto& d : *list) out.push_back(DeploymentJson(d));
    Json(res, {{"deployments", out}});
  });
  // Every deployment the caller may see (the platform admin: all; others: their tenant's), so
  // the CLI can find one by name without --tenant.
  http.Get("/v1/deployments", [this](const Request& req, Response& res) {
    auto principal = state->tokens->Authenticate(internal::BearerToken(req));
    const std::string tenant = principal ? principal->tenant : "";
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kReadModel, tenant, &p)) return;
    auto list = ListDeployments(*state->db, p.tenant);
    if (!list) return Problem(res, list.error());
    json out = json::array();
    for (const auto& d : *list) out.push_back(DeploymentJson(d));
    Json(res, {{"deployments", out}});
  });
  http.Get(kOne, [this](const Request& req, Response& res) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kReadModel, req.matches[1], &p)) return;
    auto d = GetDeployment(*state->db, req.matches[1], req.matches[2]);
    if (!d) return Problem(res, d.error());
    auto registered = ListRegistrations(*state->db, req.matches[1], req.matches[2]);
    if (!registered) return Problem(res, registered.error());
    json out = DeploymentJson(*d);
    out["registered"] = json::array();
    for (const Registration& r : *registered) {
      out["registered"].push_back({{"key", r.key}, {"field", r.field}, {"value", r.value}});
    }
    Json(res, out);
  });
  // Reference values for clients (issue 12): what workload W (a deployment's name) launched
  // as, signed with the EAR key, so `crypta attest service URL --tenant T --workload W` and the
  // SDKs need no hand-copied measurement. The token verifies with /.well-known/jwks.json.
  http.Get(R"(/v1/tenants/([^/]+)/workloads/([^/]+)/reference-values)", [this](const Request& req,
                                                                               Response& res) {
    const std::string tenant = req.matches[1], workload = req.matches[2];
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kReadModel, tenant, &p)) return;
    auto d = GetDeployment(*state->db, tenant, workload);
    if (!d) return Problem(res, d.error());
    if (d->measurement.empty()) {
      return Problem(res, 404,
                     "workload " + workload +
                         " has not launched yet: no measurement "
                         "to vouch for (phase " +
                         d->phase + ")");
    }
    auto spec = deploy::SpecFromJson(json::parse(d->spec_json, nullptr, false));
    const int64_t now = UnixNow();
    json claims = {{"iss", "crypta"},
                   {"sub", tenant + "/" + workload},
                   {"crypta.tenant", tenant},
                   {"crypta.workload", workload},
                   {"crypta.tee", spec ? spec->tee : ""},
                   {"crypta.measurements", json::array({d->measurement})},
                   {"crypta.host_data", json::array({d->host_data})},
                   {"iat", now},
                   {"exp", now + 600}};
    Result<std::string> token = MakeError(ErrorCode::kInternal, "no EAR key");
    {
      std::lock_guard<std::mutex> lock(ear_mu);
      token = JwtSign(*state->ear_key, claims, {{"kid", state->ear_kid}, {"typ", "crypta-rv+jwt"}});
    }
    if (!token) return Problem(res, token.error());
    claims["token"] = *token;
    Json(res, claims);
  });
  http.Get(kOne + "/logs", [this](const Request& req, Response& res) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kReadModel, req.matches[1], &p)) return;
    auto d = GetDeployment(*state->db, req.matches[1], req.matches[2]);
    if (!d) return Problem(res, d.error());
    Json(res, {{"name", d->name}, {"node", d->node}, {"lines", d->log_tail}});
  });
  http.Delete(kOne, [this](const Request& req, Response& res) {
    const std::string tenant = req.matches[1], name = req.matches[2];
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kDeploy, tenant, &p)) return;
    // The deployment and what --register-measurement added for it (values another deployment
    // also registered stay) leave together, or neither does.
    auto txn = store::Transaction::Begin(*state->db);
    if (!txn) return Problem(res, txn.error());
    auto gone = DeleteDeployment(*state->db, tenant, name, UnixNow());
    if (!gone) return Problem(res, gone.error());
    if (Status s = UnregisterDeployment(tenant, name, "token:" + p.token_id); !s) {
      return Problem(res, s.error());
    }
    if (Status s = txn->Commit(); !s) return Problem(res, s.error());
    // Its workload identities go with it (on the next CRL; renewal refused).
    if (auto revoked = state->pki->RevokeWorkload(tenant, name); !revoked) {
      return Problem(res, revoked.error());
    }
    Audit("token:" + p.token_id, tenant, "deployment.delete", "allow",
          *gone ? "deployment removed" : "deployment stopping", {{"deployment", name}});
    Json(res, {{"name", name}, {"deleted", *gone}}, *gone ? 200 : 202);
  });

  // Prometheus text (platform admin): deployment health across tenants.
  http.Get("/metrics", [this](const Request& req, Response& res) {
    kbs::Principal p;
    if (!Admit(req, res, kbs::Action::kManagePlatform, "", &p)) return;
    auto list = ListDeployments(*state->db, "");
    if (!list) return Problem(res, list.error());
    std::string text =
        "# HELP crypta_deployment_restarts_total Workload restarts after a crash or a failed "
        "boot.\n# TYPE crypta_deployment_restarts_total counter\n";
    std::string failures =
        "# HELP crypta_deployment_attestation_failures_total Boots that failed attestation or "
        "key release.\n# TYPE crypta_deployment_attestation_failures_total counter\n";
    std::string phases =
        "# HELP crypta_deployment_phase 1 for the deployment's current phase.\n"
        "# TYPE crypta_deployment_phase gauge\n";
    for (const auto& d : *list) {
      const std::string labels = "tenant=\"" + d.tenant + "\",name=\"" + d.name + "\"";
      text +=
          "crypta_deployment_restarts_total{" + labels + "} " + std::to_string(d.restarts) + "\n";
      failures += "crypta_deployment_attestation_failures_total{" + labels + "} " +
                  std::to_string(d.attestation_failures) + "\n";
      phases += "crypta_deployment_phase{" + labels + ",phase=\"" + d.phase + "\"} 1\n";
    }
    res.set_content(text + failures + phases, "text/plain; version=0.0.4");
  });
}

}  // namespace crypta::api
