// Registration of `crypta` subcommands. Each Register* adds its subcommands to the app;
// the callbacks store the process exit code in `*exit_code`.
#ifndef CRYPTA_CLI_COMMANDS_H_
#define CRYPTA_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "common/status.h"

namespace crypta::cli {

// keygen, seal, unseal, inspect.
void RegisterSealCommands(CLI::App& app, int* exit_code);

// attest verify.
void RegisterAttestCommands(CLI::App& app, int* exit_code);

// up: the control plane server (src/api).
void RegisterUpCommand(CLI::App& app, int* exit_code);

// Prints "crypta: error: <message>" to stderr and returns exit code 1.
int ReportError(const Error& error);

}  // namespace crypta::cli

#endif  // CRYPTA_CLI_COMMANDS_H_
