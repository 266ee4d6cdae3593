#include "runtime/generation.h"

#include <nlohmann/json.hpp>

#include "common/json_canonical.h"

namespace crypta::runtime {
namespace {

using nlohmann::json;

constexpr int kFirstChar = 32;  // ascii-printable: token i = character 32 + i

Error BadRequest(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "generate request: " + std::move(message));
}

}  // namespace

Result<GenerateRequest> ParseGenerateRequest(std::string_view body) {
  JsonParseLimits limits;
  limits.max_bytes = kMaxPromptBytes * 6 + 4096;  // a prompt of \u escapes
  limits.max_depth = 4;
  Result<json> parsed = ParseJsonStrict(body, limits);
  if (!parsed) return MakeError(BadRequest(parsed.error().message()));
  if (!parsed->is_object()) return MakeError(BadRequest("not a JSON object"));
  GenerateRequest request;
  for (const auto& [key, value] : parsed->items()) {
    if (key == "text_input") {
      if (!value.is_string()) return MakeError(BadRequest("\"text_input\" must be a string"));
      const std::string& text = value.get_ref<const std::string&>();
      if (text.empty() || text.size() > kMaxPromptBytes) {
        return MakeError(BadRequest("\"text_input\" must hold 1.." +
                                    std::to_string(kMaxPromptBytes) + " characters"));
      }
      request.prompt_ids.reserve(text.size());
      for (size_t i = 0; i < text.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c < kFirstChar || c > 126) {
          return MakeError(BadRequest("\"text_input\" character " + std::to_string(i) +
                                      " is not printable ASCII (the model's vocabulary)"));
        }
        request.prompt_ids.push_back(c - kFirstChar);
      }
    } else if (key == "parameters") {
      if (!value.is_object()) return MakeError(BadRequest("\"parameters\" must be an object"));
      for (const auto& [name, p] : value.items()) {
        if (name == "max_tokens") {
          if (!p.is_number_integer() || p.get<int64_t>() < 1 ||
              p.get<int64_t>() > kMaxGenerateTokens) {
            return MakeError(BadRequest("parameters.max_tokens must be an integer in 1.." +
                                        std::to_string(kMaxGenerateTokens)));
          }
          request.max_tokens = p.get<int>();
        } else if (name != "stream") {
          return MakeError(BadRequest("unknown parameter \"" + name.substr(0, 64) +
                                      "\" (supported: max_tokens)"));
        }
      }
    } else {
      return MakeError(BadRequest("unknown member \"" + key.substr(0, 64) + "\""));
    }
  }
  if (request.prompt_ids.empty()) return MakeError(BadRequest("\"text_input\" is required"));
  return request;
}

Result<std::optional<std::string>> TokenStream::Next() {
  if (failed_) return MakeError(*failed_);
  if (left_ <= 0) return std::optional<std::string>();
  const size_t window = static_cast<size_t>(config_.max_context);
  std::vector<int64_t> ids(ids_.size() > window ? ids_.end() - window : ids_.begin(), ids_.end());
  Result<std::vector<float>> logits = step_(ids);
  if (logits && logits->size() != static_cast<size_t>(config_.vocab)) {
    logits = MakeError(ErrorCode::kFailedPrecondition,
                       "the model returned " + std::to_string(logits->size()) +
                           " logits for a vocabulary of " + std::to_string(config_.vocab));
  }
  if (!logits) {
    failed_ = logits.error();
    return MakeError(*failed_);
  }
  int best = 0;
  for (int i = 1; i < config_.vocab; ++i) {
    if ((*logits)[i] > (*logits)[best]) best = i;
  }
  ids_.push_back(best);
  --left_;
  return std::optional<std::string>(std::string(1, static_cast<char>(kFirstChar + best)));
}

std::string GenerateEvent(std::string_view model, std::string_view text) {
  return "data: " +
         json{{"model_name", std::string(model)}, {"text_output", std::string(text)}}.dump(
             -1, ' ', false, json::error_handler_t::replace) +
         "\n\n";
}

std::string GenerateErrorEvent(std::string_view message) {
  return "data: " +
         json{{"error", std::string(message)}}.dump(-1, ' ', false,
                                                    json::error_handler_t::replace) +
         "\n\n";
}

}  // namespace crypta::runtime
