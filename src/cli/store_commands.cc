// crypta store migrate|check: the control plane's store (SQLite in the data dir, or
// PostgreSQL shared by replicas; docs/ha.md).
#include <cstdio>
#include <memory>
#include <string>

#include "api/data_dir.h"
#include "cli/api_connect.h"
#include "cli/commands.h"
#include "common/time_util.h"

namespace crypta::cli {
namespace {

struct StoreArgs {
  std::string data_dir;
  std::string store;
};

void AddStoreOptions(CLI::App* cmd, StoreArgs* args) {
  cmd->add_option("--data-dir", args->data_dir,
                  "The control plane's data dir (root.key; store.url when the store is "
                  "PostgreSQL). Default $CRYPTA_DATA_DIR, else ~/.local/share/crypta");
  cmd->add_option("--store", args->store,
                  "postgres://… URL (default $CRYPTA_STORE, else what the data dir records, "
                  "else its SQLite crypta.db)");
}

// The data dir and the store URL ("" = SQLite) the arguments name; `record`: a new store URL
// is written to the data dir (migrate), or not (check).
Result<std::pair<std::string, std::string>> Resolve(const StoreArgs& args, bool record) {
  const std::string dir = args.data_dir.empty() ? DefaultDataDir() : args.data_dir;
  std::string requested = args.store;
  if (requested.empty()) requested = Env("CRYPTA_STORE");
  CRYPTA_ASSIGN_OR_RETURN(std::string url, api::ResolveStore(dir, requested, record));
  return std::make_pair(dir, url);
}

}  // namespace

void RegisterStoreCommands(CLI::App& app, int* exit_code) {
  CLI::App* store = app.add_subcommand(
      "store", "The control plane's store: SQLite in the data dir, or PostgreSQL for replicas");
  store->require_subcommand(1);

  auto migrate_args = std::make_shared<StoreArgs>();
  CLI::App* migrate = store->add_subcommand(
      "migrate",
      "Create or upgrade every table of the store in one transaction (crypta up does this at\n"
      "start too; run it ahead of a rolling upgrade). A new store also gets the data dir's\n"
      "root key check and the first platform-admin token (admin.token)");
  AddStoreOptions(migrate, migrate_args.get());
  migrate->callback([migrate_args, exit_code] {
    auto resolved = Resolve(*migrate_args, /*record=*/true);
    if (!resolved) {
      *exit_code = ReportError(resolved.error());
      return;
    }
    auto state = api::OpenDataDir(resolved->first, UnixNow(), "crypta.local", resolved->second);
    if (!state) {
      *exit_code = ReportError(state.error().WithContext("store migrate"));
      return;
    }
    std::printf("store %s: schema up to date\n", (*state)->store.c_str());
  });

  auto check_args = std::make_shared<StoreArgs>();
  CLI::App* check = store->add_subcommand(
      "check",
      "Check the store without changing it: reachable, made with this data dir's root key,\n"
      "at this build's schema version, audit log Merkle tree and checkpoints verified");
  AddStoreOptions(check, check_args.get());
  check->callback([check_args, exit_code] {
    auto resolved = Resolve(*check_args, /*record=*/false);
    auto report = resolved ? api::CheckStore(resolved->first, resolved->second)
                           : Result<api::StoreCheckReport>(MakeError(resolved.error()));
    if (!report) {
      *exit_code = ReportError(report.error().WithContext("store check failed"));
      return;
    }
    std::printf(
        "store %s: ok\n  schema version %lld\n  %lld tenant(s), %lld model(s), %lld "
        "deployment(s)\n  audit log verified: %llu entries, %zu signed checkpoints\n",
        report->store.c_str(), static_cast<long long>(report->schema_version),
        static_cast<long long>(report->tenants), static_cast<long long>(report->models),
        static_cast<long long>(report->deployments),
        static_cast<unsigned long long>(report->audit_entries), report->audit_checkpoints);
  });
}

}  // namespace crypta::cli
