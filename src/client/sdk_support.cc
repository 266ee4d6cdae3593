#include "client/sdk_support.h"

#include <cctype>

namespace crypta::client {

const char* SdkErrorRole(ErrorCode code, SdkPhase phase) {
  switch (code) {
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kResourceExhausted:
      return phase == SdkPhase::kVerify ? "unavailable" : "resource_exhausted";
    default:
      break;
  }
  if (phase == SdkPhase::kVerify) return "verification";
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kUnauthenticated:
      return phase == SdkPhase::kCall ? "response" : "unauthenticated";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kFailedPrecondition:
      return "failed_precondition";
    case ErrorCode::kInternal:
      return phase == SdkPhase::kCall ? "server" : "error";
    default:
      return "error";
  }
}

BhttpRequest ServiceRequest(std::string method, std::string path, const std::string& content_type,
                            std::vector<std::pair<std::string, std::string>> headers,
                            Bytes content) {
  BhttpRequest request;
  request.method = std::move(method);
  request.scheme = "https";
  request.authority = "crypta-runtime";
  request.path = std::move(path);
  if (!content_type.empty()) request.headers.push_back({"content-type", content_type});
  for (auto& [name, value] : headers) {
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers.push_back({std::move(name), std::move(value)});
  }
  request.content = std::move(content);
  return request;
}

const char* DtypeName(infer::DataType type) {
  switch (type) {
    case infer::DataType::kFp32:
      return "float32";
    case infer::DataType::kFp64:
      return "float64";
    case infer::DataType::kInt64:
      return "int64";
    case infer::DataType::kInt32:
      return "int32";
    case infer::DataType::kUint8:
      return "uint8";
    case infer::DataType::kBool:
      return "bool";
  }
  return "uint8";
}

}  // namespace crypta::client
