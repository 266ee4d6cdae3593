// Child processes and log following for the node agent (workload_process.h).
#include "deploy/workload_process.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace crypta::deploy {

Result<WorkloadProcess> WorkloadProcess::Spawn(const std::vector<std::string>& argv,
                                               const std::string& log_path) {
  if (argv.empty()) return MakeError(ErrorCode::kInvalidArgument, "no command to run");
  const int log_fd =
      ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (log_fd < 0) {
    return MakeError(ErrorCode::kUnavailable, log_path + ": " + std::strerror(errno));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> strings = argv;
  std::vector<char*> args;
  for (std::string& s : strings) args.push_back(s.data());
  args.push_back(nullptr);

  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    const int err = errno;
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return MakeError(ErrorCode::kUnavailable, std::string("fork: ") + std::strerror(err));
  }
  if (child == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);  // the agent died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execv(args[0], args.data());
    static const char kMsg[] = "crypta node: error: cannot execute the launcher\n";
    (void)!::write(2, kMsg, sizeof(kMsg) - 1);
    ::_exit(127);
  }
  // Also from the parent, so that a Kill() right after Spawn finds the group.
  ::setpgid(child, child);
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  return WorkloadProcess(child);
}

WorkloadProcess::WorkloadProcess(WorkloadProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(std::exchange(other.status_, std::nullopt)) {}

WorkloadProcess& WorkloadProcess::operator=(WorkloadProcess&& other) noexcept {
  if (this != &other) {
    this->~WorkloadProcess();
    pid_ = std::exchange(other.pid_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

WorkloadProcess::~WorkloadProcess() {
  if (pid_ <= 0 || status_.has_value()) return;
  Kill();
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

std::optional<int> WorkloadProcess::Poll() {
  if (status_.has_value() || pid_ <= 0) return status_;
  int status = 0;
  const pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == pid_) {
    status_ = status;
  } else if (done < 0 && errno == ECHILD) {
    status_ = 255 << 8;  // reaped elsewhere: report a failure rather than wait forever
  }
  return status_;
}

void WorkloadProcess::Terminate() const {
  if (pid_ > 0 && !status_.has_value()) ::kill(pid_, SIGTERM);
}

void WorkloadProcess::Kill() const {
  if (pid_ <= 0) return;
  // The group outlives its leader when the runtime is still running: kill it either way.
  ::kill(-pid_, SIGKILL);
  if (!status_.has_value()) ::kill(pid_, SIGKILL);
}

std::string DescribeExit(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    const char* name = ::sigabbrev_np(sig);
    return "killed by signal " + std::to_string(sig) +
           (name != nullptr ? std::string(" (SIG") + name + ")" : "");
  }
  return "wait status " + std::to_string(wait_status);
}

LogFollower::LogFollower(std::string path) : path_(std::move(path)) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) offset_ = st.st_size;
}

std::vector<std::string> LogFollower::ReadLines(bool flush) {
  std::vector<std::string> lines;
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size < offset_) offset_ = 0;  // truncated
    std::string buffer(kMaxReadBytes, '\0');
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset_);
    ::close(fd);
    if (n > 0) {
      offset_ += n;
      buffer.resize(static_cast<size_t>(n));
      size_t start = 0;
      while (start < buffer.size()) {
        const size_t nl = buffer.find('\n', start);
        const size_t end = nl == std::string::npos ? buffer.size() : nl;
        if (partial_.size() < kMaxLineBytes) {
          partial_.append(buffer, start, std::min(end - start, kMaxLineBytes - partial_.size()));
        }
        if (nl == std::string::npos) break;
        lines.push_back(std::move(partial_));
        partial_.clear();
        start = nl + 1;
      }
    }
  }
  if (flush && !partial_.empty()) {
    lines.push_back(std::move(partial_));
    partial_.clear();
  }
  return lines;
}

}  // namespace crypta::deploy
