// Client-internal pieces of VerifiedService's exchanges with a runtime (service.cc,
// generation_stream.cc): outer-answer checks, the model server's errors, and one chunked
// Oblivious HTTP exchange (draft-ietf-ohai-chunked-ohttp-08; crypto/ohttp_chunked.h) with the
// crypto overlapped with the transfer: the request is sealed 16 KiB at a time while it is sent
// (HTTP/1.1 chunked transfer coding), and the response is opened chunk by chunk as it
// arrives, its Binary HTTP parts handed over as they complete (crypto/bhttp_stream.h).
#ifndef CRYPTA_CLIENT_EXCHANGE_H_
#define CRYPTA_CLIENT_EXCHANGE_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/http_transport.h"
#include "common/bytes.h"
#include "common/status.h"
#include "crypto/bhttp.h"
#include "crypto/bhttp_stream.h"
#include "crypto/ohttp.h"

namespace crypta::client {

// POST /v1/ohttp with `bhttp_request` (an encoded BHTTP request) sealed to `config`; `wire`
// receives the encapsulated request exactly as sent (what a receipt's request_digest covers).
// `on_event` gets the response's head, content pieces and end (trailers) as they open; an
// error from it aborts the exchange. OK only after the final chunk authenticated and the BHTTP
// response ended whole. Errors: the outer answer when it is not 200 message/ohttp-chunked-res
// (its status and text), kUnauthenticated (a chunk that does not open), kDataLoss (the
// response was cut off), the transport's.
Status ChunkedOhttpExchange(const HttpTransport& transport, const OhttpKeyConfig& config,
                            ByteSpan bhttp_request, size_t max_response_bytes, Bytes& wire,
                            const std::function<Status(BhttpStreamEvent&)>& on_event);

// Text from the service may reach a terminal: its first 300 characters, control characters
// replaced by '?'.
std::string Printable(std::string_view text);

// OIP model names: [A-Za-z0-9._-]{1,128}, not "." or ".." (kInvalidArgument otherwise).
Status CheckModelName(std::string_view model);

// A non-2xx answer of the model server (decrypted) as an error: kNotFound (404),
// kResourceExhausted (429), kInvalidArgument (other 4xx), kInternal (5xx), with its "error"
// text.
Error ServerError(const BhttpResponse& response);

// Adds one streamed BHTTP part to `response`: the head's status and header fields, content
// appended, the end's trailer fields.
void AddToResponse(BhttpStreamEvent& event, BhttpResponse& response);

// generate_stream's event stream (WHATWG HTML §9.2, as runtime/generation.h writes it): splits
// the complete events off the front of `buffer` (each ends with an empty line; "data:" lines
// joined, comments and other fields ignored) into `out`: a GenerationEvent per
// {"text_output": …} object, kInternal for the model's {"error": …} event. Errors: an event
// whose data is not such an object (kInvalidArgument), more than 1 MiB without an event end
// (kResourceExhausted).
Status TakeGenerationEvents(std::string& buffer, std::vector<Result<GenerationEvent>>& out);

// The outer answer to POST /v1/ohttp: 200 with the expected media type, else what the
// gateway (or anything on the path) said, outside the encrypted channel.
Status CheckOhttpReply(const HttpReply& reply, const std::string& base_url,
                       std::string_view want_type);

}  // namespace crypta::client

#endif  // CRYPTA_CLIENT_EXCHANGE_H_
