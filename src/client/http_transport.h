// The client SDK's view of HTTP: two calls (GET, POST) against one service, with
// timeouts and a response size cap. An interface so the verification and OHTTP logic can
// be tested without sockets (tests inject a fake); cpp-httplib stays inside
// http_transport.cc.
#ifndef CRYPTA_CLIENT_HTTP_TRANSPORT_H_
#define CRYPTA_CLIENT_HTTP_TRANSPORT_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace crypta::client {

struct HttpReply {
  int status = 0;
  std::string content_type;  // the Content-Type header, "" when absent
  std::string body;
};

struct TransportOptions {
  int connect_timeout_ms = 5000;
  int read_timeout_ms = 60000;  // a large model on 2 cores may take a while
  int write_timeout_ms = 60000;
  size_t max_response_bytes = (64u << 20) + 4096;  // OHTTP responses carry whole tensors
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
  // "http://HOST:PORT", for messages.
  virtual const std::string& base_url() const = 0;
};

// A transport for `base_url` ("http://HOST:PORT", an optional trailing '/'). Plain HTTP
// only: the confidentiality of requests comes from OHTTP, and their integrity and the
// service's identity from attestation, not from TLS. kInvalidArgument for another form,
// kUnimplemented for https://. Each call opens its own connection.
Result<std::shared_ptr<const HttpTransport>> MakeHttpTransport(
    std::string_view base_url, const TransportOptions& options = {});

}  // namespace crypta::client

#endif  // CRYPTA_CLIENT_HTTP_TRANSPORT_H_
