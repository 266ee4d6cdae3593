// The client's HTTP transport over cpp-httplib (the only file of src/client that includes
// it): one httplib::Client per call, explicit timeouts, and a receiver that stops reading
// once a response passes its size cap instead of buffering it.
#include "client/http_transport.h"

#include <httplib.h>

#include <utility>

namespace crypta::client {
namespace {

void SetTimeout(httplib::Client& client, int connect_ms, int read_ms, int write_ms) {
  auto split = [](int ms) { return std::pair<time_t, time_t>(ms / 1000, (ms % 1000) * 1000); };
  auto [cs, cus] = split(connect_ms);
  auto [rs, rus] = split(read_ms);
  auto [ws, wus] = split(write_ms);
  client.set_connection_timeout(cs, cus);
  client.set_read_timeout(rs, rus);
  client.set_write_timeout(ws, wus);
}

class HttplibTransport : public HttpTransport {
 public:
  HttplibTransport(std::string base_url, TransportOptions options)
      : base_url_(std::move(base_url)), options_(options) {}

  Result<HttpReply> Get(const std::string& path, size_t max_response_bytes) const override {
    return Send("GET", path, "", {}, max_response_bytes);
  }
  Result<HttpReply> Post(const std::string& path, std::string_view content_type, ByteSpan body,
                         size_t max_response_bytes) const override {
    return Send("POST", path, content_type, body, max_response_bytes);
  }
  const std::string& base_url() const override { return base_url_; }

 private:
  Result<HttpReply> Send(const char* method, const std::string& path, std::string_view content_type,
                         ByteSpan body, size_t cap) const {
    if (path.empty() || path[0] != '/') {
      return MakeError(ErrorCode::kInvalidArgument, "request path must start with '/'");
    }
    cap = std::min(cap, options_.max_response_bytes);
    httplib::Client client(base_url_);
    SetTimeout(client, options_.connect_timeout_ms, options_.read_timeout_ms,
               options_.write_timeout_ms);
    client.set_url_encode(false);  // callers build paths from checked characters only
    client.set_keep_alive(false);
    httplib::Request req;
    req.method = method;
    req.path = path;
    if (!content_type.empty()) {
      req.body.assign(reinterpret_cast<const char*>(body.data()), body.size());
      req.headers.emplace("Content-Type", std::string(content_type));
    }
    std::string received;
    bool too_large = false;
    req.content_receiver = [&](const char* data, size_t length, uint64_t, uint64_t) {
      if (received.size() + length > cap) {
        too_large = true;
        return false;
      }
      received.append(data, length);
      return true;
    };
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    const bool sent = client.send(req, res, error);
    if (too_large) {
      return MakeError(ErrorCode::kResourceExhausted, base_url_ + path.substr(0, path.find('?')) +
                                                          ": response is over " +
                                                          std::to_string(cap) + " bytes");
    }
    if (!sent) {
      const std::string why = error == httplib::Error::Read || error == httplib::Error::Write
                                  ? "timed out or connection lost"
                                  : httplib::to_string(error);
      return MakeError(ErrorCode::kUnavailable,
                       "cannot reach the service at " + base_url_ + " (" + why + ")");
    }
    HttpReply reply;
    reply.status = res.status;
    reply.content_type = res.get_header_value("Content-Type");
    reply.body = std::move(received);
    return reply;
  }

  std::string base_url_;
  TransportOptions options_;
};

}  // namespace

Result<std::shared_ptr<const HttpTransport>> MakeHttpTransport(std::string_view base_url,
                                                               const TransportOptions& options) {
  std::string url(base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("https://", 0) == 0) {
    return MakeError(ErrorCode::kUnimplemented,
                     "https:// is not implemented: use the service's http:// URL (requests are "
                     "end-to-end encrypted with OHTTP to the attested key)");
  }
  if (url.rfind("http://", 0) != 0 || url.size() == 7 || url.size() > 2048 ||
      url.find_first_of("/?#@ \t\r\n", 7) != std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "service URL must be http://HOST:PORT, got \"" + url.substr(0, 200) + "\"");
  }
  if (options.connect_timeout_ms <= 0 || options.read_timeout_ms <= 0 ||
      options.write_timeout_ms <= 0 || options.max_response_bytes == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "transport timeouts and cap must be positive");
  }
  return std::shared_ptr<const HttpTransport>(
      std::make_shared<HttplibTransport>(std::move(url), options));
}

}  // namespace crypta::client
