// Registration of `crypta` subcommands. Each Register* adds its subcommands to the app;
// the callbacks store the process exit code in `*exit_code`.
#ifndef CRYPTA_CLI_COMMANDS_H_
#define CRYPTA_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <string>

#include "common/status.h"

namespace crypta::cli {

// keygen, seal, unseal, inspect.
void RegisterSealCommands(CLI::App& app, int* exit_code);

// attest verify.
void RegisterAttestCommands(CLI::App& app, int* exit_code);

// up: the control plane server (src/api).
void RegisterUpCommand(CLI::App& app, int* exit_code);

// tenant, token, key, policy, audit: admin commands against a running control plane
// (platform_commands.cc), found through --url/--token, CRYPTA_URL/CRYPTA_TOKEN or --data-dir.
void RegisterPlatformCommands(CLI::App& app, int* exit_code);

// model push, list, pull, rm (model_commands.cc).
void RegisterModelCommands(CLI::App& app, int* exit_code);

// attest service, predict: the client SDK against a crypta-runtime (client_commands.cc).
void RegisterClientCommands(CLI::App& app, int* exit_code);

// sim measure, sim launch: run crypta-runtime in the simulated TEE (sim_commands.cc).
void RegisterSimCommands(CLI::App& app, int* exit_code);

// vm deploy, list, status, logs, delete (vm_commands.cc).
void RegisterVmCommands(CLI::App& app, int* exit_code);
// node list, added to the `node` subcommand (vm_commands.cc).
void RegisterNodeListCommand(CLI::App& node_app, int* exit_code);

// node run: the node agent (node_commands.cc). Creates the "node" subcommand through
// NodeApp.
void RegisterNodeCommands(CLI::App& app, int* exit_code);

// store migrate|check (store_commands.cc).
void RegisterStoreCommands(CLI::App& app, int* exit_code);

// The "node" subcommand of `app`, created (requiring one subcommand) if it does not exist
// yet; `node run` and `node list` hang under it.
CLI::App* NodeApp(CLI::App& app);

// release publish, list, checkpoint, dump, verify: the release transparency log
// (release_commands.cc).
void RegisterReleaseCommands(CLI::App& app, int* exit_code);
// A --log-key value: a signed-note verifier key, or a file holding one (trailing newline
// dropped).
Result<std::string> ReadLogKey(const std::string& value);

// svid fetch: a workload's SPIFFE SVID, from inside its TEE (svid_commands.cc).
void RegisterSvidCommands(CLI::App& app, int* exit_code);

// The default data dir of `crypta up`: $CRYPTA_DATA_DIR, else $XDG_DATA_HOME/crypta, else
// ~/.local/share/crypta.
std::string DefaultDataDir();

// Prints "crypta: error: <message>" to stderr and returns exit code 1.
int ReportError(const Error& error);

}  // namespace crypta::cli

#endif  // CRYPTA_CLI_COMMANDS_H_
