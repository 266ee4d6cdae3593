// crypta release publish | list | checkpoint | dump | verify: the release transparency log
// (issue 17; src/transparency, docs/transparency.md).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "cli/api_connect.h"
#include "cli/commands.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/json_canonical.h"
#include "transparency/checkpoint.h"
#include "transparency/release_log.h"

namespace crypta::cli {
namespace {

using nlohmann::json;

// --model store://T/NAME@sha256:HEX → "sha256:HEX".
Result<std::string> DigestOfModelRef(const std::string& ref) {
  const size_t at = ref.rfind('@');
  if (ref.rfind("store://", 0) != 0 || at == std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--model must be a model reference store://TENANT/NAME@sha256:HEX (as `crypta "
                     "model push` prints it), got \"" +
                         ref.substr(0, 200) + "\"");
  }
  return ref.substr(at + 1);
}

void RegisterPublish(CLI::App* release, int* exit_code) {
  struct Args {
    transparency::ReleaseEntry entry;
    std::string model;
  };
  auto a = std::make_shared<Args>();
  auto server = std::make_shared<ServerArgs>();
  CLI::App* cmd = release->add_subcommand(
      "publish",
      "Publish a release: this measurement may run this model for the tenant. Appends it to\n"
      "the append-only release log that clients with --transparency and policies with\n"
      "require_published check (tenant admins; `vm deploy --register-measurement` publishes\n"
      "what it launches by itself).");
  cmd->add_option("--tenant", a->entry.tenant, "Tenant")->required();
  cmd->add_option("--workload", a->entry.workload, "Workload (deployment) name")->required();
  cmd->add_option("--measurement", a->entry.measurement,
                  "The TEE measurement (lowercase hex, 32 or 48 bytes; `crypta sim measure` "
                  "prints the sim one)")
      ->required();
  auto* model =
      cmd->add_option("--model", a->model, "The model reference, store://TENANT/NAME@sha256:HEX");
  auto* digest = cmd->add_option("--model-digest", a->entry.model_digest,
                                 "The sealed model's digest, sha256:HEX");
  model->excludes(digest);
  cmd->add_option("--host-data", a->entry.host_data, "Host data the release runs with (hex)");
  cmd->add_option("--note", a->entry.note, "A note (at most 1 KiB, one line)");
  AddServerOptions(cmd, server.get(), true);
  cmd->callback(
      WithClient(server, exit_code, [a](const api::ApiClient& c, const ServerArgs& s) -> Status {
        transparency::ReleaseEntry e = a->entry;
        if (!a->model.empty()) {
          CRYPTA_ASSIGN_OR_RETURN(e.model_digest, DigestOfModelRef(a->model));
        }
        if (e.model_digest.empty()) {
          return MakeError(ErrorCode::kInvalidArgument, "give --model or --model-digest");
        }
        CRYPTA_ASSIGN_OR_RETURN(
            json r, c.Post("/v1/transparency/releases", {{"tenant", e.tenant},
                                                         {"workload", e.workload},
                                                         {"measurement", e.measurement},
                                                         {"model_digest", e.model_digest},
                                                         {"host_data", e.host_data},
                                                         {"note", e.note}}));
        if (PrintJsonIfAsked(s, r)) return OkStatus();
        std::printf("published release %s: tenant %s, workload %s\n", Cell(r, "index").c_str(),
                    e.tenant.c_str(), e.workload.c_str());
        return OkStatus();
      }));
}

void RegisterList(CLI::App* release, int* exit_code) {
  auto start = std::make_shared<uint64_t>(0);
  auto server = std::make_shared<ServerArgs>();
  CLI::App* cmd = release->add_subcommand("list", "List the log's releases (up to 1000)");
  cmd->add_option("--start", *start, "First index")->capture_default_str();
  AddServerOptions(cmd, server.get(), true);
  cmd->callback(WithClient(
      server, exit_code, [start](const api::ApiClient& c, const ServerArgs& s) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(std::string note, c.GetText("/v1/transparency/checkpoint"));
        const size_t first = note.find('\n'), second = note.find('\n', first + 1);
        const std::string size = first == std::string::npos || second == std::string::npos
                                     ? "0"
                                     : note.substr(first + 1, second - first - 1);
        const uint64_t end = std::strtoull(size.c_str(), nullptr, 10);
        json r = {{"entries", json::array()}};
        if (*start < end) {
          CRYPTA_ASSIGN_OR_RETURN(r, c.Get("/v1/transparency/entries?start=" +
                                           std::to_string(*start) + "&end=" + std::to_string(end)));
        }
        if (PrintJsonIfAsked(s, r)) return OkStatus();
        std::vector<std::vector<std::string>> rows;
        for (const json& e : ListOf(r, "entries")) {
          const json& rel = e.value("release", json::object());
          rows.push_back({Cell(rel, "index"), Cell(rel, "time", true), Cell(rel, "tenant"),
                          Cell(rel, "workload"), Cell(rel, "measurement"),
                          Cell(rel, "model_digest")});
        }
        PrintTable({"INDEX", "TIME", "TENANT", "WORKLOAD", "MEASUREMENT", "MODEL"}, rows);
        return OkStatus();
      }));
}

void RegisterCheckpoint(CLI::App* release, int* exit_code) {
  auto server = std::make_shared<ServerArgs>();
  CLI::App* cmd = release->add_subcommand(
      "checkpoint",
      "Print the log's current signed checkpoint (a C2SP signed note) and its verifier key");
  AddServerOptions(cmd, server.get(), false);
  cmd->callback(
      WithClient(server, exit_code, [](const api::ApiClient& c, const ServerArgs&) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(std::string note, c.GetText("/v1/transparency/checkpoint"));
        CRYPTA_ASSIGN_OR_RETURN(json key, c.Get("/v1/transparency/key"));
        std::printf("%s", note.c_str());
        std::fprintf(stderr, "crypta: verifier key %s\n", Cell(key, "verifier_key").c_str());
        return OkStatus();
      }));
}

// The dump format of transparency::ReleaseLog::WriteDump, fetched through the API.
void RegisterDump(CLI::App* release, int* exit_code) {
  auto out = std::make_shared<std::string>();
  auto server = std::make_shared<ServerArgs>();
  CLI::App* cmd = release->add_subcommand(
      "dump",
      "Write the whole log to a directory (checkpoint.txt, entries.jsonl, key.txt) for an\n"
      "offline audit with `crypta release verify --log-dump DIR`");
  cmd->add_option("--out", *out, "The directory (created if missing)")->required();
  AddServerOptions(cmd, server.get(), false);
  cmd->callback(
      WithClient(server, exit_code, [out](const api::ApiClient& c, const ServerArgs&) -> Status {
        CRYPTA_ASSIGN_OR_RETURN(std::string note, c.GetText("/v1/transparency/checkpoint"));
        CRYPTA_ASSIGN_OR_RETURN(json key, c.Get("/v1/transparency/key"));
        if (!key.value("verifier_key", json()).is_string()) {
          return MakeError(ErrorCode::kDataLoss, "the control plane answered without a key");
        }
        CRYPTA_ASSIGN_OR_RETURN(
            transparency::NoteVerifier verifier,
            transparency::ParseVerifierKey(key["verifier_key"].get<std::string>()));
        // The size the checkpoint covers (its signature is checked by `release verify`).
        const size_t body_end = note.find("\n\n");
        CRYPTA_ASSIGN_OR_RETURN(
            transparency::Checkpoint checkpoint,
            transparency::ParseCheckpointBody(
                note.substr(0, body_end == std::string::npos ? note.size() : body_end + 1)));
        std::string lines;
        for (uint64_t start = 0; start < checkpoint.size;) {
          const uint64_t end = std::min(checkpoint.size, start + transparency::kMaxEntriesPerCall);
          CRYPTA_ASSIGN_OR_RETURN(json page,
                                  c.Get("/v1/transparency/entries?start=" + std::to_string(start) +
                                        "&end=" + std::to_string(end)));
          const json entries = ListOf(page, "entries");
          if (entries.empty()) return MakeError(ErrorCode::kDataLoss, "the log sent no entries");
          for (const json& e : entries) {
            CRYPTA_ASSIGN_OR_RETURN(std::string line, CanonicalizeJson(e));
            lines += line + "\n";
          }
          start += entries.size();
        }
        std::error_code ec;
        std::filesystem::create_directories(*out, ec);
        if (ec) return MakeError(ErrorCode::kUnavailable, *out + ": " + ec.message());
        CRYPTA_RETURN_IF_ERROR(
            WriteFileAtomic(*out + "/entries.jsonl", AsBytes(lines), 0644, /*overwrite=*/true));
        CRYPTA_RETURN_IF_ERROR(
            WriteFileAtomic(*out + "/checkpoint.txt", AsBytes(note), 0644, /*overwrite=*/true));
        const std::string key_text = key["verifier_key"].get<std::string>() + "\n";
        CRYPTA_RETURN_IF_ERROR(
            WriteFileAtomic(*out + "/key.txt", AsBytes(key_text), 0644, /*overwrite=*/true));
        std::printf("wrote %llu release(s) and the checkpoint of %s to %s\n",
                    static_cast<unsigned long long>(checkpoint.size), verifier.name.c_str(),
                    out->c_str());
        return OkStatus();
      }));
}

void RegisterVerify(CLI::App* release, int* exit_code) {
  struct Args {
    std::string dump, log_key, data_dir, origin;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = release->add_subcommand(
      "verify",
      "Audit a log dump offline: the checkpoint's signature by the pinned log key, every\n"
      "entry's leaf recomputed from its fields, their count and the Merkle root.\n"
      "Exit status: 0 verified, 1 refused (the line names the entry or check), 2 usage.");
  cmd->add_option("--log-dump", a->dump, "The dump directory (`crypta release dump`)")
      ->required()
      ->check(CLI::ExistingDirectory);
  auto* key =
      cmd->add_option("--log-key", a->log_key, "The log's verifier key you trust (text or a file)");
  cmd->add_option("--data-dir", a->data_dir,
                  "The control plane's data dir: its release-log.vkey is the key")
      ->check(CLI::ExistingDirectory)
      ->excludes(key);
  cmd->add_option("--origin", a->origin, "The expected origin (default: the key's name)");
  cmd->callback([a, exit_code] {
    transparency::DumpVerifyOptions options;
    options.origin = a->origin;
    std::string key_source = a->log_key;
    if (key_source.empty() && !a->data_dir.empty()) {
      key_source = a->data_dir + "/release-log.vkey";
    }
    if (key_source.empty()) {
      ReportError(Error(ErrorCode::kInvalidArgument,
                        "give the log key you trust: --log-key KEY or --data-dir DIR (the "
                        "dump's own key.txt proves nothing)"));
      *exit_code = 2;
      return;
    }
    Result<std::string> pinned = ReadLogKey(key_source);
    if (!pinned) {
      *exit_code = ReportError(pinned.error());
      return;
    }
    options.pinned_key = *pinned;
    Result<transparency::DumpReport> report =
        transparency::ReleaseLog::VerifyDump(a->dump, options);
    if (!report) {
      *exit_code = ReportError(report.error());
      return;
    }
    std::printf("verified %llu release(s): %s size %llu root %s\n",
                static_cast<unsigned long long>(report->entries), report->checkpoint.origin.c_str(),
                static_cast<unsigned long long>(report->checkpoint.size),
                Base64Encode(report->checkpoint.root).c_str());
  });
}

}  // namespace

Result<std::string> ReadLogKey(const std::string& value) {
  if (!std::filesystem::is_regular_file(value)) return value;
  CRYPTA_ASSIGN_OR_RETURN(Bytes key, ReadFileBytes(value, 4096));
  std::string text = ToString(key);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

void RegisterReleaseCommands(CLI::App& app, int* exit_code) {
  CLI::App* release =
      app.add_subcommand("release", "The release transparency log: what may run (issue 17)");
  release->require_subcommand(1);
  RegisterPublish(release, exit_code);
  RegisterList(release, exit_code);
  RegisterCheckpoint(release, exit_code);
  RegisterDump(release, exit_code);
  RegisterVerify(release, exit_code);
}

}  // namespace crypta::cli
