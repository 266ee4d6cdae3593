// VerifiedService::GenerateStream and GenerationStream (client.h): a streamed generation read on
// a thread of its own through one chunked OHTTP exchange (exchange.h), its server-sent events
// (WHATWG HTML §9.2 event stream format) parsed as they open.
#include <condition_variable>
#include <deque>
#include <mutex>

#include "client/client.h"
#include "client/exchange.h"
#include "common/json_canonical.h"

namespace crypta::client {

struct GenerationStream::Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Result<GenerationEvent>> items;  // guarded by mu
  bool ended = false;                         // the reader is done (no more items)
  bool cancelled = false;
  PredictResult result;         // written by the reader before `ended`
  std::optional<Error> failed;  // Next's terminal error
};

GenerationStream::~GenerationStream() {
  if (shared_) {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->cancelled = true;
  }
  if (reader_.joinable()) reader_.join();
}

Result<std::optional<GenerationEvent>> GenerationStream::Next() {
  Shared& s = *shared_;
  if (s.failed) return MakeError(*s.failed);
  std::unique_lock<std::mutex> lock(s.mu);
  s.cv.wait(lock, [&s] { return !s.items.empty() || s.ended; });
  if (s.items.empty()) {
    result_ = std::move(s.result);
    s.result = PredictResult{};
    return std::optional<GenerationEvent>();
  }
  Result<GenerationEvent> item = std::move(s.items.front());
  s.items.pop_front();
  if (!item) {
    s.failed = item.error();
    return MakeError(item.error());
  }
  return std::optional<GenerationEvent>(std::move(*item));
}

Result<std::unique_ptr<GenerationStream>> VerifiedService::GenerateStream(
    std::string_view model, std::string_view request_json) const {
  if (!transport_) {
    return MakeError(ErrorCode::kFailedPrecondition, "this VerifiedService has no transport");
  }
  CRYPTA_RETURN_IF_ERROR(CheckModelName(model));
  const std::string path = "/v2/models/" + std::string(model) + "/generate_stream";
  BhttpRequestView request;
  request.method = "POST";
  request.scheme = "https";
  request.authority = "crypta-runtime";
  request.path = path;
  request.headers.push_back({"accept", "text/event-stream"});
  request.headers.push_back({"content-type", "application/json"});
  request.content = AsBytes(request_json);
  auto bhttp = std::make_shared<Bytes>(BhttpEncodedSize(request));
  CRYPTA_RETURN_IF_ERROR(EncodeBhttpRequestInto(request, *bhttp));

  std::unique_ptr<GenerationStream> stream(new GenerationStream());
  auto shared = std::make_shared<GenerationStream::Shared>();
  stream->shared_ = shared;
  stream->reader_ = std::thread([shared, bhttp, transport = transport_, config = key_config_,
                                 receipts = receipts_, cap = max_response_bytes_] {
    auto push = [&shared](std::vector<Result<GenerationEvent>>& items) {
      if (items.empty()) return;
      std::lock_guard<std::mutex> lock(shared->mu);
      for (auto& item : items) shared->items.push_back(std::move(item));
      items.clear();
      shared->cv.notify_one();
    };
    BhttpResponse response;
    std::string pending;  // event-stream bytes not yet split into events
    std::vector<Result<GenerationEvent>> ready;
    Bytes wire;
    Status status = ChunkedOhttpExchange(
        *transport, config, *bhttp, cap, wire, [&](BhttpStreamEvent& event) -> Status {
          {
            std::lock_guard<std::mutex> lock(shared->mu);
            if (shared->cancelled)
              return MakeError(ErrorCode::kFailedPrecondition, "stream closed");
          }
          AddToResponse(event, response);  // copies the content: `event` stays whole
          if (event.kind == BhttpStreamEvent::Kind::kContent && response.status >= 200 &&
              response.status <= 299) {
            pending.append(reinterpret_cast<const char*>(event.content.data()),
                           event.content.size());
            CRYPTA_RETURN_IF_ERROR(TakeGenerationEvents(pending, ready));
            push(ready);
          }
          return OkStatus();
        });
    SecureWipe(*bhttp);
    if (status && (response.status < 200 || response.status > 299)) {
      status = MakeError(ServerError(response));
    }
    if (status && !pending.empty()) {
      status = MakeError(ErrorCode::kDataLoss, "generate_stream: the stream ended mid-event");
    }
    PredictResult result;
    if (status && receipts) {
      const std::string* receipt = FindBhttpField(response.trailers, kReceiptField);
      if (receipt == nullptr) receipt = FindBhttpField(response.headers, kReceiptField);
      if (receipt == nullptr) {
        status = MakeError(ErrorCode::kUnauthenticated,
                           "the runtime attested a receipt key but its stream carries no receipt");
      } else {
        Result<std::shared_ptr<const VerifiedAttestationRecord>> attestation =
            receipts->Check(*receipt, wire, response.content, transport.get());
        if (!attestation) {
          status = MakeError(attestation.error());
        } else {
          result.receipt = *receipt;
          result.encapsulated_request = std::move(wire);
          result.response_content = response.content;
          result.attestation = std::move(*attestation);
        }
      }
    }
    if (!status) ready.push_back(MakeError(status.error()));
    result.response.assign(response.content.begin(), response.content.end());
    std::lock_guard<std::mutex> lock(shared->mu);
    for (auto& item : ready) shared->items.push_back(std::move(item));
    if (status) shared->result = std::move(result);
    shared->ended = true;
    shared->cv.notify_one();
  });
  return stream;
}

}  // namespace crypta::client
