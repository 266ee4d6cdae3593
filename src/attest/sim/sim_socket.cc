#include "attest/sim/sim_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "attest/nvidia/report.h"
#include "common/encoding.h"
#include "common/json_canonical.h"

namespace crypta::attest {
namespace {

constexpr size_t kMaxLine = 256 * 1024;
constexpr int kIoTimeoutMs = 5000;

Result<sockaddr_un> Address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "socket path empty or longer than 107 bytes: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// Reads one '\n'-terminated line (without it), with a size cap and a timeout.
Result<std::string> ReadLine(int fd) {
  std::string line;
  char buf[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, kIoTimeoutMs);
    if (r == 0) return MakeError(ErrorCode::kUnavailable, "sim report socket: timed out");
    if (r < 0 && errno != EINTR)
      return MakeError(ErrorCode::kUnavailable, "sim report socket: poll failed");
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return MakeError(ErrorCode::kUnavailable, "sim report socket: connection closed");
    line.append(buf, static_cast<size_t>(n));
    size_t nl = line.find('\n');
    if (nl != std::string::npos) {
      line.resize(nl);
      return line;
    }
    if (line.size() > kMaxLine)
      return MakeError(ErrorCode::kResourceExhausted, "sim report socket: line too long");
  }
}

Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return MakeError(ErrorCode::kUnavailable, "sim report socket: write failed");
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<SimReportServer>> SimReportServer::Start(const std::string& socket_path,
                                                                SimNodeIdentity node,
                                                                SimLaunch launch, Clock clock,
                                                                std::vector<nvidia::SimGpu> gpus) {
  CRYPTA_ASSIGN_OR_RETURN(sockaddr_un addr, Address(socket_path));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return MakeError(ErrorCode::kUnavailable, "socket(): " + std::string(std::strerror(errno)));
  ::unlink(socket_path.c_str());
  mode_t old = ::umask(077);  // the socket file is created owner-only
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old);
  if (rc != 0 || ::listen(fd, 16) != 0) {
    std::string err = std::strerror(errno);
    ::close(fd);
    return MakeError(ErrorCode::kUnavailable, "cannot listen on " + socket_path + ": " + err);
  }
  std::unique_ptr<SimReportServer> server(new SimReportServer(
      socket_path, fd, std::move(node), std::move(launch), std::move(clock), std::move(gpus)));
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

SimReportServer::SimReportServer(std::string path, int fd, SimNodeIdentity node, SimLaunch launch,
                                 Clock clock, std::vector<nvidia::SimGpu> gpus)
    : path_(std::move(path)),
      listen_fd_(fd),
      node_(std::move(node)),
      launch_(std::move(launch)),
      clock_(std::move(clock)),
      gpus_(std::move(gpus)) {}

Result<Bytes> SimReportServer::GpuEvidence(ByteSpan nonce) const {
  if (gpus_.empty()) return MakeError(ErrorCode::kNotFound, "this workload has no GPUs");
  std::vector<nvidia::GpuDeviceEvidence> devices;
  for (const nvidia::SimGpu& gpu : gpus_) {
    nvidia::SimGpuReport r;
    r.nonce.assign(nonce.begin(), nonce.end());
    nvidia::GpuDeviceEvidence d;
    CRYPTA_ASSIGN_OR_RETURN(d.report, nvidia::SignSimGpuReport(gpu, r));
    d.certificate_chain_pem = CertificatesToPem(gpu.chain);
    d.arch = "hopper";
    d.uuid = gpu.id;
    devices.push_back(std::move(d));
  }
  return nvidia::EncodeGpuEvidence(devices);
}

SimReportServer::~SimReportServer() { Stop(); }

void SimReportServer::Stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::unlink(path_.c_str());
}

void SimReportServer::Serve() {
  while (!stopping_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    HandleClient(client);  // one at a time: signing takes about a millisecond
    ::close(client);
  }
}

void SimReportServer::HandleClient(int fd) {
  auto reply_error = [fd](const std::string& message) {
    (void)WriteAll(fd, nlohmann::json{{"error", message}}.dump() + "\n");
  };
  Result<std::string> line = ReadLine(fd);
  if (!line) return reply_error(line.error().message());
  Result<nlohmann::json> req = ParseJsonStrict(*line);
  if (req && req->is_object() && req->size() == 1 && req->contains("gpu_nonce") &&
      (*req)["gpu_nonce"].is_string()) {
    Result<Bytes> nonce = HexDecode((*req)["gpu_nonce"].get<std::string>());
    if (!nonce || nonce->size() != 32) return reply_error("gpu_nonce must be 32 bytes of hex");
    Result<Bytes> evidence = GpuEvidence(*nonce);
    if (!evidence) return reply_error(evidence.error().message());
    (void)WriteAll(fd, nlohmann::json{{"evidence", Base64Encode(*evidence)}}.dump() + "\n");
    return;
  }
  if (!req || !req->is_object() || !req->contains("report_data") ||
      !(*req)["report_data"].is_string()) {
    return reply_error("request must be {\"report_data\": \"<hex>\"}");
  }
  Result<Bytes> report_data = HexDecode((*req)["report_data"].get<std::string>());
  if (!report_data || report_data->size() > kReportDataSize) {
    return reply_error("report_data must be at most 64 bytes of hex");
  }
  Result<Bytes> evidence = SignSimReport(node_, launch_, *report_data, clock_());
  if (!evidence) return reply_error(evidence.error().message());
  (void)WriteAll(fd, nlohmann::json{{"evidence", Base64Encode(*evidence)}}.dump() + "\n");
}

namespace {

// One request line to the socket, the "evidence" of its answer.
Result<Bytes> AskSimTee(const std::string& socket_path, const nlohmann::json& request) {
  CRYPTA_ASSIGN_OR_RETURN(sockaddr_un addr, Address(socket_path));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return MakeError(ErrorCode::kUnavailable, "socket(): " + std::string(std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return MakeError(ErrorCode::kUnavailable,
                     "no sim TEE at " + socket_path + ": " + std::strerror(errno));
  }
  CRYPTA_RETURN_IF_ERROR(WriteAll(fd, request.dump() + "\n"));
  CRYPTA_ASSIGN_OR_RETURN(std::string line, ReadLine(fd));
  CRYPTA_ASSIGN_OR_RETURN(nlohmann::json resp, ParseJsonStrict(line));
  if (resp.is_object() && resp.contains("error") && resp["error"].is_string()) {
    return MakeError(ErrorCode::kUnavailable,
                     "sim TEE refused: " + resp["error"].get<std::string>());
  }
  if (!resp.is_object() || !resp.contains("evidence") || !resp["evidence"].is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "sim TEE: malformed response");
  }
  return Base64Decode(resp["evidence"].get<std::string>());
}

}  // namespace

Result<Bytes> RequestSimEvidence(const std::string& socket_path, ByteSpan report_data) {
  if (report_data.size() > kReportDataSize) {
    return MakeError(ErrorCode::kInvalidArgument, "report_data longer than 64 bytes");
  }
  return AskSimTee(socket_path, {{"report_data", HexEncode(report_data)}});
}

Result<Bytes> RequestSimGpuEvidence(const std::string& socket_path, ByteSpan nonce) {
  if (nonce.size() != 32) {
    return MakeError(ErrorCode::kInvalidArgument, "the GPU nonce is 32 bytes");
  }
  return AskSimTee(socket_path, {{"gpu_nonce", HexEncode(nonce)}});
}

}  // namespace crypta::attest
