// Oblivious HTTP (RFC 9458): Appendix A reproduced byte for byte (key config, info,
// encapsulated request, response secret and keys, encapsulated response), and
// negative tests that each change one thing.
#include "crypto/ohttp.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/bhttp.h"
#include "testing/test_util.h"

namespace crypta {
namespace {

using ::crypta::testing::ReadTestdataJson;
using ::crypta::testing::Unhex;

Bytes A(const char* field) {
  static const nlohmann::json* a =
      new nlohmann::json(ReadTestdataJson("ohttp/rfc9458-appendix-a.json"));
  return Unhex((*a)[field].get<std::string>());
}

Bytes Reveal(ByteSpan s) { return Bytes(s.begin(), s.end()); }

Result<OhttpGateway> AppendixGateway() {
  CRYPTA_ASSIGN_OR_RETURN(OhttpKeyConfig config, ParseOhttpKeyConfig(A("key_config")));
  CRYPTA_ASSIGN_OR_RETURN(PrivateKey sk, DeserializeHpkePrivateKey(HpkeKem::kX25519HkdfSha256,
                                                                   A("gateway_x25519_secret_key")));
  return OhttpGateway::Create(std::move(config), std::move(sk));
}

Result<OhttpEncapsulatedRequest> AppendixRequest() {
  CRYPTA_ASSIGN_OR_RETURN(OhttpKeyConfig config, ParseOhttpKeyConfig(A("key_config")));
  CRYPTA_ASSIGN_OR_RETURN(
      PrivateKey ephemeral,
      DeserializeHpkePrivateKey(HpkeKem::kX25519HkdfSha256, A("client_ephemeral_secret_key")));
  OhttpRequestOptions options;
  options.ephemeral_key_for_testing = &ephemeral;
  return EncapsulateOhttpRequest(config, A("request_bhttp"), options);
}

TEST(OhttpAppendixTest, KeyConfigParsesAndReencodes) {
  CRYPTA_ASSIGN_OR_FAIL(OhttpKeyConfig c, ParseOhttpKeyConfig(A("key_config")));
  EXPECT_EQ(c.key_id, 1);
  EXPECT_EQ(c.kem, HpkeKem::kX25519HkdfSha256);
  ASSERT_EQ(c.algorithms.size(), 2u);
  EXPECT_EQ(c.algorithms[0], (OhttpSymmetricAlgorithm{HpkeKdf::kHkdfSha256, HpkeAead::kAes128Gcm}));
  EXPECT_EQ(c.algorithms[1],
            (OhttpSymmetricAlgorithm{HpkeKdf::kHkdfSha256, HpkeAead::kChaCha20Poly1305}));
  CRYPTA_ASSIGN_OR_FAIL(Bytes again, EncodeOhttpKeyConfig(c));
  EXPECT_EQ(again, A("key_config"));
  // The gateway's public key is the one derived from its secret key.
  CRYPTA_ASSIGN_OR_FAIL(OhttpGateway g, AppendixGateway());
  CRYPTA_ASSIGN_OR_FAIL(Bytes encoded, g.EncodedKeyConfig());
  EXPECT_EQ(encoded, A("key_config"));
}

TEST(OhttpAppendixTest, ReproducesInfoAndEncapsulatedRequest) {
  const HpkeSuite suite{HpkeKem::kX25519HkdfSha256, HpkeKdf::kHkdfSha256, HpkeAead::kAes128Gcm};
  EXPECT_EQ(OhttpRequestInfo(1, suite), A("hpke_info"));
  CRYPTA_ASSIGN_OR_FAIL(OhttpEncapsulatedRequest req, AppendixRequest());
  EXPECT_EQ(req.encapsulated_request, A("encapsulated_request"));
  EXPECT_EQ(Reveal(req.context.response_secret_for_testing()), A("exported_secret"));
}

TEST(OhttpAppendixTest, GatewayDecapsulatesRequestAndReproducesResponse) {
  CRYPTA_ASSIGN_OR_FAIL(OhttpGateway g, AppendixGateway());
  CRYPTA_ASSIGN_OR_FAIL(OhttpDecapsulatedRequest d,
                        g.DecapsulateRequest(A("encapsulated_request")));
  EXPECT_EQ(d.request, A("request_bhttp"));
  CRYPTA_ASSIGN_OR_FAIL(BhttpRequest bhttp, DecodeBhttpRequest(d.request));
  EXPECT_EQ(bhttp.authority, "example.com");
  EXPECT_EQ(Reveal(d.context.response_secret_for_testing()), A("exported_secret"));

  // §4.4 intermediates.
  const Bytes enc = A("client_ephemeral_public_key");
  EXPECT_EQ(Concat(enc, A("response_nonce")), A("salt"));
  CRYPTA_ASSIGN_OR_FAIL(
      OhttpResponseKeys keys,
      DeriveOhttpResponseKeys(d.context.suite(), A("exported_secret"), enc, A("response_nonce")));
  EXPECT_EQ(Reveal(keys.prk.Reveal()), A("prk"));
  EXPECT_EQ(Reveal(keys.key.Reveal()), A("aead_key"));
  EXPECT_EQ(Reveal(keys.nonce.Reveal()), A("aead_nonce"));

  CRYPTA_ASSIGN_OR_FAIL(Bytes response, d.context.EncapsulateResponseWithNonceForTesting(
                                            A("response_bhttp"), A("response_nonce")));
  EXPECT_EQ(response, A("encapsulated_response"));
}

TEST(OhttpAppendixTest, ClientDecapsulatesTheAppendixResponse) {
  CRYPTA_ASSIGN_OR_FAIL(OhttpEncapsulatedRequest req, AppendixRequest());
  CRYPTA_ASSIGN_OR_FAIL(Bytes response,
                        req.context.DecapsulateResponse(A("encapsulated_response")));
  EXPECT_EQ(response, A("response_bhttp"));
}

TEST(OhttpTest, RoundTripsWithEveryOfferedAlgorithmAndRandomNonces) {
  for (HpkeKem kem : {HpkeKem::kX25519HkdfSha256, HpkeKem::kP256HkdfSha256}) {
    std::vector<OhttpSymmetricAlgorithm> algs = {
        {HpkeKdf::kHkdfSha256, HpkeAead::kAes128Gcm},
        {HpkeKdf::kHkdfSha384, HpkeAead::kAes256Gcm},
        {HpkeKdf::kHkdfSha512, HpkeAead::kChaCha20Poly1305}};
    CRYPTA_ASSIGN_OR_FAIL(OhttpGateway g, OhttpGateway::Generate(7, kem, algs));
    for (const OhttpSymmetricAlgorithm& alg : algs) {
      OhttpRequestOptions o;
      o.algorithm = alg;
      CRYPTA_ASSIGN_OR_FAIL(OhttpEncapsulatedRequest req,
                            EncapsulateOhttpRequest(g.key_config(), AsBytes("request"), o));
      CRYPTA_ASSIGN_OR_FAIL(OhttpDecapsulatedRequest d,
                            g.DecapsulateRequest(req.encapsulated_request));
      EXPECT_EQ(ToString(d.request), "request");
      CRYPTA_ASSIGN_OR_FAIL(Bytes res, d.context.EncapsulateResponse(AsBytes("response")));
      CRYPTA_ASSIGN_OR_FAIL(Bytes back, req.context.DecapsulateResponse(res));
      EXPECT_EQ(ToString(back), "response");
    }
  }
}

TEST(OhttpTest, KeyConfigListSkipsUnsupportedKemAndRoundTrips) {
  CRYPTA_ASSIGN_OR_FAIL(OhttpKeyConfig c, ParseOhttpKeyConfig(A("key_config")));
  CRYPTA_ASSIGN_OR_FAIL(Bytes list, EncodeOhttpKeyConfigList(std::vector<OhttpKeyConfig>{c, c}));
  EXPECT_EQ(list, Concat(Unhex("002d"), A("key_config"), Unhex("002d"), A("key_config")));
  // Prepend an X448 (0x0021) config: skipped, not an error.
  Bytes x448 = Unhex(
      "000c"
      "02"
      "0021"
      "aabbcc"
      "0004"
      "0001"
      "0001");
  CRYPTA_ASSIGN_OR_FAIL(auto parsed, ParseOhttpKeyConfigList(Concat(x448, list)));
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0], c);
  EXPECT_EQ(ParseOhttpKeyConfigList(x448).error().code(), ErrorCode::kNotFound);
}

TEST(OhttpTest, RejectsMalformedKeyConfigs) {
  const Bytes good = A("key_config");
  EXPECT_FALSE(ParseOhttpKeyConfig(Concat(good, Unhex("00"))).has_value());  // trailing byte
  EXPECT_FALSE(ParseOhttpKeyConfig(ByteSpan(good).first(good.size() - 1)).has_value());
  Bytes odd = good;
  odd[36] = 0x06;  // symmetric_algorithms_length 6: not a multiple of 4
  EXPECT_FALSE(ParseOhttpKeyConfig(odd).has_value());
  Bytes unsupported = good;
  unsupported[2] = 0x21;  // kem X448
  EXPECT_EQ(ParseOhttpKeyConfig(unsupported).error().code(), ErrorCode::kUnimplemented);
  // A list entry whose length prefix runs past the end.
  EXPECT_FALSE(ParseOhttpKeyConfigList(Concat(Unhex("002e"), good)).has_value());
  OhttpLimits limits;
  limits.max_key_configs = 1;
  CRYPTA_ASSIGN_OR_FAIL(OhttpKeyConfig c, ParseOhttpKeyConfig(good));
  CRYPTA_ASSIGN_OR_FAIL(Bytes two, EncodeOhttpKeyConfigList(std::vector<OhttpKeyConfig>{c, c}));
  EXPECT_EQ(ParseOhttpKeyConfigList(two, limits).error().code(), ErrorCode::kResourceExhausted);
}

TEST(OhttpTest, GatewayRejectsUnknownKeyId) {
  CRYPTA_ASSIGN_OR_FAIL(OhttpGateway g, AppendixGateway());
  Bytes req = A("encapsulated_request");
  req[0] = 2;
  EXPECT_EQ(g.DecapsulateRequest(req).error().code(), ErrorCode::kNotFound);
}

TEST(OhttpTest, GatewayRejectsSuiteItDoesNotOffer) {
  CRYPTA_ASSIGN_OR_FAIL(OhttpGateway g, AppendixGateway());
  Bytes req = A("encapsulated_request");
  req[6] = 0x02;  // aead_id AES-256-GCM: not in the config
  EXPECT_EQ(g.DecapsulateRequest(req).error().code(), ErrorCode::kUnimplemented);
  req = A("encapsulated_request");
  req[2] = 0x10;  // kem_id P-256
  EXPECT_EQ(g.DecapsulateRequest(req).error().code(), ErrorCode::kUnimplemented);
  // The client refuses a requested pair the config does not list.
  CRYPTA_ASSIGN_OR_FAIL(OhttpKeyConfig c, ParseOhttpKeyConfig(A("key_config")));
  OhttpRequestOptions o;
  o.algorithm = OhttpSymmetricAlgorithm{HpkeKdf::kHkdfSha384, HpkeAead::kAes128Gcm};
  EXPECT_EQ(EncapsulateOhttpRequest(c, AsBytes("x"), o).error().code(), ErrorCode::kUnimplemented);
}

TEST(OhttpTest, GatewayRejectsTamperedAndTruncatedRequests) {
  CRYPTA_ASSIGN_OR_FAIL(OhttpGateway g, AppendixGateway());
  Bytes req = A("encapsulated_request");
  req.back() ^= 0x80;  // tag
  EXPECT_EQ(g.DecapsulateRequest(req).error().code(), ErrorCode::kUnauthenticated);
  req = A("encapsulated_request");
  req[10] ^= 0x01;  // enc: a different ephemeral key
  EXPECT_FALSE(g.DecapsulateRequest(req).has_value());
  req = A("encapsulated_request");
  req.resize(7 + 32 + 10);  // shorter than a tag after enc
  EXPECT_FALSE(g.DecapsulateRequest(req).has_value());
  req.resize(20);  // inside enc
  EXPECT_FALSE(g.DecapsulateRequest(req).has_value());
  req.resize(3);  // inside the header
  EXPECT_FALSE(g.DecapsulateRequest(req).has_value());
  OhttpLimits limits;
  limits.max_request_bytes = 50;
  EXPECT_EQ(g.DecapsulateRequest(A("encapsulated_request"), limits).error().code(),
            ErrorCode::kResourceExhausted);
}

TEST(OhttpTest, ClientRejectsTamperedAndTruncatedResponses) {
  CRYPTA_ASSIGN_OR_FAIL(OhttpEncapsulatedRequest req, AppendixRequest());
  Bytes res = A("encapsulated_response");
  res[0] ^= 0x01;  // response_nonce
  EXPECT_EQ(req.context.DecapsulateResponse(res).error().code(), ErrorCode::kUnauthenticated);
  res = A("encapsulated_response");
  res[20] ^= 0x01;  // ciphertext
  EXPECT_FALSE(req.context.DecapsulateResponse(res).has_value());
  res.resize(16 + 15);  // nonce and less than a tag
  EXPECT_EQ(req.context.DecapsulateResponse(res).error().code(), ErrorCode::kInvalidArgument);
}

TEST(OhttpTest, GatewayCreationChecksTheKeyMatchesTheConfig) {
  CRYPTA_ASSIGN_OR_FAIL(OhttpKeyConfig config, ParseOhttpKeyConfig(A("key_config")));
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, GenerateHpkeKeyPair(HpkeKem::kX25519HkdfSha256));
  EXPECT_FALSE(OhttpGateway::Create(config, other).has_value());
  config.algorithms = {{HpkeKdf::kHkdfSha256, HpkeAead::kExportOnly}};
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey sk, DeserializeHpkePrivateKey(HpkeKem::kX25519HkdfSha256,
                                                                 A("gateway_x25519_secret_key")));
  EXPECT_EQ(OhttpGateway::Create(config, sk).error().code(), ErrorCode::kUnimplemented);
}

TEST(OhttpInPlaceTest, InPlaceFormsInteroperateWithTheCopyingOnes) {
  const std::vector<OhttpSymmetricAlgorithm> algs = {
      {HpkeKdf::kHkdfSha256, HpkeAead::kAes128Gcm},
      {HpkeKdf::kHkdfSha256, HpkeAead::kChaCha20Poly1305}};
  CRYPTA_ASSIGN_OR_FAIL(OhttpGateway g,
                        OhttpGateway::Generate(3, HpkeKem::kX25519HkdfSha256, algs));
  const Bytes message = ToBytes("binary http request bytes");
  for (const OhttpSymmetricAlgorithm& alg : algs) {
    OhttpRequestOptions options;
    options.algorithm = alg;
    // Client in place -> gateway copying.
    const size_t prefix = OhttpRequestPrefixSize(HpkeKem::kX25519HkdfSha256);
    ASSERT_EQ(prefix, 7u + 32u);
    Bytes buffer(prefix + message.size() + kAeadTagSize, 0xAA);
    std::copy(message.begin(), message.end(), buffer.begin() + prefix);
    CRYPTA_ASSIGN_OR_FAIL(OhttpClientContext client,
                          EncapsulateOhttpRequestInPlace(g.key_config(), buffer, options));
    CRYPTA_ASSIGN_OR_FAIL(OhttpDecapsulatedRequest opened, g.DecapsulateRequest(buffer));
    EXPECT_EQ(opened.request, message);
    // Client copying -> gateway in place; the plaintext lands inside the buffer.
    CRYPTA_ASSIGN_OR_FAIL(OhttpEncapsulatedRequest sealed,
                          EncapsulateOhttpRequest(g.key_config(), message, options));
    Bytes wire = sealed.encapsulated_request;
    CRYPTA_ASSIGN_OR_FAIL(OhttpGateway::InPlace in_place, g.DecapsulateRequestInPlace(wire));
    EXPECT_EQ(Bytes(in_place.request.begin(), in_place.request.end()), message);
    EXPECT_EQ(in_place.request.data(), wire.data() + prefix);
    // Response in place -> client copying.
    const Bytes answer = ToBytes("binary http response");
    const size_t nonce = in_place.context.ResponseNonceSize();
    Bytes out(nonce + answer.size() + kAeadTagSize, 0);
    std::copy(answer.begin(), answer.end(), out.begin() + nonce);
    CRYPTA_ASSERT_OK(in_place.context.EncapsulateResponseInPlace(out));
    CRYPTA_ASSIGN_OR_FAIL(Bytes got, sealed.context.DecapsulateResponse(out));
    EXPECT_EQ(got, answer);
    // A flipped ciphertext bit fails in place too.
    Bytes tampered = sealed.encapsulated_request;
    tampered[prefix] ^= 1;
    auto bad = g.DecapsulateRequestInPlace(tampered);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code(), ErrorCode::kUnauthenticated);
    // Into another buffer: the request is left as it was; a short or tampered one fails.
    CRYPTA_ASSIGN_OR_FAIL(OhttpEncapsulatedRequest again,
                          EncapsulateOhttpRequest(g.key_config(), message, options));
    const Bytes sent = again.encapsulated_request;
    Bytes plain(message.size() + 5, 0xEE);
    CRYPTA_ASSIGN_OR_FAIL(OhttpGateway::InPlace into,
                          g.DecapsulateRequestInto(again.encapsulated_request, plain));
    EXPECT_EQ(Bytes(into.request.begin(), into.request.end()), message);
    EXPECT_EQ(into.request.data(), plain.data());
    EXPECT_EQ(again.encapsulated_request, sent);
    Bytes short_out(message.size() - 1);
    EXPECT_EQ(g.DecapsulateRequestInto(sent, short_out).error().code(),
              ErrorCode::kInvalidArgument);
    Bytes tampered_again = sent;
    tampered_again.back() ^= 1;
    auto bad_into = g.DecapsulateRequestInto(tampered_again, plain);
    ASSERT_FALSE(bad_into.has_value());
    EXPECT_EQ(bad_into.error().code(), ErrorCode::kUnauthenticated);
    EXPECT_EQ(Bytes(plain.begin(), plain.begin() + message.size()), Bytes(message.size(), 0))
        << "a failed open leaves no plaintext";
  }
  // Buffers too short for the reserved parts.
  Bytes tiny(10);
  EXPECT_FALSE(EncapsulateOhttpRequestInPlace(g.key_config(), tiny).has_value());
}

}  // namespace
}  // namespace crypta
