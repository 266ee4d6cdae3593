#include "crypto/bhttp.h"

#include <algorithm>
#include <optional>
#include <string>

#include "common/byte_reader.h"
#include "common/byte_writer.h"

namespace crypta {
namespace {

// RFC 9292 §3.3 framing indicators.
constexpr uint64_t kKnownLengthRequest = 0;
constexpr uint64_t kKnownLengthResponse = 1;
constexpr uint64_t kIndeterminateRequest = 2;
constexpr uint64_t kIndeterminateResponse = 3;

Error Invalid(std::string_view where, std::string_view what) {
  return Error(ErrorCode::kInvalidArgument, std::string(where) + ": " + std::string(what));
}
Error TooBig(std::string_view where, uint64_t got, size_t cap) {
  return Error(ErrorCode::kResourceExhausted, std::string(where) + ": " + std::to_string(got) +
                                                  " bytes exceeds the cap of " +
                                                  std::to_string(cap));
}

// RFC 9110 §5.6.2 tchar.
bool IsTchar(uint8_t c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

Status CheckFieldName(std::string_view name, std::string_view where) {
  if (name.empty()) return MakeError(Invalid(where, "empty field name"));
  for (char ch : name) {
    auto c = static_cast<uint8_t>(ch);
    // §3.6: names are lowercase (as in HTTP/2 and HTTP/3); RFC 9110 §5.1: a token.
    if (c >= 'A' && c <= 'Z') return MakeError(Invalid(where, "uppercase character in field name"));
    if (!IsTchar(c)) return MakeError(Invalid(where, "field name is not a token"));
  }
  return OkStatus();
}

Status CheckFieldValue(std::string_view value, std::string_view where) {
  // RFC 9110 §5.5: CR, LF and NUL are never valid in a field value.
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return MakeError(Invalid(where, "field value contains CR, LF or NUL"));
    }
  }
  return OkStatus();
}

// §3.4 request control data, checked against RFC 9110 / RFC 3986.
Status CheckControlData(const BhttpRequest& r) {
  if (r.method.empty()) return MakeError(Invalid("bhttp request method", "empty"));
  for (char c : r.method) {
    if (!IsTchar(static_cast<uint8_t>(c))) {
      return MakeError(Invalid("bhttp request method", "not a token"));
    }
  }
  const bool connect = r.method == "CONNECT";  // RFC 9113 §8.5: no scheme or path
  if (r.scheme.empty() && !connect) return MakeError(Invalid("bhttp request scheme", "empty"));
  for (size_t i = 0; i < r.scheme.size(); ++i) {
    char c = r.scheme[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    bool ok = alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) return MakeError(Invalid("bhttp request scheme", "not an RFC 3986 scheme"));
  }
  if (r.path.empty() && !connect) return MakeError(Invalid("bhttp request path", "empty"));
  for (const auto* s : {&r.authority, &r.path}) {
    for (char c : *s) {
      if (c <= 0x20 || c >= 0x7F) {
        return MakeError(Invalid(s == &r.path ? "bhttp request path" : "bhttp request authority",
                                 "contains a space, control or non-ASCII byte"));
      }
    }
  }
  return OkStatus();
}

// ---------------------------------------------------------------- decoding

class Decoder {
 public:
  Decoder(ByteSpan message, const BhttpLimits& limits, std::string_view kind)
      : reader_(message), limits_(limits), kind_(kind) {}

  bool AtEnd() const { return reader_.empty(); }
  void SetIndeterminate(bool v) { indeterminate_ = v; }

  Result<uint64_t> Varint(std::string_view field) {
    Result<uint64_t> v = reader_.ReadVarint(field);
    if (!v) return MakeError(Invalid(Where(field), "truncated"));
    return v;
  }

  Result<std::string> String(std::string_view field, size_t cap) {
    CRYPTA_ASSIGN_OR_RETURN(uint64_t len, Varint(field));
    if (len > cap) return MakeError(TooBig(Where(field), len, cap));
    Result<ByteSpan> b = reader_.ReadBytes(static_cast<size_t>(len), field);
    if (!b) return MakeError(Invalid(Where(field), "truncated"));
    return ToString(*b);
  }

  // §3.6 field section: known-length (length prefix) or indeterminate (terminated by a
  // zero-length name).
  Result<BhttpFields> Fields(std::string_view section) {
    BhttpFields fields;
    const std::string where = std::string(section) + " section";
    if (!indeterminate_) {
      CRYPTA_ASSIGN_OR_RETURN(uint64_t len, Varint(where + " length"));
      if (len > limits_.max_section_bytes) {
        return MakeError(TooBig(Where(where), len, limits_.max_section_bytes));
      }
      Result<ByteSpan> body = reader_.ReadBytes(static_cast<size_t>(len), where);
      if (!body) return MakeError(Invalid(Where(where), "truncated"));
      Decoder inner(*body, limits_, kind_);
      while (!inner.AtEnd()) {
        CRYPTA_RETURN_IF_ERROR(inner.FieldLine(section, fields, /*name_len=*/std::nullopt));
      }
      return fields;
    }
    const size_t start = reader_.position();
    for (;;) {
      CRYPTA_ASSIGN_OR_RETURN(uint64_t name_len, Varint(where + " field name length"));
      if (name_len == 0) break;  // §3.7 Content Terminator ends the section
      CRYPTA_RETURN_IF_ERROR(FieldLine(section, fields, name_len));
      if (reader_.position() - start > limits_.max_section_bytes) {
        return MakeError(
            TooBig(Where(where), reader_.position() - start, limits_.max_section_bytes));
      }
    }
    return fields;
  }

  // §3.7 content: one length-prefixed run, or chunks ended by a zero-length chunk.
  // An indeterminate-length message that ends where a chunk length is due ends there.
  Result<Bytes> Content() {
    if (!indeterminate_) {
      CRYPTA_ASSIGN_OR_RETURN(std::string c, String("content", limits_.max_content_bytes));
      return ToBytes(c);
    }
    Bytes content;
    while (!AtEnd()) {
      CRYPTA_ASSIGN_OR_RETURN(uint64_t len, Varint("content chunk length"));
      if (len == 0) break;
      if (len > limits_.max_content_bytes - content.size()) {
        return MakeError(TooBig(Where("content"), content.size() + len, limits_.max_content_bytes));
      }
      Result<ByteSpan> chunk = reader_.ReadBytes(static_cast<size_t>(len), "content chunk");
      if (!chunk) return MakeError(Invalid(Where("content chunk"), "truncated"));
      content.insert(content.end(), chunk->begin(), chunk->end());
    }
    return content;
  }

  // §3.8: whatever follows the message must be zero padding.
  Status Padding() {
    for (uint8_t b : reader_.rest()) {
      if (b != 0) return MakeError(Invalid(Where("padding"), "non-zero byte after the message"));
    }
    return OkStatus();
  }

  std::string Where(std::string_view field) const {
    return "bhttp " + std::string(kind_) + " " + std::string(field);
  }

 private:
  Status FieldLine(std::string_view section, BhttpFields& fields,
                   std::optional<uint64_t> name_len) {
    const std::string where = std::string(section) + " field " + std::to_string(fields.size() + 1);
    if (fields.size() >= limits_.max_fields) {
      return MakeError(ErrorCode::kResourceExhausted, Where(std::string(section)) + ": more than " +
                                                          std::to_string(limits_.max_fields) +
                                                          " fields");
    }
    BhttpField f;
    if (name_len) {
      if (*name_len > limits_.max_field_bytes) {
        return MakeError(TooBig(Where(where + " name"), *name_len, limits_.max_field_bytes));
      }
      Result<ByteSpan> n = reader_.ReadBytes(static_cast<size_t>(*name_len), "name");
      if (!n) return MakeError(Invalid(Where(where + " name"), "truncated"));
      f.name = ToString(*n);
    } else {
      CRYPTA_ASSIGN_OR_RETURN(f.name, String(where + " name", limits_.max_field_bytes));
    }
    CRYPTA_ASSIGN_OR_RETURN(f.value, String(where + " value", limits_.max_field_bytes));
    CRYPTA_RETURN_IF_ERROR(CheckFieldName(f.name, Where(where + " name")));
    CRYPTA_RETURN_IF_ERROR(CheckFieldValue(f.value, Where(where + " value")));
    fields.push_back(std::move(f));
    return OkStatus();
  }

  ByteReader reader_;
  const BhttpLimits& limits_;
  std::string_view kind_;
  bool indeterminate_ = false;
};

Status CheckMessageSize(ByteSpan message, const BhttpLimits& limits, std::string_view kind) {
  if (message.size() > limits.max_message_bytes) {
    return MakeError(
        TooBig("bhttp " + std::string(kind), message.size(), limits.max_message_bytes));
  }
  return OkStatus();
}

// Headers, content and trailers, each absent (empty) when the message ends first (§3.8).
template <typename Message>
Status DecodeTail(Decoder& d, Message& m) {
  if (d.AtEnd()) return OkStatus();
  CRYPTA_ASSIGN_OR_RETURN(m.headers, d.Fields("header"));
  if (d.AtEnd()) return OkStatus();
  CRYPTA_ASSIGN_OR_RETURN(m.content, d.Content());
  if (d.AtEnd()) return OkStatus();
  CRYPTA_ASSIGN_OR_RETURN(m.trailers, d.Fields("trailer"));
  return d.Padding();
}

// ---------------------------------------------------------------- encoding

Status EncodeFields(ByteWriter& w, const BhttpFields& fields, std::string_view where,
                    const BhttpEncodeOptions& o, const BhttpLimits& limits) {
  if (fields.size() > limits.max_fields) {
    return MakeError(
        ErrorCode::kResourceExhausted,
        std::string(where) + ": more than " + std::to_string(limits.max_fields) + " fields");
  }
  ByteWriter section;
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string field_where = std::string(where) + " field " + std::to_string(i + 1);
    CRYPTA_RETURN_IF_ERROR(CheckFieldName(fields[i].name, field_where + " name"));
    CRYPTA_RETURN_IF_ERROR(CheckFieldValue(fields[i].value, field_where + " value"));
    if (fields[i].name.size() > limits.max_field_bytes ||
        fields[i].value.size() > limits.max_field_bytes) {
      return MakeError(TooBig(field_where, std::max(fields[i].name.size(), fields[i].value.size()),
                              limits.max_field_bytes));
    }
    CRYPTA_RETURN_IF_ERROR(section.WriteVarintPrefixed(AsBytes(fields[i].name)));
    CRYPTA_RETURN_IF_ERROR(section.WriteVarintPrefixed(AsBytes(fields[i].value)));
  }
  if (section.size() > limits.max_section_bytes) {
    return MakeError(TooBig(where, section.size(), limits.max_section_bytes));
  }
  if (o.indeterminate_length) {
    w.WriteBytes(section.bytes());
    w.WriteU8(0);  // §3.7 Content Terminator
    return OkStatus();
  }
  return w.WriteVarintPrefixed(section.bytes());
}

Status EncodeContent(ByteWriter& w, ByteSpan content, std::string_view where,
                     const BhttpEncodeOptions& o, const BhttpLimits& limits) {
  if (content.size() > limits.max_content_bytes) {
    return MakeError(TooBig(where, content.size(), limits.max_content_bytes));
  }
  if (!o.indeterminate_length) return w.WriteVarintPrefixed(content);
  if (!content.empty()) CRYPTA_RETURN_IF_ERROR(w.WriteVarintPrefixed(content));  // one chunk
  w.WriteU8(0);
  return OkStatus();
}

template <typename Message>
Result<Bytes> EncodeTail(ByteWriter& w, const Message& m, std::string_view kind,
                         const BhttpEncodeOptions& o, const BhttpLimits& limits) {
  const std::string k = "bhttp " + std::string(kind);
  // §3.8 truncation: how many of (headers, content, trailers) to write.
  int sections = 3;
  if (o.truncate_empty_tail && !o.indeterminate_length) {
    if (m.trailers.empty()) sections = 2;
    if (sections == 2 && m.content.empty()) sections = 1;
    if (sections == 1 && m.headers.empty()) sections = 0;
  }
  if (sections > 0) CRYPTA_RETURN_IF_ERROR(EncodeFields(w, m.headers, k + " header", o, limits));
  if (sections > 1) CRYPTA_RETURN_IF_ERROR(EncodeContent(w, m.content, k + " content", o, limits));
  if (sections > 2) CRYPTA_RETURN_IF_ERROR(EncodeFields(w, m.trailers, k + " trailer", o, limits));
  if (o.padding > limits.max_message_bytes || w.size() > limits.max_message_bytes - o.padding) {
    return MakeError(TooBig(k, w.size() + o.padding, limits.max_message_bytes));
  }
  for (size_t i = 0; i < o.padding; ++i) w.WriteU8(0);
  return w.Take();
}

Status WriteControlString(ByteWriter& w, const std::string& s, std::string_view where,
                          const BhttpLimits& limits) {
  if (s.size() > limits.max_control_bytes) {
    return MakeError(TooBig(where, s.size(), limits.max_control_bytes));
  }
  return w.WriteVarintPrefixed(AsBytes(s));
}

}  // namespace

const std::string* FindBhttpField(const BhttpFields& fields, std::string_view name) {
  for (const BhttpField& f : fields) {
    if (f.name == name) return &f.value;
  }
  return nullptr;
}

Result<Bytes> EncodeBhttpRequest(const BhttpRequest& r, const BhttpEncodeOptions& o,
                                 const BhttpLimits& limits) {
  CRYPTA_RETURN_IF_ERROR(CheckControlData(r));
  ByteWriter w;
  w.WriteU8(o.indeterminate_length ? kIndeterminateRequest : kKnownLengthRequest);
  CRYPTA_RETURN_IF_ERROR(WriteControlString(w, r.method, "bhttp request method", limits));
  CRYPTA_RETURN_IF_ERROR(WriteControlString(w, r.scheme, "bhttp request scheme", limits));
  CRYPTA_RETURN_IF_ERROR(WriteControlString(w, r.authority, "bhttp request authority", limits));
  CRYPTA_RETURN_IF_ERROR(WriteControlString(w, r.path, "bhttp request path", limits));
  return EncodeTail(w, r, "request", o, limits);
}

Result<Bytes> EncodeBhttpResponse(const BhttpResponse& r, const BhttpEncodeOptions& o,
                                  const BhttpLimits& limits) {
  if (r.informational.size() > limits.max_informational) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "bhttp response: too many informational responses");
  }
  ByteWriter w;
  w.WriteU8(o.indeterminate_length ? kIndeterminateResponse : kKnownLengthResponse);
  for (size_t i = 0; i < r.informational.size(); ++i) {
    const BhttpInformational& info = r.informational[i];
    const std::string where = "bhttp response informational " + std::to_string(i + 1);
    if (info.status < 100 || info.status > 199) {
      return MakeError(Invalid(where + " status", std::to_string(info.status) + " is not 1xx"));
    }
    CRYPTA_RETURN_IF_ERROR(w.WriteVarint(static_cast<uint64_t>(info.status)));
    CRYPTA_RETURN_IF_ERROR(EncodeFields(w, info.headers, where + " header", o, limits));
  }
  if (r.status < 200 || r.status > 599) {
    return MakeError(Invalid("bhttp response status",
                             std::to_string(r.status) + " is not a final status (200-599)"));
  }
  CRYPTA_RETURN_IF_ERROR(w.WriteVarint(static_cast<uint64_t>(r.status)));
  return EncodeTail(w, r, "response", o, limits);
}

Result<BhttpRequest> DecodeBhttpRequest(ByteSpan message, const BhttpLimits& limits) {
  CRYPTA_RETURN_IF_ERROR(CheckMessageSize(message, limits, "request"));
  Decoder d(message, limits, "request");
  CRYPTA_ASSIGN_OR_RETURN(uint64_t framing, d.Varint("framing indicator"));
  if (framing != kKnownLengthRequest && framing != kIndeterminateRequest) {
    return MakeError(Invalid("bhttp request framing indicator",
                             "got " + std::to_string(framing) + ", want 0 or 2"));
  }
  d.SetIndeterminate(framing == kIndeterminateRequest);
  BhttpRequest r;
  // §3.4: control data is always length-prefixed, whatever the framing.
  CRYPTA_ASSIGN_OR_RETURN(r.method, d.String("method", limits.max_control_bytes));
  CRYPTA_ASSIGN_OR_RETURN(r.scheme, d.String("scheme", limits.max_control_bytes));
  CRYPTA_ASSIGN_OR_RETURN(r.authority, d.String("authority", limits.max_control_bytes));
  CRYPTA_ASSIGN_OR_RETURN(r.path, d.String("path", limits.max_control_bytes));
  CRYPTA_RETURN_IF_ERROR(CheckControlData(r));
  CRYPTA_RETURN_IF_ERROR(DecodeTail(d, r));
  return r;
}

Result<BhttpResponse> DecodeBhttpResponse(ByteSpan message, const BhttpLimits& limits) {
  CRYPTA_RETURN_IF_ERROR(CheckMessageSize(message, limits, "response"));
  Decoder d(message, limits, "response");
  CRYPTA_ASSIGN_OR_RETURN(uint64_t framing, d.Varint("framing indicator"));
  if (framing != kKnownLengthResponse && framing != kIndeterminateResponse) {
    return MakeError(Invalid("bhttp response framing indicator",
                             "got " + std::to_string(framing) + ", want 1 or 3"));
  }
  d.SetIndeterminate(framing == kIndeterminateResponse);
  BhttpResponse r;
  for (;;) {
    // §3.5: informational responses (1xx) each with a header section, then the final.
    CRYPTA_ASSIGN_OR_RETURN(uint64_t status, d.Varint("status code"));
    if (status >= 200 && status <= 599) {
      r.status = static_cast<int>(status);
      break;
    }
    if (status < 100 || status > 199) {
      return MakeError(
          Invalid("bhttp response status code", std::to_string(status) + " is outside 100-599"));
    }
    if (r.informational.size() >= limits.max_informational) {
      return MakeError(ErrorCode::kResourceExhausted, "bhttp response: more than " +
                                                          std::to_string(limits.max_informational) +
                                                          " informational responses");
    }
    BhttpInformational info;
    info.status = static_cast<int>(status);
    CRYPTA_ASSIGN_OR_RETURN(
        info.headers,
        d.Fields("informational " + std::to_string(r.informational.size() + 1) + " header"));
    r.informational.push_back(std::move(info));
  }
  CRYPTA_RETURN_IF_ERROR(DecodeTail(d, r));
  return r;
}

}  // namespace crypta
