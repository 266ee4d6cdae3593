#include "client/transparency.h"

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>
#include <vector>

#include "api/client.h"
#include "common/encoding.h"
#include "transparency/client_check.h"

namespace crypta::client {
namespace {

using nlohmann::json;

// Creates the state file's directory when it is missing (the file itself is 0600).
Status MakeStateDir(const std::string& state_file) {
  const std::filesystem::path dir = std::filesystem::path(state_file).parent_path();
  if (dir.empty()) return OkStatus();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return MakeError(ErrorCode::kUnavailable,
                     "transparency state directory " + dir.string() + ": " + ec.message());
  }
  return OkStatus();
}

}  // namespace

Result<std::string> DefaultTransparencyStatePath(const transparency::NoteVerifier& verifier) {
  std::string base;
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && xdg[0] == '/') {
    base = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    base = std::string(home) + "/.local/state";
  } else {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "transparency: neither XDG_STATE_HOME nor HOME is set; give a state file "
                     "(--transparency-state)");
  }
  std::string name;
  for (char c : verifier.name) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '-' || c == '_';
    name += plain ? c : '_';
  }
  const uint8_t id[4] = {
      static_cast<uint8_t>(verifier.key_id >> 24), static_cast<uint8_t>(verifier.key_id >> 16),
      static_cast<uint8_t>(verifier.key_id >> 8), static_cast<uint8_t>(verifier.key_id)};
  return base + "/crypta/transparency/" + name + "-" + HexEncode(ByteSpan(id, 4)) + ".json";
}

Result<PublishedRelease> CheckPublished(const TransparencyExpectation& e,
                                        std::string_view measurement,
                                        std::string_view model_digest) {
  if (e.log_url.empty() || e.verifier_key.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "transparency: a log URL and the log's verifier key are both required");
  }
  Result<transparency::NoteVerifier> verifier = transparency::ParseVerifierKey(e.verifier_key);
  if (!verifier) return MakeError(verifier.error().WithContext("transparency: log key"));
  const std::string origin = e.origin.empty() ? verifier->name : e.origin;
  PublishedRelease out;
  out.state_file = e.state_file;
  if (out.state_file.empty()) {
    CRYPTA_ASSIGN_OR_RETURN(out.state_file, DefaultTransparencyStatePath(*verifier));
  }
  std::optional<transparency::TransparencyState> remembered;
  if (auto state = transparency::LoadTransparencyState(out.state_file); state) {
    remembered = std::move(*state);
  } else if (state.error().code() != ErrorCode::kNotFound) {
    return MakeError(state.error().WithContext("transparency"));
  }

  Result<api::ApiClient> log = api::ApiClient::CreateAnonymous(e.log_url, e.ca_cert_path);
  if (!log) return MakeError(log.error().WithContext("transparency: log"));
  std::string path =
      "/v1/transparency/prove?measurement=" + api::ApiClient::EncodeSegment(measurement) +
      "&model_digest=" + api::ApiClient::EncodeSegment(model_digest);
  if (!e.tenant.empty()) path += "&tenant=" + api::ApiClient::EncodeSegment(e.tenant);
  if (remembered) path += "&since=" + std::to_string(remembered->size);
  Result<json> answer = log->Get(path);
  if (!answer) {
    if (answer.error().code() == ErrorCode::kNotFound) {
      return MakeError(
          ErrorCode::kPermissionDenied,
          "transparency: not published: " + answer.error().message() + " at " + e.log_url);
    }
    return MakeError(answer.error().WithContext("transparency: log " + e.log_url));
  }
  Result<transparency::ProveAnswer> proof = transparency::ParseProveAnswer(*answer);
  if (!proof) return MakeError(proof.error().WithContext("transparency"));
  Result<transparency::TransparencyVerdict> verdict = transparency::CheckRelease(
      proof->checkpoint, *verifier, origin, proof->release.entry, proof->release.index,
      proof->inclusion, remembered, proof->consistency);
  if (!verdict) return MakeError(verdict.error().WithContext("transparency"));
  // The log proved this release is in it; it must also be the release of this service.
  const transparency::ReleaseEntry& r = proof->release.entry;
  if (r.measurement != measurement || r.model_digest != model_digest ||
      (!e.tenant.empty() && r.tenant != e.tenant)) {
    return MakeError(ErrorCode::kPermissionDenied, "transparency: the log answered with release " +
                                                       std::to_string(proof->release.index) +
                                                       " (tenant " + r.tenant + ", measurement " +
                                                       r.measurement + ", model " + r.model_digest +
                                                       "), not the attested service's");
  }
  CRYPTA_RETURN_IF_ERROR(MakeStateDir(out.state_file));
  if (Status saved = transparency::SaveTransparencyState(out.state_file, verdict->remember);
      !saved) {
    return MakeError(saved.error().WithContext("transparency: state file"));
  }
  out.release = std::move(proof->release);
  out.checkpoint = std::move(verdict->checkpoint);
  return out;
}

}  // namespace crypta::client
