// crypta-runtime's HTTP server (the only cpp-httplib server TU): maps the routes of
// DESIGN.md §4.5/§4.6 onto AttestationService, OhttpService and OipRouter, and records
// every request in Metrics.
//
// Plain HTTP, or HTTPS (httplib::SSLServer) with ServerOptions::tls.
//   GET  /v1/attestation[?nonce=hex]   AttestationService
//   POST /v1/ohttp                      OhttpService (Content-Type message/ohttp-req, else 415)
//   POST /predict                       OhttpService
//   GET  /metrics                       Prometheus text
//   GET  /healthz, /readyz              process health for orchestrators (HealthzReply,
//                                       ReadyzReply); not in /metrics, no model or secret
//   /v2/...                             OipRouter, only with allow_plaintext_infer; otherwise
//                                       404 saying the OIP routes are reachable through OHTTP
// Bodies over max_body_bytes get 413 before any handler runs. Nothing is logged per request.
#ifndef CRYPTA_RUNTIME_SERVER_H_
#define CRYPTA_RUNTIME_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "runtime/attestation_service.h"
#include "runtime/metrics.h"
#include "runtime/ohttp_service.h"
#include "runtime/oip_router.h"
#include "runtime/tls_identity.h"

namespace crypta::runtime {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 = any free port
  bool allow_plaintext_infer = false;
  size_t max_body_bytes = 96u << 20;
  // Worker threads running handlers; connections are served by an event loop, so idle and
  // slow clients hold none (net/http_server.h).
  int threads = 64;
  int read_timeout_s = 30;  // for a whole request header, and again for its body
  int write_timeout_s = 30;
  int keep_alive_timeout_s = 5;
  size_t max_connections_per_ip = 256;
  // GET /metrics with "Authorization: Bearer <this>" shows the requests inside OHTTP per
  // route and status; without it (or when empty) they are one aggregate series.
  std::string metrics_token;
  // TLS (issue 7): when `tls` is set the server speaks only HTTPS with the identity's
  // current credential (renewals apply to new handshakes); `mtls` kOptional/kRequired asks
  // for client certificates and judges them with `peers` (required then). Both must outlive
  // the server.
  TlsIdentity* tls = nullptr;
  MtlsMode mtls = MtlsMode::kOff;
  PeerPolicy* peers = nullptr;
};

// Whether the runtime serves its model: false while it boots (attestation, key release,
// unseal, load), true once the model is loaded and the server runs, false again once it
// stops. Shared by the main listener and the HealthServer. Thread-safe.
class Readiness {
 public:
  void Set(bool ready) { ready_.store(ready, std::memory_order_release); }
  bool Get() const { return ready_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> ready_{false};
};

// GET /healthz: 200 {"status":"ok"} — the process is alive and answers HTTP.
HttpReply HealthzReply();
// GET /readyz: 200 {"status":"ready"} when `ready`, else 503 {"status":"not ready"}.
// Neither reply names the model, the workload or anything secret: they are served in plain
// to whoever can reach the port (the kubelet's probes).
HttpReply ReadyzReply(bool ready);

struct ServerDeps {
  AttestationService* attestation;
  OhttpService* ohttp;
  const OipRouter* router;
  Metrics* metrics;
  std::function<MetricsExtras()> extras;
  // /readyz answers from it; Stop() sets it to false. nullptr: ready whenever serving.
  Readiness* readiness = nullptr;
};

class RuntimeServer {
 public:
  RuntimeServer(ServerOptions options, ServerDeps deps);
  ~RuntimeServer();

  // Binds the listening socket; returns the port. kUnavailable when binding fails,
  // kInvalidArgument when the TLS context could not be set up.
  Result<int> Bind();
  // Serves until Stop(); returns false when the server loop failed.
  bool Run();
  // True while Run() is accepting connections.
  bool IsRunning() const;
  // Marks the runtime not ready and stops Run() (thread-safe; callable from a
  // signal-handling thread).
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A plain-HTTP listener serving only GET /healthz and /readyz (404 for anything else), for
// crypta-runtime's --health-listen. It starts before the boot, so probes see a live process
// while the model is fetched and unsealed (/readyz 503) and a ready one once it serves (200),
// and it never speaks TLS, so the kubelet can probe a runtime started with --tls svid or
// attested. Requests are not counted in /metrics and not logged.
class HealthServer {
 public:
  // `readiness` must outlive the server.
  HealthServer(std::string host, int port, const Readiness* readiness);
  // Stops and joins the serving thread.
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  // Binds host:port (port 0: any free port), starts serving on its own thread and returns
  // the port; kUnavailable when binding fails. Call once.
  Result<int> Start();
  // Stops serving and joins the thread (idempotent).
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_SERVER_H_
