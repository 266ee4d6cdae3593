// HttpServer on Boost.Asio/Beast. The only file of crypta that includes Beast and Asio.
//
// Each accepted connection is a Connection<Stream> whose steps run on its own strand:
//   [TLS handshake] -> header -> [100 Continue] -> body -> handler on a worker -> write
//   -> keep-alive idle wait -> header -> ...
// Every step that waits for the client has one deadline set on the tcp_stream at its start
// (beast::tcp_stream deadlines are absolute, so trickled bytes do not extend them). While a
// handler runs no socket operation is pending; the handler's response is posted back to the
// strand and written asynchronously. A streamed body alternates between a worker (which calls
// the content provider for the next chunk) and the strand (which writes it), so neither a
// worker nor an I/O thread ever blocks on a client.
#include "net/http_server.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/http_exchange.h"
#include "net/work_queue.h"

namespace crypta::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// A streamed body is produced and written in pieces of about this size.
constexpr size_t kStreamChunkBytes = 256 * 1024;
// Bytes asked for per read while waiting for a next request or discarding input.
constexpr size_t kReadBytes = 16 * 1024;
// How long a TLS close waits for the peer's close_notify.
constexpr int64_t kTlsShutdownMs = 1000;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

std::string Str(beast::string_view s) { return std::string(s.data(), s.size()); }

std::string AddressText(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

bool IsHttpError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

// The answer a plain HTTP connection over a connection cap gets before it is closed.
std::string CapRejection() {
  const std::string body = internal::ProblemJson(503, "too many connections");
  return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// One request and its response, shared between a connection's strand and a worker.
struct Exchange {
  httplib::Request req;
  httplib::Response res;
  int preset_status = 0;  // > 0: answer with this status, run no route
  std::string preset_detail;
  std::string out;                         // bytes being written: the head, then each body piece
  bool chunked = false;                    // streamed with Transfer-Encoding: chunked
  uint64_t offset = 0;                     // body bytes produced so far
  bool finished = false;                   // the last body piece is in `out`
  std::unique_ptr<BodyObserver> observer;  // an observed route's, after the whole body
};

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // Closes the connection if it waits for client input; thread-safe.
  virtual void Shutdown() = 0;
};

}  // namespace

struct internal::ServerCore {
  explicit ServerCore(HttpServerOptions opts)
      : options(opts),
        workers(opts.worker_threads, opts.max_queued_requests),
        cap_rejection(CapRejection()) {}

  // Called by a connection's destructor, on any thread.
  void Release(const std::string& ip, uint64_t id);
  void MaybeFinishLocked();
  void Accept();
  void OnAccept(const beast::error_code& ec, tcp::socket socket);
  void Admit(tcp::socket socket);

  HttpServerOptions options;
  internal::Router router;
  std::optional<asio::ssl::context> ssl;  // outlives every connection (declared before ioc)
  bool valid = true;
  WorkQueue workers;
  const std::string cap_rejection;

  mutable std::mutex mu;  // guards the fields down to `guard`
  std::unordered_map<std::string, size_t> per_ip;
  size_t connections = 0;
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, std::weak_ptr<ConnectionBase>> live;
  bool stop_requested = false;
  bool acceptor_closed = false;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;

  std::atomic<bool> stopping{false};
  std::atomic<bool> running{false};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> busy_responses{0};
  std::atomic<uint64_t> timed_out{0};

  // Declared last: destroyed first, while the state above is still there.
  asio::io_context ioc;
  asio::strand<asio::io_context::executor_type> accept_strand{asio::make_strand(ioc)};
  std::optional<tcp::acceptor> acceptor;
  asio::steady_timer accept_retry{accept_strand};
};

namespace {

template <class Stream>
class Connection : public ConnectionBase, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Connection(internal::ServerCore& server, Stream stream, uint64_t id, std::string remote_ip,
             int remote_port, std::string local_ip, int local_port)
      : server_(server),
        options_(server.options),
        stream_(std::move(stream)),
        executor_(stream_.get_executor()),
        id_(id),
        remote_ip_(std::move(remote_ip)),
        remote_port_(remote_port),
        local_ip_(std::move(local_ip)),
        local_port_(local_port) {}
  ~Connection() override { server_.Release(remote_ip_, id_); }

  void Start() {
    asio::dispatch(executor_, [self = this->shared_from_this()] { self->DoStart(); });
  }

  void Shutdown() override {
    asio::post(executor_, [self = this->shared_from_this()] {
      switch (self->phase_) {
        case Phase::kHandshake:
        case Phase::kIdle:
        case Phase::kHeader:
        case Phase::kBody:
          self->Close();
          break;
        default:  // a handler or a write is under way; it closes when done
          break;
      }
    });
  }

 private:
  enum class Phase { kHandshake, kIdle, kHeader, kBody, kHandler, kWrite, kLinger, kClosed };

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  void ExpireAfter(int64_t ms) { Lowest().expires_after(milliseconds(ms)); }
  std::shared_ptr<Connection> Self() { return this->shared_from_this(); }

  void DoStart() {
    if (server_.stopping) return Close();
    if constexpr (kTls) {
      phase_ = Phase::kHandshake;
      ExpireAfter(options_.tls_handshake_timeout_ms);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = Self()](const beast::error_code& ec) {
                                if (ec) return self->Fail(ec);
                                self->ReadHeader();
                              });
    } else {
      ReadHeader();
    }
  }

  // Closes on a failed or timed-out step.
  void Fail(const beast::error_code& ec) {
    if (ec == beast::error::timeout) ++server_.timed_out;
    Close();
  }

  void Close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

  // After a response on a kept-alive connection: waits (keep_alive_timeout_ms) for the first
  // byte of the next request unless it is already buffered.
  void ReadNext() {
    if (server_.stopping) return GracefulClose();
    if (buffer_.size() > 0) return ReadHeader();
    phase_ = Phase::kIdle;
    ExpireAfter(options_.keep_alive_timeout_ms);
    stream_.async_read_some(buffer_.prepare(kReadBytes),
                            [self = Self()](const beast::error_code& ec, size_t n) {
                              self->buffer_.commit(n);
                              if (ec) return self->Close();  // idle timeout or client gone
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    phase_ = Phase::kHeader;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    // Checked after the header (see OnHeader). Not boost::none: Beast 1.74 compares a
    // Content-Length against an empty optional as if the limit were below every length.
    parser_->body_limit(std::numeric_limits<uint64_t>::max());
    ExpireAfter(options_.header_timeout_ms);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = Self()](const beast::error_code& ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(const beast::error_code& ec) {
    if (ec) return OnReadError(ec);
    const auto length = parser_->content_length();
    if (length && *length > options_.max_payload_bytes) return RespondTooLarge();
    parser_->body_limit(options_.max_payload_bytes);
    observer_.reset();
    observed_ = 0;
    head_.reset();
    // Observed routes are POST routes: other requests pay nothing here. The exchange made for
    // the factory is the one the handler gets (the body is moved in when it is complete).
    if (server_.router.has_observed_routes() && parser_->get().method() == http::verb::post) {
      head_ = MakeExchange(false);
      observer_ = server_.router.MakeObserver(head_->req);
    }
    if (parser_->is_done()) return OnRequest();
    phase_ = Phase::kBody;
    ExpireAfter(options_.body_timeout_ms);
    const auto& msg = parser_->get();
    if (beast::iequals(msg[http::field::expect], "100-continue")) {
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = Self()](const beast::error_code& ec, size_t) {
                          if (ec) return self->Fail(ec);
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (observer_) {
      // Piece by piece, so the observer sees each one as it arrives.
      http::async_read_some(stream_, buffer_, *parser_,
                            [self = Self()](const beast::error_code& ec, size_t) {
                              if (ec == http::error::body_limit) return self->RespondTooLarge();
                              if (ec) return self->OnReadError(ec);
                              self->Observe();
                              if (self->parser_->is_done()) return self->OnRequest();
                              self->ReadBody();
                            });
      return;
    }
    http::async_read(stream_, buffer_, *parser_,
                     [self = Self()](const beast::error_code& ec, size_t) {
                       if (ec == http::error::body_limit) return self->RespondTooLarge();
                       if (ec) return self->OnReadError(ec);
                       self->OnRequest();
                     });
  }

  void OnReadError(const beast::error_code& ec) {
    if (ec == http::error::header_limit) {
      return RespondCanned(
          431, "request header exceeds " + std::to_string(options_.max_header_bytes) + " bytes");
    }
    if (IsHttpError(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return RespondCanned(400, "malformed HTTP request");
    }
    Fail(ec);
  }

  std::shared_ptr<Exchange> MakeExchange(bool with_body) {
    auto ex = std::make_shared<Exchange>();
    auto& msg = parser_->get();
    httplib::Request& req = ex->req;
    req.method = Str(msg.method_string());
    req.target = Str(msg.target());
    req.version = msg.version() == 10 ? "HTTP/1.0" : "HTTP/1.1";
    for (const auto& field : msg) {
      req.headers.emplace(Str(field.name_string()), Str(field.value()));
    }
    if (with_body) req.body = std::move(msg.body());
    req.remote_addr = remote_ip_;
    req.remote_port = remote_port_;
    req.local_addr = local_ip_;
    req.local_port = local_port_;
    req.set_header("REMOTE_ADDR", req.remote_addr);
    req.set_header("REMOTE_PORT", std::to_string(req.remote_port));
    req.set_header("LOCAL_ADDR", req.local_addr);
    req.set_header("LOCAL_PORT", std::to_string(req.local_port));
    if constexpr (kTls) req.ssl = stream_.native_handle();
    internal::SetPathAndParams(req);
    return ex;
  }

  // Hands the body bytes received since the last call to the observer. One that throws is
  // dropped (its handler then gets no observer and the whole body).
  void Observe() {
    if (!observer_) return;
    const std::string& body = parser_->get().body();
    if (body.size() <= observed_) return;
    try {
      observer_->OnBody(std::string_view(body).substr(observed_));
    } catch (...) {
      observer_.reset();
    }
    observed_ = body.size();
  }

  void OnRequest() {
    ++served_;
    keep_alive_ = parser_->keep_alive() && served_ < options_.max_requests_per_connection &&
                  !server_.stopping;
    Observe();
    std::shared_ptr<Exchange> ex = std::move(head_);
    if (ex) {
      ex->req.body = std::move(parser_->get().body());
    } else {
      ex = MakeExchange(true);
    }
    ex->observer = std::move(observer_);
    Submit(std::move(ex));
  }

  // The client may still be sending the body: answer 413 (through the error handler), then
  // discard input for a while before closing.
  void RespondTooLarge() {
    keep_alive_ = false;
    linger_ = true;
    auto ex = MakeExchange(false);
    ex->preset_status = 413;
    ex->preset_detail =
        "request body exceeds " + std::to_string(options_.max_payload_bytes) + " bytes";
    Submit(std::move(ex));
  }

  // A problem answer from the I/O thread, for requests that could not be parsed.
  void RespondCanned(int status, const std::string& detail) {
    keep_alive_ = false;
    linger_ = true;
    auto ex = std::make_shared<Exchange>();
    ex->res.status = status;
    ex->res.set_content(internal::ProblemJson(status, detail), "application/problem+json");
    OnResponse(std::move(ex));
  }

  void Submit(std::shared_ptr<Exchange> ex) {
    phase_ = Phase::kHandler;
    Lowest().expires_never();
    auto self = Self();
    const bool queued = server_.workers.TryPush([self, ex] {
      self->server_.router.Dispatch(ex->req, ex->res, ex->preset_status, ex->preset_detail,
                                    ex->observer.get());
      asio::post(self->executor_, [self, ex] { self->OnResponse(ex); });
    });
    if (queued) return;
    ++server_.busy_responses;
    auto busy = std::make_shared<Exchange>();
    busy->res.status = 503;
    busy->res.set_header("Retry-After", "1");
    busy->res.set_content(internal::ProblemJson(503, "server busy"), "application/problem+json");
    OnResponse(std::move(busy));
  }

  void OnResponse(std::shared_ptr<Exchange> ex) {
    if (phase_ == Phase::kClosed) return;
    httplib::Response& res = ex->res;
    if (internal::WantsClose(res) || server_.stopping) keep_alive_ = false;
    const bool streamed = res.content_provider_ != nullptr;
    std::optional<uint64_t> length = res.body.size();
    if (streamed) {
      length = res.content_length_ > 0 && !res.is_chunked_content_provider_
                   ? std::optional<uint64_t>(res.content_length_)
                   : std::nullopt;
      ex->chunked = !length;
    }
    const size_t left = options_.max_requests_per_connection - served_;
    ex->out =
        internal::ResponseHead(res, length, keep_alive_,
                               std::max<int64_t>(1, options_.keep_alive_timeout_ms / 1000), left);
    phase_ = Phase::kWrite;
    const uint64_t body_bytes = length.value_or(0);
    const uint64_t rate = std::max<uint64_t>(1, options_.min_write_bytes_per_s);
    ExpireAfter(options_.write_timeout_ms + static_cast<int64_t>(body_bytes * 1000 / rate));
    if (!streamed) {
      const std::array<asio::const_buffer, 2> buffers = {asio::buffer(ex->out),
                                                         asio::buffer(res.body)};
      asio::async_write(stream_, buffers, [self = Self(), ex](const beast::error_code& ec, size_t) {
        self->OnWritten(ec);
      });
      return;
    }
    asio::async_write(stream_, asio::buffer(ex->out),
                      [self = Self(), ex](const beast::error_code& ec, size_t) {
                        if (ec) return self->Fail(ec);
                        self->ProduceNext(ex);
                      });
  }

  // Asks a worker for the next piece of a streamed body; continues in OnProduced.
  void ProduceNext(std::shared_ptr<Exchange> ex) {
    server_.workers.PushContinuation([self = Self(), ex] {
      const bool ok = Produce(*ex);
      asio::post(self->executor_, [self, ex, ok] { self->OnProduced(ex, ok); });
    });
  }

  // On a worker: calls the content provider until about kStreamChunkBytes are in ex.out or the
  // body is complete; a chunked provider (no length) is called once per piece, so what it
  // writes goes out at once (an event stream must not wait for 256 KiB). False if the
  // provider fails, overruns its length or makes no progress.
  static bool Produce(Exchange& ex) {
    httplib::Response& res = ex.res;
    const uint64_t total = res.content_length_;
    std::string piece;
    bool overrun = false;
    bool done = false;
    httplib::DataSink sink;
    sink.write = [&](const char* data, size_t size) {
      if (!ex.chunked && ex.offset + size > total) {
        overrun = true;
        return false;
      }
      piece.append(data, size);
      ex.offset += size;
      return true;
    };
    sink.is_writable = [] { return true; };
    sink.done = [&done] { done = true; };
    while (piece.size() < kStreamChunkBytes && !(ex.chunked ? done : ex.offset >= total)) {
      const uint64_t before = ex.offset;
      const bool done_before = done;
      bool ok = false;
      try {
        ok = res.content_provider_(ex.offset, ex.chunked ? 0 : total - ex.offset, sink);
      } catch (...) {
        ok = false;
      }
      if (!ok || overrun || (ex.offset == before && done == done_before)) return false;
      if (ex.chunked) break;
    }
    if (!ex.chunked) {
      ex.out = std::move(piece);
      ex.finished = ex.offset >= total;
      return true;
    }
    ex.out.clear();
    if (!piece.empty()) {
      char size_line[32];
      std::snprintf(size_line, sizeof(size_line), "%zx\r\n", piece.size());
      ex.out = size_line + piece + "\r\n";
    }
    if (done) ex.out += "0\r\n\r\n";
    ex.finished = done;
    return true;
  }

  void OnProduced(std::shared_ptr<Exchange> ex, bool ok) {
    if (phase_ == Phase::kClosed) return;
    // The head is out already: closing is the only way left to signal the failure.
    if (!ok) return Close();
    asio::async_write(stream_, asio::buffer(ex->out),
                      [self = Self(), ex](const beast::error_code& ec, size_t) {
                        if (ec) return self->Fail(ec);
                        if (!ex->finished) return self->ProduceNext(ex);
                        ex->res.content_provider_success_ = true;
                        self->OnWritten(ec);
                      });
  }

  void OnWritten(const beast::error_code& ec) {
    if (ec) return Fail(ec);
    if (linger_) return Linger();
    if (keep_alive_ && !server_.stopping) return ReadNext();
    GracefulClose();
  }

  void GracefulClose() {
    if constexpr (kTls) {
      phase_ = Phase::kLinger;
      ExpireAfter(kTlsShutdownMs);
      stream_.async_shutdown([self = Self()](const beast::error_code&) { self->Close(); });
    } else {
      beast::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Close();
    }
  }

  // Stops sending and discards input until the client closes or linger_timeout_ms passes, so
  // that an answer sent before the request was fully read is not lost to a connection reset.
  void Linger() {
    phase_ = Phase::kLinger;
    if constexpr (!kTls) {
      beast::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    ExpireAfter(options_.linger_timeout_ms);
    Discard();
  }

  void Discard() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(kReadBytes),
                            [self = Self()](const beast::error_code& ec, size_t) {
                              if (ec) return self->Close();
                              self->Discard();
                            });
  }

  internal::ServerCore& server_;
  const HttpServerOptions& options_;
  Stream stream_;
  asio::any_io_executor executor_;  // the connection's strand
  const uint64_t id_;
  const std::string remote_ip_;
  const int remote_port_;
  const std::string local_ip_;
  const int local_port_;

  Phase phase_ = Phase::kHeader;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Exchange> head_;  // a POST's exchange made at its header (observed routes)
  std::unique_ptr<BodyObserver> observer_;  // of the request being read, if its route has one
  size_t observed_ = 0;                     // body bytes the observer has seen
  size_t served_ = 0;
  bool keep_alive_ = false;
  bool linger_ = false;
};

}  // namespace

void internal::ServerCore::Release(const std::string& ip, uint64_t id) {
  std::lock_guard<std::mutex> lock(mu);
  live.erase(id);
  if (auto it = per_ip.find(ip); it != per_ip.end() && --it->second == 0) per_ip.erase(it);
  --connections;
  MaybeFinishLocked();
}

// Once stop() has closed the acceptor and the last connection is gone, the I/O threads may
// return from run().
void internal::ServerCore::MaybeFinishLocked() {
  if (stop_requested && acceptor_closed && connections == 0 && guard) guard.reset();
}

void internal::ServerCore::Accept() {
  if (stopping || !acceptor || !acceptor->is_open()) return;
  acceptor->async_accept(
      asio::make_strand(ioc),
      [this](const beast::error_code& ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
}

void internal::ServerCore::OnAccept(const beast::error_code& ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || stopping) return;
  if (ec) {
    // Out of descriptors or memory, or an aborted handshake: retry shortly, do not spin.
    accept_retry.expires_after(milliseconds(50));
    accept_retry.async_wait([this](const beast::error_code& wait_ec) {
      if (!wait_ec) Accept();
    });
    return;
  }
  Admit(std::move(socket));
  Accept();
}

void internal::ServerCore::Admit(tcp::socket socket) {
  beast::error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return;  // the client is gone already
  const tcp::endpoint local = socket.local_endpoint(ec);
  std::string ip = AddressText(remote.address());
  uint64_t id = 0;
  bool admitted = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = per_ip.find(ip);
    const size_t from_ip = it == per_ip.end() ? 0 : it->second;
    if (connections < options.max_connections && from_ip < options.max_connections_per_ip) {
      admitted = true;
      ++connections;
      ++per_ip[ip];
      id = next_id++;
    }
  }
  if (!admitted) {
    ++rejected;
    if (!ssl) {  // best effort, never blocks
      socket.non_blocking(true, ec);
      socket.write_some(asio::buffer(cap_rejection), ec);
    }
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    return;
  }
  if (options.tcp_nodelay) socket.set_option(tcp::no_delay(true), ec);
  std::shared_ptr<ConnectionBase> connection;
  std::string local_ip = AddressText(local.address());
  if (ssl) {
    auto c = std::make_shared<Connection<TlsStream>>(*this, TlsStream(std::move(socket), *ssl), id,
                                                     std::move(ip), remote.port(),
                                                     std::move(local_ip), local.port());
    c->Start();
    connection = std::move(c);
  } else {
    auto c = std::make_shared<Connection<PlainStream>>(*this, PlainStream(std::move(socket)), id,
                                                       std::move(ip), remote.port(),
                                                       std::move(local_ip), local.port());
    c->Start();
    connection = std::move(c);
  }
  std::lock_guard<std::mutex> lock(mu);
  live.emplace(id, connection);
}

std::string_view HttpReasonPhrase(int status) { return internal::ReasonPhrase(status); }

HttpServer::HttpServer(HttpServerOptions options)
    : impl_(std::make_unique<internal::ServerCore>(std::move(options))) {}

HttpServer::HttpServer(X509* cert, EVP_PKEY* key, HttpServerOptions options)
    : HttpServer(
          [cert, key](SSL_CTX& ctx) {
            return cert != nullptr && key != nullptr && SSL_CTX_use_certificate(&ctx, cert) == 1 &&
                   SSL_CTX_use_PrivateKey(&ctx, key) == 1 && SSL_CTX_check_private_key(&ctx) == 1;
          },
          std::move(options)) {}

HttpServer::HttpServer(const std::function<bool(SSL_CTX& ctx)>& setup, HttpServerOptions options)
    : HttpServer(std::move(options)) {
  impl_->ssl.emplace(asio::ssl::context::tls_server);
  SSL_CTX* ctx = impl_->ssl->native_handle();
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  impl_->valid = setup(*ctx);
}

HttpServer::~HttpServer() { stop(); }

bool HttpServer::is_valid() const { return impl_->valid; }

SSL_CTX* HttpServer::ssl_context() const {
  return impl_->ssl ? impl_->ssl->native_handle() : nullptr;
}

HttpServer& HttpServer::Get(const std::string& pattern, Handler handler) {
  impl_->router.Add("GET", pattern, std::move(handler));
  return *this;
}
HttpServer& HttpServer::Post(const std::string& pattern, Handler handler) {
  impl_->router.Add("POST", pattern, std::move(handler));
  return *this;
}
HttpServer& HttpServer::Post(const std::string& pattern, HandlerWithContentReader handler) {
  impl_->router.Add("POST", pattern, std::move(handler));
  return *this;
}
HttpServer& HttpServer::PostObserved(const std::string& pattern, ObserverFactory factory,
                                     ObservedHandler handler) {
  impl_->router.Add("POST", pattern, std::move(factory), std::move(handler));
  return *this;
}
HttpServer& HttpServer::Put(const std::string& pattern, Handler handler) {
  impl_->router.Add("PUT", pattern, std::move(handler));
  return *this;
}
HttpServer& HttpServer::Put(const std::string& pattern, HandlerWithContentReader handler) {
  impl_->router.Add("PUT", pattern, std::move(handler));
  return *this;
}
HttpServer& HttpServer::Delete(const std::string& pattern, Handler handler) {
  impl_->router.Add("DELETE", pattern, std::move(handler));
  return *this;
}
HttpServer& HttpServer::set_error_handler(Handler handler) {
  impl_->router.SetErrorHandler(std::move(handler));
  return *this;
}
HttpServer& HttpServer::set_payload_max_length(size_t length) {
  impl_->options.max_payload_bytes = length;
  return *this;
}
HttpServer& HttpServer::set_keep_alive_max_count(size_t count) {
  impl_->options.max_requests_per_connection = count == 0 ? 1 : count;
  return *this;
}
HttpServer& HttpServer::set_tcp_nodelay(bool on) {
  impl_->options.tcp_nodelay = on;
  return *this;
}

bool HttpServer::bind_to_port(const std::string& host, int port) {
  internal::ServerCore& impl = *impl_;
  if (impl.acceptor || port < 0 || port > 65535) return false;
  beast::error_code ec;
  tcp::resolver resolver(impl.ioc);
  const auto endpoints =
      resolver.resolve(host.empty() ? "0.0.0.0" : host, std::to_string(port),
                       tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) return false;
  const int backlog = impl.options.listen_backlog > 0
                          ? impl.options.listen_backlog
                          : static_cast<int>(asio::socket_base::max_listen_connections);
  for (const auto& entry : endpoints) {
    tcp::acceptor acceptor(impl.accept_strand);
    acceptor.open(entry.endpoint().protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(entry.endpoint(), ec);
    if (!ec) acceptor.listen(backlog, ec);
    if (!ec) {
      impl.acceptor.emplace(std::move(acceptor));
      return true;
    }
  }
  return false;
}

int HttpServer::bind_to_any_port(const std::string& host) {
  if (!bind_to_port(host, 0)) return -1;
  beast::error_code ec;
  const tcp::endpoint local = impl_->acceptor->local_endpoint(ec);
  return ec ? -1 : local.port();
}

bool HttpServer::listen(const std::string& host, int port) {
  return bind_to_port(host, port) && listen_after_bind();
}

bool HttpServer::listen_after_bind() {
  internal::ServerCore& impl = *impl_;
  if (!impl.acceptor || !impl.valid || impl.running.exchange(true)) return false;
  impl.workers.Start();
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    impl.guard.emplace(impl.ioc.get_executor());
    impl.MaybeFinishLocked();  // stop() may have run already
  }
  asio::post(impl.accept_strand, [&impl] { impl.Accept(); });
  auto run = [&impl] {
    for (;;) {
      try {
        impl.ioc.run();
        return;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "crypta: HTTP server I/O thread: %s\n", e.what());
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl.options.io_threads; ++i) threads.emplace_back(run);
  run();
  for (std::thread& t : threads) t.join();
  impl.workers.Stop();
  impl.running = false;
  return true;
}

void HttpServer::stop() {
  internal::ServerCore& impl = *impl_;
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    if (impl.stop_requested) return;
    impl.stop_requested = true;
  }
  impl.stopping = true;
  asio::post(impl.accept_strand, [&impl] {
    beast::error_code ignored;
    if (impl.acceptor) impl.acceptor->close(ignored);
    impl.accept_retry.cancel();
    std::vector<std::shared_ptr<ConnectionBase>> connections;
    {
      std::lock_guard<std::mutex> lock(impl.mu);
      impl.acceptor_closed = true;
      for (auto& [id, weak] : impl.live) {
        if (auto c = weak.lock()) connections.push_back(std::move(c));
      }
      impl.MaybeFinishLocked();
    }
    for (const auto& c : connections) c->Shutdown();
  });
}

bool HttpServer::is_running() const { return impl_->running && !impl_->stopping; }

HttpServerStats HttpServer::stats() const {
  HttpServerStats s;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    s.connections = impl_->connections;
  }
  s.queued_requests = impl_->workers.queued();
  s.busy_workers = impl_->workers.busy();
  s.rejected_connections = impl_->rejected;
  s.busy_responses = impl_->busy_responses;
  s.timed_out_connections = impl_->timed_out;
  return s;
}

}  // namespace crypta::net
