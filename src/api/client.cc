// The admin API client (client.h): one httplib::Client per call, problem details → Error.
#include "api/client.h"

#include <httplib.h>

#include <cstdio>
#include <memory>
#include <utility>
#include <vector>

#include "common/file_util.h"

namespace crypta::api {
namespace {

using nlohmann::json;

constexpr time_t kTimeoutSeconds = 30;

ErrorCode CodeForStatus(int status) {
  switch (status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kAlreadyExists;
    case 413:
      return ErrorCode::kResourceExhausted;
    default:
      return status >= 500 ? ErrorCode::kInternal : ErrorCode::kFailedPrecondition;
  }
}

// RFC 7807 §3.1: the "detail" member explains this occurrence; fall back to "title".
Error ProblemToError(int status, const std::string& body) {
  const json problem = json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string message = "HTTP " + std::to_string(status);
  if (problem.is_object()) {
    if (auto it = problem.find("detail"); it != problem.end() && it->is_string()) {
      message = it->get<std::string>();
    } else if (auto title = problem.find("title"); title != problem.end() && title->is_string()) {
      message = title->get<std::string>();
    }
  }
  return Error(CodeForStatus(status), message.substr(0, 4000));
}

}  // namespace

Result<ApiClient> ApiClient::Create(std::string_view base_url, std::string_view token) {
  std::string url(base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("https://", 0) == 0) {
    return MakeError(ErrorCode::kUnimplemented,
                     "TLS is not implemented yet: the control plane URL must be http://");
  }
  if (url.rfind("http://", 0) != 0 || url.size() == 7 || url.size() > 2048 ||
      url.find_first_of("/?#@ \t\r\n", 7) != std::string::npos) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "control plane URL must be http://HOST:PORT, got \"" + url.substr(0, 200) + "\"");
  }
  if (token.empty() || token.size() > 4096) {
    return MakeError(ErrorCode::kInvalidArgument, "API token is empty or too long");
  }
  for (char c : token) {
    if (c <= 0x20 || c >= 0x7f) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "API token must be printable ASCII without spaces");
    }
  }
  return ApiClient(std::move(url), std::string(token));
}

std::string ApiClient::EncodeSegment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

Result<json> ApiClient::Get(const std::string& path) const { return Send("GET", path, "", ""); }

Result<json> ApiClient::Post(const std::string& path, const json& body) const {
  return Send("POST", path, body.dump(), "application/json");
}

Result<json> ApiClient::Put(const std::string& path, const std::string& body,
                            const std::string& content_type) const {
  return Send("PUT", path, body, content_type);
}

Result<json> ApiClient::PutFile(const std::string& path, const std::string& file_path) const {
  // The control plane caps request bodies, so the file goes up in pieces: each PUT names
  // its offset, and the last one carries final=1 (the server then stores the whole file).
  CRYPTA_ASSIGN_OR_RETURN(InputFile file, InputFile::Open(file_path));
  const char* sep = path.find('?') == std::string::npos ? "?" : "&";
  Bytes piece;
  uint64_t offset = 0;
  while (true) {
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(kUploadPieceBytes, file.size() - offset));
    piece.resize(n);
    CRYPTA_RETURN_IF_ERROR(file.ReadAt(offset, piece));
    const bool last = offset + n == file.size();
    const std::string piece_path =
        path + sep + "offset=" + std::to_string(offset) + (last ? "&final=1" : "");
    CRYPTA_ASSIGN_OR_RETURN(json reply,
                            Send("PUT", piece_path, ToString(piece), "application/octet-stream"));
    offset += n;
    if (last) return reply;
  }
}

Result<json> ApiClient::Send(const std::string& method, const std::string& path,
                             const std::string& body, const std::string& content_type) const {
  if (path.empty() || path[0] != '/') {
    return MakeError(ErrorCode::kInvalidArgument, "request path must start with '/'");
  }
  httplib::Client client(base_url_);
  client.set_connection_timeout(kTimeoutSeconds);
  client.set_read_timeout(kTimeoutSeconds);
  client.set_write_timeout(kTimeoutSeconds);
  client.set_url_encode(false);  // callers encode path segments (EncodeSegment)

  httplib::Request req;
  req.method = method;
  req.path = path;
  req.headers.emplace("Authorization", "Bearer " + token_);
  req.headers.emplace("Accept", "application/json, application/problem+json");
  if (!content_type.empty()) {
    req.body = body;
    req.headers.emplace("Content-Type", content_type);
  }
  // Collect the body ourselves so an oversized response is cut off, not buffered.
  std::string received;
  bool too_large = false;
  req.content_receiver = [&](const char* data, size_t length, uint64_t, uint64_t) {
    if (received.size() + length > kMaxResponseBytes) {
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
    return MakeError(
        ErrorCode::kResourceExhausted,
        "control plane response is over " + std::to_string(kMaxResponseBytes) + " bytes");
  }
  if (!sent) {
    return MakeError(ErrorCode::kUnavailable, "cannot reach the control plane at " + base_url_ +
                                                  " (" + httplib::to_string(error) + ")");
  }
  if (res.status < 200 || res.status > 299) return MakeError(ProblemToError(res.status, received));
  if (received.empty()) return json::object();
  json parsed = json::parse(received, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return MakeError(ErrorCode::kDataLoss, "control plane response is not valid JSON");
  }
  return parsed;
}

}  // namespace crypta::api
