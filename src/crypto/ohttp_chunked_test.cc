// Chunked OHTTP (draft-ietf-ohai-chunked-ohttp-08): the draft's Appendix A example byte for
// byte (testdata/ohttp/chunked-draft-08-example.json), streaming in any split, and every
// framing attack refused: truncation, a non-final chunk presented as final, reordering,
// duplication, tampering, oversize chunks, use after the end.
#include "crypto/ohttp_chunked.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

using ::crypta::testing::ReadTestdataJson;
using ::crypta::testing::Unhex;

const nlohmann::json& Vector() {
  static const nlohmann::json* v =
      new nlohmann::json(ReadTestdataJson("ohttp/chunked-draft-08-example.json"));
  return *v;
}
Bytes V(const char* field) { return Unhex(Vector()[field].get<std::string>()); }
Bytes V(const char* field, size_t i) { return Unhex(Vector()[field][i].get<std::string>()); }

Result<OhttpGateway> Gateway() {
  CRYPTA_ASSIGN_OR_RETURN(OhttpKeyConfig config, ParseOhttpKeyConfig(V("key_config")));
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey sk, DeserializeHpkePrivateKey(HpkeKem::kX25519HkdfSha256,
                                                                   V("gateway_x25519_secret_key")));
  return OhttpGateway::Create(std::move(config), std::move(sk));
}

Bytes Join(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The example's request as the draft splits it.
Result<ChunkedRequestSealer> ExampleSealer(std::vector<Bytes>* wire) {
  CRYPTA_ASSIGN_OR_RETURN(OhttpKeyConfig config, ParseOhttpKeyConfig(V("key_config")));
  CRYPTA_ASSIGN_OR_RETURN(
      PrivateKey ephemeral,
      DeserializeHpkePrivateKey(HpkeKem::kX25519HkdfSha256, V("client_ephemeral_secret_key")));
  OhttpRequestOptions options;
  options.ephemeral_key_for_testing = &ephemeral;
  CRYPTA_ASSIGN_OR_RETURN(ChunkedRequestSealer sealer,
                          ChunkedRequestSealer::Create(config, options));
  const Bytes request = V("request_bhttp");
  wire->push_back(sealer.header());
  CRYPTA_ASSIGN_OR_RETURN(Bytes first, sealer.Seal(ByteSpan(request).first(12)));
  wire->push_back(std::move(first));
  CRYPTA_ASSIGN_OR_RETURN(Bytes second, sealer.Seal(ByteSpan(request).subspan(12)));
  wire->push_back(std::move(second));
  CRYPTA_ASSIGN_OR_RETURN(Bytes final_chunk, sealer.SealFinal({}));
  wire->push_back(std::move(final_chunk));
  return sealer;
}

TEST(ChunkedOhttpTest, ReproducesTheDraftExampleRequest) {
  EXPECT_EQ(
      OhttpRequestInfo(1, {HpkeKem::kX25519HkdfSha256, HpkeKdf::kHkdfSha256, HpkeAead::kAes128Gcm},
                       "message/bhttp chunked request"),
      V("hpke_info"));
  std::vector<Bytes> wire;
  CRYPTA_ASSIGN_OR_FAIL(ChunkedRequestSealer sealer, ExampleSealer(&wire));
  ASSERT_EQ(wire.size(), 4u);
  EXPECT_EQ(HexEncode(wire[0]), HexEncode(V("request_header")));
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(HexEncode(wire[i + 1]), HexEncode(V("request_chunks", i)));
  EXPECT_FALSE(sealer.Seal(AsBytes("more")).has_value()) << "nothing after the final chunk";
}

TEST(ChunkedOhttpTest, GatewayOpensTheDraftRequestAndReproducesItsResponse) {
  CRYPTA_ASSIGN_OR_FAIL(OhttpGateway gateway, Gateway());
  std::vector<Bytes> wire;
  CRYPTA_ASSIGN_OR_FAIL(ChunkedRequestSealer sealer, ExampleSealer(&wire));
  ChunkedRequestOpener opener(&gateway);
  std::vector<Bytes> chunks;
  for (const Bytes& part : wire) {
    CRYPTA_ASSIGN_OR_FAIL(std::vector<Bytes> got, opener.Feed(part));
    chunks.insert(chunks.end(), got.begin(), got.end());
  }
  CRYPTA_ASSIGN_OR_FAIL(Bytes last, opener.Finish());
  EXPECT_TRUE(last.empty());
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].size(), 12u);
  EXPECT_EQ(Join(chunks), V("request_bhttp"));

  // The response, with the example's nonce, chunk by chunk.
  CRYPTA_ASSIGN_OR_FAIL(ChunkedResponseSealer response,
                        opener.ResponseSealerWithNonceForTesting(V("response_nonce")));
  const Bytes body = V("response_bhttp");
  EXPECT_EQ(HexEncode(response.nonce()), HexEncode(V("response_nonce")));
  CRYPTA_ASSIGN_OR_FAIL(Bytes c0, response.Seal(ByteSpan(body).first(1)));
  CRYPTA_ASSIGN_OR_FAIL(Bytes c1, response.Seal(ByteSpan(body).subspan(1)));
  CRYPTA_ASSIGN_OR_FAIL(Bytes c2, response.SealFinal({}));
  EXPECT_EQ(HexEncode(c0), HexEncode(V("response_chunks", 0)));
  EXPECT_EQ(HexEncode(c1), HexEncode(V("response_chunks", 1)));
  EXPECT_EQ(HexEncode(c2), HexEncode(V("response_chunks", 2)));

  // The client opens it, fed one byte at a time.
  CRYPTA_ASSIGN_OR_FAIL(ChunkedResponseOpener client, sealer.ResponseOpener());
  const Bytes stream = Join({response.nonce(), c0, c1, c2});
  std::vector<Bytes> opened;
  for (uint8_t b : stream) {
    CRYPTA_ASSIGN_OR_FAIL(std::vector<Bytes> got, client.Feed(ByteSpan(&b, 1)));
    opened.insert(opened.end(), got.begin(), got.end());
  }
  CRYPTA_ASSIGN_OR_FAIL(Bytes final_body, client.Finish());
  EXPECT_TRUE(final_body.empty());
  EXPECT_EQ(Join(opened), body);
  EXPECT_EQ(opened.size(), 2u);
}

// A longer random exchange through the gateway for the attacks below.
struct Exchange {
  Bytes header;
  std::vector<Bytes> chunks;  // framed, the last one final
};
Exchange MakeRequest(const OhttpGateway& gateway, int non_final) {
  Exchange e;
  auto sealer = ChunkedRequestSealer::Create(gateway.key_config());
  EXPECT_TRUE(sealer.has_value());
  e.header = sealer->header();
  for (int i = 0; i < non_final; ++i) {
    e.chunks.push_back(*sealer->Seal(AsBytes("chunk-" + std::to_string(i))));
  }
  e.chunks.push_back(*sealer->SealFinal(AsBytes("last")));
  return e;
}
Result<Bytes> OpenAll(const OhttpGateway& gateway, const Bytes& header,
                      const std::vector<Bytes>& chunks, ChunkedOhttpLimits limits = {}) {
  ChunkedRequestOpener opener(&gateway, limits);
  Bytes all;
  CRYPTA_ASSIGN_OR_RETURN(std::vector<Bytes> got, opener.Feed(header));
  for (const Bytes& c : chunks) {
    CRYPTA_ASSIGN_OR_RETURN(got, opener.Feed(c));
    all = Join({all, Join(got)});
  }
  CRYPTA_ASSIGN_OR_RETURN(Bytes last, opener.Finish());
  return Join({all, last});
}

TEST(ChunkedOhttpTest, RefusesTruncationReorderingDuplicationAndFakeFinals) {
  CRYPTA_ASSIGN_OR_FAIL(OhttpGateway gateway,
                        OhttpGateway::Generate(7, HpkeKem::kX25519HkdfSha256,
                                               {{HpkeKdf::kHkdfSha256, HpkeAead::kAes128Gcm}}));
  Exchange e = MakeRequest(gateway, 3);
  CRYPTA_ASSIGN_OR_FAIL(Bytes whole, OpenAll(gateway, e.header, e.chunks));
  EXPECT_EQ(ToString(whole), "chunk-0chunk-1chunk-2last");

  // Truncated: the final chunk (or everything after a non-final one) never arrives.
  std::vector<Bytes> cut(e.chunks.begin(), e.chunks.end() - 1);
  EXPECT_EQ(OpenAll(gateway, e.header, cut).error().code(), ErrorCode::kDataLoss);
  // A non-final chunk presented as the final one (its "final" AAD is missing).
  Bytes fake_final = {0x00};
  fake_final.insert(fake_final.end(), e.chunks[2].begin() + 1, e.chunks[2].end());
  std::vector<Bytes> faked(e.chunks.begin(), e.chunks.begin() + 2);
  faked.push_back(fake_final);
  EXPECT_EQ(OpenAll(gateway, e.header, faked).error().code(), ErrorCode::kUnauthenticated);
  // Reordered and duplicated chunks.
  std::vector<Bytes> swapped = e.chunks;
  std::swap(swapped[0], swapped[1]);
  EXPECT_EQ(OpenAll(gateway, e.header, swapped).error().code(), ErrorCode::kUnauthenticated);
  std::vector<Bytes> doubled = e.chunks;
  doubled.insert(doubled.begin() + 1, e.chunks[0]);
  EXPECT_EQ(OpenAll(gateway, e.header, doubled).error().code(), ErrorCode::kUnauthenticated);
  // A flipped bit anywhere in a chunk.
  std::vector<Bytes> flipped = e.chunks;
  flipped[1].back() ^= 1;
  EXPECT_EQ(OpenAll(gateway, e.header, flipped).error().code(), ErrorCode::kUnauthenticated);
  // Oversize: a chunk (or the final one) larger than the limit is refused before it is read.
  ChunkedOhttpLimits small;
  small.max_chunk_bytes = 20;
  EXPECT_EQ(OpenAll(gateway, e.header, e.chunks, small).error().code(),
            ErrorCode::kResourceExhausted);
  ChunkedOhttpLimits tiny_message;
  tiny_message.max_message_bytes = 60;
  EXPECT_EQ(OpenAll(gateway, e.header, e.chunks, tiny_message).error().code(),
            ErrorCode::kResourceExhausted);
  // Another key id.
  Bytes other_key = e.header;
  other_key[0] ^= 1;
  EXPECT_EQ(OpenAll(gateway, other_key, e.chunks).error().code(), ErrorCode::kNotFound);
}

TEST(ChunkedOhttpTest, ResponsesRefuseTheSameAttacksAndObjectsCloseAfterTheEnd) {
  CRYPTA_ASSIGN_OR_FAIL(OhttpGateway gateway,
                        OhttpGateway::Generate(7, HpkeKem::kX25519HkdfSha256,
                                               {{HpkeKdf::kHkdfSha256, HpkeAead::kAes256Gcm}}));
  CRYPTA_ASSIGN_OR_FAIL(ChunkedRequestSealer sealer,
                        ChunkedRequestSealer::Create(gateway.key_config()));
  EXPECT_EQ(sealer.Seal({}).error().code(), ErrorCode::kInvalidArgument)
      << "a non-final chunk must not be empty";
  ChunkedRequestOpener opener(&gateway);
  EXPECT_EQ(opener.ResponseSealer().error().code(), ErrorCode::kFailedPrecondition);
  CRYPTA_ASSERT_OK(opener.Feed(sealer.header()));
  CRYPTA_ASSERT_OK(opener.Feed(*sealer.SealFinal(AsBytes("request"))));
  CRYPTA_ASSIGN_OR_FAIL(Bytes request, opener.Finish());
  EXPECT_EQ(ToString(request), "request");
  EXPECT_EQ(opener.Feed(AsBytes("x")).error().code(), ErrorCode::kFailedPrecondition);

  CRYPTA_ASSIGN_OR_FAIL(ChunkedResponseSealer response, opener.ResponseSealer());
  EXPECT_EQ(response.nonce().size(), 32u) << "max(Nn, Nk) for AES-256-GCM";
  std::vector<Bytes> parts = {response.nonce()};
  for (const char* token : {"to", "ken", "s"}) parts.push_back(*response.Seal(AsBytes(token)));
  parts.push_back(*response.SealFinal({}));
  EXPECT_FALSE(response.Seal(AsBytes("late")).has_value());
  auto open = [&](const std::vector<Bytes>& stream) -> Result<Bytes> {
    CRYPTA_ASSIGN_OR_RETURN(ChunkedResponseOpener client, sealer.ResponseOpener());
    Bytes all;
    for (const Bytes& p : stream) {
      CRYPTA_ASSIGN_OR_RETURN(std::vector<Bytes> got, client.Feed(p));
      all = Join({all, Join(got)});
    }
    CRYPTA_ASSIGN_OR_RETURN(Bytes last, client.Finish());
    return Join({all, last});
  };
  CRYPTA_ASSIGN_OR_FAIL(Bytes tokens, open(parts));
  EXPECT_EQ(ToString(tokens), "tokens");
  std::vector<Bytes> cut(parts.begin(), parts.end() - 1);
  EXPECT_EQ(open(cut).error().code(), ErrorCode::kDataLoss) << "cut before the final chunk";
  std::vector<Bytes> swapped = parts;
  std::swap(swapped[1], swapped[2]);
  EXPECT_EQ(open(swapped).error().code(), ErrorCode::kUnauthenticated);
  std::vector<Bytes> other_nonce = parts;
  other_nonce[0][0] ^= 1;
  EXPECT_EQ(open(other_nonce).error().code(), ErrorCode::kUnauthenticated);
}

}  // namespace
}  // namespace crypta
