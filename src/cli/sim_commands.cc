// Placeholder until the sim commands land.
#include "cli/commands.h"

namespace crypta::cli {
void RegisterSimCommands(CLI::App&, int*) {}
}  // namespace crypta::cli
