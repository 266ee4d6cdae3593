// SlowClients: a slowloris, for tests and benchmarks (issue 14). Opens N TCP connections to a
// server, spread over loopback source addresses 127.0.0.2 .. 127.0.0.<1 + sources> (so a
// per-address cap does not turn them away, as a botnet's would not be), and keeps each one
// busy the cheapest way: a request header (plain) or a TLS ClientHello record (tls) sent one
// byte per `interval`, never finished. A connection the server closes is reopened, so the
// pressure stays at N until Stop(). One thread, non-blocking sockets, poll(2).
#ifndef CRYPTA_TESTING_SLOW_CLIENTS_H_
#define CRYPTA_TESTING_SLOW_CLIENTS_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace crypta::testing {

class SlowClients {
 public:
  enum class Kind { kPlainHeader, kTlsClientHello };

  SlowClients(int port, size_t count, Kind kind, size_t sources = 16,
              std::chrono::milliseconds interval = std::chrono::milliseconds(1000))
      : port_(port), count_(count), kind_(kind), sources_(sources), interval_(interval) {
    RaiseFdLimit();
    thread_ = std::thread([this] { Run(); });
  }
  ~SlowClients() { Stop(); }
  SlowClients(const SlowClients&) = delete;
  SlowClients& operator=(const SlowClients&) = delete;

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Connections currently open (connected or connecting).
  size_t open() const { return open_.load(); }
  // Connections the server closed (and that were reopened).
  size_t closed_by_server() const { return closed_.load(); }

  static void RaiseFdLimit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
      limit.rlim_cur = limit.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
  }

 private:
  struct Conn {
    int fd = -1;
    size_t sent = 0;
  };

  const std::string& Payload() const {
    // Never completed: a header without its end, or a ClientHello record whose announced
    // length (0x0200) is never reached.
    static const std::string kHeader =
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(4000, 'a');
    static const std::string kHello =
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + std::string(490, '\x42');
    return kind_ == Kind::kPlainHeader ? kHeader : kHello;
  }

  int Connect(size_t index) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(0x7f000002u + static_cast<uint32_t>(index % sources_));
    ::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port_));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to));  // EINPROGRESS
    return fd;
  }

  void Run() {
    std::vector<Conn> conns(count_);
    for (size_t i = 0; i < count_ && !stop_; ++i) conns[i].fd = Connect(i);
    open_ = count_;
    while (!stop_) {
      const auto round = std::chrono::steady_clock::now();
      size_t alive = 0;
      for (size_t i = 0; i < conns.size(); ++i) {
        Conn& c = conns[i];
        char probe[256];
        const ssize_t got = c.fd < 0 ? 0 : ::recv(c.fd, probe, sizeof(probe), MSG_DONTWAIT);
        const bool closed =
            c.fd < 0 || got == 0 ||
            (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN);
        if (closed) {
          if (c.fd >= 0) {
            ::close(c.fd);
            ++closed_;
          }
          c = Conn{Connect(i), 0};
          if (c.fd >= 0) ++alive;
          continue;
        }
        ++alive;
        const std::string& payload = Payload();
        if (c.sent < payload.size() &&
            ::send(c.fd, payload.data() + c.sent, 1, MSG_NOSIGNAL) == 1) {
          ++c.sent;
        }
      }
      open_ = alive;
      while (!stop_ && std::chrono::steady_clock::now() - round < interval_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    for (Conn& c : conns) {
      if (c.fd >= 0) ::close(c.fd);
    }
  }

  const int port_;
  const size_t count_;
  const Kind kind_;
  const size_t sources_;
  const std::chrono::milliseconds interval_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> open_{0};
  std::atomic<size_t> closed_{0};
  std::thread thread_;
};

// For test scripts: holds `count` slow connections to 127.0.0.1:`port` for `seconds`, prints
// how many stayed open, and returns 0 when at least 90% did (the server held them cheaply
// instead of refusing them).
inline int HoldSlowClients(int port, size_t count, int seconds, SlowClients::Kind kind) {
  SlowClients slow(port, count, kind);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  std::printf("slow connections held: %zu of %zu\n", slow.open(), count);
  return slow.open() >= count * 9 / 10 ? 0 : 1;
}

}  // namespace crypta::testing

#endif  // CRYPTA_TESTING_SLOW_CLIENTS_H_
