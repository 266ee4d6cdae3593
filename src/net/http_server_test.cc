// HttpServer over real sockets on 127.0.0.1, with httplib::Client as the well-behaved client.
#include "net/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace crypta::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr size_t kSlowClients = 500;

void RaiseFdLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Polls `condition` every 10 ms for up to `timeout`; returns its last value.
bool WaitFor(const std::function<bool()>& condition, milliseconds timeout = milliseconds(10000)) {
  const auto deadline = steady_clock::now() + timeout;
  while (!condition()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

// Runs a configured server on 127.0.0.1:<ephemeral> on a thread; stops and joins on scope exit.
class RunningServer {
 public:
  explicit RunningServer(std::unique_ptr<HttpServer> server) : server_(std::move(server)) {
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }
  ~RunningServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }
  HttpServer& server() { return *server_; }
  std::unique_ptr<httplib::Client> Client() const {
    auto scheme = server_->ssl_context() ? "https://" : "http://";
    auto client = std::make_unique<httplib::Client>(scheme + std::string("127.0.0.1:") +
                                                    std::to_string(port_));
    client->enable_server_certificate_verification(false);
    client->set_connection_timeout(5);
    client->set_read_timeout(5);
    client->set_write_timeout(5);
    return client;
  }

 private:
  std::unique_ptr<HttpServer> server_;
  int port_ = -1;
  std::thread thread_;
};

// A blocking TCP connection to 127.0.0.1:port, or -1.
int ConnectRaw(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct ReadResult {
  bool closed = false;  // EOF or reset seen
  std::string data;
};

// Reads until the peer closes, `stop_after` bytes arrive, or `timeout` passes.
ReadResult ReadRaw(int fd, milliseconds timeout, size_t stop_after = SIZE_MAX) {
  ReadResult result;
  const auto deadline = steady_clock::now() + timeout;
  while (result.data.size() < stop_after) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      result.closed = true;
      break;
    }
    result.data.append(buf, static_cast<size_t>(n));
  }
  return result;
}

// Many connections that each send one byte of a never-ending preamble every second, from one
// thread. A connection the server closes is counted and replaced.
class SlowClients {
 public:
  SlowClients(int port, size_t count, std::string preamble)
      : port_(port), preamble_(std::move(preamble)) {
    for (size_t i = 0; i < count; ++i) Open();
    thread_ = std::thread([this] { Run(); });
  }
  ~SlowClients() {
    running_ = false;
    thread_.join();
    for (const Conn& c : conns_) ::close(c.fd);
  }
  size_t opened() const { return opened_; }
  size_t closed_by_server() const { return closed_; }

 private:
  struct Conn {
    int fd;
    size_t sent;
  };

  void Open() {
    const int fd = ConnectRaw(port_);
    if (fd < 0) return;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    conns_.push_back({fd, 0});
    ++opened_;
  }

  void Run() {
    while (running_) {
      for (Conn& c : conns_) {  // one byte each
        const char byte = c.sent < preamble_.size() ? preamble_[c.sent] : 'a';
        if (::send(c.fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) ++c.sent;
      }
      const auto next_tick = steady_clock::now() + milliseconds(1000);
      while (running_ && steady_clock::now() < next_tick) {
        std::vector<pollfd> fds;
        for (const Conn& c : conns_) fds.push_back({c.fd, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
        size_t reopen = 0;
        std::vector<Conn> still_open;
        for (size_t i = 0; i < fds.size(); ++i) {
          char buf[512];
          if (fds[i].revents != 0) {
            const ssize_t n = ::recv(fds[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
              ::close(fds[i].fd);
              ++closed_;
              ++reopen;
              continue;
            }
          }
          still_open.push_back(conns_[i]);
        }
        conns_.swap(still_open);
        for (size_t i = 0; i < reopen && running_; ++i) Open();
      }
    }
  }

  const int port_;
  const std::string preamble_;
  std::vector<Conn> conns_;
  std::atomic<size_t> opened_{0};
  std::atomic<size_t> closed_{0};
  std::atomic<bool> running_{true};
  std::thread thread_;
};

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

// A self-signed P-256 certificate for CN=localhost.
std::pair<std::unique_ptr<X509, X509Deleter>, std::unique_ptr<EVP_PKEY, PkeyDeleter>>
SelfSignedCert() {
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  std::unique_ptr<X509, X509Deleter> cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  X509_sign(cert.get(), key.get(), EVP_sha256());
  return {std::move(cert), std::move(key)};
}

void AddHealthz(HttpServer& server) {
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { RaiseFdLimit(); }
};

TEST_F(HttpServerTest, FillsMatchesParamsHeadersAndBody) {
  auto server = std::make_unique<HttpServer>();
  server->Get(R"(/items/(\d+)/([^/]+))", [](const httplib::Request& req, httplib::Response& res) {
    std::string out = req.method + " " + std::string(req.matches[1]) + " " +
                      std::string(req.matches[2]) + " q=" + req.get_param_value("q", 0) + "," +
                      req.get_param_value("q", 1) + " z=" + req.get_param_value("z") +
                      " h=" + req.get_header_value("x-custom") + " from=" + req.remote_addr;
    res.set_header("X-Reply", "yes");
    res.set_content(out, "text/plain");
  });
  server->Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.status = 201;
    res.set_content(req.method + ":" + req.body, "text/plain");
  });
  server->Put("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.method + ":" + req.body, "text/plain");
  });
  server->Delete("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.method, "text/plain");
  });
  RunningServer running(std::move(server));
  auto client = running.Client();

  auto res = client->Get("/items/42/a%20b?q=hello%20world&q=2&z=a+b", {{"X-Custom", "v1"}});
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  // httplib::Client sends '+' as %2B, so it arrives as a plus sign.
  EXPECT_EQ(res->body, "GET 42 a b q=hello world,2 z=a+b h=v1 from=127.0.0.1");
  EXPECT_EQ(res->get_header_value("X-Reply"), "yes");
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain");

  res = client->Post("/echo", "payload", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->body, "POST:payload");
  res = client->Put("/echo", "other", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "PUT:other");
  res = client->Delete("/echo");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "DELETE");
  // The regex must match the whole path.
  res = client->Get("/items/42/x/extra");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(HttpServerTest, RunsErrorHandlerForNoRouteAndErrorStatuses) {
  auto server = std::make_unique<HttpServer>();
  server->Get("/denied", [](const httplib::Request&, httplib::Response& res) {
    res.status = 403;
    res.set_content("denied by route", "text/plain");
  });
  server->Get("/throws", [](const httplib::Request&, httplib::Response&) {
    throw std::runtime_error("boom");
  });
  server->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) res.set_content("custom " + std::to_string(res.status), "text/plain");
  });
  RunningServer running(std::move(server));
  auto client = running.Client();

  auto res = client->Get("/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->body, "custom 404");
  res = client->Post("/denied", "x", "text/plain");  // no POST route
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "custom 404");
  res = client->Get("/denied");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(res->body, "denied by route");
  res = client->Get("/throws");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->body, "custom 500");
}

TEST_F(HttpServerTest, AnswersProblemJsonWithoutErrorHandler) {
  RunningServer running(std::make_unique<HttpServer>());
  auto res = running.Client()->Get("/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/problem+json");
  EXPECT_NE(res->body.find(R"("status":404)"), std::string::npos) << res->body;
}

TEST_F(HttpServerTest, AnswersPayloadTooLargeBeyondTheLimit) {
  auto server = std::make_unique<HttpServer>();
  server->set_payload_max_length(1 << 20);
  std::atomic<int> handled{0};
  server->Post("/v1/tenants", [&handled](const httplib::Request& req, httplib::Response& res) {
    ++handled;
    res.set_content(std::to_string(req.body.size()), "text/plain");
  });
  std::atomic<int> error_handler_status{0};
  server->set_error_handler([&](const httplib::Request& req, httplib::Response& res) {
    error_handler_status = res.status;
  });
  RunningServer running(std::move(server));

  auto res = running.Client()->Post("/v1/tenants", std::string(2 << 20, 'x'), "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(error_handler_status, 413);
  EXPECT_NE(res->body.find(R"("status":413)"), std::string::npos) << res->body;

  // A chunked body is cut off at the limit too.
  const std::string piece(64 * 1024, 'y');
  res = running.Client()->Post(
      "/v1/tenants",
      [&piece](size_t offset, httplib::DataSink& sink) {
        if (offset >= (2u << 20)) {
          sink.done();
          return true;
        }
        return sink.write(piece.data(), piece.size());
      },
      "application/octet-stream");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 413);

  res = running.Client()->Post("/v1/tenants", std::string(1 << 20, 'x'), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, std::to_string(1 << 20));
  EXPECT_EQ(handled, 1);
}

TEST_F(HttpServerTest, AnswersExpectContinueBeforeReadingTheBody) {
  auto server = std::make_unique<HttpServer>();
  server->Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.body, "text/plain");
  });
  RunningServer running(std::move(server));
  const int fd = ConnectRaw(running.port());
  const std::string head =
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  EXPECT_EQ(ReadRaw(fd, milliseconds(5000), interim.size()).data, interim);
  ASSERT_EQ(::send(fd, "body", 4, MSG_NOSIGNAL), 4);
  const ReadResult answer = ReadRaw(fd, milliseconds(5000), 17);  // the status line
  EXPECT_EQ(answer.data.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer.data;
  ::close(fd);
}

TEST_F(HttpServerTest, ContentReaderReplaysTheBody) {
  auto server = std::make_unique<HttpServer>();
  server->Put(R"(/models/([^/]+))", [](const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& reader) {
    std::string body;
    const bool ok = reader([&body](const char* data, size_t size) {
      body.append(data, size);
      return true;
    });
    uint64_t sum = 0;
    for (unsigned char c : body) sum = sum * 31 + c;
    res.set_content(std::string(req.matches[1]) + " " + std::to_string(body.size()) + " " +
                        std::to_string(sum) + " " + (ok ? "ok" : "failed") + " " +
                        std::to_string(req.body.size()),
                    "text/plain");
  });
  RunningServer running(std::move(server));
  std::string body(300 * 1024, '\0');
  uint64_t sum = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>(i * 7 + 3);
    sum = sum * 31 + static_cast<unsigned char>(body[i]);
  }
  auto res = running.Client()->Put("/models/m1", body, "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "m1 " + std::to_string(body.size()) + " " + std::to_string(sum) + " ok 0");
}

// PostObserved: the observer sees the body piece by piece, in order, before the handler runs;
// the handler gets it with the whole body and the head fields; a declining factory gives the
// handler no observer; other methods and routes are untouched.
TEST_F(HttpServerTest, ObservedRoutesSeeTheBodyWhileItArrives) {
  struct Seen : BodyObserver {
    void OnBody(std::string_view piece) override {
      ++pieces;
      body.append(piece);
    }
    int pieces = 0;
    std::string body;
  };
  auto server = std::make_unique<HttpServer>();
  server->PostObserved(
      "/observed/(.*)",
      [](const httplib::Request& req) -> std::unique_ptr<BodyObserver> {
        if (req.matches[1] == "declined" || req.get_header_value("X-Kind") != "watch") {
          return nullptr;
        }
        return std::make_unique<Seen>();
      },
      [](const httplib::Request& req, httplib::Response& res, BodyObserver* observer) {
        auto* seen = static_cast<Seen*>(observer);
        const bool same = seen != nullptr && seen->body == req.body;
        res.set_content(std::string(observer == nullptr ? "none" : "observed") + " " +
                            std::to_string(req.body.size()) + " " + (same ? "same" : "-") + " " +
                            (seen != nullptr && seen->pieces >= 1 ? "pieces" : "-"),
                        "text/plain");
      });
  server->Get("/observed/(.*)", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("get", "text/plain");
  });
  RunningServer running(std::move(server));
  std::string body(200 * 1024, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 13 + 1);
  auto client = running.Client();
  const httplib::Headers watch = {{"X-Kind", "watch"}};
  auto res = client->Post("/observed/a", watch, body, "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "observed " + std::to_string(body.size()) + " same pieces");
  // A chunked (length-less) body, sent piece by piece, is observed as it arrives too.
  size_t sent = 0;
  res = client->Post(
      "/observed/b", watch,
      [&](size_t, httplib::DataSink& sink) {
        const size_t n = std::min<size_t>(16 * 1024, body.size() - sent);
        if (n == 0) {
          sink.done();
          return true;
        }
        sink.write(body.data() + sent, n);
        sent += n;
        return true;
      },
      "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "observed " + std::to_string(body.size()) + " same pieces");
  res = client->Post("/observed/declined", watch, body, "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "none " + std::to_string(body.size()) + " - -");
  res = client->Post("/observed/a", "", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "none 0 - -");
  res = client->Get("/observed/a");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "get");
}

TEST_F(HttpServerTest, ContentProviderStreamsFiftyMebibytes) {
  constexpr size_t kSize = 50u << 20;
  auto pattern = [](size_t i) { return static_cast<char>((i * 131 + (i >> 13)) & 0xff); };
  auto server = std::make_unique<HttpServer>();
  std::atomic<int> released{-1};
  server->Get("/blob", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Crypta-Digest", "sha256:test");
    res.set_content_provider(
        kSize, "application/octet-stream",
        [pattern](size_t offset, size_t length, httplib::DataSink& sink) {
          std::string buf(std::min<size_t>(length, 1 << 20), '\0');
          for (size_t i = 0; i < buf.size(); ++i) buf[i] = pattern(offset + i);
          return sink.write(buf.data(), buf.size());
        },
        [&released](bool success) { released = success ? 1 : 0; });
  });
  server->Get("/chunked", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
      if (offset >= 9) {
        sink.done();
        return true;
      }
      return sink.write("abc", 3);
    });
  });
  RunningServer running(std::move(server));
  auto client = running.Client();
  client->set_read_timeout(30);

  size_t received = 0, mismatches = 0;
  auto res = client->Get("/blob", [&](const char* data, size_t size) {
    for (size_t i = 0; i < size; ++i) mismatches += data[i] != pattern(received + i);
    received += size;
    return true;
  });
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Length"), std::to_string(kSize));
  EXPECT_EQ(res->get_header_value("X-Crypta-Digest"), "sha256:test");
  EXPECT_EQ(received, kSize);
  EXPECT_EQ(mismatches, 0u);
  EXPECT_TRUE(WaitFor([&] { return released != -1; }, milliseconds(5000)));
  EXPECT_EQ(released, 1);

  res = client->Get("/chunked");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "abcabcabc");
}

TEST_F(HttpServerTest, ClosesKeptAliveConnectionsAfterMaxRequests) {
  auto server = std::make_unique<HttpServer>();
  server->set_keep_alive_max_count(3);
  std::mutex mu;
  std::set<int> ports;
  server->Get("/port", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    ports.insert(req.remote_port);
    res.set_content("ok", "text/plain");
  });
  RunningServer running(std::move(server));
  auto client = running.Client();
  client->set_keep_alive(true);
  for (int i = 0; i < 7; ++i) {
    auto res = client->Get("/port");
    ASSERT_TRUE(res) << i << ": " << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(ports.size(), 3u);  // 3 + 3 + 1 requests
}

// Issue 14 finding 1: slow header senders must not make /healthz unanswerable.
TEST_F(HttpServerTest, SlowHeaderSendersDoNotStarveOtherClients) {
  HttpServerOptions options;
  options.header_timeout_ms = 2000;
  options.max_connections_per_ip = 2000;
  options.worker_threads = 4;
  auto server = std::make_unique<HttpServer>(options);
  AddHealthz(*server);
  RunningServer running(std::move(server));

  SlowClients slow(running.port(), kSlowClients, "GET /healthz HTTP/1.1\r\nX-Slow: ");
  ASSERT_EQ(slow.opened(), kSlowClients);
  ASSERT_TRUE(WaitFor([&] { return running.server().stats().connections >= kSlowClients; }));

  auto client = running.Client();
  int64_t max_latency_ms = 0;
  for (int i = 0; i < 50; ++i) {
    const auto start = steady_clock::now();
    auto res = client->Get("/healthz");
    max_latency_ms = std::max<int64_t>(
        max_latency_ms,
        std::chrono::duration_cast<milliseconds>(steady_clock::now() - start).count());
    ASSERT_TRUE(res) << i << ": " << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
    std::this_thread::sleep_for(milliseconds(20));
  }
  RecordProperty("max_healthz_latency_ms", std::to_string(max_latency_ms));
  std::printf("max /healthz latency with %zu slow connections: %lld ms\n", kSlowClients,
              static_cast<long long>(max_latency_ms));

  // Every slow connection is closed by the header deadline while it is still sending.
  EXPECT_TRUE(WaitFor([&] { return slow.closed_by_server() >= kSlowClients; }));
  EXPECT_TRUE(
      WaitFor([&] { return running.server().stats().timed_out_connections >= kSlowClients; }));
}

// Issue 14 finding 5: TLS clients that stall in the ClientHello.
TEST_F(HttpServerTest, StalledTlsHandshakesDoNotStarveOtherClients) {
  auto [cert, key] = SelfSignedCert();
  HttpServerOptions options;
  options.tls_handshake_timeout_ms = 2000;
  options.max_connections_per_ip = 2000;
  options.worker_threads = 4;
  auto server = std::make_unique<HttpServer>(cert.get(), key.get(), options);
  ASSERT_TRUE(server->is_valid());
  ASSERT_NE(server->ssl_context(), nullptr);
  AddHealthz(*server);
  RunningServer running(std::move(server));

  // A TLS record header announcing a 512-byte handshake message, then the message byte by byte.
  SlowClients slow(running.port(), kSlowClients, std::string("\x16\x03\x01\x02\x00\x01", 6));
  ASSERT_EQ(slow.opened(), kSlowClients);
  ASSERT_TRUE(WaitFor([&] { return running.server().stats().connections >= kSlowClients; }));

  auto client = running.Client();
  int64_t max_latency_ms = 0;
  for (int i = 0; i < 50; ++i) {
    const auto start = steady_clock::now();
    auto res = client->Get("/healthz");
    max_latency_ms = std::max<int64_t>(
        max_latency_ms,
        std::chrono::duration_cast<milliseconds>(steady_clock::now() - start).count());
    ASSERT_TRUE(res) << i << ": " << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
    std::this_thread::sleep_for(milliseconds(20));
  }
  RecordProperty("max_healthz_latency_ms", std::to_string(max_latency_ms));
  std::printf("max HTTPS /healthz latency with %zu stalled handshakes: %lld ms\n", kSlowClients,
              static_cast<long long>(max_latency_ms));

  EXPECT_TRUE(WaitFor([&] { return slow.closed_by_server() >= kSlowClients; }));
  EXPECT_TRUE(
      WaitFor([&] { return running.server().stats().timed_out_connections >= kSlowClients; }));
}

TEST_F(HttpServerTest, ClosesConnectionsBeyondThePerAddressCap) {
  HttpServerOptions options;
  options.max_connections_per_ip = 4;
  auto server = std::make_unique<HttpServer>(options);
  AddHealthz(*server);
  RunningServer running(std::move(server));

  std::vector<int> fds;
  for (int i = 0; i < 4; ++i) fds.push_back(ConnectRaw(running.port()));
  for (int fd : fds) ASSERT_GE(fd, 0);
  ASSERT_TRUE(WaitFor([&] { return running.server().stats().connections == 4; }));

  const int extra = ConnectRaw(running.port());  // the kernel completes the handshake
  ASSERT_GE(extra, 0);
  const ReadResult rejected = ReadRaw(extra, milliseconds(5000));
  EXPECT_TRUE(rejected.closed);
  EXPECT_TRUE(rejected.data.empty() || rejected.data.rfind("HTTP/1.1 503", 0) == 0)
      << rejected.data;
  ::close(extra);
  EXPECT_EQ(running.server().stats().rejected_connections, 1u);  // counted before the close

  // The admitted connections still work.
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(fds[0], request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  const ReadResult answer = ReadRaw(fds[0], milliseconds(5000));
  EXPECT_EQ(answer.data.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer.data;
  for (int fd : fds) ::close(fd);

  // Closed connections free their slots.
  ASSERT_TRUE(WaitFor([&] { return running.server().stats().connections == 0; }));
  auto res = running.Client()->Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(HttpServerTest, ClosesConnectionsBeyondTheTotalCap) {
  HttpServerOptions options;
  options.max_connections = 2;
  auto server = std::make_unique<HttpServer>(options);
  AddHealthz(*server);
  RunningServer running(std::move(server));

  const int a = ConnectRaw(running.port()), b = ConnectRaw(running.port());
  ASSERT_TRUE(WaitFor([&] { return running.server().stats().connections == 2; }));
  const int extra = ConnectRaw(running.port());
  EXPECT_TRUE(ReadRaw(extra, milliseconds(5000)).closed);
  for (int fd : {a, b, extra}) ::close(fd);
}

TEST_F(HttpServerTest, ClosesConnectionWhoseBodyMissesTheDeadline) {
  HttpServerOptions options;
  options.body_timeout_ms = 500;
  auto server = std::make_unique<HttpServer>(options);
  server->Post("/upload", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("unexpected", "text/plain");
  });
  RunningServer running(std::move(server));
  const int fd = ConnectRaw(running.port());
  const std::string partial = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab";
  ASSERT_EQ(::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(partial.size()));
  const ReadResult result = ReadRaw(fd, milliseconds(5000));
  EXPECT_TRUE(result.closed);
  EXPECT_EQ(result.data, "");
  ::close(fd);
  // Counted when the read fails, just after the socket is closed.
  EXPECT_TRUE(WaitFor([&] { return running.server().stats().timed_out_connections == 1; }));
}

TEST_F(HttpServerTest, AnswersServiceUnavailableWhenTheQueueIsFull) {
  HttpServerOptions options;
  options.worker_threads = 1;
  options.max_queued_requests = 1;
  auto server = std::make_unique<HttpServer>(options);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  server->Get("/block", [released](const httplib::Request&, httplib::Response& res) {
    released.wait();
    res.set_content("done", "text/plain");
  });
  RunningServer running(std::move(server));

  auto blocked = [&running] {
    auto res = running.Client()->Get("/block");
    return res ? res->status : -1;
  };
  auto first = std::async(std::launch::async, blocked);
  ASSERT_TRUE(WaitFor([&] { return running.server().stats().busy_workers == 1; }));
  auto second = std::async(std::launch::async, blocked);
  ASSERT_TRUE(WaitFor([&] { return running.server().stats().queued_requests == 1; }));

  auto res = running.Client()->Get("/block");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/problem+json");
  EXPECT_EQ(res->body, R"({"type":"about:blank","title":"Service Unavailable","status":503,)"
                       R"("detail":"server busy"})");
  EXPECT_EQ(running.server().stats().busy_responses, 1u);

  release.set_value();
  EXPECT_EQ(first.get(), 200);
  EXPECT_EQ(second.get(), 200);
}

TEST_F(HttpServerTest, StopLetsRunningHandlersFinish) {
  auto server = std::make_unique<HttpServer>();
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  server->Get("/block", [released](const httplib::Request&, httplib::Response& res) {
    released.wait();
    res.set_content("done", "text/plain");
  });
  HttpServer& ref = *server;
  const int port = ref.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&ref] { EXPECT_TRUE(ref.listen_after_bind()); });
  auto pending = std::async(std::launch::async, [port] {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(5);
    auto res = client.Get("/block");
    return res ? res->body : httplib::to_string(res.error());
  });
  ASSERT_TRUE(WaitFor([&] { return ref.stats().busy_workers == 1; }));
  const int idle = ConnectRaw(port);  // waiting for its header: closed by stop()
  ASSERT_TRUE(WaitFor([&] { return ref.stats().connections == 2; }));
  std::thread([&ref] { ref.stop(); }).join();
  EXPECT_TRUE(ReadRaw(idle, milliseconds(5000)).closed);
  release.set_value();
  EXPECT_EQ(pending.get(), "done");
  serving.join();
  ::close(idle);
}

}  // namespace
}  // namespace crypta::net
