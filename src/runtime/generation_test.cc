#include "runtime/generation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/fake_model_service_test.h"
#include "runtime/oip_router.h"

namespace crypta::runtime {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

std::string ErrorOf(std::string_view body) {
  Result<GenerateRequest> r = ParseGenerateRequest(body);
  return r ? "" : r.error().message();
}

TEST(GenerateRequest, ParsesThePromptAndMaxTokens) {
  Result<GenerateRequest> r =
      ParseGenerateRequest(R"({"text_input":"Hi ~","parameters":{"max_tokens":3,"stream":true}})");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->prompt_ids, (std::vector<int64_t>{'H' - 32, 'i' - 32, 0, '~' - 32}));
  EXPECT_EQ(r->max_tokens, 3);
  Result<GenerateRequest> d = ParseGenerateRequest(R"({"text_input":"x"})");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->max_tokens, kDefaultMaxTokens);
}

TEST(GenerateRequest, RefusesWhatTheModelCannotTakeNamingTheField) {
  EXPECT_THAT(ErrorOf("not json"), HasSubstr("generate request"));
  EXPECT_THAT(ErrorOf("[]"), HasSubstr("not a JSON object"));
  EXPECT_THAT(ErrorOf("{}"), HasSubstr("\"text_input\" is required"));
  EXPECT_THAT(ErrorOf(R"({"text_input":""})"), HasSubstr("\"text_input\" must hold"));
  EXPECT_THAT(ErrorOf(R"({"text_input":5})"), HasSubstr("\"text_input\" must be a string"));
  EXPECT_THAT(ErrorOf(R"({"text_input":"caf\u00e9"})"), HasSubstr("character 3 is not printable"));
  EXPECT_THAT(ErrorOf(R"({"text_input":"a\nb"})"), HasSubstr("character 1 is not printable"));
  EXPECT_THAT(ErrorOf(R"({"text_input":"a","parameters":{"max_tokens":0}})"),
              HasSubstr("max_tokens must be an integer in 1..1024"));
  EXPECT_THAT(ErrorOf(R"({"text_input":"a","parameters":{"max_tokens":1025}})"),
              HasSubstr("max_tokens"));
  EXPECT_THAT(ErrorOf(R"({"text_input":"a","parameters":{"max_tokens":2.5}})"),
              HasSubstr("max_tokens"));
  EXPECT_THAT(ErrorOf(R"({"text_input":"a","parameters":{"temperature":1}})"),
              HasSubstr("unknown parameter \"temperature\""));
  EXPECT_THAT(ErrorOf(R"({"text_input":"a","extra":1})"), HasSubstr("unknown member \"extra\""));
  EXPECT_THAT(ErrorOf(R"({"text_input":")" + std::string(kMaxPromptBytes + 1, 'a') + "\"}"),
              HasSubstr("\"text_input\" must hold"));
  // The prompt itself is never quoted back.
  EXPECT_THAT(ErrorOf(R"({"text_input":"secret\u0001"})"), ::testing::Not(HasSubstr("secret")));
}

TEST(TokenStream, GreedyOverTheLastMaxContextTokensUntilMaxTokens) {
  std::vector<size_t> windows;
  GenerationConfig config;
  config.vocab = 4;
  config.max_context = 3;
  GenerateRequest request{{0, 1}, 4};
  TokenStream stream(config, request, [&](const std::vector<int64_t>& ids) {
    windows.push_back(ids.size());
    // Ties go to the lowest id: 2 and 3 tie after a 1, 0 and 3 after a 2.
    std::vector<float> logits(4, 0.0f);
    if (ids.back() == 1) logits = {0, 0, 5, 5};
    if (ids.back() == 2) logits = {5, 0, 0, 5};
    if (ids.back() == 0) logits = {0, 9, 0, 0};
    return Result<std::vector<float>>(logits);
  });
  std::string text;
  while (true) {
    Result<std::optional<std::string>> t = stream.Next();
    ASSERT_TRUE(t.has_value());
    if (!*t) break;
    text += **t;
  }
  EXPECT_EQ(text, "\" !\"");  // ids 2, 0, 1, 2
  EXPECT_EQ(windows, (std::vector<size_t>{2, 3, 3, 3}));
  EXPECT_FALSE(*stream.Next());
}

TEST(TokenStream, AModelErrorOrAWrongVocabularyEndsTheStreamForGood) {
  GenerationConfig config;
  config.vocab = 4;
  TokenStream wrong(config, GenerateRequest{{0}, 2}, [](const std::vector<int64_t>&) {
    return Result<std::vector<float>>(std::vector<float>{1.0f});
  });
  Result<std::optional<std::string>> t = wrong.Next();
  ASSERT_FALSE(t.has_value());
  EXPECT_THAT(t.error().message(), HasSubstr("1 logits for a vocabulary of 4"));
  EXPECT_FALSE(wrong.Next().has_value());
}

TEST(GenerateEvents, AreServerSentEventsOfJson) {
  EXPECT_EQ(GenerateEvent("m", "\""), "data: {\"model_name\":\"m\",\"text_output\":\"\\\"\"}\n\n");
  EXPECT_EQ(GenerateErrorEvent("boom"), "data: {\"error\":\"boom\"}\n\n");
}

class GenerateRouteTest : public ::testing::Test {
 protected:
  HttpReply Call(std::string method, std::string path, std::string body = "") {
    return router_.Handle(HttpCall{std::move(method), std::move(path), std::move(body)});
  }
  static std::vector<std::string> Drain(HttpReply& reply) {
    std::vector<std::string> pieces;
    while (true) {
      Result<std::optional<std::string>> p = reply.stream();
      EXPECT_TRUE(p.has_value());
      if (!p || !*p) return pieces;
      pieces.push_back(**p);
    }
  }
  FakeModelService service_;
  OipRouter router_{&service_};
};

TEST_F(GenerateRouteTest, GenerateAnswersTheWholeText) {
  HttpReply r = Call("POST", "/v2/models/echo/generate",
                     R"({"text_input":"A","parameters":{"max_tokens":6}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(json::parse(r.body), (json{{"model_name", "echo"}, {"text_output", "BCDEFG"}}));
  EXPECT_EQ(service_.longest_window.load(), 4) << "the window is the last max_context tokens";
}

TEST_F(GenerateRouteTest, GenerateStreamIsOneEventPerTokenProducedOnDemand) {
  HttpReply r = Call("POST", "/v2/models/echo/generate_stream",
                     R"({"text_input":"}","parameters":{"max_tokens":3}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "text/event-stream");
  EXPECT_TRUE(r.body.empty());
  ASSERT_TRUE(r.stream);
  EXPECT_EQ(service_.longest_window.load(), 0) << "nothing runs before the first pull";
  EXPECT_EQ(Drain(r),
            (std::vector<std::string>{GenerateEvent("echo", "~"), GenerateEvent("echo", " "),
                                      GenerateEvent("echo", "!")}));
  // CollectStream joins a stream into one body (what the one-shot OHTTP path answers).
  HttpReply whole = CollectStream(Call("POST", "/v2/models/echo/generate_stream",
                                       R"({"text_input":"}","parameters":{"max_tokens":3}})"));
  EXPECT_FALSE(whole.stream);
  EXPECT_EQ(whole.body,
            GenerateEvent("echo", "~") + GenerateEvent("echo", " ") + GenerateEvent("echo", "!"));
}

TEST_F(GenerateRouteTest, AModelFailureMidStreamIsOneErrorEventThatEndsIt) {
  HttpReply r = Call("POST", "/v2/models/echo/generate_stream",
                     R"({"text_input":"!","parameters":{"max_tokens":5}})");
  ASSERT_TRUE(r.stream);
  EXPECT_EQ(Drain(r),
            (std::vector<std::string>{GenerateEvent("echo", "\""), GenerateEvent("echo", "#"),
                                      GenerateErrorEvent("device lost")}));
  // Without streaming the same failure is a 500 with the error.
  HttpReply whole = Call("POST", "/v2/models/echo/generate",
                         R"({"text_input":"!","parameters":{"max_tokens":5}})");
  EXPECT_EQ(whole.status, 500);
  EXPECT_EQ(json::parse(whole.body)["error"], "device lost");
}

TEST_F(GenerateRouteTest, BadRequestsAndWrongMethodsAreRefusedBeforeStreaming) {
  HttpReply bad = Call("POST", "/v2/models/echo/generate_stream", R"({"text_input":"\u0001"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_FALSE(bad.stream);
  EXPECT_THAT(json::parse(bad.body)["error"].get<std::string>(), HasSubstr("printable ASCII"));
  EXPECT_EQ(Call("GET", "/v2/models/echo/generate_stream").status, 405);
  EXPECT_EQ(Call("POST", "/v2/models/other/generate", R"({"text_input":"a"})").status, 404);
  EXPECT_EQ(RouteLabel("/v2/models/x/generate_stream"), "/v2/models/{model}/generate_stream");
}

TEST(GenerateRoute, AModelWithoutAGenerationConfigSaysSo) {
  class Plain : public ModelService {
   public:
    const std::string& name() const override { return name_; }
    json Metadata() const override { return json::object(); }
    Result<InferPayload> Infer(std::string_view, std::optional<std::string_view>) override {
      return InferPayload{};
    }
    std::string name_ = "cnn";
  } plain;
  OipRouter router(&plain);
  HttpReply r = router.Handle(HttpCall{"POST", "/v2/models/cnn/generate", R"({"text_input":"a"})"});
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(json::parse(r.body)["error"].get<std::string>(),
              HasSubstr("\"cnn\" does not generate text"));
}

}  // namespace
}  // namespace crypta::runtime
