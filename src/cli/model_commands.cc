// `crypta model push|list|pull|rm` (issue 4, "Encrypted model store"): models are sealed on
// the client with a fresh DEK that the key broker wraps; only the sealed blob travels.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/api_connect.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "client/platform.h"
#include "common/file_util.h"

namespace crypta::cli {
using nlohmann::json;

void RegisterModelCommands(CLI::App& app, int* exit_code) {
  CLI::App* model = app.add_subcommand("model", "Push, list, pull and remove sealed models");
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
  push->add_option("--in,-f,--file", *file, "Plaintext model file")
      ->required()
      ->check(CLI::ExistingFile);
  auto tees = std::make_shared<std::vector<std::string>>();
  auto rotate_days = std::make_shared<int64_t>(0);
  push->add_option("--rotate-days", *rotate_days,
                   "Require the key to rotate (and so rewrap this model's DEK) at least every N "
                   "days")
      ->check(CLI::Range(int64_t{1}, int64_t{3650}));
  push->add_option("--tee", *tees,
                   "Release the model's key only to these TEEs (comma-separated: sev-snp, tdx, "
                   "sgx, sim, ...; default any the policy allows)")
      ->delimiter(',');
  auto backend = std::make_shared<std::string>();
  auto signature = std::make_shared<std::string>();
  auto no_check = std::make_shared<bool>(false);
  push->add_option("--backend", *backend, "torchscript | onnx (default: inferred from the file)")
      ->check(CLI::IsMember({"torchscript", "onnx"}));
  push->add_option("--signature", *signature,
                   "The model's inputs and outputs (JSON, docs/models.md); required for "
                   "TorchScript, read from the graph for ONNX. Stored with the model and used by "
                   "crypta-runtime")
      ->check(CLI::ExistingFile);
  push->add_flag("--no-check", *no_check,
                 "Do not load the model before sealing it (by default crypta-model-check must "
                 "load and run it as its backend, with memory and CPU limits)");
  AddServerOptions(push, push_args.get(), false);
  push->callback(WithClient(
      push_args, exit_code,
      [tenant, key, name, file, tees, rotate_days, backend, signature, no_check](
          const api::ApiClient& c, const ServerArgs&) -> Status {
        client::PushModelRequest request;
        request.tenant = *tenant;
        request.key = *key;
        request.name = *name;
        request.file = *file;
        request.tees = *tees;
        request.rotate_days = *rotate_days;
        request.tmp_dir = Env("TMPDIR");
        request.backend = *backend;
        if (!signature->empty()) {
          CRYPTA_ASSIGN_OR_RETURN(Bytes text, ReadFileBytes(*signature, 64 * 1024));
          request.signature_json = ToString(text);
        }
        if (!*no_check) {
          char self[4096];
          const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
          request.model_checker = client::FindModelChecker(n > 0 ? std::string(self, n) : "");
          if (request.model_checker.empty()) {
            return MakeError(ErrorCode::kFailedPrecondition,
                             "cannot check the model: crypta-model-check is neither next to "
                             "crypta nor on PATH (--no-check pushes it unchecked)");
          }
        }
        struct stat st {};
        if (::stat(file->c_str(), &st) == 0) {
          request.progress =
              MakeProgressBar("uploading " + *name, static_cast<uint64_t>(st.st_size));
        }
        Result<client::PushedModel> pushed = client::PushModel(c, request);
        if (!pushed) return MakeError(pushed.error());
        if (pushed->unchanged) {
          std::printf("unchanged: the newest version of %s/%s already holds this file\n%s\n",
                      tenant->c_str(), name->c_str(), pushed->reference.c_str());
          return OkStatus();
        }
        std::printf("pushed sealed model (%llu bytes, key %s/%s v%u, %s)\n%s\n",
                    static_cast<unsigned long long>(pushed->size), tenant->c_str(), key->c_str(),
                    pushed->kek_version,
                    pushed->record.value("backend", nlohmann::json()).is_string()
                        ? pushed->record["backend"].get<std::string>().c_str()
                        : "backend not declared",
                    pushed->reference.c_str());
        return OkStatus();
      }));

  auto list_args = std::make_shared<ServerArgs>();
  CLI::App* list = model->add_subcommand("list", "List a tenant's models");
  list->add_option("--tenant", *tenant, "Tenant")->required();
  AddServerOptions(list, list_args.get(), true);
  list->callback(WithClient(
      list_args, exit_code, [tenant](const api::ApiClient& c, const ServerArgs& a) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(json r, c.Get("/v1/tenants/" + Segment(*tenant) + "/models"));
        if (PrintJsonIfAsked(a, r)) return OkStatus();
        std::vector<std::vector<std::string>> rows;
        // Versions count from 1 per name, oldest first (the listing is newest first).
        std::map<std::string, int> versions_left;
        for (const auto& m : ListOf(r, "models")) ++versions_left[Cell(m, "name")];
        for (const auto& m : ListOf(r, "models")) {
          const std::string version = std::to_string(versions_left[Cell(m, "name")]--);
          std::string tee_list;
          for (const auto& t : ListOf(m, "tees")) {
            if (t.is_string()) tee_list += (tee_list.empty() ? "" : ",") + t.get<std::string>();
          }
          std::string io = "-";
          if (m.contains("signature") && m["signature"].is_object()) {
            io = std::to_string(ListOf(m["signature"], "inputs").size()) + " in, " +
                 std::to_string(ListOf(m["signature"], "outputs").size()) + " out";
          }
          rows.push_back({Cell(m, "name"), version, Cell(m, "key"), Cell(m, "size"),
                          Cell(m, "backend"), io, tee_list.empty() ? "any" : tee_list,
                          Cell(m, "created", true), Cell(m, "reference")});
        }
        PrintTable({"NAME", "VERSION", "KEY", "SIZE", "BACKEND", "SIGNATURE", "TEES", "CREATED",
                    "REFERENCE"},
                   rows);
        return OkStatus();
      }));

  // Pull: the sealed blob, as stored (only an attested TEE can get its key).
  auto pull_args = std::make_shared<ServerArgs>();
  auto digest = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  CLI::App* pull = model->add_subcommand(
      "pull", "Download a sealed model (ciphertext; its key is only released to attested TEEs)");
  pull->add_option("--tenant", *tenant, "Tenant")->required();
  pull->add_option("--name", *name, "Model name")->required();
  pull->add_option("--digest", *digest, "sha256:<hex> of the version (default: the newest)");
  pull->add_option("--out,-o", *out, "Where to write the sealed blob")->required();
  pull->add_flag("--force", *force, "Replace an existing output file");
  AddServerOptions(pull, pull_args.get(), false);
  pull->callback(WithClient(
      pull_args, exit_code,
      [tenant, name, digest, out, force](const api::ApiClient& c, const ServerArgs&) -> Status {
        const std::string base = "/v1/tenants/" + Segment(*tenant) + "/models/" + Segment(*name);
        const std::string query = digest->empty() ? "" : "?digest=" + Segment(*digest);
        CRYPTA_ASSIGN_OR_RETURN(json meta, c.Get(base + query));
        const std::string want = Cell(meta, "digest");
        if (want.rfind("sha256:", 0) != 0) {
          return MakeError(ErrorCode::kDataLoss, "control plane answered without a digest");
        }
        // The content must hash to the digest the reference names, or nothing is written.
        CRYPTA_ASSIGN_OR_RETURN(json got, c.GetToFile(base + "/blob?digest=" + Segment(want), *out,
                                                      *force, want.substr(7)));
        std::printf("pulled %s (%s bytes, sealed) to %s\n", Cell(meta, "reference").c_str(),
                    Cell(got, "size").c_str(), out->c_str());
        return OkStatus();
      }));

  auto rm_args = std::make_shared<ServerArgs>();
  CLI::App* rm = model->add_subcommand(
      "rm", "Remove a model (every version, or one with --digest) and its unreferenced blobs");
  rm->add_option("--tenant", *tenant, "Tenant")->required();
  rm->add_option("--name", *name, "Model name")->required();
  rm->add_option("--digest", *digest, "sha256:<hex> of one version");
  auto rm_force = std::make_shared<bool>(false);
  rm->add_flag("--force", *rm_force,
               "Remove it even while a deployment runs it (audited; its next start will fail)");
  AddServerOptions(rm, rm_args.get(), false);
  rm->callback(WithClient(
      rm_args, exit_code,
      [tenant, name, digest, rm_force](const api::ApiClient& c, const ServerArgs&) -> Status {
        std::string query = digest->empty() ? "" : "digest=" + Segment(*digest);
        if (*rm_force) query += std::string(query.empty() ? "" : "&") + "force=1";
        CRYPTA_ASSIGN_OR_RETURN(
            json r, c.Delete("/v1/tenants/" + Segment(*tenant) + "/models/" + Segment(*name) +
                             (query.empty() ? "" : "?" + query)));
        for (const auto& ref : ListOf(r, "removed")) {
          if (ref.is_string()) std::printf("removed %s\n", ref.get<std::string>().c_str());
        }
        return OkStatus();
      }));
}

}  // namespace crypta::cli
