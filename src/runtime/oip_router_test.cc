#include "runtime/oip_router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/fake_model_service_test.h"

namespace crypta::runtime {
namespace {

using nlohmann::json;

class OipRouterTest : public ::testing::Test {
 protected:
  HttpReply Call(std::string method, std::string path, std::string body = "") {
    return router_.Handle(HttpCall{std::move(method), std::move(path), std::move(body)});
  }
  FakeModelService service_;
  OipRouter router_{&service_};
};

TEST_F(OipRouterTest, HealthAndServerMetadata) {
  EXPECT_EQ(Call("GET", "/v2/health/live").status, 200);
  EXPECT_EQ(Call("GET", "/v2/health/ready").status, 200);
  HttpReply v2 = Call("GET", "/v2");
  EXPECT_EQ(v2.status, 200);
  EXPECT_EQ(json::parse(v2.body)["name"], "crypta-runtime");
}

TEST_F(OipRouterTest, ModelMetadataAndReadinessForTheServedModelOnly) {
  HttpReply meta = Call("GET", "/v2/models/echo");
  EXPECT_EQ(meta.status, 200);
  EXPECT_EQ(json::parse(meta.body)["platform"], "fake");
  EXPECT_EQ(Call("GET", "/v2/models/echo/ready").status, 200);
  HttpReply other = Call("GET", "/v2/models/other");
  EXPECT_EQ(other.status, 404);
  EXPECT_THAT(json::parse(other.body)["error"].get<std::string>(),
              ::testing::StartsWith("unknown model \""));
  EXPECT_THAT(json::parse(other.body)["error"].get<std::string>(),
              ::testing::HasSubstr("this runtime serves"));
  EXPECT_EQ(Call("POST", "/v2/models/other/infer", "{}").status, 404);
}

TEST_F(OipRouterTest, InferPassesTheBodyAndMapsErrorsTo400) {
  HttpReply ok = Call("POST", "/v2/models/echo/infer", "x");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"echo":"x"})");
  HttpReply bad = Call("POST", "/v2/models/echo/infer", "bad");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["error"], "inputs[0]: wrong shape");
}

TEST_F(OipRouterTest, WrongMethodIs405AndUnknownRouteIs404) {
  EXPECT_EQ(Call("GET", "/v2/models/echo/infer").status, 405);
  EXPECT_EQ(Call("POST", "/v2/health/live").status, 405);
  EXPECT_EQ(Call("GET", "/v2/models/echo/versions/1").status, 404);
  EXPECT_EQ(Call("GET", "/v2//models/echo").status, 404);
  EXPECT_EQ(service_.calls.load(), 0);
}

TEST(RouteLabelTest, MapsPathsToABoundedSet) {
  EXPECT_EQ(RouteLabel("/v1/ohttp"), "/v1/ohttp");
  EXPECT_EQ(RouteLabel("/v2/models/resnet/infer"), "/v2/models/{model}/infer");
  EXPECT_EQ(RouteLabel("/v2/models/resnet"), "/v2/models/{model}");
  EXPECT_EQ(RouteLabel("/v2/models/resnet/ready"), "/v2/models/{model}/ready");
  EXPECT_EQ(RouteLabel("/secret/path/with/data"), "other");
  EXPECT_EQ(RouteLabel("/v2/models/a/b/c"), "other");
}

TEST(HttpStatusForTest, MapsErrorCodes) {
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kResourceExhausted), 413);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kResourceExhausted, /*rate_limit=*/true), 429);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInternal), 500);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kFailedPrecondition), 500);  // the control plane says 409
  EXPECT_EQ(HttpStatusForError(ErrorCode::kFailedPrecondition), 409);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnavailable), 503);
}

}  // namespace
}  // namespace crypta::runtime
