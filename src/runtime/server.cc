// The only HTTP server code of crypta-runtime: net::HttpServer (event-driven, so slow or
// idle connections cost a socket, never a worker thread) with httplib's handler types.
#include "runtime/server.h"

#include <httplib.h>

#include <chrono>
#include <thread>

#include "common/constant_time.h"
#include "net/http_server.h"

namespace crypta::runtime {
namespace {

void Write(const HttpReply& reply, httplib::Response& res) {
  res.status = reply.status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(reply.body, reply.content_type.c_str());
}

// GET /healthz and /readyz on `http`, answered from `ready`; not recorded in Metrics (the
// kubelet probes every few seconds, and the route labels are a fixed set).
void AddHealthRoutes(net::HttpServer& http, std::function<bool()> ready) {
  http.Get("/healthz",
           [](const httplib::Request&, httplib::Response& res) { Write(HealthzReply(), res); });
  http.Get("/readyz", [ready = std::move(ready)](const httplib::Request&, httplib::Response& res) {
    Write(ReadyzReply(ready()), res);
  });
}

struct ChunkedOhttpObserver : net::BodyObserver {
  explicit ChunkedOhttpObserver(std::unique_ptr<OhttpService::ChunkedIntake> in)
      : intake(std::move(in)) {}
  void OnBody(std::string_view piece) override { intake->Feed(AsBytes(piece)); }
  std::unique_ptr<OhttpService::ChunkedIntake> intake;
};

}  // namespace

HttpReply HealthzReply() { return HttpReply{200, "application/json", R"({"status":"ok"})"}; }

HttpReply ReadyzReply(bool ready) {
  return ready ? HttpReply{200, "application/json", R"({"status":"ready"})"}
               : HttpReply{503, "application/json", R"({"status":"not ready"})"};
}

struct RuntimeServer::Impl {
  ServerOptions options;
  ServerDeps deps;
  std::unique_ptr<net::HttpServer> server;  // HTTPS with options.tls

  // Runs `handler`, writes its reply and records it under the route label.
  template <typename Fn>
  void Serve(const httplib::Request& req, httplib::Response& res, Fn&& handler) {
    const auto start = std::chrono::steady_clock::now();
    HttpReply reply;
    try {
      reply = handler(req);
    } catch (const std::exception&) {
      reply = ErrorReply(500, "internal error");
    }
    res.status = reply.status;
    for (const auto& [name, value] : reply.headers) res.set_header(name.c_str(), value);
    if (reply.stream) {
      // Chunked transfer encoding, one piece per provider call (so each is written as soon as
      // it is produced). A broken stream closes the connection without the last chunk: the
      // client sees the body cut off.
      res.set_header("Cache-Control", "no-store");
      res.set_chunked_content_provider(
          reply.content_type, [stream = std::move(reply.stream)](size_t, httplib::DataSink& sink) {
            Result<std::optional<std::string>> piece = stream();
            if (!piece) return false;
            if (!*piece) {
              sink.done();
              return true;
            }
            return sink.write((*piece)->data(), (*piece)->size());
          });
    } else {
      res.set_content(std::move(reply.body), reply.content_type.c_str());
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    deps.metrics->ObserveRequest(RouteLabel(req.path), "plain", reply.status, seconds);
  }

  void Routes();
};

void RuntimeServer::Impl::Routes() {
  using httplib::Request;
  using httplib::Response;
  net::HttpServer& http = *server;
  AddHealthRoutes(http, [this] {
    return server->is_running() && (deps.readiness == nullptr || deps.readiness->Get());
  });
  http.Get("/v1/attestation", [this](const Request& req, Response& res) {
    Serve(req, res, [this](const Request& r) {
      std::optional<std::string> nonce;
      if (r.has_param("nonce")) nonce = r.get_param_value("nonce");
      return deps.attestation->Handle(nonce);
    });
  });
  // Chunked OHTTP requests are opened while they arrive: the observer feeds each received
  // piece to an OhttpService::ChunkedIntake on the I/O thread (AES-GCM over what just came
  // in, like TLS decryption there), and the handler answers once the body is whole.
  http.PostObserved(
      "/v1/ohttp",
      [this](const Request& req) -> std::unique_ptr<net::BodyObserver> {
        if (req.get_header_value("Content-Type") != kOhttpChunkedRequestType) return nullptr;
        return std::make_unique<ChunkedOhttpObserver>(deps.ohttp->StartChunked());
      },
      [this](const Request& req, Response& res, net::BodyObserver* observer) {
        Serve(req, res, [this, observer](const Request& r) {
          // RFC 9458 §4.1: requests carry the message/ohttp-req media type; chunked ones
          // (draft-ietf-ohai-chunked-ohttp §3) message/ohttp-chunked-req.
          const std::string type = r.get_header_value("Content-Type");
          if (type == kOhttpChunkedRequestType) {
            if (observer == nullptr) return deps.ohttp->HandleOhttpChunked(AsBytes(r.body));
            return deps.ohttp->FinishChunked(*static_cast<ChunkedOhttpObserver*>(observer)->intake,
                                             AsBytes(r.body));
          }
          if (type != kOhttpRequestType) {
            return ErrorReply(
                415, "Content-Type must be message/ohttp-req or message/ohttp-chunked-req");
          }
          // Decrypt in place in the body buffer: the Request object is the server's own
          // per-request object (not a const object), done with once the handler returns.
          std::string& body = const_cast<std::string&>(r.body);
          return deps.ohttp->HandleOhttpInPlace(
              MutableByteSpan(reinterpret_cast<uint8_t*>(body.data()), body.size()));
        });
      });
  http.Post("/predict", [this](const Request& req, Response& res) {
    Serve(req, res, [this](const Request& r) { return deps.ohttp->HandlePredict(r.body); });
  });
  http.Get("/metrics", [this](const Request& req, Response& res) {
    Serve(req, res, [this](const Request& r) {
      // Per-route detail of the requests inside OHTTP only with the metrics token.
      const std::string auth = r.get_header_value("Authorization");
      const bool detail =
          !options.metrics_token.empty() && auth.rfind("Bearer ", 0) == 0 &&
          ConstantTimeEquals(AsBytes(auth.substr(7)), AsBytes(options.metrics_token));
      return HttpReply{200, "text/plain; version=0.0.4; charset=utf-8",
                       deps.metrics->Render(deps.extras ? deps.extras() : MetricsExtras{}, detail)};
    });
  });

  auto oip = [this](const Request& req, Response& res) {
    Serve(req, res, [this](const Request& r) {
      if (!options.allow_plaintext_infer) {
        return ErrorReply(404,
                          "the inference routes are served only through OHTTP (POST /v1/ohttp); "
                          "start the runtime with --allow-plaintext-infer to serve them in plain");
      }
      HttpCall call{r.method, r.path, r.body, std::nullopt};
      if (r.has_header("Inference-Header-Content-Length")) {
        call.inference_header_length = r.get_header_value("Inference-Header-Content-Length");
      }
      return deps.router->Handle(call);
    });
  };
  http.Get(R"(/v2(/.*)?)", oip);
  http.Post(R"(/v2(/.*)?)", oip);

  auto not_found = [this](const Request& req, Response& res) {
    Serve(req, res, [](const Request&) { return ErrorReply(404, "no such route"); });
  };
  http.Get(".*", not_found);
  http.Post(".*", not_found);
}

RuntimeServer::RuntimeServer(ServerOptions options, ServerDeps deps)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->deps = std::move(deps);
  const ServerOptions& o = impl_->options;
  net::HttpServerOptions http;
  http.worker_threads = static_cast<size_t>(std::max(o.threads, 1));
  http.max_payload_bytes = o.max_body_bytes;
  http.header_timeout_ms = int64_t{o.read_timeout_s} * 1000;
  http.body_timeout_ms = int64_t{o.read_timeout_s} * 1000;
  http.write_timeout_ms = int64_t{o.write_timeout_s} * 1000;
  http.keep_alive_timeout_ms = int64_t{o.keep_alive_timeout_s} * 1000;
  http.max_requests_per_connection = 100000;  // clients under load keep their connections
  http.max_connections_per_ip = o.max_connections_per_ip;
  if (o.tls != nullptr) {
    // The context gets no certificate: the identity's callback supplies the current one
    // to each handshake (tls_identity.h).
    impl_->server = std::make_unique<net::HttpServer>(
        [&o](SSL_CTX& ctx) { return ConfigureServerSslCtx(&ctx, o.tls, o.mtls, o.peers); }, http);
  } else {
    impl_->server = std::make_unique<net::HttpServer>(http);
  }
  impl_->Routes();
}

RuntimeServer::~RuntimeServer() = default;

Result<int> RuntimeServer::Bind() {
  if (!impl_->server->is_valid()) {
    return MakeError(ErrorCode::kInvalidArgument, "the TLS server context could not be set up");
  }
  int port = impl_->options.port;
  bool ok;
  if (port == 0) {
    port = impl_->server->bind_to_any_port(impl_->options.host);
    ok = port > 0;
  } else {
    ok = impl_->server->bind_to_port(impl_->options.host, port);
  }
  if (!ok) {
    return MakeError(ErrorCode::kUnavailable, "cannot listen on " + impl_->options.host + ":" +
                                                  std::to_string(impl_->options.port));
  }
  return port;
}

bool RuntimeServer::Run() { return impl_->server->listen_after_bind(); }

bool RuntimeServer::IsRunning() const { return impl_->server->is_running(); }

void RuntimeServer::Stop() {
  if (impl_->deps.readiness != nullptr) impl_->deps.readiness->Set(false);
  impl_->server->stop();
}

struct HealthServer::Impl {
  std::string host;
  int port = 0;
  std::unique_ptr<net::HttpServer> server;
  std::thread thread;
};

HealthServer::HealthServer(std::string host, int port, const Readiness* readiness)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  net::HttpServerOptions http;
  http.io_threads = 1;
  http.worker_threads = 1;  // two constant answers: nothing to wait for
  http.max_queued_requests = 64;
  http.max_connections = 64;
  http.max_connections_per_ip = 16;
  http.max_payload_bytes = 1024;
  http.header_timeout_ms = 5'000;
  http.body_timeout_ms = 5'000;
  http.write_timeout_ms = 5'000;
  impl_->server = std::make_unique<net::HttpServer>(http);
  AddHealthRoutes(*impl_->server, [readiness] { return readiness->Get(); });
  impl_->server->Get(".*", [](const httplib::Request&, httplib::Response& res) {
    Write(HttpReply{404, "application/json", R"({"error":"only /healthz and /readyz"})"}, res);
  });
}

HealthServer::~HealthServer() { Stop(); }

Result<int> HealthServer::Start() {
  int port = impl_->port;
  bool ok;
  if (port == 0) {
    port = impl_->server->bind_to_any_port(impl_->host);
    ok = port > 0;
  } else {
    ok = impl_->server->bind_to_port(impl_->host, port);
  }
  if (!ok) {
    return MakeError(ErrorCode::kUnavailable, "--health-listen: cannot listen on " + impl_->host +
                                                  ":" + std::to_string(impl_->port));
  }
  net::HttpServer* server = impl_->server.get();
  impl_->thread = std::thread([server] { server->listen_after_bind(); });
  return port;
}

void HealthServer::Stop() {
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace crypta::runtime
