// Streaming Binary HTTP responses: written in parts, read back in any split, validated exactly
// like whole messages (the same decoder), truncation and trailing garbage refused.
#include "crypto/bhttp_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/test_util.h"

namespace crypta {
namespace {

using Kind = BhttpStreamEvent::Kind;

struct Read {
  int status = 0;
  BhttpFields headers, trailers;
  std::vector<std::string> chunks;
  int ends = 0;
};

// Feeds `stream` in pieces of `piece` bytes; the events gathered, or the first error.
Result<Read> ReadStream(ByteSpan stream, size_t piece, const BhttpLimits& limits = {}) {
  BhttpResponseStreamReader reader(limits);
  Read r;
  auto take = [&](std::vector<BhttpStreamEvent> events) {
    for (BhttpStreamEvent& e : events) {
      if (e.kind == Kind::kHead) {
        r.status = e.status;
        r.headers = e.fields;
      } else if (e.kind == Kind::kContent) {
        r.chunks.push_back(ToString(e.content));
      } else {
        r.trailers = e.fields;
        ++r.ends;
      }
    }
  };
  for (size_t at = 0; at < stream.size(); at += piece) {
    CRYPTA_ASSIGN_OR_RETURN(auto events,
                            reader.Feed(stream.subspan(at, std::min(piece, stream.size() - at))));
    take(std::move(events));
  }
  CRYPTA_ASSIGN_OR_RETURN(auto rest, reader.Finish());
  take(std::move(rest));
  return r;
}

Bytes StreamOf(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(BhttpStreamTest, WrittenPartsAreOneIndeterminateLengthResponse) {
  const BhttpFields headers = {{"content-type", "text/event-stream"}};
  const BhttpFields trailers = {{"x-tokens", "2"}};
  CRYPTA_ASSIGN_OR_FAIL(Bytes head, EncodeBhttpResponseHead(200, headers));
  CRYPTA_ASSIGN_OR_FAIL(Bytes a, EncodeBhttpContentChunk(AsBytes("data: {\"t\":1}\n\n")));
  CRYPTA_ASSIGN_OR_FAIL(Bytes b, EncodeBhttpContentChunk(AsBytes("data: {\"t\":2}\n\n")));
  CRYPTA_ASSIGN_OR_FAIL(Bytes end, EncodeBhttpResponseEnd(trailers));
  const Bytes stream = StreamOf({head, a, b, end});
  // The whole-message decoder reads the same response.
  CRYPTA_ASSIGN_OR_FAIL(BhttpResponse whole, DecodeBhttpResponse(stream));
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(whole.headers, headers);
  EXPECT_EQ(ToString(whole.content), "data: {\"t\":1}\n\ndata: {\"t\":2}\n\n");
  EXPECT_EQ(whole.trailers, trailers);
  // The stream reader, in every split.
  for (size_t piece : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, stream.size()}) {
    SCOPED_TRACE(piece);
    CRYPTA_ASSIGN_OR_FAIL(Read r, ReadStream(stream, piece));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers, headers);
    ASSERT_EQ(r.chunks.size(), 2u);
    EXPECT_EQ(r.chunks[1], "data: {\"t\":2}\n\n");
    EXPECT_EQ(r.trailers, trailers);
    EXPECT_EQ(r.ends, 1);
  }
  // Zero padding after the end is allowed (§3.8), anything else is not.
  Bytes padded = stream;
  padded.resize(stream.size() + 5, 0);
  CRYPTA_ASSERT_OK(ReadStream(padded, 4));
  Bytes garbage = stream;
  garbage.push_back(1);
  EXPECT_EQ(ReadStream(garbage, 4).error().code(), ErrorCode::kInvalidArgument);
}

TEST(BhttpStreamTest, ReadsWholeMessagesOfEitherFramingWithInformationalResponses) {
  BhttpResponse m;
  m.informational.push_back({103, {{"link", "</style.css>; rel=preload"}}});
  m.status = 404;
  m.headers = {{"content-type", "application/json"}};
  m.content = ToBytes("{\"error\":\"no such model\"}");
  m.trailers = {{"x-done", "1"}};
  for (bool indeterminate : {false, true}) {
    SCOPED_TRACE(indeterminate);
    BhttpEncodeOptions options;
    options.indeterminate_length = indeterminate;
    CRYPTA_ASSIGN_OR_FAIL(Bytes encoded, EncodeBhttpResponse(m, options));
    CRYPTA_ASSIGN_OR_FAIL(Read r, ReadStream(encoded, 3));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.headers, m.headers);
    std::string content;
    for (const std::string& c : r.chunks) content += c;
    EXPECT_EQ(content, ToString(m.content));
    EXPECT_EQ(r.trailers, m.trailers);
  }
}

TEST(BhttpStreamTest, RefusesTruncationMalformedPartsAndOverruns) {
  CRYPTA_ASSIGN_OR_FAIL(Bytes head, EncodeBhttpResponseHead(200, {{"a", "b"}}));
  CRYPTA_ASSIGN_OR_FAIL(Bytes chunk, EncodeBhttpContentChunk(AsBytes("token")));
  CRYPTA_ASSIGN_OR_FAIL(Bytes end, EncodeBhttpResponseEnd());
  // Cut inside the head, between chunks (no content terminator), inside a chunk.
  const Bytes half_head(head.begin(), head.begin() + 3);
  EXPECT_EQ(ReadStream(half_head, 1).error().code(), ErrorCode::kDataLoss);
  EXPECT_EQ(ReadStream(StreamOf({head, chunk}), 2).error().code(), ErrorCode::kDataLoss);
  const Bytes mid_chunk(chunk.begin(), chunk.begin() + 3);
  EXPECT_EQ(ReadStream(StreamOf({head, mid_chunk}), 2).error().code(), ErrorCode::kDataLoss);
  // An absent trailer section after the content terminator is an empty one (§3.8).
  CRYPTA_ASSIGN_OR_FAIL(Read no_trailers, ReadStream(StreamOf({head, chunk, Bytes{0}}), 1));
  EXPECT_EQ(no_trailers.ends, 1);
  EXPECT_TRUE(no_trailers.trailers.empty());
  // The head is checked like a whole message: an uppercase field name, a request framing.
  Bytes upper = head;
  for (uint8_t& c : upper) {
    if (c == 'a') c = 'A';
  }
  EXPECT_EQ(ReadStream(StreamOf({upper, chunk, end}), 1).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(ReadStream(Bytes{2, 0}, 1).error().code(), ErrorCode::kInvalidArgument);
  // Content over the cap.
  BhttpLimits small;
  small.max_content_bytes = 8;
  EXPECT_EQ(ReadStream(StreamOf({head, chunk, chunk, end}), 64, small).error().code(),
            ErrorCode::kResourceExhausted);
  // The writer's own rules.
  EXPECT_FALSE(EncodeBhttpContentChunk({}).has_value());
  EXPECT_FALSE(EncodeBhttpResponseHead(103, {}).has_value());
  EXPECT_FALSE(EncodeBhttpResponseHead(200, {{"Upper", "x"}}).has_value());
  // Closed after the end.
  BhttpResponseStreamReader reader;
  CRYPTA_ASSERT_OK(reader.Feed(StreamOf({head, chunk, end})));
  CRYPTA_ASSERT_OK(reader.Finish());
  EXPECT_EQ(reader.Feed(chunk).error().code(), ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace crypta
