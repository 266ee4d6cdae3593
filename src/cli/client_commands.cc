// Placeholder until the client commands land.
#include "cli/commands.h"

namespace crypta::cli {
void RegisterClientCommands(CLI::App&, int*) {}
}  // namespace crypta::cli
