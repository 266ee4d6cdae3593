#include "crypto/bhttp_stream.h"

#include <optional>
#include <string>
#include <utility>

#include "common/byte_writer.h"

namespace crypta {
namespace {

// The prefix of an indeterminate-length 200 response with no header fields: framing 3,
// status 200 (a 2-byte varint), the header section's terminator.
constexpr uint8_t kEmptyHead[] = {3, 0x40, 0xc8, 0};

Error Ended(const std::string& what) {
  return Error(ErrorCode::kDataLoss, "bhttp response stream: " + what);
}

// RFC 9000 §16 varint at `at` of `b`: false when the bytes are not all there yet.
bool PeekVarint(const Bytes& b, size_t at, uint64_t* value, size_t* size) {
  if (at >= b.size()) return false;
  *size = size_t{1} << (b[at] >> 6);
  if (b.size() - at < *size) return false;
  uint64_t v = b[at] & 0x3f;
  for (size_t i = 1; i < *size; ++i) v = (v << 8) | b[at + i];
  *value = v;
  return true;
}

// The end of the indeterminate-length field section at `at` (after its terminator), or
// nullopt while incomplete. Lengths only: the whole-message decoder validates the contents.
Result<std::optional<size_t>> ScanFields(const Bytes& b, size_t at, const BhttpLimits& limits) {
  const size_t start = at;
  for (;;) {
    uint64_t name_len = 0, value_len = 0;
    size_t n = 0;
    if (!PeekVarint(b, at, &name_len, &n)) return std::optional<size_t>();
    at += n;
    if (name_len == 0) return std::optional<size_t>(at);
    if (name_len > limits.max_field_bytes) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "bhttp response stream: a field name exceeds the cap");
    }
    if (b.size() - at < name_len) return std::optional<size_t>();
    at += static_cast<size_t>(name_len);
    if (!PeekVarint(b, at, &value_len, &n)) return std::optional<size_t>();
    at += n;
    if (value_len > limits.max_field_bytes) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "bhttp response stream: a field value exceeds the cap");
    }
    if (b.size() - at < value_len) return std::optional<size_t>();
    at += static_cast<size_t>(value_len);
    if (at - start > limits.max_section_bytes) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "bhttp response stream: a field section exceeds the cap");
    }
  }
}

BhttpStreamEvent HeadEvent(BhttpResponse& decoded) {
  BhttpStreamEvent e;
  e.kind = BhttpStreamEvent::Kind::kHead;
  e.status = decoded.status;
  e.fields = std::move(decoded.headers);
  return e;
}

BhttpStreamEvent EndEvent(BhttpFields trailers) {
  BhttpStreamEvent e;
  e.kind = BhttpStreamEvent::Kind::kEnd;
  e.fields = std::move(trailers);
  return e;
}

}  // namespace

Result<Bytes> EncodeBhttpResponseHead(int status, const BhttpFields& headers,
                                      const BhttpLimits& limits) {
  if (status < 200 || status > 599) {
    return MakeError(ErrorCode::kInvalidArgument, "bhttp response head: status " +
                                                      std::to_string(status) +
                                                      " is not a final status (200-599)");
  }
  BhttpResponse head;
  head.status = status;
  head.headers = headers;
  BhttpEncodeOptions options;
  options.indeterminate_length = true;
  // The whole (empty-content) message ends in the content and trailer terminators (§3.7,
  // §3.6): the head is what comes before them.
  CRYPTA_ASSIGN_OR_RETURN(Bytes encoded, EncodeBhttpResponse(head, options, limits));
  if (encoded.size() < 2 || encoded[encoded.size() - 1] != 0 || encoded[encoded.size() - 2] != 0) {
    return MakeError(ErrorCode::kInternal, "bhttp response head: unexpected encoding");
  }
  encoded.resize(encoded.size() - 2);
  return encoded;
}

Result<Bytes> EncodeBhttpContentChunk(ByteSpan data) {
  if (data.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "bhttp content chunk: empty (it would end the content)");
  }
  ByteWriter w;
  CRYPTA_RETURN_IF_ERROR(w.WriteVarint(data.size()));
  w.WriteBytes(data);
  return w.Take();
}

Result<Bytes> EncodeBhttpResponseEnd(const BhttpFields& trailers, const BhttpLimits& limits) {
  BhttpResponse end;
  end.status = 200;
  end.trailers = trailers;
  BhttpEncodeOptions options;
  options.indeterminate_length = true;
  CRYPTA_ASSIGN_OR_RETURN(Bytes encoded, EncodeBhttpResponse(end, options, limits));
  if (encoded.size() < sizeof(kEmptyHead) ||
      !std::equal(std::begin(kEmptyHead), std::end(kEmptyHead), encoded.begin())) {
    return MakeError(ErrorCode::kInternal, "bhttp response end: unexpected encoding");
  }
  return Bytes(encoded.begin() + sizeof(kEmptyHead), encoded.end());
}

Result<std::vector<BhttpStreamEvent>> BhttpResponseStreamReader::Feed(ByteSpan data) {
  if (failed_ || finished_) {
    return MakeError(ErrorCode::kFailedPrecondition, "bhttp response stream: closed");
  }
  total_ += data.size();
  if (total_ > limits_.max_message_bytes) {
    failed_ = true;
    return MakeError(ErrorCode::kResourceExhausted, "bhttp response stream: the message exceeds " +
                                                        std::to_string(limits_.max_message_bytes) +
                                                        " bytes");
  }
  if (state_ != State::kKnownLength && pos_ > 0 && pos_ >= buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buffer_.insert(buffer_.end(), data.begin(), data.end());
  std::vector<BhttpStreamEvent> out;
  if (Status s = Parse(out); !s) {
    failed_ = true;
    return MakeError(s.error());
  }
  return out;
}

Status BhttpResponseStreamReader::Parse(std::vector<BhttpStreamEvent>& out) {
  for (;;) {
    switch (state_) {
      case State::kKnownLength:
        return OkStatus();  // decoded whole at Finish
      case State::kHead: {
        uint64_t framing = 0, status = 0;
        size_t n = 0, at = pos_;
        if (!PeekVarint(buffer_, at, &framing, &n)) return OkStatus();
        if (framing == 1) {
          state_ = State::kKnownLength;
          return OkStatus();
        }
        if (framing != 3) {
          return MakeError(
              ErrorCode::kInvalidArgument,
              "bhttp response framing indicator: got " + std::to_string(framing) + ", want 1 or 3");
        }
        at += n;
        // Informational responses (1xx), then the final status, each with its header section.
        for (;;) {
          if (!PeekVarint(buffer_, at, &status, &n)) return OkStatus();
          at += n;
          CRYPTA_ASSIGN_OR_RETURN(std::optional<size_t> end, ScanFields(buffer_, at, limits_));
          if (!end) return OkStatus();
          at = *end;
          if (status < 100 || status > 199) break;
        }
        // Validated as a whole message: the head and empty content and trailers.
        Bytes head(buffer_.begin() + static_cast<std::ptrdiff_t>(pos_),
                   buffer_.begin() + static_cast<std::ptrdiff_t>(at));
        head.push_back(0);
        head.push_back(0);
        CRYPTA_ASSIGN_OR_RETURN(BhttpResponse decoded, DecodeBhttpResponse(head, limits_));
        out.push_back(HeadEvent(decoded));
        pos_ = at;
        state_ = State::kContent;
        break;
      }
      case State::kContent: {
        uint64_t length = 0;
        size_t n = 0;
        if (!PeekVarint(buffer_, pos_, &length, &n)) return OkStatus();
        if (length == 0) {  // §3.7 content terminator
          pos_ += n;
          state_ = State::kTrailers;
          break;
        }
        if (length > limits_.max_content_bytes - content_) {
          return MakeError(ErrorCode::kResourceExhausted,
                           "bhttp response stream: content exceeds " +
                               std::to_string(limits_.max_content_bytes) + " bytes");
        }
        if (buffer_.size() - pos_ - n < length) return OkStatus();
        const auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(pos_ + n);
        BhttpStreamEvent e;
        e.kind = BhttpStreamEvent::Kind::kContent;
        e.content.assign(begin, begin + static_cast<std::ptrdiff_t>(length));
        out.push_back(std::move(e));
        content_ += static_cast<size_t>(length);
        pos_ += n + static_cast<size_t>(length);
        break;
      }
      case State::kTrailers: {
        CRYPTA_ASSIGN_OR_RETURN(std::optional<size_t> end, ScanFields(buffer_, pos_, limits_));
        if (!end) return OkStatus();
        Bytes message(std::begin(kEmptyHead), std::end(kEmptyHead));
        message.push_back(0);  // empty content
        message.insert(message.end(), buffer_.begin() + static_cast<std::ptrdiff_t>(pos_),
                       buffer_.begin() + static_cast<std::ptrdiff_t>(*end));
        CRYPTA_ASSIGN_OR_RETURN(BhttpResponse decoded, DecodeBhttpResponse(message, limits_));
        out.push_back(EndEvent(std::move(decoded.trailers)));
        pos_ = *end;
        state_ = State::kPadding;
        break;
      }
      case State::kPadding:
        for (; pos_ < buffer_.size(); ++pos_) {  // §3.8: only zero padding may follow
          if (buffer_[pos_] != 0) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "bhttp response stream: non-zero byte after the message");
          }
        }
        return OkStatus();
    }
  }
}

Result<std::vector<BhttpStreamEvent>> BhttpResponseStreamReader::Finish() {
  if (failed_ || finished_) {
    return MakeError(ErrorCode::kFailedPrecondition, "bhttp response stream: closed");
  }
  finished_ = true;
  std::vector<BhttpStreamEvent> out;
  switch (state_) {
    case State::kKnownLength: {
      CRYPTA_ASSIGN_OR_RETURN(BhttpResponse r, DecodeBhttpResponse(buffer_, limits_));
      out.push_back(HeadEvent(r));
      if (!r.content.empty()) {
        BhttpStreamEvent content;
        content.kind = BhttpStreamEvent::Kind::kContent;
        content.content = std::move(r.content);
        out.push_back(std::move(content));
      }
      out.push_back(EndEvent(std::move(r.trailers)));
      return out;
    }
    case State::kHead:
      return MakeError(Ended("it ended before the response head was complete"));
    case State::kContent:
      return MakeError(Ended("it ended before the content terminator (truncated)"));
    case State::kTrailers:
      if (pos_ != buffer_.size()) return MakeError(Ended("it ended inside the trailer section"));
      out.push_back(EndEvent({}));  // §3.8: an absent trailer section is empty
      return out;
    case State::kPadding:
      return out;
  }
  return out;
}

}  // namespace crypta
