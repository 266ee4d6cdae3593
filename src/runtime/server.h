// crypta-runtime's HTTP server (the only cpp-httplib server TU): maps the routes of
// DESIGN.md §4.5/§4.6 onto AttestationService, OhttpService and OipRouter, and records
// every request in Metrics.
//
// Plain HTTP, or HTTPS (httplib::SSLServer) with ServerOptions::tls.
//   GET  /v1/attestation[?nonce=hex]   AttestationService
//   POST /v1/ohttp                      OhttpService (Content-Type message/ohttp-req, else 415)
//   POST /predict                       OhttpService
//   GET  /metrics                       Prometheus text
//   /v2/...                             OipRouter, only with allow_plaintext_infer; otherwise
//                                       404 saying the OIP routes are reachable through OHTTP
// Bodies over max_body_bytes get 413 before any handler runs. Nothing is logged per request.
#ifndef CRYPTA_RUNTIME_SERVER_H_
#define CRYPTA_RUNTIME_SERVER_H_

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

struct ServerDeps {
  AttestationService* attestation;
  OhttpService* ohttp;
  const OipRouter* router;
  Metrics* metrics;
  std::function<MetricsExtras()> extras;
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
  // Stops Run() (thread-safe; callable from a signal-handling thread).
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_SERVER_H_
