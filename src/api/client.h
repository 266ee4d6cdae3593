// A small HTTP client for the control plane's admin API (src/api/server.h), used by the
// `crypta` CLI. cpp-httplib stays inside client.cc.
//
// Failures are Errors: RFC 7807 problem details (application/problem+json) become an Error
// whose message is the problem's "detail" and whose code follows the HTTP status (400
// kInvalidArgument, 401 kUnauthenticated, 403 kPermissionDenied, 404 kNotFound, 409
// kAlreadyExists, 413 kResourceExhausted, 5xx kInternal, other statuses kFailedPrecondition).
// A connection failure is kUnavailable "cannot reach the control plane at URL".
//
// Thread-safety: an ApiClient is immutable; each call opens its own connection, so calls
// may run concurrently.
#ifndef CRYPTA_API_CLIENT_H_
#define CRYPTA_API_CLIENT_H_

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace crypta::api {

class ApiClient {
 public:
  // Responses larger than this fail with kResourceExhausted.
  static constexpr size_t kMaxResponseBytes = 16 * 1024 * 1024;

  // `base_url` is "https://HOST:PORT" or, for a server run with --insecure-http,
  // "http://HOST:PORT" (a trailing '/' is ignored); kInvalidArgument otherwise. For https
  // `ca_cert_path` (PEM) is required and is the only trust anchor: the server certificate
  // must chain to it and name the host. `token` is sent as "Authorization: Bearer <token>";
  // it must be non-empty printable ASCII (kInvalidArgument otherwise).
  static Result<ApiClient> Create(std::string_view base_url, std::string_view token,
                                  std::string_view ca_cert_path = "");
  // The same without a token, for the public routes (the release log's reads).
  static Result<ApiClient> CreateAnonymous(std::string_view base_url,
                                           std::string_view ca_cert_path = "");

  // GET path (which must start with '/'; query included). Returns the parsed JSON body.
  Result<nlohmann::json> Get(const std::string& path) const;
  // GET path whose body is text (the release log's checkpoint), returned as is.
  Result<std::string> GetText(const std::string& path) const;
  // POST a JSON body.
  Result<nlohmann::json> Post(const std::string& path, const nlohmann::json& body) const;
  // PUT a raw body with the given content type (policies are sent as text).
  Result<nlohmann::json> Put(const std::string& path, const std::string& body,
                             const std::string& content_type) const;

  Result<nlohmann::json> Delete(const std::string& path) const;

  // GET a binary body streamed into a new file at `out_path` (0600, written atomically:
  // nothing appears there on failure; an existing file is replaced only with `overwrite`).
  // With `expected_sha256` (64 hex) the content must hash to it (kDataLoss otherwise).
  // Returns {"size": N, "digest": "sha256:<hex>"}.
  Result<nlohmann::json> GetToFile(const std::string& path, const std::string& out_path,
                                   bool overwrite, const std::string& expected_sha256) const;

  // Uploads a file in pieces of kUploadPieceBytes (below the server's body cap), adding
  // offset=N (and final=1 on the last piece) to `path`; returns the last reply.
  // `progress`, when set, is called after each piece with (bytes sent, file size).
  Result<nlohmann::json> PutFile(
      const std::string& path, const std::string& file_path,
      const std::function<void(uint64_t, uint64_t)>& progress = nullptr) const;
  static constexpr size_t kUploadPieceBytes = 512 * 1024;

  const std::string& base_url() const { return base_url_; }

  // Percent-encodes one path segment (RFC 3986 §2.1; unreserved characters kept).
  static std::string EncodeSegment(std::string_view segment);

 private:
  ApiClient(std::string base_url, std::string token, std::string ca_cert_path)
      : base_url_(std::move(base_url)),
        token_(std::move(token)),
        ca_cert_path_(std::move(ca_cert_path)) {}
  static Result<ApiClient> Open(std::string_view base_url, std::string_view token,
                                std::string_view ca_cert_path);
  Result<nlohmann::json> Send(const std::string& method, const std::string& path,
                              const std::string& body, const std::string& content_type) const;
  Result<std::string> Receive(const std::string& method, const std::string& path,
                              const std::string& body, const std::string& content_type) const;
  // One request; a 2xx body is passed to `sink` in pieces, an error body becomes the Error.
  Status Exchange(const std::string& method, const std::string& path, const std::string& body,
                  const std::string& content_type,
                  const std::function<Status(const char*, size_t)>& sink) const;

  std::string base_url_;
  std::string token_;
  std::string ca_cert_path_;
};

}  // namespace crypta::api

#endif  // CRYPTA_API_CLIENT_H_
