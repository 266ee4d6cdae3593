// The only cpp-httplib client code of crypta-runtime.
#include "runtime/http_fetcher.h"

#include <httplib.h>

#include <optional>

namespace crypta::runtime {
namespace {

class HttplibFetcher : public HttpFetcher {
 public:
  HttplibFetcher(std::string base_url, FetcherOptions options)
      : base_url_(std::move(base_url)), options_(options) {}

  Result<FetchResponse> Send(const FetchRequest& request) override {
    httplib::Client client(base_url_);
    client.set_connection_timeout(options_.connect_timeout_s);
    client.set_read_timeout(options_.read_timeout_s);
    client.set_write_timeout(options_.read_timeout_s);
    if (!options_.ca_cert_path.empty()) {
      client.set_ca_cert_path(options_.ca_cert_path);
      client.enable_server_certificate_verification(true);
    }
    httplib::Headers headers;
    for (const auto& [name, value] : request.headers) headers.emplace(name, value);

    FetchResponse out;
    bool too_big = false;
    auto receiver = [&](const char* data, size_t length) {
      if (out.body.size() + length > request.max_response_bytes) {
        too_big = true;
        return false;
      }
      out.body.append(data, length);
      return true;
    };
    std::optional<httplib::Result> result;
    try {
      if (request.method == "GET") {
        result.emplace(client.Get(request.path, headers, receiver));
      } else if (request.method == "POST") {
        // POST bodies here are small JSON; the response is read whole (and capped below).
        result.emplace(client.Post(request.path, headers, request.body, request.content_type));
        if (*result) out.body = (*result)->body;
      } else {
        return MakeError(ErrorCode::kInvalidArgument, "unsupported method " + request.method);
      }
    } catch (const std::exception&) {
      return MakeError(ErrorCode::kUnavailable, "HTTP client failure talking to " + base_url_);
    }
    if (too_big || out.body.size() > request.max_response_bytes) {
      return MakeError(ErrorCode::kResourceExhausted,
                       request.path.substr(0, request.path.find('?')) + ": response over " +
                           std::to_string(request.max_response_bytes) + " bytes");
    }
    if (!*result) {
      return MakeError(ErrorCode::kUnavailable, "cannot reach the control plane at " + base_url_ +
                                                    " (" + httplib::to_string(result->error()) +
                                                    ")");
    }
    const httplib::Response& response = **result;
    out.status = response.status;
    for (auto [it, end] = response.headers.equal_range("Set-Cookie"); it != end; ++it) {
      out.set_cookies.push_back(it->second);
    }
    return out;
  }

 private:
  std::string base_url_;
  FetcherOptions options_;
};

}  // namespace

Result<std::unique_ptr<HttpFetcher>> NewHttpFetcher(std::string_view base_url,
                                                    FetcherOptions options) {
  std::string url(base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  const bool https = url.starts_with("https://");
  if ((!https && !url.starts_with("http://")) || url.size() <= (https ? 8u : 7u)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--broker: want https://HOST:PORT (or http://), got " + url);
  }
  if (https && options.ca_cert_path.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--broker is https://: pass the control plane's CA certificate with "
                     "--broker-ca FILE");
  }
  if (!https) options.ca_cert_path.clear();
  return std::unique_ptr<HttpFetcher>(std::make_unique<HttplibFetcher>(url, options));
}

}  // namespace crypta::runtime
