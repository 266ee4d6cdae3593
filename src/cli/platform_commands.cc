// The control plane's admin commands (issue 4, "Tenants and access" / "Key broker"):
// tenant, token, key, policy and audit, spoken over the admin API (api/client.h); server
// discovery as in api_connect.h.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "api/client.h"
#include "api/data_dir.h"
#include "audit/log.h"
#include "cli/api_connect.h"
#include "cli/commands.h"
#include "common/bytes.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/time_util.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "crypto/random.h"
#include "crypto/sealed_file.h"
#include "store/database.h"

namespace crypta::cli {
namespace {

using nlohmann::json;

constexpr size_t kMaxPolicyBytes = 1024 * 1024;

void RegisterTenantCommands(CLI::App& app, int* exit_code) {
  CLI::App* tenant = app.add_subcommand("tenant", "Manage tenants (platform admin)");
  tenant->require_subcommand(1);

  auto create_args = std::make_shared<ServerArgs>();
  auto name = std::make_shared<std::string>();
  CLI::App* create = tenant->add_subcommand("create", "Create a tenant");
  create->add_option("NAME", *name, "Tenant name")->required();
  AddServerOptions(create, create_args.get(), false);
  create->callback(WithClient(create_args, exit_code,
                              [name](const api::ApiClient& c, const ServerArgs&) -> Status {
                                CRYPTA_RETURN_IF_ERROR(c.Post("/v1/tenants", {{"name", *name}}));
                                std::printf("created tenant %s\n", name->c_str());
                                return OkStatus();
                              }));

  auto list_args = std::make_shared<ServerArgs>();
  CLI::App* list = tenant->add_subcommand("list", "List tenants");
  AddServerOptions(list, list_args.get(), true);
  list->callback(
      WithClient(list_args, exit_code, [](const api::ApiClient& c, const ServerArgs& a) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(json r, c.Get("/v1/tenants"));
        if (PrintJsonIfAsked(a, r)) return OkStatus();
        std::vector<std::vector<std::string>> rows;
        for (const auto& t : ListOf(r, "tenants")) {
          rows.push_back({Cell(t, "name"), Cell(t, "created", true)});
        }
        PrintTable({"NAME", "CREATED"}, rows);
        return OkStatus();
      }));
}

void RegisterTokenCommands(CLI::App& app, int* exit_code) {
  CLI::App* token = app.add_subcommand("token", "Manage API tokens");
  token->require_subcommand(1);
  auto args = std::make_shared<ServerArgs>();
  auto tenant = std::make_shared<std::string>();
  auto role = std::make_shared<std::string>();
  CLI::App* create = token->add_subcommand(
      "create", "Create a tenant API token; the token is printed on the last line");
  create->add_option("--tenant", *tenant, "Tenant")->required();
  create->add_option("--role", *role, "Role")
      ->required()
      ->check(CLI::IsMember({"tenant-admin", "tenant-user", "workload"}));
  AddServerOptions(create, args.get(), false);
  create->callback(WithClient(
      args, exit_code, [tenant, role](const api::ApiClient& c, const ServerArgs&) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(
            json r, c.Post("/v1/tenants/" + Segment(*tenant) + "/tokens", {{"role", *role}}));
        if (!r.contains("token") || !r["token"].is_string() || Cell(r, "token") == "-") {
          return MakeError(ErrorCode::kDataLoss, "control plane answered without a token");
        }
        std::printf("created %s token %s for tenant %s (shown once; store it now)\n", role->c_str(),
                    Cell(r, "token_id").c_str(), tenant->c_str());
        std::printf("%s\n", Cell(r, "token").c_str());
        return OkStatus();
      }));

  auto list_args = std::make_shared<ServerArgs>();
  CLI::App* list = token->add_subcommand("list", "List a tenant's tokens (ids and roles only)");
  list->add_option("--tenant", *tenant, "Tenant")->required();
  AddServerOptions(list, list_args.get(), true);
  list->callback(WithClient(
      list_args, exit_code, [tenant](const api::ApiClient& c, const ServerArgs& a) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(json r, c.Get("/v1/tenants/" + Segment(*tenant) + "/tokens"));
        if (PrintJsonIfAsked(a, r)) return OkStatus();
        std::vector<std::vector<std::string>> rows;
        for (const auto& t : ListOf(r, "tokens")) {
          rows.push_back(
              {Cell(t, "token_id"), Cell(t, "role"), Cell(t, "created", true), Cell(t, "revoked")});
        }
        PrintTable({"TOKEN_ID", "ROLE", "CREATED", "REVOKED"}, rows);
        return OkStatus();
      }));

  auto revoke_args = std::make_shared<ServerArgs>();
  auto token_id = std::make_shared<std::string>();
  CLI::App* revoke = token->add_subcommand("revoke", "Revoke a token (it stops working at once)");
  revoke->add_option("--tenant", *tenant, "Tenant")->required();
  revoke->add_option("TOKEN_ID", *token_id, "Token id (from token create or token list)")
      ->required();
  AddServerOptions(revoke, revoke_args.get(), false);
  revoke->callback(WithClient(
      revoke_args, exit_code,
      [tenant, token_id](const api::ApiClient& c, const ServerArgs&) -> Status {
        CRYPTA_RETURN_IF_ERROR(
            c.Delete("/v1/tenants/" + Segment(*tenant) + "/tokens/" + Segment(*token_id)));
        std::printf("revoked token %s of tenant %s\n", token_id->c_str(), tenant->c_str());
        return OkStatus();
      }));
}

void RegisterKeyCommands(CLI::App& app, int* exit_code) {
  CLI::App* key = app.add_subcommand("key", "Manage tenant key-encryption keys (KEKs)");
  key->require_subcommand(1);
  auto tenant = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();

  auto create_args = std::make_shared<ServerArgs>();
  auto rotate_days = std::make_shared<int64_t>(0);
  CLI::App* create = key->add_subcommand("create", "Create a KEK (version 1)");
  create->add_option("--tenant", *tenant, "Tenant")->required();
  create->add_option("NAME", *name, "Key name")->required();
  create->add_option("--rotate-days", *rotate_days, "Rotate automatically every N days")
      ->check(CLI::Range(int64_t{1}, int64_t{3650}));
  AddServerOptions(create, create_args.get(), false);
  create->callback(WithClient(
      create_args, exit_code,
      [tenant, name, rotate_days](const api::ApiClient& c, const ServerArgs&) -> Status {
        json body = {{"name", *name}};
        if (*rotate_days > 0) body["rotate_days"] = *rotate_days;
        CRYPTA_ASSIGN_OR_RETURN(json r, c.Post("/v1/tenants/" + Segment(*tenant) + "/keys", body));
        std::printf("created key %s/%s version %s\n", tenant->c_str(), name->c_str(),
                    Cell(r, "current_version").c_str());
        return OkStatus();
      }));

  auto list_args = std::make_shared<ServerArgs>();
  CLI::App* list = key->add_subcommand("list", "List a tenant's KEKs");
  list->add_option("--tenant", *tenant, "Tenant")->required();
  AddServerOptions(list, list_args.get(), true);
  list->callback(WithClient(
      list_args, exit_code, [tenant](const api::ApiClient& c, const ServerArgs& a) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(json r, c.Get("/v1/tenants/" + Segment(*tenant) + "/keys"));
        if (PrintJsonIfAsked(a, r)) return OkStatus();
        std::vector<std::vector<std::string>> rows;
        for (const auto& k : ListOf(r, "keys")) {
          rows.push_back({Cell(k, "name"), Cell(k, "current_version"), Cell(k, "rotate_days"),
                          Cell(k, "last_rotated", true), Cell(k, "next_rotation", true)});
        }
        PrintTable({"NAME", "VERSION", "ROTATE_DAYS", "LAST_ROTATED", "NEXT_ROTATION"}, rows);
        return OkStatus();
      }));

  auto rotate_args = std::make_shared<ServerArgs>();
  CLI::App* rotate = key->add_subcommand("rotate", "Rotate a KEK to a new version");
  rotate->add_option("--tenant", *tenant, "Tenant")->required();
  rotate->add_option("NAME", *name, "Key name")->required();
  AddServerOptions(rotate, rotate_args.get(), false);
  rotate->callback(WithClient(
      rotate_args, exit_code, [tenant, name](const api::ApiClient& c, const ServerArgs&) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(json r, c.Post("/v1/tenants/" + Segment(*tenant) + "/keys/" +
                                                   Segment(*name) + "/rotate",
                                               json::object()));
        std::printf("rotated key %s/%s to version %s\n", tenant->c_str(), name->c_str(),
                    Cell(r, "current_version").c_str());
        return OkStatus();
      }));

  auto retire_args = std::make_shared<ServerArgs>();
  auto version = std::make_shared<uint32_t>(0);
  CLI::App* retire = key->add_subcommand(
      "retire-version",
      "Retire an old, decrypt-only KEK version (its key material is deleted; refused while it\n"
      "is current or still wraps DEKs)");
  retire->add_option("--tenant", *tenant, "Tenant")->required();
  retire->add_option("NAME", *name, "Key name")->required();
  retire->add_option("VERSION", *version, "Version number")
      ->required()
      ->check(CLI::Range(1u, 999999999u));
  AddServerOptions(retire, retire_args.get(), false);
  retire->callback(WithClient(
      retire_args, exit_code,
      [tenant, name, version](const api::ApiClient& c, const ServerArgs&) -> Status {
        CRYPTA_RETURN_IF_ERROR(c.Post("/v1/tenants/" + Segment(*tenant) + "/keys/" +
                                          Segment(*name) + "/versions/" + std::to_string(*version) +
                                          "/retire",
                                      json::object()));
        std::printf("retired version %u of key %s/%s\n", *version, tenant->c_str(), name->c_str());
        return OkStatus();
      }));
}

void RegisterPolicyCommands(CLI::App& app, int* exit_code) {
  CLI::App* policy = app.add_subcommand("policy", "Manage key-release policies");
  policy->require_subcommand(1);
  auto tenant = std::make_shared<std::string>();
  auto key = std::make_shared<std::string>();
  auto path_of = [tenant, key] {
    return "/v1/tenants/" + Segment(*tenant) + (key->empty() ? "" : "/keys/" + Segment(*key)) +
           "/policy";
  };

  auto set_args = std::make_shared<ServerArgs>();
  auto file = std::make_shared<std::string>();
  CLI::App* set = policy->add_subcommand("set", "Set the tenant's (or one key's) policy");
  set->add_option("--tenant", *tenant, "Tenant")->required();
  set->add_option("--key", *key, "Key name (default: the tenant-wide policy)");
  set->add_option("-f,--file", *file, "Policy YAML file")->required()->check(CLI::ExistingFile);
  AddServerOptions(set, set_args.get(), false);
  set->callback(WithClient(
      set_args, exit_code, [file, path_of](const api::ApiClient& c, const ServerArgs&) -> Status {
        auto text = ReadFileBytes(*file, kMaxPolicyBytes);
        if (!text) return MakeError(text.error().WithContext(*file));
        CRYPTA_ASSIGN_OR_RETURN(json r, c.Put(path_of(), ToString(*text), "application/yaml"));
        std::printf("policy stored (id %s)\n", Cell(r, "policy_id").c_str());
        return OkStatus();
      }));

  auto get_args = std::make_shared<ServerArgs>();
  CLI::App* get = policy->add_subcommand("get", "Print the tenant's (or one key's) policy");
  get->add_option("--tenant", *tenant, "Tenant")->required();
  get->add_option("--key", *key, "Key name (default: the tenant-wide policy)");
  AddServerOptions(get, get_args.get(), false);
  get->add_option("--output,-o", get_args->output, "text (the policy as stored) or json")
      ->check(CLI::IsMember({"text", "json"}));
  get_args->output = "text";
  get->callback(WithClient(get_args, exit_code,
                           [path_of](const api::ApiClient& c, const ServerArgs& a) -> Status {
                             CRYPTA_ASSIGN_OR_RETURN(json r, c.Get(path_of()));
                             if (a.output == "json") {
                               std::printf("%s\n", r.dump(2).c_str());
                             } else {
                               auto text = r.find("text");
                               if (text == r.end() || !text->is_string()) {
                                 return MakeError(ErrorCode::kDataLoss,
                                                  "control plane answered without the policy text");
                               }
                               std::fputs(text->get<std::string>().c_str(), stdout);
                             }
                             return OkStatus();
                           }));

  // Reference values in place: add-measurement, remove-measurement, add-host-data,
  // remove-host-data (the rest of the key's policy is kept).
  struct RefArgs {
    std::string tenant, key, tee;
    std::vector<std::string> values;
  };
  for (const auto& [verb, field, what] :
       {std::make_tuple("add-measurement", "measurements", "Allow a measurement in a key's policy"),
        std::make_tuple("remove-measurement", "measurements",
                        "Take a measurement out of a key's policy"),
        std::make_tuple("add-host-data", "host_data", "Allow a host data value in a key's policy"),
        std::make_tuple("remove-host-data", "host_data",
                        "Take a host data value out of a key's policy")}) {
    auto args = std::make_shared<RefArgs>();
    auto server = std::make_shared<ServerArgs>();
    const bool add = std::string(verb).rfind("add", 0) == 0;
    const std::string list = field;
    CLI::App* cmd = policy->add_subcommand(verb, what);
    cmd->add_option("--tenant", args->tenant, "Tenant")->required();
    cmd->add_option("--key", args->key, "Key whose release policy is edited")->required();
    cmd->add_option("VALUE", args->values, "Hex value(s)")->required();
    if (add) {
      cmd->add_option("--tee", args->tee,
                      "For a key without a policy yet: the TEE the new policy allows (sim also "
                      "sets allow_simulated)");
    }
    AddServerOptions(cmd, server.get(), false);
    cmd->callback(WithClient(
        server, exit_code, [args, add, list](const api::ApiClient& c, const ServerArgs&) -> Status {
          json body = {{add ? "add" : "remove", {{list, args->values}}}};
          if (!args->tee.empty()) body["tee"] = args->tee;
          CRYPTA_ASSIGN_OR_RETURN(json r,
                                  c.Post("/v1/tenants/" + Segment(args->tenant) + "/keys/" +
                                             Segment(args->key) + "/policy/reference-values",
                                         body));
          const json& changed = r.value(add ? "added" : "removed", json::array());
          for (const auto& v : changed) {
            std::printf("%s %s %s in %s/%s's release policy\n", add ? "added" : "removed",
                        Cell(v, "field").c_str(), Cell(v, "value").c_str(), args->tenant.c_str(),
                        args->key.c_str());
          }
          if (changed.empty()) std::printf("policy unchanged\n");
          std::printf("policy stored (id %s)\n", Cell(r, "policy_id").c_str());
          return OkStatus();
        }));
  }
}

void RegisterAuditCommands(CLI::App& app, int* exit_code) {
  CLI::App* audit = app.add_subcommand("audit", "Read the audit log");
  audit->require_subcommand(1);
  auto args = std::make_shared<ServerArgs>();
  auto count = std::make_shared<int>(20);
  CLI::App* tail = audit->add_subcommand("tail", "Print the newest audit entries");
  tail->add_option("-n", *count, "Number of entries")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  AddServerOptions(tail, args.get(), true);
  tail->callback(
      WithClient(args, exit_code, [count](const api::ApiClient& c, const ServerArgs& a) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(json r, c.Get("/v1/audit?tail=" + std::to_string(*count)));
        if (PrintJsonIfAsked(a, r)) return OkStatus();
        std::vector<std::vector<std::string>> rows;
        for (const auto& e : ListOf(r, "entries")) {
          rows.push_back({Cell(e, "seq"), Cell(e, "time", true), Cell(e, "actor"),
                          Cell(e, "tenant"), Cell(e, "action"), Cell(e, "outcome"),
                          Cell(e, "reason")});
        }
        PrintTable({"SEQ", "TIME", "ACTOR", "TENANT", "ACTION", "OUTCOME", "REASON"}, rows);
        return OkStatus();
      }));

  auto verify_dir = std::make_shared<std::string>(DefaultDataDir());
  auto verify_store = std::make_shared<std::string>();
  CLI::App* verify = audit->add_subcommand(
      "verify",
      "Offline: recompute the audit log's Merkle tree from the stored entries and check every\n"
      "signed checkpoint (run it on the data dir, e.g. while crypta up is stopped).");
  verify->add_option("--data-dir", *verify_dir, "The control plane's data directory")
      ->capture_default_str();
  verify->add_option("--store", *verify_store,
                     "A PostgreSQL store (postgres://…; default $CRYPTA_STORE, else the data "
                     "dir's store.url, else its crypta.db); the EAR keys that sign checkpoints "
                     "come from the data dir");
  verify->callback([verify_dir, verify_store, exit_code] {
    Status s = [&]() -> Status {
      CRYPTA_ASSIGN_OR_RETURN(
          std::string url,
          api::ResolveStore(*verify_dir,
                            verify_store->empty() ? Env("CRYPTA_STORE") : *verify_store,
                            /*record=*/false));
      const std::string db_path = api::StoreLocation(*verify_dir, url);
      if (url.empty() && !std::filesystem::exists(db_path)) {
        return MakeError(ErrorCode::kNotFound, "no control-plane database at " + db_path);
      }
      CRYPTA_ASSIGN_OR_RETURN(std::unique_ptr<store::Database> db, store::Database::Open(db_path));
      CRYPTA_ASSIGN_OR_RETURN(auto keys, api::LoadEarVerificationKeys(*verify_dir, db.get()));
      CRYPTA_ASSIGN_OR_RETURN(audit::AuditVerifyReport report,
                              audit::AuditLog::Verify(*db, "crypta.audit", keys));
      std::printf("audit log verified: %llu entries, %zu signed checkpoints, root %s\n",
                  static_cast<unsigned long long>(report.entries), report.checkpoints,
                  HexEncode(report.root).c_str());
      return OkStatus();
    }();
    if (!s) *exit_code = ReportError(s.error().WithContext("audit log verification failed"));
  });
}

}  // namespace

void RegisterPlatformCommands(CLI::App& app, int* exit_code) {
  RegisterTenantCommands(app, exit_code);
  RegisterTokenCommands(app, exit_code);
  RegisterKeyCommands(app, exit_code);
  RegisterPolicyCommands(app, exit_code);
  RegisterAuditCommands(app, exit_code);
}

}  // namespace crypta::cli
