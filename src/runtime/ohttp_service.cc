#include "runtime/ohttp_service.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "common/encoding.h"
#include "common/json_canonical.h"

namespace crypta::runtime {
namespace {

using nlohmann::json;

// RFC 9292 field names are lowercase; the OIP binary tensor data extension's header.
constexpr char kInferenceHeaderField[] = "inference-header-content-length";

BhttpResponse InnerError(int status, std::string_view message) {
  HttpReply reply = ErrorReply(status, message);
  BhttpResponse out;
  out.status = status;
  out.headers = {{"content-type", reply.content_type}};
  out.content = ToBytes(reply.body);
  return out;
}

HttpReply PredictError(int status, std::string_view message) {
  return HttpReply{status, "application/json",
                   json{{"success", false}, {"error", std::string(message)}}.dump(
                       -1, ' ', false, json::error_handler_t::replace)};
}

}  // namespace

int OuterStatusFor(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kResourceExhausted:
      return 413;
    case ErrorCode::kUnavailable:
    case ErrorCode::kInternal:
      return 503;
    default:
      return 400;
  }
}

BhttpResponse OhttpService::Dispatch(ByteSpan bhttp_request) {
  Result<BhttpRequest> request = DecodeBhttpRequest(bhttp_request, limits_.bhttp);
  if (!request) return InnerError(400, request.error().message());
  std::string path = request->path;
  if (size_t q = path.find('?'); q != std::string::npos) path.resize(q);

  const auto start = std::chrono::steady_clock::now();
  HttpReply reply;
  if (!OipRouter::Owns(path)) {
    reply = ErrorReply(404, "no such route inside OHTTP (only /v2/... is served)");
  } else {
    HttpCall call{request->method, path, AsStringView(request->content), std::nullopt};
    if (const std::string* v = FindBhttpField(request->headers, kInferenceHeaderField)) {
      call.inference_header_length = *v;
    }
    reply = router_->Handle(call);
  }
  if (metrics_ != nullptr) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metrics_->ObserveRequest(RouteLabel(path), "ohttp", reply.status, seconds);
  }
  BhttpResponse out;
  out.status = reply.status;
  out.headers = {{"content-type", reply.content_type}};
  for (auto& [name, value] : reply.headers) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.push_back({std::move(lower), std::move(value)});
  }
  out.content.assign(reply.body.begin(), reply.body.end());
  SecureWipe(MutableByteSpan(reinterpret_cast<uint8_t*>(reply.body.data()), reply.body.size()));
  return out;
}

Result<Bytes> OhttpService::Process(ByteSpan encapsulated_request) {
  Bytes copy(encapsulated_request.begin(), encapsulated_request.end());
  return ProcessInPlace(copy);
}

Result<Bytes> OhttpService::ProcessInPlace(MutableByteSpan encapsulated_request) {
  CRYPTA_ASSIGN_OR_RETURN(OhttpKeyRing::OpenedInPlace opened,
                          ring_->OpenInPlace(encapsulated_request, limits_.ohttp));
  BhttpResponse response = Dispatch(opened.bhttp_request);
  SecureWipe(opened.bhttp_request);
  Result<Bytes> encoded = EncodeBhttpResponse(response, {}, limits_.bhttp);
  if (!encoded) {
    // The model's answer does not fit the caps: say so, still encrypted.
    encoded = EncodeBhttpResponse(InnerError(500, "response exceeds the size cap"));
    if (!encoded) return MakeError(ErrorCode::kInternal, "cannot encode the inner response");
  }
  SecureWipe(response.content);
  // RFC 9458 §4.4 in place: response_nonce || BHTTP response || tag in one buffer.
  const size_t nonce_size = opened.context.ResponseNonceSize();
  Bytes sealed(nonce_size + encoded->size() + kAeadTagSize);
  std::copy(encoded->begin(), encoded->end(), sealed.begin() + nonce_size);
  SecureWipe(*encoded);
  if (!opened.context.EncapsulateResponseInPlace(sealed)) {
    SecureWipe(sealed);
    return MakeError(ErrorCode::kInternal, "cannot encapsulate the response");
  }
  return sealed;
}

HttpReply OhttpService::HandleOhttp(std::string_view encapsulated_request) {
  Result<Bytes> out = Process(AsBytes(encapsulated_request));
  if (!out) return ErrorReply(OuterStatusFor(out.error()), out.error().message());
  return HttpReply{200, kOhttpResponseType, ToString(*out), {}};
}

HttpReply OhttpService::HandleOhttpInPlace(MutableByteSpan encapsulated_request) {
  Result<Bytes> out = ProcessInPlace(encapsulated_request);
  SecureWipe(encapsulated_request);
  if (!out) return ErrorReply(OuterStatusFor(out.error()), out.error().message());
  return HttpReply{200, kOhttpResponseType, ToString(*out), {}};
}

HttpReply OhttpService::HandlePredict(std::string_view body) {
  JsonParseLimits json_limits;
  json_limits.max_bytes = limits_.max_predict_body_bytes;
  json_limits.max_depth = 4;
  Result<json> parsed = ParseJsonStrict(body, json_limits);
  if (!parsed) {
    return PredictError(HttpStatusFor(parsed.error().code()),
                        "request body: " + parsed.error().message());
  }
  if (!parsed->is_object() || !parsed->contains("encrypted_input") ||
      !(*parsed)["encrypted_input"].is_string()) {
    return PredictError(400, "request body: \"encrypted_input\" must be a base64 string");
  }
  const std::string& text = (*parsed)["encrypted_input"].get_ref<const std::string&>();
  Result<Bytes> request = Base64Decode(text);
  if (!request) request = Base64UrlDecode(text);
  if (!request) return PredictError(400, "encrypted_input: not base64");
  Result<Bytes> out = Process(*request);
  if (!out) return PredictError(OuterStatusFor(out.error()), out.error().message());
  return HttpReply{200, "application/json",
                   json{{"success", true}, {"encrypted_result", Base64Encode(*out)}}.dump()};
}

}  // namespace crypta::runtime
