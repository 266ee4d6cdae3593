// HttpServer: an event-driven HTTP/1.1 (and HTTPS) server with cpp-httplib's handler types.
//
// Issue 14: httplib::Server gives every connection a thread and only a per-read timeout, so
// a handful of clients sending a header byte every few seconds (or a ClientHello byte by
// byte) occupy all threads. HttpServer reads and writes on a few Asio I/O threads (Boost.Beast
// parses), enforces whole-phase deadlines (TLS handshake, request header, request body,
// keep-alive idle, response write), caps connections per source address and in total, and
// runs handlers on a fixed worker pool behind a bounded queue. A slow client costs a socket
// and a small buffer, never a worker thread: a handler runs only once its request is fully
// read, and a streamed response (set_content_provider) is produced chunk by chunk on workers
// between asynchronous writes.
//
// It is a drop-in for how crypta's control plane uses httplib::Server / httplib::SSLServer:
// routes take `const httplib::Request&, httplib::Response&` (and optionally a
// `const httplib::ContentReader&`), and the lifecycle calls keep httplib's names
// (bind_to_any_port, bind_to_port, listen_after_bind, stop, set_payload_max_length, ...).
//
// Differences from httplib 0.11 (kept small on purpose):
//  - The request body is read completely (up to the payload limit) before a handler runs; a
//    ContentReader replays it. Multipart ContentReader calls return false. A route added with
//    an observer factory (PostObserved) also sees the body while it arrives: its BodyObserver
//    gets each received piece on the I/O thread, so work such as opening chunked OHTTP
//    overlaps with the transfer (issue 18).
//  - No Range requests, no response compression, no request decompression, no HEAD-to-GET
//    mapping, no multipart/form-data parsing (req.files stays empty).
//  - Exceptions escaping a handler give a 500 with an empty body (the error handler may fill
//    it); the exception text is not sent to the client.
//  - Providers without a length (set_content_provider without length,
//    set_chunked_content_provider) are sent with chunked transfer encoding, what each call
//    wrote as one chunk, written before the next call (so server-sent events are not held
//    back). Providers with a length are sent in pieces of about 256 KiB. A provider call
//    that returns true without writing (or calling done()) counts as a failure: the
//    connection is closed instead of spinning.
//  - One listen_after_bind() per object; no set_socket_options (SO_REUSEADDR, TCP_NODELAY and
//    the backlog are options).
//
// Thread-safety: route and option setters must be called before listen_after_bind(); stop()
// and stats() may be called from any thread at any time.
#ifndef CRYPTA_NET_HTTP_SERVER_H_
#define CRYPTA_NET_HTTP_SERVER_H_

#include <httplib.h>
#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace crypta::net {

namespace internal {
struct ServerCore;  // defined in http_server.cc
}  // namespace internal

// Limits of an HttpServer. Every deadline is for a whole phase, measured from its start; a
// client that trickles bytes gains nothing.
struct HttpServerOptions {
  // Threads running the Asio event loop (accepts, TLS, parsing, socket writes).
  size_t io_threads = 2;
  // Threads running route handlers and content providers.
  size_t worker_threads = 16;
  // Fully read requests waiting for a worker; beyond it the server answers 503 with an RFC 7807
  // body {"type":"about:blank","title":"Service Unavailable","status":503,"detail":"server busy"}.
  size_t max_queued_requests = 1024;

  // The TLS handshake must complete within this time from accept (HTTPS only).
  int64_t tls_handshake_timeout_ms = 10'000;
  // The request line and all header fields must arrive within this time, measured from accept
  // (after the TLS handshake) for a connection's first request, and from the first byte of the
  // request for later requests on a kept-alive connection.
  int64_t header_timeout_ms = 10'000;
  // The whole request body must arrive within this time after the header.
  int64_t body_timeout_ms = 30'000;
  // A kept-alive connection is closed when no byte of a next request arrives within this time.
  int64_t keep_alive_timeout_ms = 5'000;
  // A response must be written within write_timeout_ms + body bytes / min_write_bytes_per_s;
  // the connection is closed otherwise (a streamed body's producer is then abandoned).
  int64_t write_timeout_ms = 30'000;
  uint64_t min_write_bytes_per_s = 64 * 1024;
  // After a 413 (or another answer sent while the client may still be sending), the server
  // stops writing and discards input for at most this long before closing, so the client
  // reads the answer instead of a connection reset.
  int64_t linger_timeout_ms = 5'000;

  // Requests served on one connection before it is closed ("Connection: close" on the last).
  size_t max_requests_per_connection = 1000;
  // Open connections in total and per source address; a connection beyond either cap is
  // closed at once (plain HTTP first gets a best-effort 503).
  size_t max_connections = 4096;
  size_t max_connections_per_ip = 64;
  // Request line plus header fields; beyond it the server answers 431 and closes.
  size_t max_header_bytes = 16 * 1024;
  // Request body (after removing chunked encoding); beyond it the server answers 413 (through
  // the error handler) and closes. Same as set_payload_max_length().
  size_t max_payload_bytes = 1 << 20;
  // listen() backlog; 0 means the system maximum (SOMAXCONN).
  int listen_backlog = 0;
  // TCP_NODELAY on accepted connections.
  bool tcp_nodelay = true;
};

// Counters for tests and metrics; a snapshot, exact only when the server is quiet.
struct HttpServerStats {
  size_t connections = 0;              // open, accepted connections
  size_t queued_requests = 0;          // requests waiting for a worker
  size_t busy_workers = 0;             // workers running a handler or producing a streamed body
  uint64_t rejected_connections = 0;   // closed at accept by a connection cap
  uint64_t busy_responses = 0;         // 503 "server busy" answers
  uint64_t timed_out_connections = 0;  // closed by a handshake, header, body or write deadline
};

// "Not Found" for 404, ... (RFC 9110 §15 reason phrases; "Unknown" for other codes).
std::string_view HttpReasonPhrase(int status);

// Sees a request body while it is received (HttpServer::PostObserved). OnBody gets each newly
// received piece of the (de-chunked) body, in order, on an I/O thread: it must be quick (about
// the cost of decrypting the piece, as TLS does there) and must not block. Not called
// concurrently for one request. The pieces are views into req.body, which the handler later
// gets whole; the observer is then handed to the handler.
class BodyObserver {
 public:
  virtual ~BodyObserver() = default;
  virtual void OnBody(std::string_view piece) = 0;
};

class HttpServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  // Makes the observer of a request from its method, target and header fields (req.body is
  // still empty); nullptr: no observer for this one.
  using ObserverFactory = std::function<std::unique_ptr<BodyObserver>(const httplib::Request&)>;
  // A handler of an observed route: `observer` is what the factory made (may be null), after
  // it saw the whole body.
  using ObservedHandler =
      std::function<void(const httplib::Request&, httplib::Response&, BodyObserver* observer)>;
  using HandlerWithContentReader = std::function<void(const httplib::Request&, httplib::Response&,
                                                      const httplib::ContentReader&)>;

  // A plain HTTP server.
  explicit HttpServer(HttpServerOptions options = {});
  // An HTTPS server presenting `cert` with `key` (both up-referenced, the caller keeps its
  // own references). Minimum protocol TLS 1.2, no compression, no renegotiation. Add chain
  // certificates and further settings through ssl_context() before listen_after_bind().
  // is_valid() is false when the certificate or key is unusable.
  HttpServer(X509* cert, EVP_PKEY* key, HttpServerOptions options = {});
  // An HTTPS server whose context `setup` configures (certificates, a certificate callback,
  // client-certificate verification), as httplib::SSLServer's callback constructor does;
  // TLS 1.2 minimum, no compression, no renegotiation are set first. is_valid() is what
  // `setup` returned.
  HttpServer(const std::function<bool(SSL_CTX& ctx)>& setup, HttpServerOptions options = {});
  // Calls stop(). listen_after_bind() must have returned before destruction.
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // False only for an HTTPS server whose certificate/key could not be installed.
  bool is_valid() const;
  // The OpenSSL context of an HTTPS server (owned by the server); nullptr for plain HTTP.
  SSL_CTX* ssl_context() const;

  // Routes: `pattern` is an ECMAScript regex that must match the whole decoded path; capture
  // groups land in req.matches. Routes are tried in registration order; for POST and PUT the
  // ContentReader routes are tried before the plain ones (as httplib does).
  HttpServer& Get(const std::string& pattern, Handler handler);
  HttpServer& Post(const std::string& pattern, Handler handler);
  HttpServer& Post(const std::string& pattern, HandlerWithContentReader handler);
  // A POST route whose body is observed while it arrives (BodyObserver); tried before the
  // other POST routes.
  HttpServer& PostObserved(const std::string& pattern, ObserverFactory factory,
                           ObservedHandler handler);
  HttpServer& Put(const std::string& pattern, Handler handler);
  HttpServer& Put(const std::string& pattern, HandlerWithContentReader handler);
  HttpServer& Delete(const std::string& pattern, Handler handler);
  // Called for every response whose status is >= 400 (as httplib does: also for "no route"
  // 404 and for 413), on a worker thread, after the route handler. If the body is still empty
  // afterwards, the server fills in an RFC 7807 problem JSON.
  HttpServer& set_error_handler(Handler handler);

  // httplib-compatible setters for the matching HttpServerOptions fields.
  HttpServer& set_payload_max_length(size_t length);
  HttpServer& set_keep_alive_max_count(size_t count);
  HttpServer& set_tcp_nodelay(bool on);

  // Binds and listens (SO_REUSEADDR) on host:port / an ephemeral port. Returns false / -1 on
  // failure (unresolvable host, port in use). Connections queue in the backlog until
  // listen_after_bind() runs.
  bool bind_to_port(const std::string& host, int port);
  int bind_to_any_port(const std::string& host);
  // Serves until stop(); returns false if nothing is bound. Runs the I/O threads (one of them
  // on the calling thread) and the worker pool, and joins them all before returning.
  bool listen_after_bind();
  // bind_to_port + listen_after_bind.
  bool listen(const std::string& host, int port);
  // Thread-safe and idempotent; may precede listen_after_bind(). Stops accepting, closes
  // connections that are waiting for input, lets handlers that have started or are queued
  // finish and their responses be written (with "Connection: close"), then makes
  // listen_after_bind() return.
  void stop();
  // True between the start of listen_after_bind() and stop().
  bool is_running() const;

  HttpServerStats stats() const;

 private:
  std::unique_ptr<internal::ServerCore> impl_;
};

}  // namespace crypta::net

#endif  // CRYPTA_NET_HTTP_SERVER_H_
