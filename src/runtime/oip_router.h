// The Open Inference Protocol v2 routes of crypta-runtime (DESIGN.md §4.6), transport-free:
// the plain HTTP server (with --allow-plaintext-infer) and the OHTTP gateway (always) turn
// their requests into an HttpCall and answer with the HttpReply.
//
//   GET  /v2/health/live, /v2/health/ready   -> 200 {} (ready only once the model is loaded)
//   GET  /v2                                 -> {"name":"crypta-runtime","version",...}
//   GET  /v2/models/<m>                      -> model metadata (ModelService::Metadata)
//   GET  /v2/models/<m>/ready                -> 200 {} or 404 for another model name
//   POST /v2/models/<m>/infer                -> ModelService::Infer
// Errors are {"error":"…"} with 400 (bad input), 404 (unknown route or model), 405, 413,
// 500/503 (the model failed). Error bodies never quote request content.
#ifndef CRYPTA_RUNTIME_OIP_ROUTER_H_
#define CRYPTA_RUNTIME_OIP_ROUTER_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "runtime/metrics.h"

namespace crypta::runtime {

struct HttpCall {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// The loaded model behind the OIP routes. Implementations are thread-safe.
class ModelService {
 public:
  virtual ~ModelService() = default;
  // The OIP model name (--model-name).
  virtual const std::string& name() const = 0;
  // GET /v2/models/<m> body.
  virtual nlohmann::json Metadata() const = 0;
  // An OIP inference request body -> response body. kInvalidArgument for bad input (the
  // message names the field, never the values); other codes when the model fails.
  virtual Result<std::string> Infer(std::string_view request_body) = 0;
  // The batcher's counters, when the service batches.
  virtual std::optional<BatchStatsView> BatchStats() const { return std::nullopt; }
};

// HTTP status for an error code: kInvalidArgument/kOutOfRange 400, kUnauthenticated 401,
// kPermissionDenied 403, kNotFound 404, kAlreadyExists 409, kResourceExhausted 413 (or 429
// when `rate_limit` is true), kUnavailable 503, others 500.
int HttpStatusFor(ErrorCode code, bool rate_limit = false);

// {"error": message} as a reply.
HttpReply ErrorReply(int status, std::string_view message);
HttpReply JsonReply(int status, const nlohmann::json& body);

// The bounded route label used in metrics for a path (e.g. "/v2/models/{model}/infer";
// "other" for anything unknown).
std::string RouteLabel(std::string_view path);

class OipRouter {
 public:
  // `service` must outlive the router.
  explicit OipRouter(ModelService* service) : service_(service) {}
  // Handles one OIP call. Thread-safe.
  HttpReply Handle(const HttpCall& call) const;
  // True for paths this router answers (/v2 and below).
  static bool Owns(std::string_view path);

 private:
  ModelService* service_;
};

}  // namespace crypta::runtime

#endif  // CRYPTA_RUNTIME_OIP_ROUTER_H_
