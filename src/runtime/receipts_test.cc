// The receipt signer (format, key, sequence), its wiring into the OHTTP gateway (a receipt in
// every encrypted response, over the request as received) and the attestation service (the
// receipt key in runtime_data, the digest of the evidence it serves).
#include "runtime/receipts.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/bhttp_stream.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "crypto/ohttp_chunked.h"
#include "runtime/attestation_service.h"
#include "runtime/fake_model_service_test.h"
#include "runtime/ohttp_service.h"
#include "testing/test_util.h"

namespace crypta::runtime {
namespace {

using nlohmann::json;

const std::string kModelDigest = "sha256:" + std::string(64, 'a');
const std::string kEvidenceDigest = "sha256:" + std::string(64, 'e');

ReceiptSignerOptions Options(std::function<Result<std::string>()> digest = nullptr) {
  ReceiptSignerOptions o;
  o.workload = "radiology";
  o.model_digest = kModelDigest;
  o.measurement_hex = std::string(96, 'b');
  o.attestation_digest = digest ? digest : [] { return Result<std::string>(kEvidenceDigest); };
  o.clock = [] { return int64_t{1767225600}; };
  return o;
}

// Verifies `receipt` with the signer's public key; returns the payload.
json VerifiedPayload(const ReceiptSigner& signer, const std::string& receipt) {
  JwsVerifyOptions options;
  options.allowed_algs = {JwsAlg::kEdDsa, JwsAlg::kEs256};
  Result<Jwk> jwk = ParsePublicJwk(signer.public_jwk());
  EXPECT_TRUE(jwk.has_value());
  Result<VerifiedJws> verified = JwsVerifyCompact(receipt, jwk->key, options);
  EXPECT_TRUE(verified.has_value()) << verified.error().ToString();
  EXPECT_EQ(verified->header["typ"], "crypta-receipt");
  EXPECT_EQ(verified->header["kid"], signer.kid());
  return json::parse(ToString(verified->payload));
}

class ReceiptSignerTest : public ::testing::TestWithParam<ReceiptAlg> {};

TEST_P(ReceiptSignerTest, SignsTheDocumentedPayloadWithTheAttestedKey) {
  CRYPTA_ASSIGN_OR_FAIL(std::unique_ptr<ReceiptSigner> signer,
                        ReceiptSigner::Generate(GetParam(), Options()));
  EXPECT_EQ(signer->public_jwk()["alg"], GetParam() == ReceiptAlg::kEd25519 ? "EdDSA" : "ES256");
  EXPECT_EQ(signer->public_jwk()["use"], "sig");
  CRYPTA_ASSIGN_OR_FAIL(std::string thumbprint, JwkThumbprint(signer->public_key()));
  EXPECT_EQ(signer->kid(), thumbprint);
  EXPECT_FALSE(signer->public_jwk().contains("d"));

  const Bytes request = ToBytes("encapsulated request");
  CRYPTA_ASSIGN_OR_FAIL(std::string receipt, signer->Sign(Sha256(request), AsBytes("{\"y\":1}")));
  json payload = VerifiedPayload(*signer, receipt);
  EXPECT_EQ(payload.size(), 9u) << payload.dump();
  EXPECT_EQ(payload["v"], 1);
  EXPECT_EQ(payload["request_digest"], "sha256:" + HexEncode(Sha256(request)));
  EXPECT_EQ(payload["response_digest"], "sha256:" + HexEncode(Sha256(AsBytes("{\"y\":1}"))));
  EXPECT_EQ(payload["model_digest"], kModelDigest);
  EXPECT_EQ(payload["measurement"], std::string(96, 'b'));
  EXPECT_EQ(payload["attestation_digest"], kEvidenceDigest);
  EXPECT_EQ(payload["time"], 1767225600);
  EXPECT_EQ(payload["sequence"], 1);
  EXPECT_EQ(payload["workload"], "radiology");
  // The payload is RFC 8785 canonical JSON.
  const size_t dot = receipt.find('.');
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw,
                        Base64UrlDecode(receipt.substr(dot + 1, receipt.rfind('.') - dot - 1)));
  CRYPTA_ASSIGN_OR_FAIL(std::string canonical, CanonicalizeJson(payload));
  EXPECT_EQ(ToString(raw), canonical);
}

TEST_P(ReceiptSignerTest, CountsSequenceNumbersFromOne) {
  CRYPTA_ASSIGN_OR_FAIL(std::unique_ptr<ReceiptSigner> signer,
                        ReceiptSigner::Generate(GetParam(), Options()));
  for (int i = 1; i <= 3; ++i) {
    CRYPTA_ASSIGN_OR_FAIL(std::string receipt, signer->Sign(Bytes(32, 1), {}));
    EXPECT_EQ(VerifiedPayload(*signer, receipt)["sequence"], i);
  }
  EXPECT_EQ(signer->issued(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Algs, ReceiptSignerTest,
                         ::testing::Values(ReceiptAlg::kEd25519, ReceiptAlg::kP256));

TEST(ReceiptSigner, FailsWithoutEvidence) {
  CRYPTA_ASSIGN_OR_FAIL(std::unique_ptr<ReceiptSigner> signer,
                        ReceiptSigner::Generate(ReceiptAlg::kEd25519, Options([] {
                                                  return Result<std::string>(
                                                      MakeError(ErrorCode::kUnavailable, "no TEE"));
                                                })));
  EXPECT_FALSE(signer->Sign(Bytes(32, 1), {}).has_value());
}

TEST(ReceiptSigner, RefusesOtherKeyTypesAndMissingSources) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey p384, PrivateKey::Generate(KeyType::kEcP384));
  EXPECT_FALSE(ReceiptSigner::FromKey(p384, Options()).has_value());
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey ed, PrivateKey::Generate(KeyType::kEd25519));
  ReceiptSignerOptions no_clock = Options();
  no_clock.clock = nullptr;
  EXPECT_FALSE(ReceiptSigner::FromKey(ed, no_clock).has_value());
  CRYPTA_ASSIGN_OR_FAIL(std::unique_ptr<ReceiptSigner> signer,
                        ReceiptSigner::FromKey(ed, Options()));
  EXPECT_FALSE(signer->Sign(Bytes(31, 1), {}).has_value()) << "a request digest is 32 bytes";
}

TEST(ReceiptAlgs, ParsesTheFlagValues) {
  EXPECT_EQ(ParseReceiptAlg("ed25519").value(), ReceiptAlg::kEd25519);
  EXPECT_EQ(ParseReceiptAlg("p256").value(), ReceiptAlg::kP256);
  EXPECT_FALSE(ParseReceiptAlg("rsa").has_value());
}

TEST(MeasurementFromEarToken, ReadsTheAnnotatedMeasurement) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey key, PrivateKey::Generate(KeyType::kEcP256));
  json claims = {
      {"submods", {{"cpu0", {{"ear.crypta.annotated-evidence", {{"measurement", "ABCD01"}}}}}}}};
  CRYPTA_ASSIGN_OR_FAIL(std::string token, JwtSign(key, claims));
  EXPECT_EQ(MeasurementFromEarToken(token).value(), "abcd01");
  CRYPTA_ASSIGN_OR_FAIL(std::string without, JwtSign(key, json{{"submods", json::object()}}));
  EXPECT_FALSE(MeasurementFromEarToken(without).has_value());
  EXPECT_FALSE(MeasurementFromEarToken("not-a-token").has_value());
}

// The gateway with a signer: every encrypted answer carries a receipt.
class OhttpReceiptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ring = OhttpKeyRing::Create(64);
    ASSERT_TRUE(ring.has_value());
    ring_ = std::move(*ring);
    auto signer =
        ReceiptSigner::Generate(ReceiptAlg::kEd25519, Options([this]() -> Result<std::string> {
                                  if (no_evidence_)
                                    return MakeError(ErrorCode::kUnavailable, "no evidence");
                                  return kEvidenceDigest;
                                }));
    ASSERT_TRUE(signer.has_value());
    signer_ = std::move(*signer);
    service_ = std::make_unique<OhttpService>(ring_.get(), &router_, &metrics_,
                                              OhttpServiceLimits{}, signer_.get());
  }

  OhttpEncapsulatedRequest Seal(std::string body) {
    auto config = ParseOhttpKeyConfig(ring_->Current()->encoded_config);
    EXPECT_TRUE(config.has_value());
    auto bhttp = EncodeBhttpRequest(BhttpRequest{"POST",
                                                 "https",
                                                 "runtime",
                                                 "/v2/models/echo/infer",
                                                 {{"content-type", "application/json"}},
                                                 ToBytes(body),
                                                 {}});
    EXPECT_TRUE(bhttp.has_value());
    auto sealed = EncapsulateOhttpRequest(*config, *bhttp);
    EXPECT_TRUE(sealed.has_value());
    return std::move(*sealed);
  }

  BhttpResponse Exchange(const OhttpEncapsulatedRequest& req) {
    HttpReply reply = service_->HandleOhttp(ToString(req.encapsulated_request));
    EXPECT_EQ(reply.status, 200) << reply.body;
    auto plain = req.context.DecapsulateResponse(AsBytes(reply.body));
    EXPECT_TRUE(plain.has_value());
    auto decoded = DecodeBhttpResponse(*plain);
    EXPECT_TRUE(decoded.has_value());
    return std::move(*decoded);
  }

  FakeModelService model_;
  OipRouter router_{&model_};
  Metrics metrics_;
  bool no_evidence_ = false;
  std::unique_ptr<OhttpKeyRing> ring_;
  std::unique_ptr<ReceiptSigner> signer_;
  std::unique_ptr<OhttpService> service_;
};

TEST_F(OhttpReceiptTest, EveryResponseCarriesAReceiptOverTheRequestAsReceived) {
  OhttpEncapsulatedRequest req = Seal("scan");
  BhttpResponse inner = Exchange(req);
  ASSERT_EQ(inner.status, 200);
  const std::string* receipt = FindBhttpField(inner.headers, kReceiptHeaderField);
  ASSERT_NE(receipt, nullptr);
  json payload = VerifiedPayload(*signer_, *receipt);
  EXPECT_EQ(payload["request_digest"], Sha256Digest(req.encapsulated_request));
  EXPECT_EQ(payload["response_digest"], Sha256Digest(inner.content));

  // Errors inside OHTTP are answered with a receipt too.
  auto bhttp = EncodeBhttpRequest(BhttpRequest{"GET", "https", "runtime", "/nope", {}, {}, {}});
  auto config = ParseOhttpKeyConfig(ring_->Current()->encoded_config);
  auto sealed = EncapsulateOhttpRequest(*config, *bhttp);
  ASSERT_TRUE(sealed.has_value());
  BhttpResponse not_found = Exchange(*sealed);
  EXPECT_EQ(not_found.status, 404);
  ASSERT_NE(FindBhttpField(not_found.headers, kReceiptHeaderField), nullptr);
  EXPECT_EQ(VerifiedPayload(*signer_,
                            *FindBhttpField(not_found.headers, kReceiptHeaderField))["sequence"],
            2);
}

TEST_F(OhttpReceiptTest, LargeRequestsAreHashedBesideDecryptionWithTheSameReceipts) {
  // Above kOverlapHashBytes the digest is computed on a worker while the request is decrypted
  // out of place; concurrent requests beyond the idle workers are hashed inline. Either way
  // the receipt covers the request exactly as received, and the request buffer is left as it
  // was (ciphertext only).
  const std::string body(OhttpService::kOverlapHashBytes * 3, 'x');
  constexpr int kThreads = 6;
  std::vector<std::thread> threads;
  std::atomic<int> verified{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        OhttpEncapsulatedRequest req = Seal(body + std::to_string(t * 10 + i));
        std::string wire = ToString(req.encapsulated_request);
        HttpReply reply = service_->HandleOhttpInPlace(
            MutableByteSpan(reinterpret_cast<uint8_t*>(wire.data()), wire.size()));
        if (reply.status != 200) {
          ADD_FAILURE() << reply.status << " " << reply.body;
          continue;
        }
        auto plain = req.context.DecapsulateResponse(AsBytes(reply.body));
        if (!plain) continue;
        auto inner = DecodeBhttpResponse(*plain);
        const std::string* receipt =
            inner ? FindBhttpField(inner->headers, kReceiptHeaderField) : nullptr;
        if (receipt == nullptr || inner->status != 200) {
          ADD_FAILURE() << (inner ? ToString(inner->content).substr(0, 200) : "undecodable");
          continue;
        }
        json payload = VerifiedPayload(*signer_, *receipt);
        if (payload["request_digest"] == Sha256Digest(req.encapsulated_request) &&
            payload["response_digest"] == Sha256Digest(inner->content)) {
          ++verified;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(verified.load(), kThreads * 4);

  // With the worker idle the request is decrypted out of place: the caller's buffer still
  // holds the request exactly as sent (the inline path decrypts it in place and wipes it).
  bool out_of_place = false;
  for (int attempt = 0; attempt < 50 && !out_of_place; ++attempt) {
    OhttpEncapsulatedRequest req = Seal(body);
    Bytes wire = req.encapsulated_request;
    HttpReply reply = service_->HandleOhttpInPlace(wire);
    ASSERT_EQ(reply.status, 200) << reply.body;
    out_of_place = wire == req.encapsulated_request;
    if (!out_of_place) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_TRUE(out_of_place) << "no request took the overlapped path";

  // A tampered or replayed large request fails cleanly (the worker is joined either way).
  OhttpEncapsulatedRequest req = Seal(body);
  Bytes tampered = req.encapsulated_request;
  tampered[tampered.size() / 2] ^= 1;
  EXPECT_EQ(service_->HandleOhttp(ToString(tampered)).status, 400);
  EXPECT_EQ(service_->HandleOhttp(ToString(req.encapsulated_request)).status, 200);
  EXPECT_EQ(service_->HandleOhttp(ToString(req.encapsulated_request)).status, 400);
}

TEST_F(OhttpReceiptTest, Es256ReceiptsOfLargeRequestsUseAPreparedSignature) {
  CRYPTA_ASSIGN_OR_FAIL(std::unique_ptr<ReceiptSigner> p256,
                        ReceiptSigner::Generate(ReceiptAlg::kP256, Options()));
  // The signer alone: a prepared signature verifies and is used up.
  CRYPTA_ASSIGN_OR_FAIL(EcdsaPresignature presig, p256->PrepareSignature());
  ASSERT_FALSE(presig.empty());
  CRYPTA_ASSIGN_OR_FAIL(std::string receipt, p256->Sign(Bytes(32, 7), AsBytes("out"), &presig));
  EXPECT_TRUE(presig.empty());
  EXPECT_EQ(VerifiedPayload(*p256, receipt)["request_digest"], FormatSha256Digest(Bytes(32, 7)));
  CRYPTA_ASSIGN_OR_FAIL(EcdsaPresignature none, signer_->PrepareSignature());
  EXPECT_TRUE(none.empty()) << "Ed25519 has nothing to prepare";
  // Through the gateway, on the overlapped path.
  service_ = std::make_unique<OhttpService>(ring_.get(), &router_, &metrics_, OhttpServiceLimits{},
                                            p256.get());
  const std::string body(OhttpService::kOverlapHashBytes * 2, 'y');
  for (int i = 0; i < 5; ++i) {
    OhttpEncapsulatedRequest req = Seal(body);
    BhttpResponse inner = Exchange(req);
    ASSERT_EQ(inner.status, 200);
    const std::string* r = FindBhttpField(inner.headers, kReceiptHeaderField);
    ASSERT_NE(r, nullptr);
    json payload = VerifiedPayload(*p256, *r);
    EXPECT_EQ(payload["request_digest"], Sha256Digest(req.encapsulated_request));
    EXPECT_EQ(payload["response_digest"], Sha256Digest(inner.content));
  }
}

TEST_F(OhttpReceiptTest, ChunkedRequestsAreAnsweredInChunksWithAReceipt) {
  auto config = ParseOhttpKeyConfig(ring_->Current()->encoded_config);
  ASSERT_TRUE(config.has_value());
  auto bhttp = EncodeBhttpRequest(BhttpRequest{"POST",
                                               "https",
                                               "runtime",
                                               "/v2/models/echo/infer",
                                               {{"content-type", "application/json"}},
                                               Bytes(40000, 'z'),
                                               {}});
  ASSERT_TRUE(bhttp.has_value());
  // The request in two chunks; `final_too` false leaves the final chunk out (truncated).
  auto seal = [&](bool final_too, std::optional<ChunkedRequestSealer>* keep) -> Bytes {
    auto sealer = ChunkedRequestSealer::Create(*config);
    EXPECT_TRUE(sealer.has_value());
    Bytes wire = sealer->header();
    Bytes first = *sealer->Seal(ByteSpan(*bhttp).first(20000));
    wire.insert(wire.end(), first.begin(), first.end());
    if (final_too) {
      Bytes last = *sealer->SealFinal(ByteSpan(*bhttp).subspan(20000));
      wire.insert(wire.end(), last.begin(), last.end());
    }
    keep->emplace(std::move(*sealer));
    return wire;
  };
  std::optional<ChunkedRequestSealer> sealer;
  const Bytes wire = seal(true, &sealer);
  HttpReply reply = service_->HandleOhttpChunked(wire);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.content_type, kOhttpChunkedResponseType);
  CRYPTA_ASSIGN_OR_FAIL(ChunkedResponseOpener opener, sealer->ResponseOpener());
  CRYPTA_ASSIGN_OR_FAIL(std::vector<Bytes> chunks, opener.Feed(AsBytes(reply.body)));
  EXPECT_GE(chunks.size(), 2u) << "a 40 KB answer goes back in 16 KiB chunks";
  CRYPTA_ASSIGN_OR_FAIL(Bytes last, opener.Finish());
  Bytes plain;
  for (const Bytes& c : chunks) plain.insert(plain.end(), c.begin(), c.end());
  plain.insert(plain.end(), last.begin(), last.end());
  CRYPTA_ASSIGN_OR_FAIL(BhttpResponse inner, DecodeBhttpResponse(plain));
  EXPECT_EQ(inner.status, 200);
  const std::string* receipt = FindBhttpField(inner.headers, kReceiptHeaderField);
  ASSERT_NE(receipt, nullptr);
  json payload = VerifiedPayload(*signer_, *receipt);
  EXPECT_EQ(payload["request_digest"], Sha256Digest(wire));
  EXPECT_EQ(payload["response_digest"], Sha256Digest(inner.content));
  // Replayed, or truncated (no final chunk): refused outside, and the model never runs.
  const int calls = model_.calls.load();
  EXPECT_EQ(service_->HandleOhttpChunked(wire).status, 400);
  std::optional<ChunkedRequestSealer> unused;
  HttpReply cut = service_->HandleOhttpChunked(seal(false, &unused));
  EXPECT_EQ(cut.status, 400);
  EXPECT_NE(cut.body.find("truncated"), std::string::npos) << cut.body;
  EXPECT_EQ(model_.calls.load(), calls);
}

// generate_stream inside chunked OHTTP: the request fed to a ChunkedIntake in small pieces (as
// the server's body observer does), the reply a stream whose first piece is the sealed BHTTP
// head with the first event, then one sealed chunk per event, then the final chunk with the
// receipt in the trailer section, over the request as received and every event's bytes.
TEST_F(OhttpReceiptTest, GenerateStreamIsSealedChunkByChunkWithTheReceiptInTheTrailer) {
  auto config = ParseOhttpKeyConfig(ring_->Current()->encoded_config);
  ASSERT_TRUE(config.has_value());
  auto bhttp = EncodeBhttpRequest(
      BhttpRequest{"POST",
                   "https",
                   "runtime",
                   "/v2/models/echo/generate_stream",
                   {{"content-type", "application/json"}},
                   ToBytes(R"({"text_input":"A","parameters":{"max_tokens":5}})"),
                   {}});
  ASSERT_TRUE(bhttp.has_value());
  CRYPTA_ASSIGN_OR_FAIL(ChunkedRequestSealer sealer, ChunkedRequestSealer::Create(*config));
  Bytes wire = sealer.header();
  CRYPTA_ASSIGN_OR_FAIL(Bytes first, sealer.Seal(ByteSpan(*bhttp).first(10)));
  CRYPTA_ASSIGN_OR_FAIL(Bytes last, sealer.SealFinal(ByteSpan(*bhttp).subspan(10)));
  wire.insert(wire.end(), first.begin(), first.end());
  wire.insert(wire.end(), last.begin(), last.end());

  std::unique_ptr<OhttpService::ChunkedIntake> intake = service_->StartChunked();
  for (size_t at = 0; at < wire.size(); at += 7) {
    intake->Feed(ByteSpan(wire).subspan(at, std::min<size_t>(7, wire.size() - at)));
  }
  HttpReply reply = service_->FinishChunked(*intake, wire);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.content_type, kOhttpChunkedResponseType);
  // draft-ietf-ohai-chunked-ohttp-08 §3: relays should forward it incrementally.
  EXPECT_EQ(reply.headers,
            (std::vector<std::pair<std::string, std::string>>{{"Incremental", "?1"}}));
  ASSERT_TRUE(reply.stream);

  CRYPTA_ASSIGN_OR_FAIL(ChunkedResponseOpener opener, sealer.ResponseOpener());
  BhttpResponseStreamReader reader;
  std::vector<std::vector<BhttpStreamEvent>> per_piece;
  while (true) {
    Result<std::optional<std::string>> piece = reply.stream();
    ASSERT_TRUE(piece.has_value()) << piece.error().ToString();
    if (!*piece) break;
    CRYPTA_ASSIGN_OR_FAIL(std::vector<Bytes> chunks, opener.Feed(AsBytes(**piece)));
    std::vector<BhttpStreamEvent> events;
    for (const Bytes& c : chunks) {
      CRYPTA_ASSIGN_OR_FAIL(std::vector<BhttpStreamEvent> e, reader.Feed(c));
      for (auto& x : e) events.push_back(std::move(x));
    }
    per_piece.push_back(std::move(events));
  }
  CRYPTA_ASSIGN_OR_FAIL(Bytes final_chunk, opener.Finish());
  CRYPTA_ASSIGN_OR_FAIL(std::vector<BhttpStreamEvent> end, reader.Feed(final_chunk));
  CRYPTA_ASSIGN_OR_FAIL(std::vector<BhttpStreamEvent> rest, reader.Finish());
  EXPECT_TRUE(rest.empty());

  // Piece 0: the head and the first token's event; pieces 1..4: one token event each;
  // piece 5: the final chunk, which the opener releases only at the end of the stream
  // (Finish): the end.
  ASSERT_EQ(per_piece.size(), 6u);
  EXPECT_TRUE(per_piece.back().empty());
  per_piece.pop_back();
  ASSERT_EQ(per_piece[0].size(), 2u);
  EXPECT_EQ(per_piece[0][0].kind, BhttpStreamEvent::Kind::kHead);
  EXPECT_EQ(per_piece[0][0].status, 200);
  EXPECT_EQ(*FindBhttpField(per_piece[0][0].fields, "content-type"), "text/event-stream");
  per_piece[0].erase(per_piece[0].begin());
  std::string content;
  const std::string tokens = "BCDEF";
  for (size_t i = 0; i < per_piece.size(); ++i) {
    ASSERT_EQ(per_piece[i].size(), 1u);
    ASSERT_EQ(per_piece[i][0].kind, BhttpStreamEvent::Kind::kContent);
    const std::string event = ToString(per_piece[i][0].content);
    EXPECT_EQ(event, GenerateEvent("echo", tokens.substr(i, 1)));
    content += event;
  }
  ASSERT_EQ(end.size(), 1u);
  ASSERT_EQ(end[0].kind, BhttpStreamEvent::Kind::kEnd);
  const std::string* receipt = FindBhttpField(end[0].fields, kReceiptHeaderField);
  ASSERT_NE(receipt, nullptr);
  json payload = VerifiedPayload(*signer_, *receipt);
  EXPECT_EQ(payload["request_digest"], Sha256Digest(wire));
  EXPECT_EQ(payload["response_digest"], Sha256Digest(AsBytes(content)));

  // Fed a tampered request, the intake refuses it at the end with 400, before the model.
  Bytes tampered = wire;
  tampered[tampered.size() - 3] ^= 1;
  std::unique_ptr<OhttpService::ChunkedIntake> bad = service_->StartChunked();
  bad->Feed(tampered);
  EXPECT_EQ(service_->FinishChunked(*bad, tampered).status, 400);
}

// When the receipt cannot be issued at the end of a stream, the stream breaks before its final
// chunk: the client sees it truncated, never a whole answer without a receipt.
TEST_F(OhttpReceiptTest, AStreamWhoseReceiptCannotBeIssuedEndsWithoutItsFinalChunk) {
  auto config = ParseOhttpKeyConfig(ring_->Current()->encoded_config);
  ASSERT_TRUE(config.has_value());
  auto bhttp = EncodeBhttpRequest(BhttpRequest{"POST",
                                               "https",
                                               "runtime",
                                               "/v2/models/echo/generate_stream",
                                               {},
                                               ToBytes(R"({"text_input":"A"})"),
                                               {}});
  CRYPTA_ASSIGN_OR_FAIL(ChunkedRequestSealer sealer, ChunkedRequestSealer::Create(*config));
  Bytes wire = sealer.header();
  CRYPTA_ASSIGN_OR_FAIL(Bytes last, sealer.SealFinal(*bhttp));
  wire.insert(wire.end(), last.begin(), last.end());
  HttpReply reply = service_->HandleOhttpChunked(wire);
  ASSERT_TRUE(reply.stream);
  no_evidence_ = true;
  CRYPTA_ASSIGN_OR_FAIL(ChunkedResponseOpener opener, sealer.ResponseOpener());
  Status broke = OkStatus();
  while (true) {
    Result<std::optional<std::string>> piece = reply.stream();
    if (!piece) {
      broke = MakeError(piece.error());
      break;
    }
    ASSERT_TRUE(*piece) << "the stream ended whole without a receipt";
    ASSERT_TRUE(opener.Feed(AsBytes(**piece)).has_value());
  }
  EXPECT_EQ(broke.error().code(), ErrorCode::kUnavailable);
  Result<Bytes> end = opener.Finish();
  ASSERT_FALSE(end.has_value());
  EXPECT_EQ(end.error().code(), ErrorCode::kDataLoss);
}

TEST_F(OhttpReceiptTest, AnswersAnEncrypted503WithoutTheOutputWhenNoReceiptCanBeIssued) {
  no_evidence_ = true;
  BhttpResponse inner = Exchange(Seal("scan"));
  EXPECT_EQ(inner.status, 503);
  EXPECT_EQ(FindBhttpField(inner.headers, kReceiptHeaderField), nullptr);
  EXPECT_EQ(ToString(inner.content).find("scan"), std::string::npos);
}

// Records the report_data it is asked for.
class CountingAttester : public attest::Attester {
 public:
  std::string name() const override { return "fake"; }
  Result<attest::Evidence> Collect(ByteSpan report_data) override {
    ++calls;
    last_report_data.assign(report_data.begin(), report_data.end());
    return attest::Evidence{
        attest::TeeType::kSevSnp, Bytes{1, 2, 3, static_cast<uint8_t>(calls)}, {}};
  }
  int calls = 0;
  Bytes last_report_data;
};

TEST(AttestationReceiptKey, BindsTheReceiptKeyAndNamesTheServedEvidence) {
  auto ring = OhttpKeyRing::Create(8);
  ASSERT_TRUE(ring.has_value());
  CountingAttester attester;
  CRYPTA_ASSIGN_OR_FAIL(std::unique_ptr<ReceiptSigner> signer,
                        ReceiptSigner::Generate(ReceiptAlg::kEd25519, Options()));
  AttestationOptions options;
  options.workload = "radiology";
  options.model_digest = kModelDigest;
  options.receipt_key = signer->public_jwk();
  AttestationService service(
      &attester, ring->get(), nullptr, options, [] { return int64_t{1700000000}; },
      [] { return 0.0; });
  CRYPTA_ASSIGN_OR_FAIL(std::string digest, service.CurrentEvidenceDigest());
  EXPECT_EQ(attester.calls, 1);
  HttpReply reply = service.Handle(std::nullopt);
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(attester.calls, 1) << "the receipts' evidence is the cached evidence";
  json body = json::parse(reply.body);
  CRYPTA_ASSIGN_OR_FAIL(Bytes evidence, Base64Decode(body["evidence"].get<std::string>()));
  EXPECT_EQ(digest, Sha256Digest(evidence));
  EXPECT_EQ(body["runtime_data"]["receipt-key"], signer->public_jwk());
  CRYPTA_ASSIGN_OR_FAIL(Bytes report_data, ReportDataFor(body["runtime_data"]));
  EXPECT_EQ(report_data, attester.last_report_data);

  // A key rotation brings new evidence, and receipts name it.
  ASSERT_TRUE((*ring)->Rotate().has_value());
  CRYPTA_ASSIGN_OR_FAIL(std::string rotated, service.CurrentEvidenceDigest());
  EXPECT_NE(rotated, digest);
  EXPECT_EQ(attester.calls, 2);
}

}  // namespace
}  // namespace crypta::runtime
