// The node agent's child processes (node_agent.h): start a command in its own process group
// with its output appended to a log file, notice when it exits, stop it, and follow the
// lines it writes.
//
// Thread-safety: none of these types is thread-safe; the node agent uses them from one
// thread. Spawn forks: in a multi-threaded process the child only makes async-signal-safe
// calls before exec.
#ifndef CRYPTA_DEPLOY_WORKLOAD_PROCESS_H_
#define CRYPTA_DEPLOY_WORKLOAD_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace crypta::deploy {

// A started child. Not copyable; destroying it SIGKILLs its process group and reaps it
// unless it was already reaped.
class WorkloadProcess {
 public:
  // Runs argv (argv[0] a path, not searched in $PATH) as the leader of a new process group,
  // with PR_SET_PDEATHSIG(SIGTERM) so it dies with the calling thread, stdin from
  // /dev/null and stdout+stderr appended to `log_path` (created 0600). kInvalidArgument
  // for an empty argv; kUnavailable when the log cannot be opened or fork fails. A failing
  // exec shows as exit status 127 with a line in the log.
  static Result<WorkloadProcess> Spawn(const std::vector<std::string>& argv,
                                       const std::string& log_path);

  WorkloadProcess(WorkloadProcess&& other) noexcept;
  WorkloadProcess& operator=(WorkloadProcess&& other) noexcept;
  WorkloadProcess(const WorkloadProcess&) = delete;
  WorkloadProcess& operator=(const WorkloadProcess&) = delete;
  ~WorkloadProcess();

  pid_t pid() const { return pid_; }

  // Non-blocking: the raw wait status once the child has exited (and been reaped), else
  // nullopt. Keeps returning the same status afterwards.
  std::optional<int> Poll();

  // SIGTERM to the child itself (the sim launcher forwards it to the runtime).
  void Terminate() const;
  // SIGKILL to the child's whole process group.
  void Kill() const;

 private:
  explicit WorkloadProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// "exit status N" or "killed by signal N (NAME)" for a raw wait status.
std::string DescribeExit(int wait_status);

// Reads the lines appended to a file after a starting offset. Lines longer than
// kMaxLineBytes are cut there; a last line without '\n' is held back until it ends.
class LogFollower {
 public:
  static constexpr size_t kMaxLineBytes = 2048;
  static constexpr size_t kMaxReadBytes = 256 * 1024;  // per ReadLines call

  LogFollower() = default;
  // Follows `path` from its current end (0 when it does not exist yet).
  explicit LogFollower(std::string path);

  // The complete lines added since the last call (at most kMaxReadBytes read per call).
  // With `flush`, a trailing partial line is returned too. A missing or unreadable file
  // gives no lines.
  std::vector<std::string> ReadLines(bool flush = false);

 private:
  std::string path_;
  off_t offset_ = 0;
  std::string partial_;
};

}  // namespace crypta::deploy

#endif  // CRYPTA_DEPLOY_WORKLOAD_PROCESS_H_
