// The httplib-facing half of HttpServer (crypta::net internal, no Asio here): the route table,
// filling in httplib::Request fields the way httplib does, and writing a response head.
// Router is immutable while the server runs, so Dispatch may run on many threads at once.
#ifndef CRYPTA_NET_HTTP_EXCHANGE_H_
#define CRYPTA_NET_HTTP_EXCHANGE_H_

#include <httplib.h>

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_server.h"

namespace crypta::net::internal {

// Sets req.path (the percent-decoded target up to '?') and req.params (the decoded query),
// from req.target.
void SetPathAndParams(httplib::Request& req);

// "Not Found" for 404, ... ("Unknown" for codes without a registered reason phrase).
std::string_view ReasonPhrase(int status);

// An RFC 7807 body: {"type":"about:blank","title":<reason>,"status":N,"detail":<detail>}.
// `detail` must not need JSON escaping (it is the server's own text).
std::string ProblemJson(int status, std::string_view detail);

// The status line and header fields of `res`, ending with the empty line. Sets Content-Length
// to `content_length`, or "Transfer-Encoding: chunked" when it is nullopt; adds
// "Connection: close" or "Keep-Alive" per `keep_alive`. Header fields the server owns
// (Content-Length, Transfer-Encoding, Connection, Keep-Alive) are taken from these arguments,
// not from res.headers; fields containing CR or LF are dropped.
std::string ResponseHead(const httplib::Response& res, std::optional<uint64_t> content_length,
                         bool keep_alive, int64_t keep_alive_timeout_s, size_t requests_left);

// True when a handler asked to close the connection ("Connection: close" in res.headers).
bool WantsClose(const httplib::Response& res);

class Router {
 public:
  void Add(const std::string& method, const std::string& pattern, HttpServer::Handler handler);
  void Add(const std::string& method, const std::string& pattern,
           HttpServer::HandlerWithContentReader handler);
  void Add(const std::string& method, const std::string& pattern,
           HttpServer::ObserverFactory factory, HttpServer::ObservedHandler handler);
  void SetErrorHandler(HttpServer::Handler handler) { error_handler_ = std::move(handler); }
  // The observer for a request whose header was read (req.path set): from the first observed
  // route that matches, nullptr if none matches or its factory declines. Never throws.
  std::unique_ptr<BodyObserver> MakeObserver(httplib::Request& req) const;
  bool has_observed_routes() const { return !observed_routes_.empty(); }

  // Produces the response to `req`: with preset_status > 0 (413, 431, ...) no route runs;
  // otherwise the first matching route (404 if none, 500 if it throws). Then, for a status
  // >= 400, the error handler, and a problem JSON if the body is still empty. Never throws.
  // `observer` is the request's BodyObserver (MakeObserver), for an observed route.
  void Dispatch(httplib::Request& req, httplib::Response& res, int preset_status,
                std::string_view preset_detail, BodyObserver* observer = nullptr) const;

 private:
  struct Route {
    std::string method;
    std::regex pattern;
    HttpServer::Handler handler;
    HttpServer::HandlerWithContentReader reader_handler;
    HttpServer::ObserverFactory factory;
    HttpServer::ObservedHandler observed_handler;
  };
  bool RouteRequest(httplib::Request& req, httplib::Response& res, BodyObserver* observer) const;

  std::vector<Route> observed_routes_;
  std::vector<Route> reader_routes_;
  std::vector<Route> routes_;
  HttpServer::Handler error_handler_;
};

}  // namespace crypta::net::internal

#endif  // CRYPTA_NET_HTTP_EXCHANGE_H_
