// crypta sim measure | sim launch: run crypta-runtime in the simulated TEE (DESIGN.md §4.2,
// src/deploy/sim_launch.h). SIMULATED: the sim node key is a file; no hardware isolation.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/encoding.h"
#include "deploy/sim_launch.h"

namespace crypta::cli {
namespace {

struct SimArgs {
  std::string data_dir;
  std::string host_data_hex;
  bool debug = false;
  int gpus = 0;
  std::vector<std::string> command;  // runtime binary and its arguments, after "--"
};

Status RunMeasure(const SimArgs& a) {
  CRYPTA_ASSIGN_OR_RETURN(Bytes measurement, deploy::MeasureSimWorkload(a.command));
  std::printf("%s\n", HexEncode(measurement).c_str());
  return OkStatus();
}

Result<int> RunLaunch(const SimArgs& a) {
  deploy::SimLaunchOptions options;
  options.data_dir = a.data_dir.empty() ? DefaultDataDir() : a.data_dir;
  options.debug = a.debug;
  options.gpus = a.gpus;
  options.argv = a.command;
  if (!a.host_data_hex.empty()) {
    Result<Bytes> host_data = HexDecode(a.host_data_hex);
    if (!host_data || host_data->size() > 32) {
      return MakeError(ErrorCode::kInvalidArgument, "--host-data: want hex of up to 32 bytes");
    }
    options.host_data = std::move(*host_data);
  }
  std::fprintf(stderr,
               "crypta: %s: the sim node key is a file on this host; evidence says "
               "\"simulated\" and verifiers refuse it unless allowed\n",
               deploy::kSimWarning);
  return deploy::RunSimLaunch(options);
}

void AddCommand(CLI::App* cmd, SimArgs* a) {
  cmd->add_option("--data-dir", a->data_dir,
                  "the control plane's data dir, holding sim/node.pem (default: crypta up's)");
  cmd->add_option("command", a->command, "-- <runtime binary> <args...>")->required();
}

}  // namespace

void RegisterSimCommands(CLI::App& app, int* exit_code) {
  CLI::App* sim = app.add_subcommand(
      "sim", "Run crypta-runtime in the simulated TEE (SIMULATED: no hardware isolation)");
  sim->require_subcommand(1);
  auto args = std::make_shared<SimArgs>();

  CLI::App* measure = sim->add_subcommand(
      "measure", "Print the sim launch measurement (96 hex) of -- <runtime binary> <args...>");
  AddCommand(measure, args.get());
  measure->callback([args, exit_code] {
    if (Status s = RunMeasure(*args); !s) *exit_code = ReportError(s.error());
  });

  CLI::App* launch = sim->add_subcommand(
      "launch",
      "Run -- <runtime binary> <args...> in the sim TEE: measure it, serve its report socket "
      "and wait for it (exits with its status)");
  AddCommand(launch, args.get());
  launch->add_option("--host-data", args->host_data_hex, "host data (hex, up to 32 bytes)");
  launch->add_flag("--debug", args->debug, "mark the sim TEE as debuggable (verifiers refuse it)");
  launch
      ->add_option("--gpus", args->gpus,
                   "pass N simulated GPUs through (SIMULATED: their evidence is signed by sim "
                   "keys; the workload asks for it with crypta-runtime --gpu-evidence sim)")
      ->check(CLI::Range(0, deploy::kSimGpusPerNode));
  launch->callback([args, exit_code] {
    Result<int> status = RunLaunch(*args);
    *exit_code = status ? *status : ReportError(status.error());
  });
}

}  // namespace crypta::cli
