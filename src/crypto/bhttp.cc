#include "crypto/bhttp.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "common/byte_reader.h"

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
Status CheckControlData(const BhttpRequestView& r) {
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

  Result<ByteSpan> Span(std::string_view field, size_t cap) {
    CRYPTA_ASSIGN_OR_RETURN(uint64_t len, Varint(field));
    if (len > cap) return MakeError(TooBig(Where(field), len, cap));
    Result<ByteSpan> b = reader_.ReadBytes(static_cast<size_t>(len), field);
    if (!b) return MakeError(Invalid(Where(field), "truncated"));
    return b;
  }
  Result<std::string_view> String(std::string_view field, size_t cap) {
    CRYPTA_ASSIGN_OR_RETURN(ByteSpan b, Span(field, cap));
    return AsStringView(b);
  }

  // §3.6 field section: known-length (length prefix) or indeterminate (terminated by a
  // zero-length name).
  Result<BhttpFieldViews> Fields(std::string_view section) {
    BhttpFieldViews fields;
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
  // A view into the message, except for content in several chunks: joined into `joined`.
  Result<ByteSpan> Content(std::shared_ptr<const Bytes>& joined) {
    if (!indeterminate_) return Span("content", limits_.max_content_bytes);
    ByteSpan first;
    std::shared_ptr<Bytes> all;
    size_t total = 0;
    while (!AtEnd()) {
      CRYPTA_ASSIGN_OR_RETURN(uint64_t len, Varint("content chunk length"));
      if (len == 0) break;
      if (len > limits_.max_content_bytes - total) {
        return MakeError(TooBig(Where("content"), total + len, limits_.max_content_bytes));
      }
      Result<ByteSpan> chunk = reader_.ReadBytes(static_cast<size_t>(len), "content chunk");
      if (!chunk) return MakeError(Invalid(Where("content chunk"), "truncated"));
      if (total == 0) {
        first = *chunk;
      } else {
        if (!all) all = std::make_shared<Bytes>(first.begin(), first.end());
        all->insert(all->end(), chunk->begin(), chunk->end());
      }
      total += chunk->size();
    }
    if (!all) return first;
    joined = all;
    return ByteSpan(*all);
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
  Status FieldLine(std::string_view section, BhttpFieldViews& fields,
                   std::optional<uint64_t> name_len) {
    const std::string where = std::string(section) + " field " + std::to_string(fields.size() + 1);
    if (fields.size() >= limits_.max_fields) {
      return MakeError(ErrorCode::kResourceExhausted, Where(std::string(section)) + ": more than " +
                                                          std::to_string(limits_.max_fields) +
                                                          " fields");
    }
    BhttpFieldView f;
    if (name_len) {
      if (*name_len > limits_.max_field_bytes) {
        return MakeError(TooBig(Where(where + " name"), *name_len, limits_.max_field_bytes));
      }
      Result<ByteSpan> n = reader_.ReadBytes(static_cast<size_t>(*name_len), "name");
      if (!n) return MakeError(Invalid(Where(where + " name"), "truncated"));
      f.name = AsStringView(*n);
    } else {
      CRYPTA_ASSIGN_OR_RETURN(f.name, String(where + " name", limits_.max_field_bytes));
    }
    CRYPTA_ASSIGN_OR_RETURN(f.value, String(where + " value", limits_.max_field_bytes));
    CRYPTA_RETURN_IF_ERROR(CheckFieldName(f.name, Where(where + " name")));
    CRYPTA_RETURN_IF_ERROR(CheckFieldValue(f.value, Where(where + " value")));
    fields.push_back(f);
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
template <typename View>
Status DecodeTail(Decoder& d, View& m) {
  if (d.AtEnd()) return OkStatus();
  CRYPTA_ASSIGN_OR_RETURN(m.headers, d.Fields("header"));
  if (d.AtEnd()) return OkStatus();
  CRYPTA_ASSIGN_OR_RETURN(m.content, d.Content(m.joined_content));
  if (d.AtEnd()) return OkStatus();
  CRYPTA_ASSIGN_OR_RETURN(m.trailers, d.Fields("trailer"));
  return d.Padding();
}

// ---------------------------------------------------------------- encoding

// QUIC varint (RFC 9000 §16) lengths; sizes in memory never reach 2^62.
size_t VarintSize(uint64_t v) { return v < 64 ? 1 : v < 16384 ? 2 : v < (1ull << 30) ? 4 : 8; }

// Writes into a buffer already known to be large enough.
struct SpanWriter {
  uint8_t* p;
  void Varint(uint64_t v) {
    const size_t n = VarintSize(v);
    const uint8_t tag = n == 1 ? 0x00 : n == 2 ? 0x40 : n == 4 ? 0x80 : 0xC0;
    for (size_t i = n; i-- > 0;) {
      p[i] = static_cast<uint8_t>(v);
      v >>= 8;
    }
    p[0] |= tag;
    p += n;
  }
  void Raw(ByteSpan b) {
    if (!b.empty()) std::memcpy(p, b.data(), b.size());
    p += b.size();
  }
  void Prefixed(ByteSpan b) {
    Varint(b.size());
    Raw(b);
  }
  void Zeros(size_t n) {
    std::memset(p, 0, n);
    p += n;
  }
};

size_t FieldsBodySize(const BhttpFieldViews& fields) {
  size_t n = 0;
  for (const BhttpFieldView& f : fields) {
    n += VarintSize(f.name.size()) + f.name.size() + VarintSize(f.value.size()) + f.value.size();
  }
  return n;
}
size_t FieldsSize(const BhttpFieldViews& fields, const BhttpEncodeOptions& o) {
  const size_t body = FieldsBodySize(fields);
  return o.indeterminate_length ? body + 1 : VarintSize(body) + body;
}
size_t ContentSize(ByteSpan content, const BhttpEncodeOptions& o) {
  if (!o.indeterminate_length) return VarintSize(content.size()) + content.size();
  return (content.empty() ? 0 : VarintSize(content.size()) + content.size()) + 1;
}

// §3.8 truncation: how many of (headers, content, trailers) to write.
template <typename View>
int SectionCount(const View& m, const BhttpEncodeOptions& o) {
  int sections = 3;
  if (o.truncate_empty_tail && !o.indeterminate_length) {
    if (m.trailers.empty()) sections = 2;
    if (sections == 2 && m.content.empty()) sections = 1;
    if (sections == 1 && m.headers.empty()) sections = 0;
  }
  return sections;
}

template <typename View>
size_t TailSize(const View& m, const BhttpEncodeOptions& o) {
  const int sections = SectionCount(m, o);
  size_t n = o.padding;
  if (sections > 0) n += FieldsSize(m.headers, o);
  if (sections > 1) n += ContentSize(m.content, o);
  if (sections > 2) n += FieldsSize(m.trailers, o);
  return n;
}

void WriteFields(SpanWriter& w, const BhttpFieldViews& fields, const BhttpEncodeOptions& o) {
  if (!o.indeterminate_length) w.Varint(FieldsBodySize(fields));
  for (const BhttpFieldView& f : fields) {
    w.Prefixed(AsBytes(f.name));
    w.Prefixed(AsBytes(f.value));
  }
  if (o.indeterminate_length) w.Zeros(1);  // §3.7 Content Terminator
}

template <typename View>
void WriteTail(SpanWriter& w, const View& m, const BhttpEncodeOptions& o) {
  const int sections = SectionCount(m, o);
  if (sections > 0) WriteFields(w, m.headers, o);
  if (sections > 1) {
    if (!o.indeterminate_length || !m.content.empty()) w.Prefixed(m.content);  // one chunk
    if (o.indeterminate_length) w.Zeros(1);
  }
  if (sections > 2) WriteFields(w, m.trailers, o);
  w.Zeros(o.padding);
}

Status CheckFields(const BhttpFieldViews& fields, std::string_view where,
                   const BhttpLimits& limits) {
  if (fields.size() > limits.max_fields) {
    return MakeError(
        ErrorCode::kResourceExhausted,
        std::string(where) + ": more than " + std::to_string(limits.max_fields) + " fields");
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string field_where = std::string(where) + " field " + std::to_string(i + 1);
    CRYPTA_RETURN_IF_ERROR(CheckFieldName(fields[i].name, field_where + " name"));
    CRYPTA_RETURN_IF_ERROR(CheckFieldValue(fields[i].value, field_where + " value"));
    if (fields[i].name.size() > limits.max_field_bytes ||
        fields[i].value.size() > limits.max_field_bytes) {
      return MakeError(TooBig(field_where, std::max(fields[i].name.size(), fields[i].value.size()),
                              limits.max_field_bytes));
    }
  }
  const size_t section = FieldsBodySize(fields);
  if (section > limits.max_section_bytes) {
    return MakeError(TooBig(where, section, limits.max_section_bytes));
  }
  return OkStatus();
}

// The checks of the sections that will be written, then of the whole message's size.
template <typename View>
Status CheckTail(const View& m, std::string_view kind, size_t size, const BhttpEncodeOptions& o,
                 const BhttpLimits& limits) {
  const std::string k = "bhttp " + std::string(kind);
  const int sections = SectionCount(m, o);
  if (sections > 0) CRYPTA_RETURN_IF_ERROR(CheckFields(m.headers, k + " header", limits));
  if (sections > 1 && m.content.size() > limits.max_content_bytes) {
    return MakeError(TooBig(k + " content", m.content.size(), limits.max_content_bytes));
  }
  if (sections > 2) CRYPTA_RETURN_IF_ERROR(CheckFields(m.trailers, k + " trailer", limits));
  if (o.padding > limits.max_message_bytes || size > limits.max_message_bytes) {
    return MakeError(TooBig(k, size, limits.max_message_bytes));
  }
  return OkStatus();
}

Status CheckControlSize(std::string_view s, std::string_view where, const BhttpLimits& limits) {
  if (s.size() > limits.max_control_bytes) {
    return MakeError(TooBig(where, s.size(), limits.max_control_bytes));
  }
  return OkStatus();
}

Status CheckOutput(size_t size, MutableByteSpan out, std::string_view kind) {
  if (out.size() < size) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "bhttp " + std::string(kind) + ": buffer of " + std::to_string(out.size()) +
                         " bytes, the message needs " + std::to_string(size));
  }
  return OkStatus();
}

BhttpFieldViews FieldViews(const BhttpFields& fields) {
  BhttpFieldViews out;
  out.reserve(fields.size());
  for (const BhttpField& f : fields) out.push_back({f.name, f.value});
  return out;
}
BhttpFields OwnedFields(const BhttpFieldViews& fields) {
  BhttpFields out;
  out.reserve(fields.size());
  for (const BhttpFieldView& f : fields) out.push_back({std::string(f.name), std::string(f.value)});
  return out;
}

// Sizes, allocates and encodes an owning message through its view.
template <typename View, typename EncodeInto>
Result<Bytes> EncodeOwned(const View& v, const BhttpEncodeOptions& o, const BhttpLimits& limits,
                          EncodeInto encode_into) {
  const size_t size = BhttpEncodedSize(v, o);
  // Over the cap: no allocation; the encoder reports it (its checks come before the write).
  if (o.padding > limits.max_message_bytes || size > limits.max_message_bytes) {
    CRYPTA_RETURN_IF_ERROR(encode_into(v, MutableByteSpan(), o, limits));
  }
  Bytes out(size);
  CRYPTA_RETURN_IF_ERROR(encode_into(v, out, o, limits));
  return out;
}

}  // namespace

const std::string* FindBhttpField(const BhttpFields& fields, std::string_view name) {
  for (const BhttpField& f : fields) {
    if (f.name == name) return &f.value;
  }
  return nullptr;
}

std::optional<std::string_view> FindBhttpFieldView(const BhttpFieldViews& fields,
                                                   std::string_view name) {
  for (const BhttpFieldView& f : fields) {
    if (f.name == name) return f.value;
  }
  return std::nullopt;
}

BhttpRequestView ViewOf(const BhttpRequest& m) {
  return {m.method,
          m.scheme,
          m.authority,
          m.path,
          FieldViews(m.headers),
          m.content,
          FieldViews(m.trailers),
          nullptr};
}

BhttpResponseView ViewOf(const BhttpResponse& m) {
  BhttpResponseView v;
  for (const BhttpInformational& i : m.informational) {
    v.informational.push_back({i.status, FieldViews(i.headers)});
  }
  v.status = m.status;
  v.headers = FieldViews(m.headers);
  v.content = m.content;
  v.trailers = FieldViews(m.trailers);
  return v;
}

BhttpRequest ToOwned(const BhttpRequestView& v) {
  return {std::string(v.method),  std::string(v.scheme),  std::string(v.authority),
          std::string(v.path),    OwnedFields(v.headers), Bytes(v.content.begin(), v.content.end()),
          OwnedFields(v.trailers)};
}

BhttpResponse ToOwned(const BhttpResponseView& v) {
  BhttpResponse m;
  for (const BhttpInformationalView& i : v.informational) {
    m.informational.push_back({i.status, OwnedFields(i.headers)});
  }
  m.status = v.status;
  m.headers = OwnedFields(v.headers);
  m.content.assign(v.content.begin(), v.content.end());
  m.trailers = OwnedFields(v.trailers);
  return m;
}

size_t BhttpEncodedSize(const BhttpRequestView& m, const BhttpEncodeOptions& o) {
  size_t n = 1;  // framing indicator 0 or 2
  for (std::string_view s : {m.method, m.scheme, m.authority, m.path}) {
    n += VarintSize(s.size()) + s.size();
  }
  return n + TailSize(m, o);
}

size_t BhttpEncodedSize(const BhttpResponseView& m, const BhttpEncodeOptions& o) {
  size_t n = 1;  // framing indicator 1 or 3
  for (const BhttpInformationalView& i : m.informational) {
    n += VarintSize(static_cast<uint64_t>(i.status)) + FieldsSize(i.headers, o);
  }
  return n + VarintSize(static_cast<uint64_t>(m.status)) + TailSize(m, o);
}

Result<size_t> EncodeBhttpRequestInto(const BhttpRequestView& r, MutableByteSpan out,
                                      const BhttpEncodeOptions& o, const BhttpLimits& limits) {
  CRYPTA_RETURN_IF_ERROR(CheckControlData(r));
  CRYPTA_RETURN_IF_ERROR(CheckControlSize(r.method, "bhttp request method", limits));
  CRYPTA_RETURN_IF_ERROR(CheckControlSize(r.scheme, "bhttp request scheme", limits));
  CRYPTA_RETURN_IF_ERROR(CheckControlSize(r.authority, "bhttp request authority", limits));
  CRYPTA_RETURN_IF_ERROR(CheckControlSize(r.path, "bhttp request path", limits));
  const size_t size = BhttpEncodedSize(r, o);
  CRYPTA_RETURN_IF_ERROR(CheckTail(r, "request", size, o, limits));
  CRYPTA_RETURN_IF_ERROR(CheckOutput(size, out, "request"));
  SpanWriter w{out.data()};
  w.Varint(o.indeterminate_length ? kIndeterminateRequest : kKnownLengthRequest);
  for (std::string_view s : {r.method, r.scheme, r.authority, r.path}) w.Prefixed(AsBytes(s));
  WriteTail(w, r, o);
  return size;
}

Result<size_t> EncodeBhttpResponseInto(const BhttpResponseView& r, MutableByteSpan out,
                                       const BhttpEncodeOptions& o, const BhttpLimits& limits) {
  if (r.informational.size() > limits.max_informational) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "bhttp response: too many informational responses");
  }
  for (size_t i = 0; i < r.informational.size(); ++i) {
    const BhttpInformationalView& info = r.informational[i];
    const std::string where = "bhttp response informational " + std::to_string(i + 1);
    if (info.status < 100 || info.status > 199) {
      return MakeError(Invalid(where + " status", std::to_string(info.status) + " is not 1xx"));
    }
    CRYPTA_RETURN_IF_ERROR(CheckFields(info.headers, where + " header", limits));
  }
  if (r.status < 200 || r.status > 599) {
    return MakeError(Invalid("bhttp response status",
                             std::to_string(r.status) + " is not a final status (200-599)"));
  }
  const size_t size = BhttpEncodedSize(r, o);
  CRYPTA_RETURN_IF_ERROR(CheckTail(r, "response", size, o, limits));
  CRYPTA_RETURN_IF_ERROR(CheckOutput(size, out, "response"));
  SpanWriter w{out.data()};
  w.Varint(o.indeterminate_length ? kIndeterminateResponse : kKnownLengthResponse);
  for (const BhttpInformationalView& info : r.informational) {
    w.Varint(static_cast<uint64_t>(info.status));
    WriteFields(w, info.headers, o);
  }
  w.Varint(static_cast<uint64_t>(r.status));
  WriteTail(w, r, o);
  return size;
}

Result<Bytes> EncodeBhttpRequest(const BhttpRequest& r, const BhttpEncodeOptions& o,
                                 const BhttpLimits& limits) {
  return EncodeOwned(ViewOf(r), o, limits, EncodeBhttpRequestInto);
}

Result<Bytes> EncodeBhttpResponse(const BhttpResponse& r, const BhttpEncodeOptions& o,
                                  const BhttpLimits& limits) {
  return EncodeOwned(ViewOf(r), o, limits, EncodeBhttpResponseInto);
}

Result<BhttpRequestView> DecodeBhttpRequestView(ByteSpan message, const BhttpLimits& limits) {
  CRYPTA_RETURN_IF_ERROR(CheckMessageSize(message, limits, "request"));
  Decoder d(message, limits, "request");
  CRYPTA_ASSIGN_OR_RETURN(uint64_t framing, d.Varint("framing indicator"));
  if (framing != kKnownLengthRequest && framing != kIndeterminateRequest) {
    return MakeError(Invalid("bhttp request framing indicator",
                             "got " + std::to_string(framing) + ", want 0 or 2"));
  }
  d.SetIndeterminate(framing == kIndeterminateRequest);
  BhttpRequestView r;
  // §3.4: control data is always length-prefixed, whatever the framing.
  CRYPTA_ASSIGN_OR_RETURN(r.method, d.String("method", limits.max_control_bytes));
  CRYPTA_ASSIGN_OR_RETURN(r.scheme, d.String("scheme", limits.max_control_bytes));
  CRYPTA_ASSIGN_OR_RETURN(r.authority, d.String("authority", limits.max_control_bytes));
  CRYPTA_ASSIGN_OR_RETURN(r.path, d.String("path", limits.max_control_bytes));
  CRYPTA_RETURN_IF_ERROR(CheckControlData(r));
  CRYPTA_RETURN_IF_ERROR(DecodeTail(d, r));
  return r;
}

Result<BhttpResponseView> DecodeBhttpResponseView(ByteSpan message, const BhttpLimits& limits) {
  CRYPTA_RETURN_IF_ERROR(CheckMessageSize(message, limits, "response"));
  Decoder d(message, limits, "response");
  CRYPTA_ASSIGN_OR_RETURN(uint64_t framing, d.Varint("framing indicator"));
  if (framing != kKnownLengthResponse && framing != kIndeterminateResponse) {
    return MakeError(Invalid("bhttp response framing indicator",
                             "got " + std::to_string(framing) + ", want 1 or 3"));
  }
  d.SetIndeterminate(framing == kIndeterminateResponse);
  BhttpResponseView r;
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
    BhttpInformationalView info;
    info.status = static_cast<int>(status);
    CRYPTA_ASSIGN_OR_RETURN(
        info.headers,
        d.Fields("informational " + std::to_string(r.informational.size() + 1) + " header"));
    r.informational.push_back(std::move(info));
  }
  CRYPTA_RETURN_IF_ERROR(DecodeTail(d, r));
  return r;
}

Result<BhttpRequest> DecodeBhttpRequest(ByteSpan message, const BhttpLimits& limits) {
  CRYPTA_ASSIGN_OR_RETURN(BhttpRequestView v, DecodeBhttpRequestView(message, limits));
  return ToOwned(v);
}

Result<BhttpResponse> DecodeBhttpResponse(ByteSpan message, const BhttpLimits& limits) {
  CRYPTA_ASSIGN_OR_RETURN(BhttpResponseView v, DecodeBhttpResponseView(message, limits));
  return ToOwned(v);
}

}  // namespace crypta
