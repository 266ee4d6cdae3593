// Binary HTTP (RFC 9292): the RFC's examples (Section 5) and the messages inside RFC 9458
// Appendix A, decoded and re-encoded byte for byte, plus malformed inputs that each
// change one thing.
#include "crypto/bhttp.h"

#include <gtest/gtest.h>

#include <string>

#include "testing/test_util.h"

namespace crypta {
namespace {

using ::crypta::testing::ReadTestdataJson;
using ::crypta::testing::Unhex;

Bytes Example(const char* name) {
  static const nlohmann::json* examples =
      new nlohmann::json(ReadTestdataJson("bhttp/rfc9292_examples.json"));
  return Unhex((*examples)[name].get<std::string>());
}

// RFC 9292 Figure 7: GET /hello.txt with three header fields and no authority.
BhttpRequest HelloRequest() {
  BhttpRequest r;
  r.method = "GET";
  r.scheme = "https";
  r.path = "/hello.txt";
  r.headers = {{"user-agent", "curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3"},
               {"host", "www.example.com"},
               {"accept-language", "en, mi"}};
  return r;
}

// RFC 9292 Figure 10: 102 and 103 informational responses, then 200 with content.
BhttpResponse HelloResponse() {
  BhttpResponse r;
  r.informational = {{102, {{"running", "\"sleep 15\""}}},
                     {103,
                      {{"link", "</style.css>; rel=preload; as=style"},
                       {"link", "</script.js>; rel=preload; as=script"}}}};
  r.status = 200;
  r.headers = {{"date", "Mon, 27 Jul 2009 12:28:53 GMT"},
               {"server", "Apache"},
               {"last-modified", "Wed, 22 Jul 2009 19:15:56 GMT"},
               {"etag", "\"34aa387-d-1568eb00\""},
               {"accept-ranges", "bytes"},
               {"content-length", "51"},
               {"vary", "Accept-Encoding"},
               {"content-type", "text/plain"}};
  r.content = ToBytes("Hello World! My content includes a trailing CRLF.\r\n");
  return r;
}

TEST(BhttpTest, Figure8KnownLengthRequestDecodesAndReencodes) {
  const Bytes wire = Example("figure8_known_length_request");
  CRYPTA_ASSIGN_OR_FAIL(BhttpRequest r, DecodeBhttpRequest(wire));
  EXPECT_EQ(r, HelloRequest());
  EXPECT_EQ(*FindBhttpField(r.headers, "host"), "www.example.com");
  CRYPTA_ASSIGN_OR_FAIL(Bytes again, EncodeBhttpRequest(HelloRequest()));
  EXPECT_EQ(again, wire);
}

TEST(BhttpTest, Figure9IndeterminateLengthPaddedRequestMatches) {
  const Bytes wire = Example("figure9_indeterminate_length_request_padded");
  CRYPTA_ASSIGN_OR_FAIL(BhttpRequest r, DecodeBhttpRequest(wire));
  EXPECT_EQ(r, HelloRequest());
  BhttpEncodeOptions o;
  o.indeterminate_length = true;
  o.padding = 10;
  CRYPTA_ASSIGN_OR_FAIL(Bytes again, EncodeBhttpRequest(HelloRequest(), o));
  EXPECT_EQ(again, wire);
}

TEST(BhttpTest, Figure11IndeterminateResponseWithInformationalResponses) {
  const Bytes wire = Example("figure11_indeterminate_length_response");
  CRYPTA_ASSIGN_OR_FAIL(BhttpResponse r, DecodeBhttpResponse(wire));
  ASSERT_EQ(r.informational.size(), 2u);
  EXPECT_EQ(r.informational[0].status, 102);
  EXPECT_EQ(r.informational[1].status, 103);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content.size(), 51u);
  EXPECT_EQ(r, HelloResponse());
  BhttpEncodeOptions o;
  o.indeterminate_length = true;
  CRYPTA_ASSIGN_OR_FAIL(Bytes again, EncodeBhttpResponse(HelloResponse(), o));
  EXPECT_EQ(again, wire);
}

TEST(BhttpTest, Figure13KnownLengthResponseWithTrailer) {
  const Bytes wire = Example("figure13_known_length_response_with_trailer");
  BhttpResponse want;
  want.status = 200;
  want.content = ToBytes("This content contains CRLF.\r\n");
  want.trailers = {{"trailer", "text"}};
  CRYPTA_ASSIGN_OR_FAIL(BhttpResponse r, DecodeBhttpResponse(wire));
  EXPECT_EQ(r, want);
  CRYPTA_ASSIGN_OR_FAIL(Bytes again, EncodeBhttpResponse(want));
  EXPECT_EQ(again, wire);
}

TEST(BhttpTest, Rfc9458AppendixMessagesAreTruncatedKnownLength) {
  const nlohmann::json a = ReadTestdataJson("ohttp/rfc9458-appendix-a.json");
  const Bytes req_wire = Unhex(a["request_bhttp"].get<std::string>());
  const Bytes res_wire = Unhex(a["response_bhttp"].get<std::string>());
  BhttpRequest want_req;
  want_req.method = "GET";
  want_req.scheme = "https";
  want_req.authority = "example.com";
  want_req.path = "/";
  CRYPTA_ASSIGN_OR_FAIL(BhttpRequest req, DecodeBhttpRequest(req_wire));
  EXPECT_EQ(req, want_req);
  BhttpResponse want_res;
  want_res.status = 200;
  CRYPTA_ASSIGN_OR_FAIL(BhttpResponse res, DecodeBhttpResponse(res_wire));
  EXPECT_EQ(res, want_res);
  BhttpEncodeOptions o;
  o.truncate_empty_tail = true;
  CRYPTA_ASSIGN_OR_FAIL(Bytes req_again, EncodeBhttpRequest(want_req, o));
  EXPECT_EQ(req_again, req_wire);
  CRYPTA_ASSIGN_OR_FAIL(Bytes res_again, EncodeBhttpResponse(want_res, o));
  EXPECT_EQ(res_again, res_wire);
  CRYPTA_ASSIGN_OR_FAIL(Bytes full, EncodeBhttpResponse(want_res));
  EXPECT_EQ(full, Unhex("0140c8000000"));
}

TEST(BhttpTest, TruncationAtSectionBoundaryMeansEmptySections) {
  const Bytes wire = Example("figure8_known_length_request");
  for (size_t cut : {1, 2}) {
    CRYPTA_ASSIGN_OR_FAIL(BhttpRequest r,
                          DecodeBhttpRequest(ByteSpan(wire).first(wire.size() - cut)));
    EXPECT_EQ(r, HelloRequest()) << cut;
  }
}

TEST(BhttpTest, AcceptsNonMinimalVarintFramingIndicator) {
  Bytes wire = Example("figure8_known_length_request");
  wire[0] = 0x40;
  wire.insert(wire.begin() + 1, 0x00);  // 0x4000 is a two-byte encoding of 0
  CRYPTA_ASSIGN_OR_FAIL(BhttpRequest r, DecodeBhttpRequest(wire));
  EXPECT_EQ(r, HelloRequest());
}

TEST(BhttpTest, RoundTripsContentAndTrailersInBothFramings) {
  BhttpRequest r = HelloRequest();
  r.method = "POST";
  r.authority = "model.example";
  r.content = Bytes(1000, 0x7b);
  r.trailers = {{"x-checksum", "abc"}};
  for (bool indeterminate : {false, true}) {
    BhttpEncodeOptions o;
    o.indeterminate_length = indeterminate;
    o.padding = 7;
    CRYPTA_ASSIGN_OR_FAIL(Bytes wire, EncodeBhttpRequest(r, o));
    CRYPTA_ASSIGN_OR_FAIL(BhttpRequest back, DecodeBhttpRequest(wire));
    EXPECT_EQ(back, r);
  }
}

// ---------------------------------------------------------------- malformed input

std::string DecodeRequestError(ByteSpan wire, const BhttpLimits& limits = {}) {
  Result<BhttpRequest> r = DecodeBhttpRequest(wire, limits);
  return r ? "ok" : r.error().message();
}

TEST(BhttpTest, RejectsResponseFramingForRequestAndUnknownFraming) {
  Bytes wire = Example("figure8_known_length_request");
  wire[0] = 1;
  EXPECT_NE(DecodeRequestError(wire).find("framing indicator"), std::string::npos);
  wire[0] = 4;
  EXPECT_NE(DecodeRequestError(wire).find("want 0 or 2"), std::string::npos);
  EXPECT_FALSE(DecodeBhttpResponse(Example("figure8_known_length_request")).has_value());
}

TEST(BhttpTest, RejectsNonZeroPadding) {
  Bytes wire = Example("figure9_indeterminate_length_request_padded");
  wire.back() = 1;
  EXPECT_NE(DecodeRequestError(wire).find("padding"), std::string::npos);
}

TEST(BhttpTest, RejectsMessageCutInsideASection) {
  const Bytes wire = Example("figure8_known_length_request");
  std::string err = DecodeRequestError(ByteSpan(wire).first(40));
  EXPECT_NE(err.find("header section"), std::string::npos) << err;
  EXPECT_NE(DecodeRequestError(ByteSpan(wire).first(8)), "ok");  // inside the control data
  EXPECT_NE(DecodeRequestError({}), "ok");
  // Indeterminate-length header section without its terminator.
  const Bytes ind = Example("figure9_indeterminate_length_request_padded");
  EXPECT_NE(DecodeRequestError(ByteSpan(ind).first(60)), "ok");
}

// A known-length GET with one header field line, for single-field mutations.
Bytes OneFieldRequest(std::string_view name, std::string_view value) {
  BhttpRequest r;
  r.method = "GET";
  r.scheme = "https";
  r.path = "/";
  Bytes wire = *EncodeBhttpRequest(r);  // 00 03GET 05https 00 01/ 00 00 00
  wire.resize(wire.size() - 3);
  Bytes line;
  line.push_back(static_cast<uint8_t>(name.size()));
  line.insert(line.end(), name.begin(), name.end());
  line.push_back(static_cast<uint8_t>(value.size()));
  line.insert(line.end(), value.begin(), value.end());
  wire.push_back(static_cast<uint8_t>(line.size()));
  wire.insert(wire.end(), line.begin(), line.end());
  wire.push_back(0);
  wire.push_back(0);
  return wire;
}

TEST(BhttpTest, RejectsInvalidFieldNamesAndValuesNamingTheField) {
  EXPECT_EQ(DecodeRequestError(OneFieldRequest("accept", "*/*")), "ok");
  std::string err = DecodeRequestError(OneFieldRequest("Accept", "*/*"));
  EXPECT_NE(err.find("header field 1 name"), std::string::npos) << err;
  EXPECT_NE(err.find("uppercase"), std::string::npos) << err;
  EXPECT_NE(DecodeRequestError(OneFieldRequest(":path", "/")), "ok");
  EXPECT_NE(DecodeRequestError(OneFieldRequest("bad name", "x")), "ok");
  err = DecodeRequestError(OneFieldRequest("x", "a\r\nb: c"));
  EXPECT_NE(err.find("header field 1 value"), std::string::npos) << err;
  EXPECT_NE(DecodeRequestError(OneFieldRequest("x", std::string("a\0b", 3))), "ok");
}

TEST(BhttpTest, RejectsInvalidControlData) {
  BhttpRequest r = HelloRequest();
  r.method = "GE T";
  EXPECT_FALSE(EncodeBhttpRequest(r).has_value());
  r = HelloRequest();
  r.path = "/a b";
  EXPECT_FALSE(EncodeBhttpRequest(r).has_value());
  r = HelloRequest();
  r.path = "";
  EXPECT_FALSE(EncodeBhttpRequest(r).has_value());
  r = HelloRequest();
  r.scheme = "1http";
  EXPECT_FALSE(EncodeBhttpRequest(r).has_value());
  // The same checks apply on decode: a space in the path.
  Bytes wire = Example("figure8_known_length_request");
  wire[15] = ' ';  // inside "/hello.txt"
  EXPECT_NE(DecodeRequestError(wire).find("path"), std::string::npos);
}

TEST(BhttpTest, EnforcesSizeCaps) {
  const Bytes wire = Example("figure8_known_length_request");
  BhttpLimits small;
  small.max_message_bytes = wire.size() - 1;
  EXPECT_EQ(DecodeBhttpRequest(wire, small).error().code(), ErrorCode::kResourceExhausted);
  small = {};
  small.max_field_bytes = 40;  // the user-agent value is 52 bytes
  Result<BhttpRequest> r = DecodeBhttpRequest(wire, small);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(r.error().message().find("header field 1 value"), std::string::npos);
  small = {};
  small.max_fields = 2;
  EXPECT_EQ(DecodeBhttpRequest(wire, small).error().code(), ErrorCode::kResourceExhausted);
  small = {};
  small.max_section_bytes = 100;  // the header section is 108 bytes
  EXPECT_EQ(DecodeBhttpRequest(wire, small).error().code(), ErrorCode::kResourceExhausted);
  // A content length far beyond the message never allocates: it is refused.
  Bytes huge = Unhex("000347455405687474707300012f00bfffffffffffffff");
  EXPECT_EQ(DecodeBhttpRequest(huge).error().code(), ErrorCode::kResourceExhausted);
}

TEST(BhttpTest, RejectsBadResponseStatusCodes) {
  EXPECT_FALSE(DecodeBhttpResponse(Unhex("0163")).has_value());    // 99
  EXPECT_FALSE(DecodeBhttpResponse(Unhex("014258")).has_value());  // 600
  // An informational response with no final response after it.
  EXPECT_FALSE(DecodeBhttpResponse(Unhex("01406400")).has_value());
  BhttpLimits limits;
  limits.max_informational = 1;
  EXPECT_EQ(
      DecodeBhttpResponse(Example("figure11_indeterminate_length_response"), limits).error().code(),
      ErrorCode::kResourceExhausted);
  BhttpResponse r;
  r.status = 199;
  EXPECT_FALSE(EncodeBhttpResponse(r).has_value());
  r.status = 200;
  r.informational = {{200, {}}};
  EXPECT_FALSE(EncodeBhttpResponse(r).has_value());
}

// ---------------------------------------------------------------- views, encoding in place

// Encodes a view into the middle of a larger buffer and returns just the message.
template <typename View, typename EncodeInto>
Bytes EncodeInPlace(const View& v, const BhttpEncodeOptions& o, EncodeInto encode_into) {
  const size_t size = BhttpEncodedSize(v, o);
  Bytes buffer(3 + size + 2, 0xAA);  // headroom and tailroom, as in an OHTTP buffer
  Result<size_t> n = encode_into(v, MutableByteSpan(buffer).subspan(3, size), o, BhttpLimits{});
  EXPECT_TRUE(n.has_value()) << (n ? "" : n.error().ToString());
  if (!n) return {};
  EXPECT_EQ(*n, size);
  EXPECT_EQ(buffer[0], 0xAA);  // nothing written outside the message
  EXPECT_EQ(buffer[3 + size], 0xAA);
  return Bytes(buffer.begin() + 3, buffer.begin() + 3 + static_cast<ptrdiff_t>(size));
}

TEST(BhttpViewTest, RfcMessagesEncodeInPlaceToTheSameBytes) {
  BhttpEncodeOptions indeterminate_padded;
  indeterminate_padded.indeterminate_length = true;
  indeterminate_padded.padding = 10;
  BhttpEncodeOptions indeterminate;
  indeterminate.indeterminate_length = true;
  EXPECT_EQ(EncodeInPlace(ViewOf(HelloRequest()), {}, EncodeBhttpRequestInto),
            Example("figure8_known_length_request"));
  EXPECT_EQ(EncodeInPlace(ViewOf(HelloRequest()), indeterminate_padded, EncodeBhttpRequestInto),
            Example("figure9_indeterminate_length_request_padded"));
  EXPECT_EQ(EncodeInPlace(ViewOf(HelloResponse()), indeterminate, EncodeBhttpResponseInto),
            Example("figure11_indeterminate_length_response"));
  BhttpResponse trailer;
  trailer.status = 200;
  trailer.content = ToBytes("This content contains CRLF.\r\n");
  trailer.trailers = {{"trailer", "text"}};
  EXPECT_EQ(EncodeInPlace(ViewOf(trailer), {}, EncodeBhttpResponseInto),
            Example("figure13_known_length_response_with_trailer"));
  // RFC 9458 Appendix A's truncated messages.
  const nlohmann::json a = ReadTestdataJson("ohttp/rfc9458-appendix-a.json");
  BhttpRequestView get;
  get.method = "GET";
  get.scheme = "https";
  get.authority = "example.com";
  get.path = "/";
  BhttpEncodeOptions truncate;
  truncate.truncate_empty_tail = true;
  EXPECT_EQ(EncodeInPlace(get, truncate, EncodeBhttpRequestInto),
            Unhex(a["request_bhttp"].get<std::string>()));
  BhttpResponseView ok;
  ok.status = 200;
  EXPECT_EQ(EncodeInPlace(ok, truncate, EncodeBhttpResponseInto),
            Unhex(a["response_bhttp"].get<std::string>()));
  EXPECT_EQ(EncodeInPlace(ok, {}, EncodeBhttpResponseInto), Unhex("0140c8000000"));
}

TEST(BhttpViewTest, ViewDecodersPointIntoTheMessageAndMatchTheOwningForm) {
  const Bytes wire = Example("figure8_known_length_request");
  CRYPTA_ASSIGN_OR_FAIL(BhttpRequestView v, DecodeBhttpRequestView(wire));
  EXPECT_EQ(v.method, "GET");
  EXPECT_EQ(v.path, "/hello.txt");
  EXPECT_EQ(FindBhttpFieldView(v.headers, "host"), "www.example.com");
  EXPECT_FALSE(FindBhttpFieldView(v.headers, "cookie").has_value());
  const uint8_t* begin = wire.data();
  const uint8_t* end = wire.data() + wire.size();
  auto inside = [&](std::string_view s) {
    return reinterpret_cast<const uint8_t*>(s.data()) >= begin &&
           reinterpret_cast<const uint8_t*>(s.data()) + s.size() <= end;
  };
  EXPECT_TRUE(inside(v.method) && inside(v.path) && inside(v.headers[0].value));
  EXPECT_EQ(ToOwned(v), HelloRequest());

  // Known-length content is a view into the message; so is one indeterminate chunk.
  const Bytes trailer_wire = Example("figure13_known_length_response_with_trailer");
  CRYPTA_ASSIGN_OR_FAIL(BhttpResponseView r, DecodeBhttpResponseView(trailer_wire));
  EXPECT_EQ(AsStringView(r.content), "This content contains CRLF.\r\n");
  EXPECT_GE(r.content.data(), trailer_wire.data());
  EXPECT_LE(r.content.data() + r.content.size(), trailer_wire.data() + trailer_wire.size());
  EXPECT_EQ(r.joined_content, nullptr);
  CRYPTA_ASSIGN_OR_FAIL(BhttpResponse owned, DecodeBhttpResponse(trailer_wire));
  EXPECT_EQ(ToOwned(r), owned);

  const Bytes informational = Example("figure11_indeterminate_length_response");
  CRYPTA_ASSIGN_OR_FAIL(BhttpResponseView hello, DecodeBhttpResponseView(informational));
  ASSERT_EQ(hello.informational.size(), 2u);
  EXPECT_EQ(hello.informational[1].headers.size(), 2u);
  EXPECT_EQ(ToOwned(hello), HelloResponse());
}

TEST(BhttpViewTest, ContentInSeveralChunksIsJoinedAndSurvivesCopies) {
  // Indeterminate-length request (framing 2), GET https:// "/" , no headers, content "ab" in
  // chunks "a" and "b", no trailers.
  const Bytes wire = Unhex(
      "0203474554056874747073000"
      "12f"
      "00"
      "0161"
      "0162"
      "00"
      "00");
  BhttpRequestView copy;
  {
    CRYPTA_ASSIGN_OR_FAIL(BhttpRequestView v, DecodeBhttpRequestView(wire));
    ASSERT_NE(v.joined_content, nullptr);
    copy = v;
  }
  EXPECT_EQ(AsStringView(copy.content), "ab");
  CRYPTA_ASSIGN_OR_FAIL(BhttpRequest owned, DecodeBhttpRequest(wire));
  EXPECT_EQ(ToString(owned.content), "ab");
  // Re-encoded as one chunk.
  BhttpEncodeOptions o;
  o.indeterminate_length = true;
  EXPECT_EQ(EncodeInPlace(copy, o, EncodeBhttpRequestInto), Unhex("0203474554056874747073000"
                                                                  "12f"
                                                                  "00"
                                                                  "026162"
                                                                  "00"
                                                                  "00"));
}

TEST(BhttpViewTest, EncodeIntoChecksBeforeWritingAndRefusesShortBuffers) {
  const BhttpRequest hello = HelloRequest();  // the views below point into it
  BhttpRequestView r = ViewOf(hello);
  const size_t size = BhttpEncodedSize(r);
  Bytes small(size - 1, 0xAA);
  Result<size_t> n = EncodeBhttpRequestInto(r, small);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(small, Bytes(size - 1, 0xAA));  // untouched
  // The same checks as EncodeBhttpRequest, before anything is written.
  Bytes buffer(size + 64, 0xAA);
  r.headers[1].name = "Host";
  n = EncodeBhttpRequestInto(r, buffer);
  ASSERT_FALSE(n.has_value());
  EXPECT_NE(n.error().message().find("header field 2 name"), std::string::npos);
  EXPECT_EQ(buffer, Bytes(size + 64, 0xAA));
  r = ViewOf(hello);
  BhttpLimits limits;
  limits.max_message_bytes = size - 1;
  EXPECT_EQ(EncodeBhttpRequestInto(r, buffer, {}, limits).error().code(),
            ErrorCode::kResourceExhausted);
  BhttpEncodeOptions huge_padding;
  huge_padding.padding = SIZE_MAX - 8;  // the size would wrap: refused, never allocated
  EXPECT_EQ(EncodeBhttpRequest(HelloRequest(), huge_padding).error().code(),
            ErrorCode::kResourceExhausted);
  BhttpResponseView bad;
  bad.status = 600;
  EXPECT_EQ(EncodeBhttpResponseInto(bad, buffer).error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace crypta
