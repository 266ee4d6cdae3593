#include "runtime/ohttp_service.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "runtime/fake_model_service_test.h"
#include "testing/test_util.h"

namespace crypta::runtime {
namespace {

using nlohmann::json;

class OhttpServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ring = OhttpKeyRing::Create(64);
    ASSERT_TRUE(ring.has_value());
    ring_ = std::move(*ring);
    service_ = std::make_unique<OhttpService>(ring_.get(), &router_, &metrics_);
  }

  // A client: BHTTP-encodes the request and seals it to the current key config.
  OhttpEncapsulatedRequest Seal(const BhttpRequest& request) {
    auto config = ParseOhttpKeyConfig(ring_->Current()->encoded_config);
    EXPECT_TRUE(config.has_value());
    auto bhttp = EncodeBhttpRequest(request);
    EXPECT_TRUE(bhttp.has_value());
    auto sealed = EncapsulateOhttpRequest(*config, *bhttp);
    EXPECT_TRUE(sealed.has_value());
    return std::move(*sealed);
  }

  static BhttpRequest Infer(std::string body, std::string path = "/v2/models/echo/infer") {
    return BhttpRequest{
        "POST",        "https", "runtime", std::move(path), {{"content-type", "application/json"}},
        ToBytes(body), {}};
  }

  // Opens an encapsulated response with the client's context.
  static BhttpResponse Open(const OhttpEncapsulatedRequest& req, ByteSpan response) {
    auto plain = req.context.DecapsulateResponse(response);
    EXPECT_TRUE(plain.has_value()) << plain.error().ToString();
    auto decoded = DecodeBhttpResponse(*plain);
    EXPECT_TRUE(decoded.has_value());
    return std::move(*decoded);
  }

  FakeModelService model_;
  OipRouter router_{&model_};
  Metrics metrics_;
  std::unique_ptr<OhttpKeyRing> ring_;
  std::unique_ptr<OhttpService> service_;
};

TEST_F(OhttpServiceTest, DispatchesAnEncryptedInferRequestAndEncryptsTheAnswer) {
  OhttpEncapsulatedRequest req = Seal(Infer("scan"));
  HttpReply reply = service_->HandleOhttp(ToString(req.encapsulated_request));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.content_type, "message/ohttp-res");
  EXPECT_EQ(reply.body.find("scan"), std::string::npos);  // the answer is not in the clear
  BhttpResponse inner = Open(req, AsBytes(reply.body));
  EXPECT_EQ(inner.status, 200);
  EXPECT_EQ(ToString(inner.content), R"({"echo":"scan"})");
  EXPECT_NE(metrics_.Render({}, /*inner_detail=*/true)
                .find(R"(route="/v2/models/{model}/infer",channel="ohttp",status="200"} 1)"),
            std::string::npos);
}

TEST_F(OhttpServiceTest, RejectsAReplayedRequestIn400) {
  OhttpEncapsulatedRequest req = Seal(Infer("scan"));
  ASSERT_EQ(service_->HandleOhttp(ToString(req.encapsulated_request)).status, 200);
  HttpReply again = service_->HandleOhttp(ToString(req.encapsulated_request));
  EXPECT_EQ(again.status, 400);
  EXPECT_NE(json::parse(again.body)["error"].get<std::string>().find("replayed"),
            std::string::npos);
  EXPECT_EQ(model_.calls.load(), 1);
}

TEST_F(OhttpServiceTest, RejectsATamperedRequestWithoutRunningTheModel) {
  OhttpEncapsulatedRequest req = Seal(Infer("scan"));
  Bytes tampered = req.encapsulated_request;
  tampered[tampered.size() / 2] ^= 0x40;
  EXPECT_EQ(service_->HandleOhttp(ToString(tampered)).status, 400);
  EXPECT_EQ(service_->HandleOhttp("short").status, 400);
  EXPECT_EQ(model_.calls.load(), 0);
}

TEST_F(OhttpServiceTest, InnerErrorsComeBackEncrypted) {
  OhttpEncapsulatedRequest bad = Seal(Infer("bad"));
  HttpReply reply = service_->HandleOhttp(ToString(bad.encapsulated_request));
  ASSERT_EQ(reply.status, 200);
  BhttpResponse inner = Open(bad, AsBytes(reply.body));
  EXPECT_EQ(inner.status, 400);
  EXPECT_EQ(json::parse(ToString(inner.content))["error"], "inputs[0]: wrong shape");

  OhttpEncapsulatedRequest elsewhere = Seal(Infer("x", "/metrics"));
  reply = service_->HandleOhttp(ToString(elsewhere.encapsulated_request));
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(Open(elsewhere, AsBytes(reply.body)).status, 404);
}

TEST_F(OhttpServiceTest, AResponseDoesNotOpenWithAnotherClientsContext) {
  OhttpEncapsulatedRequest mine = Seal(Infer("a"));
  OhttpEncapsulatedRequest theirs = Seal(Infer("b"));
  HttpReply reply = service_->HandleOhttp(ToString(mine.encapsulated_request));
  ASSERT_EQ(reply.status, 200);
  auto opened = theirs.context.DecapsulateResponse(AsBytes(reply.body));
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), ErrorCode::kUnauthenticated);
}

TEST_F(OhttpServiceTest, PredictWrapsTheSameExchangeInJson) {
  OhttpEncapsulatedRequest req = Seal(Infer("scan"));
  HttpReply reply = service_->HandlePredict(
      json{{"encrypted_input", Base64Encode(req.encapsulated_request)}}.dump());
  ASSERT_EQ(reply.status, 200) << reply.body;
  json body = json::parse(reply.body);
  EXPECT_EQ(body["success"], true);
  CRYPTA_ASSIGN_OR_FAIL(Bytes sealed, Base64Decode(body["encrypted_result"].get<std::string>()));
  EXPECT_EQ(ToString(Open(req, sealed).content), R"({"echo":"scan"})");

  HttpReply replay = service_->HandlePredict(
      json{{"encrypted_input", Base64Encode(req.encapsulated_request)}}.dump());
  EXPECT_EQ(replay.status, 400);
  EXPECT_EQ(json::parse(replay.body)["success"], false);
}

TEST_F(OhttpServiceTest, PredictRefusesMalformedBodies) {
  for (const char* body : {"", "[]", R"({"encrypted_input": 5})", R"({"encrypted_input": "!!"})",
                           R"({"other": "AAAA"})"}) {
    HttpReply reply = service_->HandlePredict(body);
    EXPECT_EQ(reply.status, 400) << body;
    json parsed = json::parse(reply.body);
    EXPECT_EQ(parsed["success"], false) << body;
    EXPECT_TRUE(parsed["error"].is_string()) << body;
  }
}

}  // namespace
}  // namespace crypta::runtime
