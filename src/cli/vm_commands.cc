// `crypta vm deploy|list|status|logs|delete` and `crypta node list` (issue 6): deployments
// from the seed's YAML spec (deploy/spec.h) on local sim nodes, or rendered for Kubernetes
// (Confidential Containers) and QEMU.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/data_dir.h"
#include "cli/api_connect.h"
#include "cli/commands.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/time_util.h"
#include "deploy/render_kubernetes.h"
#include "deploy/render_qemu.h"
#include "deploy/sim_launch.h"
#include "deploy/spec.h"

namespace crypta::cli {
namespace {

using nlohmann::json;

constexpr size_t kMaxSpecBytes = 1 << 20;

struct DeployArgs {
  std::string file, tenant, target = "local";
  std::string broker_ca_file;  // --target kubernetes: the control plane's CA (PEM)
  bool dry_run = false, register_measurement = false;
  bool wait = false;  // local: until Running (exit 0) or Unschedulable/Failed (error)
  int wait_timeout_s = 300;
  deploy::KubernetesOptions kubernetes;
  deploy::QemuImageConfig qemu;
};

// The deployment named `name`: under --tenant, or found among those the caller may see.
Result<json> FindDeployment(const api::ApiClient& c, const std::string& tenant,
                            const std::string& name) {
  if (!tenant.empty()) {
    return c.Get("/v1/tenants/" + Segment(tenant) + "/deployments/" + Segment(name));
  }
  CRYPTA_ASSIGN_OR_RETURN(json all, c.Get("/v1/deployments"));
  std::vector<json> found;
  for (const auto& d : ListOf(all, "deployments")) {
    if (Cell(d, "name") == name) found.push_back(d);
  }
  if (found.empty()) return MakeError(ErrorCode::kNotFound, "no deployment named " + name);
  if (found.size() > 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "several tenants have a deployment named " + name + ": pass --tenant");
  }
  return found.front();
}

// kubectl on PATH and a kubeconfig: a cluster is configured.
bool KubernetesConfigured() {
  auto kubectl = deploy::ResolveExecutable("kubectl");
  if (!kubectl) return false;
  std::string config = Env("KUBECONFIG");
  if (config.empty()) config = Env("HOME") + "/.kube/config";
  std::error_code ec;
  return std::filesystem::exists(config.substr(0, config.find(':')), ec);
}

// --target kubernetes: the control plane the pod attests to and its CA bundle, found the
// way the other commands find the control plane (api_connect.h): --broker-url, else --url,
// else CRYPTA_URL (without --data-dir), else <data dir>/url; the CA for an https:// URL:
// --broker-ca, else --ca-cert, else CRYPTA_CA_CERT (without --data-dir), else
// <data dir>/tls/ca.pem.
Result<deploy::KubernetesOptions> ResolveKubernetesBroker(const DeployArgs& a,
                                                          const ServerArgs& server) {
  deploy::KubernetesOptions o = a.kubernetes;
  const std::string dir = server.data_dir.empty() ? DefaultDataDir() : server.data_dir;
  if (o.broker_url.empty()) o.broker_url = server.url;
  if (o.broker_url.empty() && server.data_dir.empty()) o.broker_url = Env("CRYPTA_URL");
  if (o.broker_url.empty()) {
    auto text = api::ReadPublicFile(dir + "/url");
    if (!text) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--target kubernetes needs the control plane's URL for the workload: "
                       "pass --broker-url URL, set CRYPTA_URL, or use the --data-dir of a "
                       "`crypta up` (no " +
                           dir + "/url)");
    }
    o.broker_url = Trim(*text);
  }
  if (o.broker_url.rfind("https://", 0) != 0) return o;  // http:// needs no CA
  std::string ca = a.broker_ca_file.empty() ? server.ca_cert : a.broker_ca_file;
  if (ca.empty() && server.data_dir.empty()) ca = Env("CRYPTA_CA_CERT");
  if (ca.empty()) {
    ca = dir + "/tls/ca.pem";
    if (::access(ca.c_str(), R_OK) != 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--target kubernetes: the control plane URL " + o.broker_url +
                           " is https:// and the workload needs its CA certificate: pass "
                           "--broker-ca FILE (no " +
                           ca + ")");
    }
  }
  auto pem = ReadFileBytes(ca, 64 * 1024);
  if (!pem) return MakeError(pem.error().WithContext("--broker-ca " + ca));
  o.broker_ca_pem = ToString(*pem);
  return o;
}

// True for http(s)://localhost…, 127.x.x.x and [::1]: a pod cannot reach the host's loopback.
bool IsLoopbackUrl(const std::string& url) {
  const size_t start = url.find("://");
  if (start == std::string::npos) return false;
  const std::string host = url.substr(start + 3, url.find_first_of(":/", start + 3) - start - 3);
  return host == "localhost" || host.rfind("127.", 0) == 0 ||
         url.find("://[::1]") != std::string::npos;
}

Status WaitForDeployment(const api::ApiClient& c, const std::string& tenant,
                         const std::string& name, const std::string& generation, int timeout_s);

Status Deploy(const DeployArgs& a, const ServerArgs& server) {
  auto text = ReadFileBytes(a.file, kMaxSpecBytes);
  if (!text) return MakeError(text.error().WithContext(a.file));
  CRYPTA_ASSIGN_OR_RETURN(deploy::ParsedSpec parsed,
                          deploy::ParseDeploymentSpec(ToString(*text), a.file));
  for (const std::string& w : parsed.warnings)
    std::fprintf(stderr, "crypta: warning: %s\n", w.c_str());
  deploy::DeploymentSpec& spec = parsed.spec;
  // The parsed spec's reference is valid (ParseDeploymentSpec checked it).
  std::optional<deploy::ModelRefParts> model_ref;
  if (spec.model) {
    CRYPTA_ASSIGN_OR_RETURN(model_ref, deploy::SplitModelRef(spec.model->ref));
  }
  // store://<t>/<name>@latest: the control plane resolves it for local deployments; the
  // rendered targets need the digest now (it is in the pod's arguments and the host data).
  if (a.target != "local" && model_ref && model_ref->version == "latest") {
    const std::string ref = spec.model->ref;
    Result<api::ApiClient> c = Connect(server);
    if (!c) {
      return MakeError(c.error().WithContext(
          ref + " is resolved by the control plane (or give @sha256:<digest>)"));
    }
    CRYPTA_ASSIGN_OR_RETURN(json m, c->Get("/v1/tenants/" + Segment(model_ref->tenant) +
                                           "/models/" + Segment(model_ref->name)));
    if (Cell(m, "reference").rfind("store://", 0) != 0) {
      return MakeError(ErrorCode::kDataLoss, "control plane answered without a reference");
    }
    spec.model->ref = Cell(m, "reference");
    std::fprintf(stderr, "crypta: %s is %s\n", ref.c_str(), spec.model->ref.c_str());
  }
  if (a.target == "kubernetes") {
    if (!a.dry_run && !KubernetesConfigured()) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "no Kubernetes cluster is configured (kubectl on PATH and a kubeconfig "
                       "are needed); --dry-run prints the manifests");
    }
    CRYPTA_ASSIGN_OR_RETURN(deploy::KubernetesOptions options, ResolveKubernetesBroker(a, server));
    if (IsLoopbackUrl(options.broker_url)) {
      std::fprintf(stderr,
                   "crypta: warning: the control plane URL %s is a loopback address: a pod "
                   "cannot reach it (pass --broker-url with an address the cluster reaches)\n",
                   options.broker_url.c_str());
    }
    CRYPTA_ASSIGN_OR_RETURN(std::string manifests, deploy::RenderKubernetes(spec, options));
    if (a.dry_run) {
      std::fputs(manifests.c_str(), stdout);
      return OkStatus();
    }
    FILE* kubectl = ::popen("kubectl apply -f -", "w");
    if (kubectl == nullptr) return MakeError(ErrorCode::kUnavailable, "cannot run kubectl");
    std::fputs(manifests.c_str(), kubectl);
    if (::pclose(kubectl) != 0) return MakeError(ErrorCode::kUnavailable, "kubectl apply failed");
    return OkStatus();
  }
  if (a.target == "qemu") {
    CRYPTA_ASSIGN_OR_RETURN(std::string command, deploy::RenderQemu(spec, a.qemu));
    if (!a.dry_run) {
      return MakeError(ErrorCode::kUnimplemented,
                       "--target qemu only renders the guest's command line: add --dry-run and "
                       "run it on an SEV-SNP or TDX host");
    }
    std::printf("%s\n", command.c_str());
    return OkStatus();
  }
  // local: the control plane schedules it on a node agent.
  const std::string host_data = HexEncode(deploy::SpecHostData(spec));
  if (a.dry_run) {
    std::printf(
        "%s\n",
        json({{"target", "local"}, {"spec", deploy::SpecToJson(spec)}, {"host_data", host_data}})
            .dump(2)
            .c_str());
    return OkStatus();
  }
  // store://<tenant>/… names the tenant that owns the model.
  std::string tenant = a.tenant;
  if (tenant.empty() && model_ref) tenant = model_ref->tenant;
  if (tenant.empty()) return MakeError(ErrorCode::kInvalidArgument, "pass --tenant");
  CRYPTA_ASSIGN_OR_RETURN(api::ApiClient c, Connect(server));
  CRYPTA_ASSIGN_OR_RETURN(json r, c.Post("/v1/tenants/" + Segment(tenant) + "/deployments",
                                         {{"spec", deploy::SpecToJson(spec)},
                                          {"register_measurement", a.register_measurement}}));
  // The control plane resolves store://…@latest; the host data is that of the stored spec.
  const std::string stored_host_data =
      Cell(r, "spec_host_data") == "-" ? host_data : Cell(r, "spec_host_data");
  if (Cell(r, "model_ref") != "-" && Cell(r, "model_ref") != spec.model->ref) {
    std::printf("model %s is %s\n", spec.model->ref.c_str(), Cell(r, "model_ref").c_str());
  }
  std::printf("deployment %s/%s applied (generation %s, host data %s): %s%s\n", tenant.c_str(),
              spec.name.c_str(), Cell(r, "generation").c_str(), stored_host_data.c_str(),
              Cell(r, "phase").c_str(),
              Cell(r, "reason") == "-" ? "" : (" — " + Cell(r, "reason")).c_str());
  if (!a.wait) return OkStatus();
  return WaitForDeployment(c, tenant, spec.name, Cell(r, "generation"), a.wait_timeout_s);
}

// --wait: polls the deployment until this generation runs (prints its endpoint, measurement
// and what --register-measurement added), or fails with the phase's reason (Unschedulable,
// Failed), or the timeout passes.
Status WaitForDeployment(const api::ApiClient& c, const std::string& tenant,
                         const std::string& name, const std::string& generation, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  std::string phase = "-", reason;
  while (std::chrono::steady_clock::now() < deadline) {
    CRYPTA_ASSIGN_OR_RETURN(
        json d, c.Get("/v1/tenants/" + Segment(tenant) + "/deployments/" + Segment(name)));
    phase = Cell(d, "phase");
    reason = Cell(d, "reason") == "-" ? "" : Cell(d, "reason");
    if (Cell(d, "generation") == generation) {
      if (phase == "Running") {
        std::printf("deployment %s/%s is Running at %s (node %s, measurement %s)\n", tenant.c_str(),
                    name.c_str(), Cell(d, "endpoint").c_str(), Cell(d, "node").c_str(),
                    Cell(d, "measurement").c_str());
        for (const auto& added : ListOf(d, "registered")) {
          std::printf("registered in %s/%s's release policy: %s %s\n", tenant.c_str(),
                      Cell(added, "key").c_str(), Cell(added, "field").c_str(),
                      Cell(added, "value").c_str());
        }
        return OkStatus();
      }
      if (phase == "Unschedulable" || phase == "Failed") {
        return MakeError(ErrorCode::kFailedPrecondition, "deployment " + tenant + "/" + name +
                                                             " is " + phase +
                                                             (reason.empty() ? "" : ": " + reason));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return MakeError(ErrorCode::kUnavailable, "deployment " + tenant + "/" + name +
                                                " not Running after " + std::to_string(timeout_s) +
                                                " s (phase " + phase +
                                                (reason.empty() ? "" : ": " + reason) + ")");
}

void PrintStatusTable(const json& d) {
  const json& last = d.contains("last_attestation") ? d["last_attestation"] : json::object();
  std::vector<std::vector<std::string>> rows = {
      {"name", Cell(d, "tenant") + "/" + Cell(d, "name")},
      {"phase", Cell(d, "phase")},
      {"reason", Cell(d, "reason")},
      {"node", Cell(d, "node")},
      {"endpoint", Cell(d, "endpoint")},
      {"measurement", Cell(d, "measurement")},
      {"host_data", Cell(d, "host_data")},
      {"last_attestation", Cell(last, "time", true) + " " + Cell(last, "result")},
      {"restarts", Cell(d, "restarts")},
      {"attestation_failures", Cell(d, "attestation_failures")},
  };
  PrintTable({"FIELD", "VALUE"}, rows);
}

}  // namespace

void RegisterVmCommands(CLI::App& app, int* exit_code) {
  CLI::App* vm = app.add_subcommand("vm", "Deploy workloads from a YAML spec and manage them");
  vm->require_subcommand(1);

  auto a = std::make_shared<DeployArgs>();
  auto deploy_server = std::make_shared<ServerArgs>();
  CLI::App* dep = vm->add_subcommand(
      "deploy", "Create or update a deployment from a spec (kind: VirtualMachine)");
  dep->add_option("-f,--file", a->file, "Deployment spec (YAML)")->required();
  dep->add_option("--tenant", a->tenant, "Tenant (default: the tenant of spec.model.ref)");
  dep->add_option("--target", a->target, "Where it runs")
      ->check(CLI::IsMember({"local", "kubernetes", "qemu"}))
      ->capture_default_str();
  dep->add_flag("--dry-run", a->dry_run,
                "Print what would be deployed (kubernetes: the manifests; qemu: the command)");
  dep->add_flag("--register-measurement", a->register_measurement,
                "Add the launched measurement and host data to the model key's release policy");
  dep->add_flag("--wait", a->wait,
                "Local target: wait until it runs (exit 0) or is Unschedulable/Failed (exit 1, "
                "with the reason)");
  dep->add_option("--timeout", a->wait_timeout_s, "Seconds --wait waits")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  dep->add_option("--namespace", a->kubernetes.namespace_name, "Kubernetes namespace");
  dep->add_option("--runtime-image", a->kubernetes.runtime_image,
                  "Container image for `image: crypta-runtime` on Kubernetes");
  dep->add_option("--broker-url", a->kubernetes.broker_url,
                  "Kubernetes: control plane URL the workload attests to (default: --url, "
                  "CRYPTA_URL or the data dir's url)");
  dep->add_option("--broker-ca", a->broker_ca_file,
                  "Kubernetes: the control plane's CA certificate (PEM) for an https:// URL, "
                  "shipped in the ConfigMap (default: --ca-cert, CRYPTA_CA_CERT or "
                  "<data-dir>/tls/ca.pem)");
  dep->add_option("--ovmf", a->qemu.ovmf, "QEMU: OVMF firmware");
  dep->add_option("--kernel", a->qemu.kernel, "QEMU: guest kernel");
  dep->add_option("--initrd", a->qemu.initrd, "QEMU: guest initrd");
  dep->add_option("--cmdline", a->qemu.cmdline, "QEMU: kernel command line");
  dep->add_option("--disk", a->qemu.disk, "QEMU: guest disk image");
  AddServerOptions(dep, deploy_server.get(), false);
  dep->callback([a, deploy_server, exit_code] {
    Status s = Deploy(*a, *deploy_server);
    *exit_code = s ? 0 : ReportError(s.error());
  });

  auto tenant = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  auto list_args = std::make_shared<ServerArgs>();
  CLI::App* list = vm->add_subcommand("list", "List deployments");
  list->add_option("--tenant", *tenant, "Only this tenant's");
  AddServerOptions(list, list_args.get(), true);
  list->callback(WithClient(
      list_args, exit_code, [tenant](const api::ApiClient& c, const ServerArgs& s) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(
            json r, c.Get(tenant->empty() ? "/v1/deployments"
                                          : "/v1/tenants/" + Segment(*tenant) + "/deployments"));
        if (PrintJsonIfAsked(s, r)) return OkStatus();
        std::vector<std::vector<std::string>> rows;
        for (const auto& d : ListOf(r, "deployments")) {
          rows.push_back({Cell(d, "tenant"), Cell(d, "name"), Cell(d, "phase"), Cell(d, "node"),
                          Cell(d, "endpoint"), Cell(d, "restarts"), Cell(d, "reason")});
        }
        PrintTable({"TENANT", "NAME", "PHASE", "NODE", "ENDPOINT", "RESTARTS", "REASON"}, rows);
        return OkStatus();
      }));

  auto status_args = std::make_shared<ServerArgs>();
  CLI::App* status = vm->add_subcommand("status", "Show a deployment's phase, node, endpoint");
  status->add_option("NAME", *name, "Deployment name")->required();
  status->add_option("--tenant", *tenant, "Tenant (default: found by name)");
  AddServerOptions(status, status_args.get(), true);
  status->callback(
      WithClient(status_args, exit_code,
                 [tenant, name](const api::ApiClient& c, const ServerArgs& s) -> Status {
                   CRYPTA_ASSIGN_OR_RETURN(json d, FindDeployment(c, *tenant, *name));
                   if (!PrintJsonIfAsked(s, d)) PrintStatusTable(d);
                   return OkStatus();
                 }));

  auto logs_args = std::make_shared<ServerArgs>();
  CLI::App* logs = vm->add_subcommand("logs", "Print a deployment's recent log lines (redacted)");
  logs->add_option("NAME", *name, "Deployment name")->required();
  logs->add_option("--tenant", *tenant, "Tenant (default: found by name)");
  AddServerOptions(logs, logs_args.get(), false);
  logs->callback(WithClient(
      logs_args, exit_code, [tenant, name](const api::ApiClient& c, const ServerArgs&) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(json d, FindDeployment(c, *tenant, *name));
        CRYPTA_ASSIGN_OR_RETURN(json r, c.Get("/v1/tenants/" + Segment(Cell(d, "tenant")) +
                                              "/deployments/" + Segment(*name) + "/logs"));
        for (const auto& line : ListOf(r, "lines")) {
          if (line.is_string()) std::printf("%s\n", Cell(json{{"l", line}}, "l").c_str());
        }
        return OkStatus();
      }));

  auto delete_args = std::make_shared<ServerArgs>();
  auto no_wait = std::make_shared<bool>(false);
  CLI::App* del = vm->add_subcommand(
      "delete", "Delete a deployment: its workload is stopped, then it is forgotten");
  del->add_option("NAME", *name, "Deployment name")->required();
  del->add_option("--tenant", *tenant, "Tenant (default: found by name)");
  del->add_flag("--no-wait", *no_wait, "Return without waiting for the workload to stop");
  AddServerOptions(del, delete_args.get(), false);
  del->callback(WithClient(
      delete_args, exit_code,
      [tenant, name, no_wait](const api::ApiClient& c, const ServerArgs&) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(json d, FindDeployment(c, *tenant, *name));
        const std::string path =
            "/v1/tenants/" + Segment(Cell(d, "tenant")) + "/deployments/" + Segment(*name);
        CRYPTA_ASSIGN_OR_RETURN(json r, c.Delete(path));
        if (!r.value("deleted", false) && !*no_wait) {
          // Stopping: the node agent stops the workload and reports it gone.
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
          while (true) {
            auto still = c.Get(path);
            if (!still && still.error().code() == ErrorCode::kNotFound) break;
            if (std::chrono::steady_clock::now() > deadline) {
              return MakeError(ErrorCode::kUnavailable,
                               "deployment " + *name + " is still stopping after 60 s");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
          }
        }
        std::printf("deleted deployment %s\n", name->c_str());
        return OkStatus();
      }));
}

void RegisterNodeListCommand(CLI::App& node_app, int* exit_code) {
  auto args = std::make_shared<ServerArgs>();
  CLI::App* list = node_app.add_subcommand("list", "List registered nodes and their capacity");
  AddServerOptions(list, args.get(), true);
  list->callback(
      WithClient(args, exit_code, [](const api::ApiClient& c, const ServerArgs& s) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(json r, c.Get("/v1/nodes"));
        if (PrintJsonIfAsked(s, r)) return OkStatus();
        std::vector<std::vector<std::string>> rows;
        for (const auto& n : ListOf(r, "nodes")) {
          std::string tees;
          for (const auto& t : ListOf(n, "tees")) {
            if (t.is_string()) tees += (tees.empty() ? "" : ",") + t.get<std::string>();
          }
          rows.push_back({Cell(n, "name"), tees, Cell(n, "cpu"), Cell(n, "memory"), Cell(n, "gpus"),
                          Cell(n, "ready"), Cell(n, "deployments"), Cell(n, "last_seen", true)});
        }
        PrintTable({"NAME", "TEES", "CPU", "MEMORY", "GPUS", "READY", "DEPLOYMENTS", "LAST_SEEN"},
                   rows);
        return OkStatus();
      }));
}

}  // namespace crypta::cli
