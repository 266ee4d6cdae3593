// The Open Inference Protocol v2 routes of crypta-runtime (DESIGN.md §4.6), transport-free:
// the plain HTTP server (with --allow-plaintext-infer) and the OHTTP gateway (always) turn
// their requests into an HttpCall and answer with the HttpReply.
//
//   GET  /v2/health/live, /v2/health/ready   -> 200 {} (ready only once the model is loaded)
//   GET  /v2                                 -> {"name":"crypta-runtime","version",...}
//   GET  /v2/models/<m>                      -> model metadata (ModelService::Metadata)
//   GET  /v2/models/<m>/ready                -> 200 {} or 404 for another model name
//   POST /v2/models/<m>/infer                -> ModelService::Infer (JSON, or the binary tensor
//                                               data extension with
//                                               Inference-Header-Content-Length)
//   POST /v2/models/<m>/generate             -> ModelService::Generate, the whole text
//   POST /v2/models/<m>/generate_stream      -> the same as server-sent events, one per token,
//                                               streamed (HttpReply::stream); generation.h
// Errors are {"error":"…"} with 400 (bad input), 404 (unknown route or model), 405, 413,
// 500/503 (the model failed). Error bodies never quote request content.
#ifndef CRYPTA_RUNTIME_OIP_ROUTER_H_
#define CRYPTA_RUNTIME_OIP_ROUTER_H_

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "runtime/generation.h"
#include "runtime/metrics.h"

namespace crypta::runtime {

// One call; `body` and the header view borrow the caller's buffers for the call's duration.
struct HttpCall {
  HttpCall() = default;
  HttpCall(std::string method_in, std::string path_in, std::string_view body_in = {},
           std::optional<std::string_view> header_length = std::nullopt)
      : method(std::move(method_in)),
        path(std::move(path_in)),
        body(body_in),
        inference_header_length(header_length) {}
  std::string method;     // "GET", "POST", ...
  std::string path;       // without the query
  std::string_view body;  // not copied
  // Inference-Header-Content-Length (OIP binary tensor data extension), when present.
  std::optional<std::string_view> inference_header_length;
};

struct HttpReply {
  HttpReply() = default;
  HttpReply(int status_in, std::string type, std::string body_in,
            std::vector<std::pair<std::string, std::string>> headers_in = {})
      : status(status_in),
        content_type(std::move(type)),
        body(std::move(body_in)),
        headers(std::move(headers_in)) {}
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra response header fields (name as sent over HTTP/1.1; lowercased inside BHTTP).
  std::vector<std::pair<std::string, std::string>> headers;
  // A streamed body (then `body` is empty): each call returns the next piece, nullopt at the
  // end. An error means the stream broke: transports end it so that the client sees it cut
  // off (never as a complete answer). Called from one thread at a time.
  using Stream = std::function<Result<std::optional<std::string>>()>;
  Stream stream;
};

// The whole body of a reply, draining its stream if it has one (an error leaves the reply a
// 500 with the error).
HttpReply CollectStream(HttpReply reply);

// An OIP inference response body; json_length is set when binary tensor data follows the
// JSON (then sent as Inference-Header-Content-Length with application/octet-stream).
struct InferPayload {
  std::string body;
  std::optional<size_t> json_length;
};

// The loaded model behind the OIP routes. Implementations are thread-safe.
class ModelService {
 public:
  virtual ~ModelService() = default;
  // The OIP model name (--model-name).
  virtual const std::string& name() const = 0;
  // GET /v2/models/<m> body.
  virtual nlohmann::json Metadata() const = 0;
  // An OIP inference request body (with its Inference-Header-Content-Length, if any) ->
  // response body. kInvalidArgument for bad input, a bad header value included (the
  // message names the field, never the values); other codes when the model fails.
  virtual Result<InferPayload> Infer(std::string_view request_body,
                                     std::optional<std::string_view> inference_header_length) = 0;
  // POST /v2/models/<m>/generate[_stream]: a token stream for a generate request body
  // (generation.h). kNotFound ("… does not generate text") for models without a generation
  // config; kInvalidArgument for a bad request.
  virtual Result<std::unique_ptr<TokenStream>> Generate(std::string_view request_body) {
    (void)request_body;
    return MakeError(ErrorCode::kNotFound, "model \"" + name() + "\" does not generate text");
  }
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
