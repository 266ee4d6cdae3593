#include "net/http_exchange.h"

#include <exception>
#include <utility>

namespace crypta::net::internal {
namespace {

bool HasCrLf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool IsServerOwnedHeader(std::string_view name) {
  return IEquals(name, "Content-Length") || IEquals(name, "Transfer-Encoding") ||
         IEquals(name, "Connection") || IEquals(name, "Keep-Alive");
}

std::string_view DefaultDetail(int status) {
  switch (status) {
    case 404:
      return "no route for this method and path";
    case 500:
      return "the request handler failed";
    default:
      return "request failed";
  }
}

}  // namespace

void SetPathAndParams(httplib::Request& req) {
  const size_t q = req.target.find('?');
  req.path = httplib::detail::decode_url(req.target.substr(0, q), false);
  req.params.clear();
  if (q != std::string::npos)
    httplib::detail::parse_query_text(req.target.substr(q + 1), req.params);
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 422:
      return "Unprocessable Content";
    case 425:
      return "Too Early";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string ProblemJson(int status, std::string_view detail) {
  std::string out = R"({"type":"about:blank","title":")";
  out += ReasonPhrase(status);
  out += R"(","status":)";
  out += std::to_string(status);
  out += R"(,"detail":")";
  out += detail;
  out += R"("})";
  return out;
}

std::string ResponseHead(const httplib::Response& res, std::optional<uint64_t> content_length,
                         bool keep_alive, int64_t keep_alive_timeout_s, size_t requests_left) {
  std::string head = "HTTP/1.1 " + std::to_string(res.status) + " ";
  head += ReasonPhrase(res.status);
  head += "\r\n";
  bool has_content_type = false;
  for (const auto& [name, value] : res.headers) {
    if (name.empty() || HasCrLf(name) || HasCrLf(value) || IsServerOwnedHeader(name)) continue;
    if (IEquals(name, "Content-Type")) has_content_type = true;
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  const bool has_content = content_length != 0 || res.content_provider_ != nullptr;
  if (!has_content_type && has_content) head += "Content-Type: text/plain\r\n";
  if (content_length) {
    head += "Content-Length: " + std::to_string(*content_length) + "\r\n";
  } else {
    head += "Transfer-Encoding: chunked\r\n";
  }
  if (keep_alive) {
    head += "Keep-Alive: timeout=" + std::to_string(keep_alive_timeout_s) +
            ", max=" + std::to_string(requests_left) + "\r\n";
  } else {
    head += "Connection: close\r\n";
  }
  head += "\r\n";
  return head;
}

bool WantsClose(const httplib::Response& res) {
  auto [begin, end] = res.headers.equal_range("Connection");
  for (auto it = begin; it != end; ++it) {
    if (IEquals(it->second, "close")) return true;
  }
  return false;
}

void Router::Add(const std::string& method, const std::string& pattern,
                 HttpServer::Handler handler) {
  routes_.push_back(Route{method, std::regex(pattern), std::move(handler), nullptr});
}

void Router::Add(const std::string& method, const std::string& pattern,
                 HttpServer::HandlerWithContentReader handler) {
  reader_routes_.push_back(Route{method, std::regex(pattern), nullptr, std::move(handler)});
}

void Router::Add(const std::string& method, const std::string& pattern,
                 HttpServer::ObserverFactory factory, HttpServer::ObservedHandler handler) {
  Route route{method, std::regex(pattern), nullptr, nullptr};
  route.factory = std::move(factory);
  route.observed_handler = std::move(handler);
  observed_routes_.push_back(std::move(route));
}

std::unique_ptr<BodyObserver> Router::MakeObserver(httplib::Request& req) const {
  for (const Route& route : observed_routes_) {
    if (route.method != req.method || !std::regex_match(req.path, req.matches, route.pattern)) {
      continue;
    }
    try {
      return route.factory(req);
    } catch (...) {
      return nullptr;
    }
  }
  return nullptr;
}

bool Router::RouteRequest(httplib::Request& req, httplib::Response& res,
                          BodyObserver* observer) const {
  for (const Route& route : observed_routes_) {
    if (route.method != req.method || !std::regex_match(req.path, req.matches, route.pattern)) {
      continue;
    }
    route.observed_handler(req, res, observer);
    return true;
  }
  for (const Route& route : reader_routes_) {
    if (route.method != req.method || !std::regex_match(req.path, req.matches, route.pattern)) {
      continue;
    }
    // As in httplib, a ContentReader route sees an empty req.body and reads through the reader.
    std::string body = std::move(req.body);
    req.body.clear();
    httplib::ContentReader reader(
        [&body](httplib::ContentReceiver receiver) {
          return body.empty() || receiver(body.data(), body.size());
        },
        [](httplib::MultipartContentHeader, httplib::ContentReceiver) { return false; });
    route.reader_handler(req, res, reader);
    return true;
  }
  for (const Route& route : routes_) {
    if (route.method != req.method || !std::regex_match(req.path, req.matches, route.pattern)) {
      continue;
    }
    route.handler(req, res);
    return true;
  }
  return false;
}

void Router::Dispatch(httplib::Request& req, httplib::Response& res, int preset_status,
                      std::string_view preset_detail, BodyObserver* observer) const {
  std::string_view detail = preset_detail;
  if (preset_status > 0) {
    res.status = preset_status;
  } else {
    bool routed = false;
    try {
      routed = RouteRequest(req, res, observer);
      if (res.status == -1) res.status = routed ? 200 : 404;
    } catch (...) {
      res = httplib::Response();
      res.status = 500;
    }
    detail = DefaultDetail(res.status);
  }
  if (res.status >= 400 && error_handler_) {
    try {
      error_handler_(req, res);
    } catch (...) {
      res = httplib::Response();
      res.status = 500;
      detail = DefaultDetail(500);
    }
  }
  if (res.status >= 400 && res.body.empty() && res.content_provider_ == nullptr) {
    res.set_content(ProblemJson(res.status, detail), "application/problem+json");
  }
}

}  // namespace crypta::net::internal
