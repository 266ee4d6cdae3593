// Receipts on the client: a fake runtime (client_test_fake.h's sim evidence and OHTTP key,
// plus receipts signed here in the documented format) in front of VerifiedService; the
// bundle verified offline; any flipped byte of the receipt, request, response or attestation
// refused; a receipt key the evidence does not bind refused.
#include "client/receipt.h"

#include <gtest/gtest.h>

#include "client/client.h"
#include "client/client_test_fake.h"
#include "common/encoding.h"
#include "common/json_canonical.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"
#include "testing/test_util.h"

namespace crypta::client {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1767225600;  // 2026-01-01

std::string Digest(ByteSpan b) { return "sha256:" + HexEncode(Sha256(b)); }

// FakeRuntime's attestation with a receipt key, and an OHTTP gateway that signs a receipt
// into every answer (the echo of the request body) the way crypta-runtime does.
class ReceiptRuntime : public HttpTransport {
 public:
  static Result<std::shared_ptr<ReceiptRuntime>> Create(KeyType type) {
    CRYPTA_ASSIGN_OR_RETURN(std::shared_ptr<FakeRuntime> fake, FakeRuntime::Create(kNow));
    CRYPTA_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(type));
    auto r = std::shared_ptr<ReceiptRuntime>(new ReceiptRuntime(std::move(fake), std::move(key)));
    CRYPTA_RETURN_IF_ERROR(r->BindKey(r->key_.GetPublicKey()));
    return r;
  }

  // The attestation binds `bound` as its receipt key (receipts stay signed by key_).
  Status BindKey(const PublicKey& bound) {
    CRYPTA_ASSIGN_OR_RETURN(std::string kid, JwkThumbprint(bound));
    CRYPTA_ASSIGN_OR_RETURN(json jwk, PublicKeyToJwk(bound, kid));
    fake_->set_runtime_data_edit([jwk](json rd) {
      rd["receipt-key"] = jwk;
      return rd;
    });
    CRYPTA_ASSIGN_OR_RETURN(cached_, fake_->Attestation(""));
    return OkStatus();
  }

  FakeRuntime& fake() { return *fake_; }
  const json& cached_attestation() const { return cached_; }
  void set_omit_receipt(bool on) { omit_receipt_ = on; }
  void set_tamper_receipt(bool on) { tamper_receipt_ = on; }
  int attestation_fetches() const { return fetches_; }

  Result<std::string> Receipt(ByteSpan request, ByteSpan content) const {
    CRYPTA_ASSIGN_OR_RETURN(std::string kid, JwkThumbprint(key_.GetPublicKey()));
    const json payload = {
        {"v", 1},
        {"request_digest", Digest(request)},
        {"response_digest", Digest(content)},
        {"model_digest", cached_["runtime_data"]["model-digest"]},
        {"measurement", HexEncode(fake_->launch().measurement)},
        {"attestation_digest", Digest(AsBytes(cached_["evidence"].get<std::string>()))},
        {"time", kNow},
        {"sequence", 1},
        {"workload", cached_["runtime_data"]["workload"]}};
    CRYPTA_ASSIGN_OR_RETURN(std::string text, CanonicalizeJson(payload));
    return JwsSignCompact(key_, AsBytes(text), json{{"kid", kid}, {"typ", "crypta-receipt"}});
  }

  // HttpTransport
  Result<HttpReply> Get(const std::string& path, size_t max) const override {
    if (path == "/v1/attestation") {
      ++fetches_;
      return HttpReply{200, "application/json", cached_.dump()};
    }
    return fake_->Get(path, max);
  }
  Result<HttpReply> Post(const std::string& path, std::string_view, ByteSpan body,
                         size_t) const override {
    if (path != "/v1/ohttp") return HttpReply{404, "text/plain", "no"};
    CRYPTA_ASSIGN_OR_RETURN(OhttpDecapsulatedRequest request,
                            fake_->gateway().DecapsulateRequest(body));
    CRYPTA_ASSIGN_OR_RETURN(BhttpRequest inner, DecodeBhttpRequest(request.request));
    BhttpResponse response;
    response.status = 200;
    response.headers = {{"content-type", "application/json"}};
    response.content = ToBytes(json{{"echo", ToString(inner.content)}}.dump());
    if (!omit_receipt_) {
      CRYPTA_ASSIGN_OR_RETURN(std::string receipt, Receipt(body, response.content));
      if (tamper_receipt_) receipt[receipt.size() - 5] ^= 1;
      response.headers.push_back({"crypta-receipt", receipt});
    }
    CRYPTA_ASSIGN_OR_RETURN(Bytes encoded, EncodeBhttpResponse(response));
    CRYPTA_ASSIGN_OR_RETURN(Bytes out, request.context.EncapsulateResponse(encoded));
    return HttpReply{200, "message/ohttp-res", ToString(out)};
  }
  const std::string& base_url() const override { return fake_->base_url(); }

 private:
  ReceiptRuntime(std::shared_ptr<FakeRuntime> fake, PrivateKey key)
      : fake_(std::move(fake)), key_(std::move(key)) {}

  std::shared_ptr<FakeRuntime> fake_;
  PrivateKey key_;
  json cached_;  // the nonce-less attestation receipts name (sim evidence is randomized)
  bool omit_receipt_ = false, tamper_receipt_ = false;
  mutable int fetches_ = 0;
};

class ReceiptTest : public ::testing::TestWithParam<KeyType> {
 protected:
  void SetUp() override {
    CRYPTA_ASSIGN_OR_FAIL(runtime_, ReceiptRuntime::Create(GetParam()));
    expect_.measurements = {runtime_->fake().launch().measurement};
    expect_.allow_simulated = true;
    expect_.sim_root_pem = runtime_->fake().sim_root_pem();
    expect_.now = kNow;
    offline_ = RecordVerifyOptions{true, expect_.sim_root_pem, kNow};
  }

  Result<PredictResult> Predict() {
    CRYPTA_ASSIGN_OR_RETURN(VerifiedService service, VerifyService(runtime_, expect_));
    return service.PredictJson("tiny", R"({"inputs":[]})");
  }

  // The bundle of one prediction, parsed.
  json Bundle() {
    Result<PredictResult> result = Predict();
    EXPECT_TRUE(result.has_value()) << result.error().ToString();
    Result<std::string> text = result->ReceiptBundle();
    EXPECT_TRUE(text.has_value());
    return json::parse(*text);
  }

  std::string Refusal(const json& bundle) {
    Result<VerifiedReceipt> v = VerifyReceiptBundle(bundle.dump(), offline_);
    return v ? "" : v.error().message();
  }

  std::shared_ptr<ReceiptRuntime> runtime_;
  Expectations expect_;
  RecordVerifyOptions offline_;
};

TEST_P(ReceiptTest, PredictReturnsAVerifiedReceiptThatVerifiesOfflineFromItsBundle) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedService service, VerifyService(runtime_, expect_));
  EXPECT_TRUE(service.issues_receipts());
  CRYPTA_ASSIGN_OR_FAIL(PredictResult result, service.PredictJson("tiny", R"({"inputs":[]})"));
  EXPECT_FALSE(result.receipt.empty());
  EXPECT_NE(result.response.find("echo"), std::string::npos);
  ASSERT_NE(result.attestation, nullptr);
  EXPECT_EQ(runtime_->attestation_fetches(), 1);
  EXPECT_TRUE(VerifyReceipt(result.receipt, *result.attestation, result.encapsulated_request,
                            result.response_content));
  // The attestation receipts name is fetched once, then kept.
  CRYPTA_ASSIGN_OR_FAIL(PredictResult again, service.PredictJson("tiny", R"({"inputs":[1]})"));
  EXPECT_EQ(runtime_->attestation_fetches(), 1);

  CRYPTA_ASSIGN_OR_FAIL(std::string bundle, result.ReceiptBundle());
  CRYPTA_ASSIGN_OR_FAIL(VerifiedReceipt verified, VerifyReceiptBundle(bundle, offline_));
  EXPECT_EQ(verified.receipt.alg, GetParam() == KeyType::kEd25519 ? "EdDSA" : "ES256");
  EXPECT_EQ(verified.receipt.sequence, 1u);
  EXPECT_EQ(verified.claims.measurement, runtime_->fake().launch().measurement);
  EXPECT_EQ(verified.ToJson()["workload"], "tiny");
}

TEST_P(ReceiptTest, AnyFlippedByteOfTheReceiptFails) {
  json bundle = Bundle();
  const std::string receipt = bundle["receipt"].get<std::string>();
  for (size_t i = 0; i < receipt.size(); ++i) {
    if (receipt[i] == '.') continue;
    json flipped = bundle;
    std::string r = receipt;
    r[i] = r[i] == 'A' ? 'B' : 'A';
    flipped["receipt"] = r;
    EXPECT_NE(Refusal(flipped), "") << "position " << i;
  }
}

TEST_P(ReceiptTest, AnyFlippedByteOfTheRequestOrResponseFails) {
  json bundle = Bundle();
  for (const char* field : {"request_b64", "response_b64"}) {
    Bytes bytes = Base64Decode(bundle[field].get<std::string>()).value();
    for (size_t i : {size_t{0}, bytes.size() / 2, bytes.size() - 1}) {
      json flipped = bundle;
      Bytes b = bytes;
      b[i] ^= 0x01;
      flipped[field] = Base64Encode(b);
      const std::string why = Refusal(flipped);
      EXPECT_NE(
          why.find(std::string(field) == "request_b64" ? "request_digest" : "response_digest"),
          std::string::npos)
          << field << " byte " << i << ": " << why;
    }
  }
}

TEST_P(ReceiptTest, AnyFlippedByteOfTheAttestationFails) {
  json bundle = Bundle();
  const std::string evidence = bundle["attestation"]["evidence"].get<std::string>();
  for (size_t i = 0; i < evidence.size(); i += evidence.size() / 16) {
    json flipped = bundle;
    std::string e = evidence;
    e[i] ^= 0x01;
    flipped["attestation"]["evidence"] = e;
    EXPECT_NE(Refusal(flipped).find("attestation"), std::string::npos) << "byte " << i;
  }
  // runtime_data (the receipt key among it) is bound by report_data.
  json other_workload = bundle;
  other_workload["attestation"]["runtime_data"]["workload"] = "tinz";
  EXPECT_NE(Refusal(other_workload).find("report_data does not bind"), std::string::npos);
}

TEST_P(ReceiptTest, AReceiptKeyTheEvidenceDoesNotBindFails) {
  json bundle = Bundle();
  // Another key in runtime_data, with the evidence re-signed over it: the receipt's
  // signature is then not by the attested key.
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, PrivateKey::Generate(GetParam()));
  ASSERT_TRUE(runtime_->BindKey(other.GetPublicKey()));
  json rebound = bundle;
  rebound["attestation"] = runtime_->cached_attestation();
  rebound["attestation"].erase("key_epoch");
  rebound["attestation"].erase("issued_at");
  const std::string why = Refusal(rebound);
  EXPECT_TRUE(why.find("signature does not verify") != std::string::npos ||
              why.find("kid") != std::string::npos ||
              why.find("attestation_digest") != std::string::npos)
      << why;
  // The key in runtime_data replaced without the evidence: report_data no longer binds it.
  CRYPTA_ASSIGN_OR_FAIL(json jwk, PublicKeyToJwk(other.GetPublicKey()));
  json swapped = bundle;
  swapped["attestation"]["runtime_data"]["receipt-key"] = jwk;
  EXPECT_NE(Refusal(swapped).find("report_data does not bind"), std::string::npos);
}

TEST_P(ReceiptTest, TheServiceRefusesAnswersWithoutOrWithABadReceipt) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedService service, VerifyService(runtime_, expect_));
  runtime_->set_omit_receipt(true);
  Result<PredictResult> none = service.PredictJson("tiny", "{}");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(none.error().message().find("carries no receipt"), std::string::npos);
  runtime_->set_omit_receipt(false);
  runtime_->set_tamper_receipt(true);
  Result<std::string> bad = service.InferJson("tiny", "{}");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("receipt"), std::string::npos) << bad.error().message();
}

TEST_P(ReceiptTest, RefusesTheRuntimesAttestationWhenItBindsAnotherReceiptKey) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedService service, VerifyService(runtime_, expect_));
  // The service was verified with key A; the nonce-less attestation now binds key B.
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, PrivateKey::Generate(GetParam()));
  ASSERT_TRUE(runtime_->BindKey(other.GetPublicKey()));
  Result<PredictResult> r = service.PredictJson("tiny", "{}");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("not the verified service's"), std::string::npos)
      << r.error().message();
}

INSTANTIATE_TEST_SUITE_P(Keys, ReceiptTest, ::testing::Values(KeyType::kEd25519, KeyType::kEcP256));

TEST(ReceiptWithoutKey, AnOlderRuntimeIssuesNoReceipts) {
  CRYPTA_ASSIGN_OR_FAIL(std::shared_ptr<FakeRuntime> fake, FakeRuntime::Create(kNow));
  Expectations e;
  e.measurements = {fake->launch().measurement};
  e.allow_simulated = true;
  e.sim_root_pem = fake->sim_root_pem();
  e.now = kNow;
  CRYPTA_ASSIGN_OR_FAIL(VerifiedService service, VerifyService(fake, e));
  EXPECT_FALSE(service.issues_receipts());
  infer::Tensor input{"input", infer::DataType::kFp32, {1, 2}, Bytes(8, 0)};
  CRYPTA_ASSIGN_OR_FAIL(
      PredictResult r,
      service.Predict("tiny", {{input.name, input.dtype, input.shape, input.data}}));
  EXPECT_EQ(r.outputs.size(), 1u);
  EXPECT_TRUE(r.receipt.empty());
  EXPECT_EQ(r.ReceiptBundle().error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ReceiptKeyOf(service.runtime_data()).error().code(), ErrorCode::kFailedPrecondition);
}

TEST(ReceiptWithoutKey, AMalformedReceiptKeyRefusesTheService) {
  CRYPTA_ASSIGN_OR_FAIL(std::shared_ptr<FakeRuntime> fake, FakeRuntime::Create(kNow));
  fake->set_runtime_data_edit([](json rd) {
    rd["receipt-key"] = json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "short"}};
    return rd;
  });
  Expectations e;
  e.measurements = {fake->launch().measurement};
  e.allow_simulated = true;
  e.sim_root_pem = fake->sim_root_pem();
  e.now = kNow;
  Result<VerifiedService> service = VerifyService(fake, e);
  ASSERT_FALSE(service.has_value());
  EXPECT_NE(service.error().message().find("receipt-key"), std::string::npos);
}

TEST(ReceiptBundle, RejectsMalformedBundlesNamingTheField) {
  RecordVerifyOptions o{true, "x", kNow};
  EXPECT_NE(VerifyReceiptBundle("[]", o).error().message().find("not a JSON object"),
            std::string::npos);
  EXPECT_NE(VerifyReceiptBundle(R"({"receipt":"a","request_b64":"","response_b64":""})", o)
                .error()
                .message()
                .find("attestation"),
            std::string::npos);
  EXPECT_NE(VerifyReceiptBundle(
                R"({"receipt":"a","request_b64":"!","response_b64":"","attestation":{}})", o)
                .error()
                .message()
                .find("request_b64"),
            std::string::npos);
}

}  // namespace
}  // namespace crypta::client
