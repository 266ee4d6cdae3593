// crypta: the command-line interface.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // A peer closing a connection early must give an error, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "crypta: confidential AI. Seal models so that only an attested TEE can read them.\n"};
  app.name("crypta");
  app.require_subcommand(1);
  app.set_version_flag("--version", "crypta 0.1.0");
  int exit_code = 0;
  crypta::cli::RegisterSealCommands(app, &exit_code);
  crypta::cli::RegisterAttestCommands(app, &exit_code);
  crypta::cli::RegisterUpCommand(app, &exit_code);
  crypta::cli::RegisterPlatformCommands(app, &exit_code);
  crypta::cli::RegisterModelCommands(app, &exit_code);
  crypta::cli::RegisterClientCommands(app, &exit_code);
  crypta::cli::RegisterSimCommands(app, &exit_code);
  crypta::cli::RegisterNodeCommands(app, &exit_code);
  crypta::cli::RegisterStoreCommands(app, &exit_code);
  crypta::cli::RegisterNodeListCommand(*crypta::cli::NodeApp(app), &exit_code);
  crypta::cli::RegisterVmCommands(app, &exit_code);
  crypta::cli::RegisterSvidCommands(app, &exit_code);
  crypta::cli::RegisterReleaseCommands(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, like every other error: what is wrong, and where help is.
    std::fprintf(stderr, "crypta: usage error: %s (see --help)\n", e.what());
    return 2;
  }
  return exit_code;
}
