#include "client/exchange.h"

#include <optional>
#include <string>

#include "common/json_canonical.h"
#include "crypto/ohttp_chunked.h"

namespace crypta::client {
namespace {

// Outer error bodies are the gateway's short text; no more is kept.
constexpr size_t kMaxOuterErrorBytes = 4096;
// An event stream's bytes waiting for the end of their event.
constexpr size_t kMaxPendingEventBytes = 1 << 20;

// RFC 9000 §16: the size of a variable-length integer.
size_t VarintSize(uint64_t v) {
  return v < 64 ? 1 : v < 16384 ? 2 : v < (uint64_t{1} << 30) ? 4 : 8;
}

// The encapsulated request's size when `message` bytes are sealed as ChunkedOhttpExchange
// does: hdr || enc, chunks of kOhttpChunkBytes while more than that is left, then varint(0)
// and the final chunk (the rest, possibly empty), each chunk with its 16-byte tag.
uint64_t ChunkedWireSize(size_t header, size_t message) {
  const uint64_t full = message == 0 ? 0 : (message - 1) / kOhttpChunkBytes;
  const uint64_t sealed = kOhttpChunkBytes + kAeadTagSize;
  return header + full * (VarintSize(sealed) + sealed) + 1 + (message - full * kOhttpChunkBytes) +
         kAeadTagSize;
}

}  // namespace

Status TakeGenerationEvents(std::string& buffer, std::vector<Result<GenerationEvent>>& out) {
  size_t start = 0;
  while (true) {
    const size_t end = buffer.find("\n\n", start);
    if (end == std::string::npos) break;
    std::string data;
    bool has_data = false;
    size_t line_start = start;
    while (line_start < end) {
      size_t line_end = buffer.find('\n', line_start);
      if (line_end == std::string::npos || line_end > end) line_end = end;
      std::string_view line(buffer.data() + line_start, line_end - line_start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.starts_with("data:")) {
        line.remove_prefix(5);
        if (line.starts_with(" ")) line.remove_prefix(1);
        if (has_data) data += '\n';
        data.append(line);
        has_data = true;
      }  // comments (":…") and other fields (event, id, retry) carry nothing here
      line_start = line_end + 1;
    }
    start = end + 2;
    if (!has_data) continue;
    Result<nlohmann::json> parsed = ParseJsonStrict(data);
    if (!parsed || !parsed->is_object()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "generate_stream: an event's data is not a JSON object");
    }
    if (parsed->contains("error")) {
      const nlohmann::json& e = (*parsed)["error"];
      out.push_back(MakeError(ErrorCode::kInternal,
                              "the model failed mid-stream: " +
                                  Printable(e.is_string() ? e.get<std::string>() : e.dump())));
      continue;
    }
    if (!parsed->contains("text_output") || !(*parsed)["text_output"].is_string()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "generate_stream: an event has no \"text_output\" string");
    }
    GenerationEvent event;
    event.text_output = (*parsed)["text_output"].get<std::string>();
    event.data = std::move(*parsed);
    out.push_back(std::move(event));
  }
  buffer.erase(0, start);
  if (buffer.size() > kMaxPendingEventBytes) {
    return MakeError(ErrorCode::kResourceExhausted, "generate_stream: an event over 1 MiB");
  }
  return OkStatus();
}

std::string Printable(std::string_view text) {
  std::string out(text.substr(0, 300));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

Status CheckModelName(std::string_view model) {
  bool ok = !model.empty() && model.size() <= 128;
  for (char c : model) {
    ok &= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-';
  }
  if (!ok || model == "." || model == "..") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "model name must be 1-128 characters of [A-Za-z0-9._-]");
  }
  return OkStatus();
}

// An error for a non-2xx answer of the model server (inside the encrypted channel):
// OIP errors are {"error": "..."} (DESIGN.md §4.6).
Error ServerError(const BhttpResponse& response) {
  std::string detail;
  Result<nlohmann::json> body = ParseJsonStrict(AsStringView(response.content));
  if (body && body->is_object() && body->contains("error") && (*body)["error"].is_string()) {
    detail = (*body)["error"].get<std::string>();
  } else {
    detail = AsStringView(response.content).substr(0, 300);
  }
  const ErrorCode code = response.status == 404   ? ErrorCode::kNotFound
                         : response.status == 429 ? ErrorCode::kResourceExhausted
                         : response.status < 500  ? ErrorCode::kInvalidArgument
                                                  : ErrorCode::kInternal;
  return Error(code, "the model server answered " + std::to_string(response.status) + ": " +
                         Printable(detail));
}

void AddToResponse(BhttpStreamEvent& event, BhttpResponse& response) {
  switch (event.kind) {
    case BhttpStreamEvent::Kind::kHead:
      response.status = event.status;
      response.headers = std::move(event.fields);
      break;
    case BhttpStreamEvent::Kind::kContent:
      response.content.insert(response.content.end(), event.content.begin(), event.content.end());
      break;
    case BhttpStreamEvent::Kind::kEnd:
      response.trailers = std::move(event.fields);
      break;
  }
}

Status CheckOhttpReply(const HttpReply& reply, const std::string& base_url,
                       std::string_view want_type) {
  if (reply.status != 200) {
    return MakeError(reply.status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kInvalidArgument,
                     "POST " + base_url + "/v1/ohttp answered " + std::to_string(reply.status) +
                         ": " + Printable(reply.body));
  }
  if (reply.content_type.rfind(want_type, 0) != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "POST /v1/ohttp answered Content-Type \"" +
                                                      Printable(reply.content_type) + "\", want " +
                                                      std::string(want_type));
  }
  return OkStatus();
}

Status ChunkedOhttpExchange(const HttpTransport& transport, const OhttpKeyConfig& config,
                            ByteSpan bhttp_request, size_t max_response_bytes, Bytes& wire,
                            const std::function<Status(BhttpStreamEvent&)>& on_event) {
  CRYPTA_ASSIGN_OR_RETURN(ChunkedRequestSealer sealer, ChunkedRequestSealer::Create(config));
  CRYPTA_ASSIGN_OR_RETURN(ChunkedResponseOpener opener, sealer.ResponseOpener());
  BhttpResponseStreamReader reader;
  wire.clear();

  HttpStreamCall call;
  call.content_type = kOhttpChunkedRequestType;
  // draft-ietf-ohai-chunked-ohttp-08 §3: tells a relay to forward the content as it comes.
  call.headers.push_back({"Incremental", "?1"});
  // Request: hdr || enc, then chunks of kOhttpChunkBytes, the last one final, sealed straight
  // into `wire` (reserved whole up front, so each piece handed to the transport is a view that
  // stays valid) kSendPieceChunks at a time: each piece goes out while the next is sealed, in
  // writes large enough that system calls do not dominate.
  constexpr size_t kSendPieceChunks = 4;
  const uint64_t total = ChunkedWireSize(sealer.header().size(), bhttp_request.size());
  wire.reserve(total);
  call.body_length = total;  // Content-Length: the whole size is known before sealing
  size_t at = 0;
  bool ended = false;
  call.next_body = [&]() -> Result<std::optional<ByteSpan>> {
    if (ended) return std::optional<ByteSpan>();
    const size_t start = wire.size();
    if (start == 0) wire.assign(sealer.header().begin(), sealer.header().end());
    for (size_t n = 0; n < kSendPieceChunks && !ended; ++n) {
      const size_t left = bhttp_request.size() - at;
      if (left > kOhttpChunkBytes) {
        CRYPTA_RETURN_IF_ERROR(sealer.SealInto(bhttp_request.subspan(at, kOhttpChunkBytes), wire));
        at += kOhttpChunkBytes;
      } else {
        CRYPTA_RETURN_IF_ERROR(sealer.SealFinalInto(bhttp_request.subspan(at), wire));
        at = bhttp_request.size();
        ended = true;
      }
    }
    if (ended && wire.size() != total) {
      return MakeError(ErrorCode::kInternal, "chunked ohttp: the request's size was mispredicted");
    }
    return std::optional<ByteSpan>(ByteSpan(wire.data() + start, wire.size() - start));
  };

  HttpReply outer;  // status, type, and the body of an outer error
  auto deliver = [&](std::vector<BhttpStreamEvent> events) -> Status {
    for (BhttpStreamEvent& event : events) {
      Status ok = on_event(event);
      SecureWipe(event.content);
      CRYPTA_RETURN_IF_ERROR(ok);
    }
    return OkStatus();
  };
  call.on_head = [&](int status, const std::string& type) -> Status {
    outer.status = status;
    outer.content_type = type;
    return OkStatus();
  };
  call.on_body = [&](ByteSpan piece) -> Status {
    if (outer.status != 200 || outer.content_type.rfind(kOhttpChunkedResponseType, 0) != 0) {
      if (outer.body.size() < kMaxOuterErrorBytes) {
        outer.body.append(reinterpret_cast<const char*>(piece.data()),
                          std::min(piece.size(), kMaxOuterErrorBytes - outer.body.size()));
      }
      return OkStatus();
    }
    CRYPTA_ASSIGN_OR_RETURN(std::vector<Bytes> chunks, opener.Feed(piece));
    for (Bytes& chunk : chunks) {
      Result<std::vector<BhttpStreamEvent>> events = reader.Feed(chunk);
      SecureWipe(chunk);
      if (!events) return MakeError(events.error().WithContext("chunked ohttp response"));
      CRYPTA_RETURN_IF_ERROR(deliver(std::move(*events)));
    }
    return OkStatus();
  };
  const Status sent = transport.PostStreaming("/v1/ohttp", call, max_response_bytes);
  if (outer.status != 0) {
    CRYPTA_RETURN_IF_ERROR(CheckOhttpReply(outer, transport.base_url(), kOhttpChunkedResponseType));
  }
  CRYPTA_RETURN_IF_ERROR(sent);
  CRYPTA_ASSIGN_OR_RETURN(Bytes last, opener.Finish());
  Result<std::vector<BhttpStreamEvent>> events = reader.Feed(last);
  SecureWipe(last);
  if (!events) return MakeError(events.error().WithContext("chunked ohttp response"));
  CRYPTA_RETURN_IF_ERROR(deliver(std::move(*events)));
  Result<std::vector<BhttpStreamEvent>> rest = reader.Finish();
  if (!rest) return MakeError(rest.error().WithContext("chunked ohttp response"));
  return deliver(std::move(*rest));
}

}  // namespace crypta::client
