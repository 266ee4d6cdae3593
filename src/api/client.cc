// The admin API client (client.h): one httplib::Client per call, problem details → Error.
#include "api/client.h"

#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "common/file_util.h"
#include "crypto/hash.h"

namespace crypta::api {
namespace {

using nlohmann::json;

constexpr time_t kTimeoutSeconds = 30;
constexpr size_t kMaxProblemBytes = 64 * 1024;

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

Result<ApiClient> ApiClient::Open(std::string_view base_url, std::string_view token,
                                  std::string_view ca_cert_path) {
  std::string url(base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  const bool https = url.rfind("https://", 0) == 0;
  const size_t host_at = https ? 8 : 7;
  if ((!https && url.rfind("http://", 0) != 0) || url.size() == host_at || url.size() > 2048 ||
      url.find_first_of("/?#@ \t\r\n", host_at) != std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "control plane URL must be https://HOST:PORT (or http:// for a server run "
                     "with --insecure-http), got \"" +
                         url.substr(0, 200) + "\"");
  }
  if (https) {
    if (ca_cert_path.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "an https:// control plane needs its CA certificate: pass --ca-cert FILE "
                       "(or CRYPTA_CA_CERT), or --data-dir of the server (tls/ca.pem)");
    }
    // Read it now so a wrong path is named, not reported as a TLS failure later.
    auto pem = ReadFileBytes(std::string(ca_cert_path), 1 << 20);
    if (!pem) return MakeError(pem.error().WithContext("CA certificate"));
  }
  if (token.size() > 4096) {
    return MakeError(ErrorCode::kInvalidArgument, "API token is too long");
  }
  for (char c : token) {
    if (c <= 0x20 || c >= 0x7f) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "API token must be printable ASCII without spaces");
    }
  }
  return ApiClient(std::move(url), std::string(token), std::string(ca_cert_path));
}

Result<ApiClient> ApiClient::Create(std::string_view base_url, std::string_view token,
                                    std::string_view ca_cert_path) {
  if (token.empty()) return MakeError(ErrorCode::kInvalidArgument, "API token is empty");
  return Open(base_url, token, ca_cert_path);
}

Result<ApiClient> ApiClient::CreateAnonymous(std::string_view base_url,
                                             std::string_view ca_cert_path) {
  return Open(base_url, "", ca_cert_path);
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

Result<json> ApiClient::PutFile(const std::string& path, const std::string& file_path,
                                const std::function<void(uint64_t, uint64_t)>& progress) const {
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
    if (progress) progress(offset, file.size());
    if (last) return reply;
  }
}

Result<json> ApiClient::Delete(const std::string& path) const {
  return Send("DELETE", path, "", "");
}

Result<json> ApiClient::Send(const std::string& method, const std::string& path,
                             const std::string& body, const std::string& content_type) const {
  CRYPTA_ASSIGN_OR_RETURN(std::string received, Receive(method, path, body, content_type));
  if (received.empty()) return json::object();
  json parsed = json::parse(received, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return MakeError(ErrorCode::kDataLoss, "control plane response is not valid JSON");
  }
  return parsed;
}

Result<std::string> ApiClient::GetText(const std::string& path) const {
  return Receive("GET", path, "", "");
}

Result<std::string> ApiClient::Receive(const std::string& method, const std::string& path,
                                       const std::string& body,
                                       const std::string& content_type) const {
  std::string received;
  CRYPTA_RETURN_IF_ERROR(Exchange(
      method, path, body, content_type, [&received](const char* data, size_t length) -> Status {
        if (received.size() + length > kMaxResponseBytes) {
          return MakeError(
              ErrorCode::kResourceExhausted,
              "control plane response is over " + std::to_string(kMaxResponseBytes) + " bytes");
        }
        received.append(data, length);
        return OkStatus();
      }));
  return received;
}

Result<json> ApiClient::GetToFile(const std::string& path, const std::string& out_path,
                                  bool overwrite, const std::string& expected_sha256) const {
  CRYPTA_ASSIGN_OR_RETURN(AtomicOutputFile out, AtomicOutputFile::Create(out_path, 0600));
  Hasher hasher(HashAlg::kSha256);
  uint64_t size = 0;
  CRYPTA_RETURN_IF_ERROR(
      Exchange("GET", path, "", "", [&](const char* data, size_t length) -> Status {
        ByteSpan chunk(reinterpret_cast<const uint8_t*>(data), length);
        hasher.Update(chunk);
        size += length;
        return out.Append(chunk);
      }));
  const std::string digest = HexEncode(hasher.Finish());
  if (!expected_sha256.empty() && digest != expected_sha256) {
    return MakeError(ErrorCode::kDataLoss, "downloaded content hashes to sha256:" + digest +
                                               ", not sha256:" + expected_sha256 +
                                               "; nothing was written");
  }
  CRYPTA_RETURN_IF_ERROR(out.CommitTo(out_path, overwrite));
  return json{{"size", size}, {"digest", "sha256:" + digest}};
}

Status ApiClient::Exchange(const std::string& method, const std::string& path,
                           const std::string& body, const std::string& content_type,
                           const std::function<Status(const char*, size_t)>& sink) const {
  if (path.empty() || path[0] != '/') {
    return MakeError(ErrorCode::kInvalidArgument, "request path must start with '/'");
  }
  httplib::Client client(base_url_);
  client.set_connection_timeout(kTimeoutSeconds);
  client.set_read_timeout(kTimeoutSeconds);
  client.set_write_timeout(kTimeoutSeconds);
  client.set_url_encode(false);  // callers encode path segments (EncodeSegment)
  if (!ca_cert_path_.empty()) {
    // Pinned: only the platform CA is trusted, and the name must match (RFC 6125).
    client.set_ca_cert_path(ca_cert_path_);
    client.enable_server_certificate_verification(true);
  }

  httplib::Request req;
  req.method = method;
  req.path = path;
  if (!token_.empty()) req.headers.emplace("Authorization", "Bearer " + token_);
  req.headers.emplace("Accept", "application/json, application/problem+json, */*");
  if (!content_type.empty()) {
    req.body = body;
    req.headers.emplace("Content-Type", content_type);
  }
  // 2xx bodies go to `sink`; error bodies (problem details) are collected, capped.
  int status = 0;
  std::string problem;
  Status sink_status = OkStatus();
  req.response_handler = [&status](const httplib::Response& r) {
    status = r.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t length, uint64_t, uint64_t) {
    if (status >= 200 && status <= 299) {
      sink_status = sink(data, length);
      return static_cast<bool>(sink_status);
    }
    problem.append(data,
                   std::min(length, kMaxProblemBytes - std::min(kMaxProblemBytes, problem.size())));
    return true;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  const bool sent = client.send(req, res, error);
  if (!sink_status) return sink_status;
  if (!sent) {
    std::string why = httplib::to_string(error);
    if (error == httplib::Error::SSLServerVerification) {
      why += ": the server's certificate is not issued by the pinned CA " + ca_cert_path_;
    }
    return MakeError(ErrorCode::kUnavailable,
                     "cannot reach the control plane at " + base_url_ + " (" + why + ")");
  }
  if (res.status < 200 || res.status > 299) return MakeError(ProblemToError(res.status, problem));
  return OkStatus();
}

}  // namespace crypta::api
