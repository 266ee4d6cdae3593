// The client SDK's view of HTTP: two calls (GET, POST) against one service, with
// timeouts and a response size cap. An interface so the verification and OHTTP logic can
// be tested without sockets (tests inject a fake); cpp-httplib stays inside
// http_transport.cc.
#ifndef CRYPTA_CLIENT_HTTP_TRANSPORT_H_
#define CRYPTA_CLIENT_HTTP_TRANSPORT_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta::client {

struct HttpReply {
  int status = 0;
  std::string content_type;  // the Content-Type header, "" when absent
  std::string body;
};

// HTTPS (issue 7). A https:// transport authenticates the server during the handshake,
// before any request is sent, in one of two ways (at least one must be configured):
//  - SVID-TLS: `ca_bundle_pem` (the platform trust bundle, GET /v1/pki/bundle) pinned; the
//    server's chain must be an X.509-SVID of `trust_domain` matching one of
//    `expected_spiffe_ids` (patterns, pki/spiffe_id.h; empty = any workload), checked with
//    pki::VerifySvid (and `crls` when given). Host names are not checked: the SPIFFE ID is
//    the identity.
//  - Attested TLS (`attested`): the server's leaf must carry TEE evidence in the TCG DICE
//    tagged-evidence extension whose report_data binds the certificate's key
//    (pki/attested_tls.h); the evidence must verify with crypta's verifiers (sim: only with
//    `allow_simulated` and against `sim_root_pem`), and its measurement must be one of
//    `measurements` when that list is non-empty; debug TEEs only with `allow_debug`; Intel
//    TDX/SGX evidence without both CRLs only with `allow_missing_revocation`.
// `client_cert_pem` (leaf first, then intermediates) and `client_key_pem` present a client
// certificate (an SVID) for mTLS.
struct TlsOptions {
  std::string ca_bundle_pem;
  std::string trust_domain = "crypta.local";
  std::vector<std::string> expected_spiffe_ids;
  std::vector<Bytes> crls;
  bool attested = false;
  bool allow_simulated = false;
  bool allow_debug = false;
  bool allow_missing_revocation = false;
  std::string sim_root_pem;
  std::vector<Bytes> measurements;
  std::string client_cert_pem;
  std::string client_key_pem;
  int64_t now = 0;  // verification time (Unix seconds); 0 = the clock
};

struct TransportOptions {
  int connect_timeout_ms = 5000;
  int read_timeout_ms = 60000;  // a large model on 2 cores may take a while
  int write_timeout_ms = 60000;
  size_t max_response_bytes = (64u << 20) + 4096;  // OHTTP responses carry whole tensors
  TlsOptions tls;                                  // for https:// URLs
};

// A POST whose request body may be produced while it is sent and whose response body is
// handed over as it arrives (chunked OHTTP, streamed generation).
struct HttpStreamCall {
  std::string content_type;
  // More request header fields (e.g. Incremental: ?1).
  std::vector<std::pair<std::string, std::string>> headers;
  // The request body: `body`, or, when `next_body` is set, the pieces it returns until
  // nullopt, each sent (HTTP/1.1 chunked transfer encoding) as soon as it is produced (a view
  // the caller keeps valid until the next call). An error from it aborts the call with that
  // error.
  ByteSpan body;
  std::function<Result<std::optional<ByteSpan>>()> next_body;
  // With next_body: the pieces' total, when known up front; the body then goes with
  // Content-Length instead of chunked coding (the server can size its buffer once).
  std::optional<uint64_t> body_length;
  // The status and Content-Type, once, before any of the body. An error aborts the call
  // with that error.
  std::function<Status(int status, const std::string& content_type)> on_head;
  // Each piece of the response body as it arrives. An error aborts the call with that error.
  std::function<Status(ByteSpan piece)> on_body;
};

// Thread-safe implementations only: one VerifiedService may serve many threads.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // `path` starts with '/' and may hold a query. Any HTTP status is a reply (the caller
  // judges it); an unreachable server or a timeout is kUnavailable (the message says
  // which), a body over the cap kResourceExhausted.
  virtual Result<HttpReply> Get(const std::string& path, size_t max_response_bytes) const = 0;
  virtual Result<HttpReply> Post(const std::string& path, std::string_view content_type,
                                 ByteSpan body, size_t max_response_bytes) const = 0;
  // `call` against `path`: on_head, then on_body as the response arrives; OK once the whole
  // response arrived (and every handler accepted it). Errors as Post, or the first handler
  // error. The default collects the request body, calls Post and hands over the reply whole
  // (for transports that cannot stream).
  virtual Status PostStreaming(const std::string& path, HttpStreamCall& call,
                               size_t max_response_bytes) const;
  // "http(s)://HOST:PORT", for messages.
  virtual const std::string& base_url() const = 0;
};

// A transport for `base_url` ("http://HOST:PORT" or "https://HOST:PORT", an optional
// trailing '/'). Over plain HTTP the confidentiality of requests comes from OHTTP, and their
// integrity and the service's identity from attestation; https:// adds a TLS channel whose
// server is authenticated as options.tls says (kInvalidArgument when https:// has neither a
// CA bundle nor attested TLS). A server that fails those checks makes each call fail with
// kUnauthenticated ("TLS peer check failed: …") before anything is sent.
// kInvalidArgument for another form. Each call opens its own connection.
Result<std::shared_ptr<const HttpTransport>> MakeHttpTransport(
    std::string_view base_url, const TransportOptions& options = {});

}  // namespace crypta::client

#endif  // CRYPTA_CLIENT_HTTP_TRANSPORT_H_
