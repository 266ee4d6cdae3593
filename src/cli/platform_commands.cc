// The control plane's admin commands (issue 4, "Tenants and access" / "Key broker"):
// tenant, token, key, policy and audit, spoken over the admin API (api/client.h).
//
// Server discovery, shared by every command: --url/--token (or an explicit --data-dir),
// else CRYPTA_URL/CRYPTA_TOKEN, else the data dir that `crypta up` writes: <dir>/url and
// <dir>/admin.token (default $XDG_DATA_HOME/crypta or ~/.local/share/crypta).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/client.h"
#include "api/data_dir.h"
#include "audit/log.h"
#include "cli/commands.h"
#include "common/bytes.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/time_util.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "crypto/random.h"
#include "crypto/sealed_file.h"
#include "store/sqlite.h"

namespace crypta::cli {
namespace {

using nlohmann::json;

constexpr size_t kMaxPolicyBytes = 1024 * 1024;
constexpr char kNoServer[] =
    "no control plane: pass --url/--token, set CRYPTA_URL/CRYPTA_TOKEN, or start `crypta up`";

struct ServerArgs {
  std::string url;
  std::string token;
  std::string data_dir;
  std::string output = "table";
};

std::string Trim(std::string s) {
  const size_t end = s.find_last_not_of(" \t\r\n");
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s.substr(std::min(s.size(), s.find_first_not_of(" \t\r\n")));
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// Flags first (an explicit --data-dir counts as a flag), then the environment, then the
// default data dir; each of url and token is taken from the first source that has it.
Result<api::ApiClient> Connect(const ServerArgs& args) {
  std::string url = args.url, token = args.token;
  if (args.data_dir.empty()) {
    if (url.empty()) url = Env("CRYPTA_URL");
    if (token.empty()) token = Env("CRYPTA_TOKEN");
  }
  const std::string dir = args.data_dir.empty() ? DefaultDataDir() : args.data_dir;
  if (url.empty()) {
    auto text = api::ReadPublicFile(dir + "/url");
    if (!text) {
      return MakeError(ErrorCode::kUnavailable, std::string(kNoServer) + " (no " + dir + "/url)");
    }
    url = Trim(*text);
  }
  if (token.empty()) {
    auto text = api::ReadPrivateFile(dir + "/" + api::kAdminTokenFileName);
    if (!text) {
      return MakeError(ErrorCode::kUnauthenticated,
                       "no API token: pass --token, set CRYPTA_TOKEN, or use the data dir of "
                       "`crypta up` (" +
                           text.error().message() + ")");
    }
    token = Trim(*text);
  }
  return api::ApiClient::Create(url, token);
}

void AddServerOptions(CLI::App* cmd, ServerArgs* args, bool listing) {
  cmd->add_option("--url", args->url, "Control plane URL, http://HOST:PORT (or CRYPTA_URL)");
  cmd->add_option("--token", args->token, "API token (or CRYPTA_TOKEN)");
  cmd->add_option("--data-dir", args->data_dir,
                  "Data dir of a local `crypta up` (reads its url and admin.token)");
  if (listing) {
    cmd->add_option("--output,-o", args->output, "Output format")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();
  }
}

std::string Segment(const std::string& s) { return api::ApiClient::EncodeSegment(s); }

// A table cell: strings (control characters replaced by '?'), Unix-seconds fields as RFC 3339, null
// as "-".
std::string Cell(const json& row, const std::string& field, bool is_time = false) {
  auto it = row.find(field);
  if (it == row.end() || it->is_null()) return "-";
  if (it->is_string()) {
    std::string text = it->get<std::string>();
    if (text.empty()) return "-";
    // Server-provided text goes to a terminal: no control characters (escape sequences).
    for (char& c : text) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return text;
  }
  if (is_time && it->is_number_integer()) return FormatRfc3339(it->get<int64_t>());
  return it->dump();
}

// Aligned columns separated by two spaces; the last column is not padded.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

// The array `field` of a listing response (an empty array if the server omitted it).
json ListOf(const json& response, const char* field) {
  auto it = response.find(field);
  return it != response.end() && it->is_array() ? *it : json::array();
}

// Runs `body` with a connected client and maps its error to exit code 1.
template <typename Fn>
std::function<void()> WithClient(std::shared_ptr<ServerArgs> args, int* exit_code, Fn body) {
  return [args, exit_code, body] {
    auto client = Connect(*args);
    if (!client) {
      *exit_code = ReportError(client.error());
      return;
    }
    Status s = body(*client, *args);
    if (s) {
      *exit_code = 0;
    } else if (s.error().code() == ErrorCode::kPermissionDenied) {
      // The server's detail says why (role, cross-tenant); say what it was first.
      *exit_code = ReportError(s.error().WithContext("permission denied"));
    } else {
      *exit_code = ReportError(s.error());
    }
  };
}

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
        if (a.output == "json") {
          std::printf("%s\n", r.dump(2).c_str());
          return OkStatus();
        }
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
        if (a.output == "json") {
          std::printf("%s\n", r.dump(2).c_str());
          return OkStatus();
        }
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
        if (a.output == "json") {
          std::printf("%s\n", r.dump(2).c_str());
          return OkStatus();
        }
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
  CLI::App* verify = audit->add_subcommand(
      "verify",
      "Offline: recompute the audit log's Merkle tree from the stored entries and check every\n"
      "signed checkpoint (run it on the data dir, e.g. while crypta up is stopped).");
  verify->add_option("--data-dir", *verify_dir, "The control plane's data directory")
      ->capture_default_str();
  verify->callback([verify_dir, exit_code] {
    Status s = [&]() -> Status {
      const std::string db_path = *verify_dir + "/" + api::kDatabaseFileName;
      if (!std::filesystem::exists(db_path)) {
        return MakeError(ErrorCode::kNotFound, "no control-plane database at " + db_path);
      }
      CRYPTA_ASSIGN_OR_RETURN(std::string pem,
                              api::ReadPrivateFile(*verify_dir + "/" + api::kEarKeyFileName));
      CRYPTA_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::FromPem(pem));
      CRYPTA_ASSIGN_OR_RETURN(std::string kid, JwkThumbprint(key.GetPublicKey()));
      CRYPTA_ASSIGN_OR_RETURN(std::unique_ptr<store::Database> db, store::Database::Open(db_path));
      std::map<std::string, PublicKey> keys;
      keys.emplace(kid, key.GetPublicKey());
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

// DESIGN.md §3 "Seal and push a model": a fresh DEK is wrapped by the key broker, the
// model is sealed locally to a 0600 temporary file, and only that sealed blob is uploaded.
Status PushModel(const api::ApiClient& c, const std::string& tenant, const std::string& key,
                 const std::string& name, const std::string& file) {
  CRYPTA_ASSIGN_OR_RETURN(SecretBytes dek, RandomSecret(kDataKeySize));
  CRYPTA_ASSIGN_OR_RETURN(Bytes nonce, RandomBytes(16));
  const std::string object_id = name + "@" + HexEncode(nonce);
  CRYPTA_ASSIGN_OR_RETURN(
      json wrapped, c.Post("/v1/tenants/" + Segment(tenant) + "/keys/" + Segment(key) + "/deks",
                           {{"object_id", object_id}, {"dek_b64", Base64Encode(dek.Reveal())}}));
  auto version = wrapped.find("kek_version");
  auto wrapped_b64 = wrapped.find("wrapped_b64");
  if (version == wrapped.end() || !version->is_number_unsigned() || wrapped_b64 == wrapped.end() ||
      !wrapped_b64->is_string()) {
    return MakeError(ErrorCode::kDataLoss, "control plane answered without the wrapped DEK");
  }
  auto wrapped_dek = Base64Decode(wrapped_b64->get<std::string>());
  if (!wrapped_dek) return MakeError(wrapped_dek.error().WithContext("wrapped_b64"));
  const KeyReference ref{tenant, key, version->get<uint32_t>()};

  const std::string tmp_dir = Env("TMPDIR").empty() ? "/tmp" : Env("TMPDIR");
  const std::string sealed = tmp_dir + "/crypta-model-" + HexEncode(nonce) + ".sealed";
  struct Remove {
    std::string path;
    ~Remove() { std::remove(path.c_str()); }
  } remove_sealed{sealed};
  SealedFileOptions options;
  options.output_mode = 0600;
  if (auto s = SealFileWithDataKey(dek, ref, std::move(*wrapped_dek), file, sealed, options); !s) {
    return MakeError(s.error().WithContext("sealing " + file));
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes sealed_digest, HashFile(HashAlg::kSha256, sealed));
  const std::string digest = HexEncode(sealed_digest);
  CRYPTA_ASSIGN_OR_RETURN(
      json r, c.PutFile("/v1/tenants/" + Segment(tenant) + "/models/" + Segment(name) +
                            "?key=" + Segment(key) + "&object_id=" + Segment(object_id) +
                            "&digest=sha256:" + digest,
                        sealed));
  const std::string reference = "store://" + tenant + "/" + name + "@sha256:" + digest;
  if (Cell(r, "reference") != reference) {
    return MakeError(ErrorCode::kDataLoss,
                     "control plane stored a different reference: " + Cell(r, "reference"));
  }
  std::printf("pushed sealed model (%s bytes, key %s/%s v%u)\n%s\n", Cell(r, "size").c_str(),
              tenant.c_str(), key.c_str(), ref.kek_version, reference.c_str());
  return OkStatus();
}

void RegisterModelCommands(CLI::App& app, int* exit_code) {
  CLI::App* model = app.add_subcommand("model", "Push and list sealed models");
  model->require_subcommand(1);
  auto tenant = std::make_shared<std::string>();

  auto push_args = std::make_shared<ServerArgs>();
  auto key = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  CLI::App* push = model->add_subcommand(
      "push", "Seal a model locally and upload the sealed blob; prints its store:// reference");
  push->add_option("--tenant", *tenant, "Tenant")->required();
  push->add_option("--key", *key, "Tenant KEK that wraps the model's data key")->required();
  push->add_option("--name", *name, "Model name")->required();
  push->add_option("-f,--file", *file, "Plaintext model file")
      ->required()
      ->check(CLI::ExistingFile);
  AddServerOptions(push, push_args.get(), false);
  push->callback(
      WithClient(push_args, exit_code,
                 [tenant, key, name, file](const api::ApiClient& c, const ServerArgs&) -> Status {
                   return PushModel(c, *tenant, *key, *name, *file);
                 }));

  auto list_args = std::make_shared<ServerArgs>();
  CLI::App* list = model->add_subcommand("list", "List a tenant's models");
  list->add_option("--tenant", *tenant, "Tenant")->required();
  AddServerOptions(list, list_args.get(), true);
  list->callback(WithClient(
      list_args, exit_code, [tenant](const api::ApiClient& c, const ServerArgs& a) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(json r, c.Get("/v1/tenants/" + Segment(*tenant) + "/models"));
        if (a.output == "json") {
          std::printf("%s\n", r.dump(2).c_str());
          return OkStatus();
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& m : ListOf(r, "models")) {
          rows.push_back({Cell(m, "name"), Cell(m, "key"), Cell(m, "size"),
                          Cell(m, "created", true), Cell(m, "reference")});
        }
        PrintTable({"NAME", "KEY", "SIZE", "CREATED", "REFERENCE"}, rows);
        return OkStatus();
      }));
}

}  // namespace

void RegisterPlatformCommands(CLI::App& app, int* exit_code) {
  RegisterTenantCommands(app, exit_code);
  RegisterTokenCommands(app, exit_code);
  RegisterKeyCommands(app, exit_code);
  RegisterPolicyCommands(app, exit_code);
  RegisterAuditCommands(app, exit_code);
  RegisterModelCommands(app, exit_code);
}

}  // namespace crypta::cli
