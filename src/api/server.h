// The control plane's HTTP server (issue 4 `crypta up`; DESIGN.md §4.3 RCAR).
//
// Routes (JSON unless noted; errors are RFC 7807 application/problem+json with status
// 400 bad request, 401 unauthenticated, 403 denied, 404 not found, 409 conflict, 413 too
// large — bodies over ControlPlaneOptions::max_body_bytes —, 501 a TEE crypta does not verify):
//   GET  /healthz                         {"status":"ok"}
//   GET  /.well-known/jwks.json           EAR signing keys (ES256, kid = thumbprint): the
//                                         current one and those retired < ear_overlap_s ago
//   POST /v1/attestation/verify           evidence → EAR (kbs/rcar.h VerifyEvidence)
//   POST /v1/attestation/challenge        a single-use nonce for /verify's runtime_data
//   GET|PUT|DELETE /v1/attestation/policy the platform attestation policy (platform admin)
//   POST /v1/attestation/keys/rotate      new EAR signing key (platform admin)
//   POST /kbs/v0/auth | /kbs/v0/attest    RCAR (kbs/rcar.h); both set cookie kbs-session-id
//   GET  /kbs/v0/resource/<t>/<k>/<obj>   cookie kbs-session-id or "Bearer <EAR>" → JWE
//   Admin, "Authorization: Bearer <API token>" (kbs/tokens.h roles; server_admin.cc):
//   tenants, tokens (create/list/revoke), keys (create/list/rotate/retire a version),
//   policies, DEK wrapping, the audit log (tail, checkpoint, inclusion/consistency proofs)
//   Models (server_models.cc): push in ordered pieces, list, metadata, sealed blob, remove
//   Deployments and nodes (server_deploy.cc, api/deployments.h), /metrics
//   Workload identity (server_pki.cc): trust bundle, CRL, SVIDs to attested workloads, revoke
// src/api/README.md lists every route with its body and answers.
// Every admin action, authentication/authorization failure, attestation failure, key
// release and release denial is appended to the audit log with its reason.
//
// Served over TLS with the platform CA (tls/ca.pem in the data dir); plaintext only when
// ControlPlaneOptions::insecure_http. A maintenance thread runs scheduled KEK rotations
// (rotate_days, audited), schedules waiting deployments and deletes abandoned partial uploads.
// Thread-safety: Serve() runs httplib's worker threads; Stop() may be called from any thread (e.g.
// a signal-waiting thread).
#ifndef CRYPTA_API_SERVER_H_
#define CRYPTA_API_SERVER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "api/data_dir.h"
#include "common/status.h"

namespace crypta::api {

struct ControlPlaneOptions {
  std::string data_dir;
  // A PostgreSQL URL shared by several replicas (ResolveStore), or "" for the embedded SQLite
  // database in the data dir.
  std::string store;
  std::string host = "127.0.0.1";
  int port = 0;  // 0 = any free port
  size_t max_body_bytes = 1024 * 1024;
  // Plaintext HTTP (tests, loopback only). Otherwise TLS 1.2+ with a server certificate
  // issued at start by the data dir's platform CA (tls/ca.pem) for localhost, 127.0.0.1,
  // ::1, `host` and `tls_names`.
  bool insecure_http = false;
  std::string trust_domain = "crypta.local";  // SPIFFE trust domain of workload SVIDs
  std::vector<std::string> tls_names;
  int64_t maintenance_s = 15;  // rotations, scheduling and sweeps run this often
  // Writes (pushes, policy changes, key releases: everything audited) are refused with 503
  // when the data dir's file system has less free space than this.
  uint64_t min_free_bytes = 64ull << 20;
  // The audit log's checkpoints are signed after this many entries or this many seconds,
  // whichever comes first (and at shutdown), not after every entry.
  uint64_t checkpoint_every = 64;
  int64_t checkpoint_interval_s = 10;
  int64_t stale_upload_s = 3600;  // partial uploads idle this long are deleted
  // A rotated-out EAR key stays in the JWKS this long (relying parties refresh their cache).
  int64_t ear_overlap_s = 86400;
};

class ControlPlane {
 public:
  // Opens the data dir (OpenDataDir) and binds the listening socket. kUnavailable when the
  // address cannot be bound.
  static Result<std::unique_ptr<ControlPlane>> Start(const ControlPlaneOptions& options);
  ~ControlPlane();

  int port() const;
  const ControlPlaneState& state() const;
  bool tls() const;
  // "sha256:<hex>" of the platform CA's newest root (tls/ca.pem holds every live root).
  std::string TlsCaFingerprint() const;
  // Accepts connections until Stop(); returns an error if the listener fails.
  Status Serve();
  void Stop();

  struct Impl;

 private:
  explicit ControlPlane(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crypta::api

#endif  // CRYPTA_API_SERVER_H_
