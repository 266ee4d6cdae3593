#include "runtime/oip_router.h"

#include <vector>

namespace crypta::runtime {
namespace {

using nlohmann::json;

// Splits "/v2/models/m/infer" into {"v2","models","m","infer"}; empty segments are kept
// so "/v2//models" does not alias "/v2/models".
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path[0] != '/') return out;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

int HttpStatusFor(ErrorCode code, bool rate_limit) {
  // A model that breaks its own signature is the server's fault here, not a conflict.
  if (code == ErrorCode::kFailedPrecondition) return 500;
  if (code == ErrorCode::kResourceExhausted && rate_limit) return 429;
  return HttpStatusForError(code);
}

HttpReply JsonReply(int status, const json& body) {
  return HttpReply{status, "application/json", body.dump()};
}

HttpReply ErrorReply(int status, std::string_view message) {
  // dump() with replacement: an error message is never allowed to make the reply fail.
  return HttpReply{
      status, "application/json",
      json{{"error", std::string(message)}}.dump(-1, ' ', false, json::error_handler_t::replace)};
}

std::string RouteLabel(std::string_view path) {
  if (path == "/v1/attestation" || path == "/v1/ohttp" || path == "/predict" ||
      path == "/metrics" || path == "/v2" || path == "/v2/health/live" ||
      path == "/v2/health/ready") {
    return std::string(path);
  }
  std::vector<std::string_view> s = Segments(path);
  if (s.size() == 3 && s[0] == "v2" && s[1] == "models") return "/v2/models/{model}";
  if (s.size() == 4 && s[0] == "v2" && s[1] == "models" &&
      (s[3] == "ready" || s[3] == "infer" || s[3] == "generate" || s[3] == "generate_stream")) {
    return "/v2/models/{model}/" + std::string(s[3]);
  }
  return "other";
}

HttpReply CollectStream(HttpReply reply) {
  if (!reply.stream) return reply;
  HttpReply::Stream stream = std::move(reply.stream);
  reply.stream = nullptr;
  while (true) {
    Result<std::optional<std::string>> piece = stream();
    if (!piece) return ErrorReply(HttpStatusFor(piece.error().code()), piece.error().message());
    if (!*piece) return reply;
    reply.body += **piece;
  }
}

bool OipRouter::Owns(std::string_view path) { return path == "/v2" || path.starts_with("/v2/"); }

HttpReply OipRouter::Handle(const HttpCall& call) const {
  const std::vector<std::string_view> s = Segments(call.path);
  const bool get = call.method == "GET" || call.method == "HEAD";
  auto method_not_allowed = [] { return ErrorReply(405, "method not allowed"); };

  if (s.size() == 1 && s[0] == "v2") {
    if (!get) return method_not_allowed();
    return JsonReply(200, {{"name", "crypta-runtime"},
                           {"version", "0.1.0"},
                           {"extensions", json::array({"binary_tensor_data"})}});
  }
  if (s.size() == 3 && s[0] == "v2" && s[1] == "health" && (s[2] == "live" || s[2] == "ready")) {
    if (!get) return method_not_allowed();
    // The server only listens once the model is loaded, so ready == live.
    return JsonReply(200, json::object());
  }
  if (s.size() >= 3 && s.size() <= 4 && s[0] == "v2" && s[1] == "models") {
    if (s[2] != service_->name()) {
      // Inside the encrypted channel, to a client that verified this runtime: say what is served.
      std::string asked(s[2].substr(0, 128));
      for (char& c : asked) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '"') c = '?';
      }
      return ErrorReply(
          404, "unknown model \"" + asked + "\"; this runtime serves \"" + service_->name() + "\"");
    }
    if (s.size() == 3) {
      if (!get) return method_not_allowed();
      return JsonReply(200, service_->Metadata());
    }
    if (s[3] == "ready") {
      if (!get) return method_not_allowed();
      return JsonReply(200, json::object());
    }
    if (s[3] == "infer") {
      if (call.method != "POST") return method_not_allowed();
      Result<InferPayload> out = service_->Infer(call.body, call.inference_header_length);
      if (!out) return ErrorReply(HttpStatusFor(out.error().code()), out.error().message());
      if (!out->json_length) return HttpReply{200, "application/json", std::move(out->body), {}};
      return HttpReply{200,
                       "application/octet-stream",
                       std::move(out->body),
                       {{"Inference-Header-Content-Length", std::to_string(*out->json_length)}}};
    }
    if (s[3] == "generate" || s[3] == "generate_stream") {
      if (call.method != "POST") return method_not_allowed();
      Result<std::unique_ptr<TokenStream>> tokens = service_->Generate(call.body);
      if (!tokens)
        return ErrorReply(HttpStatusFor(tokens.error().code()), tokens.error().message());
      if (s[3] == "generate") {
        std::string text;
        while (true) {
          Result<std::optional<std::string>> token = (*tokens)->Next();
          if (!token)
            return ErrorReply(HttpStatusFor(token.error().code()), token.error().message());
          if (!*token) break;
          text += **token;
        }
        return JsonReply(200, {{"model_name", service_->name()}, {"text_output", text}});
      }
      // Server-sent events: a model failure after the first token is one error event that
      // ends the stream (the status is already sent).
      HttpReply reply{200, "text/event-stream", "", {}};
      reply.stream = [tokens = std::shared_ptr<TokenStream>(std::move(*tokens)),
                      model = service_->name(),
                      done = false]() mutable -> Result<std::optional<std::string>> {
        if (done) return std::optional<std::string>();
        Result<std::optional<std::string>> token = tokens->Next();
        if (!token || !*token) done = true;
        if (!token) return std::optional<std::string>(GenerateErrorEvent(token.error().message()));
        if (!*token) return std::optional<std::string>();
        return std::optional<std::string>(GenerateEvent(model, **token));
      };
      return reply;
    }
  }
  return ErrorReply(404, "no such route");
}

}  // namespace crypta::runtime
