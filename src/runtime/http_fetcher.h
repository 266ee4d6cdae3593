// The runtime's outbound HTTP, behind an interface so the boot sequence can be tested with a
// fake control plane. NewHttpFetcher (http_fetcher.cc) is the only cpp-httplib client TU.
#ifndef CRYPTA_RUNTIME_HTTP_FETCHER_H_
#define CRYPTA_RUNTIME_HTTP_FETCHER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace crypta::runtime {

struct FetchRequest {
  std::string method = "GET";
  std::string path;  // starts with '/', query included
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;
  size_t max_response_bytes = 1 << 20;
};

struct FetchResponse {
  int status = 0;
  std::string body;
  std::vector<std::string> set_cookies;  // values of every Set-Cookie header
};

class HttpFetcher {
 public:
  virtual ~HttpFetcher() = default;
  // Sends one request. kUnavailable when the server cannot be reached or times out,
  // kResourceExhausted when the body exceeds max_response_bytes. Any HTTP status is a
  // successful Send.
  virtual Result<FetchResponse> Send(const FetchRequest& request) = 0;
};

struct FetcherOptions {
  int connect_timeout_s = 10;
  int read_timeout_s = 120;  // model blobs can be large
  // For https:// URLs: the control plane's CA certificate (PEM), the only trust anchor.
  std::string ca_cert_path;
};

// A fetcher for "https://host:port" (the control plane's CA pinned) or "http://host:port"
// (a control plane run with --insecure-http). What matters is authenticated end to end
// anyway — the DEK by the JWE to the TEE key, the model by the digest in the measured
// reference — TLS adds confidentiality of metadata. kInvalidArgument for another scheme or
// https without a CA. Thread-safe: each Send opens its own connection.
Result<std::unique_ptr<HttpFetcher>> NewHttpFetcher(std::string_view base_url,
                                                    FetcherOptions options = {});

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_HTTP_FETCHER_H_
