// VerifyAttestation against sim evidence signed here, one changed thing per negative test;
// and the OHTTP path against a fake runtime (client_test_fake.h).
#include "client/client.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>

#include "attest/ear.h"
#include "attest/sim/sim_tee.h"
#include "client/client_test_fake.h"
#include "common/encoding.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "testing/test_util.h"

namespace crypta::client {
namespace {

using nlohmann::json;

class VerifyAttestationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CRYPTA_ASSIGN_OR_FAIL(runtime_, FakeRuntime::Create(kNow));
    nonce_ = Bytes(32, 0x5a);
    expect_.measurements = {runtime_->launch().measurement};
    expect_.allow_simulated = true;
    expect_.sim_root_pem = runtime_->sim_root_pem();
    expect_.now = kNow;
  }

  json Attestation() { return runtime_->Attestation(HexEncode(nonce_)).value(); }

  // Verifies and returns the error message ("" when accepted).
  std::string Refusal(const json& attestation) {
    Result<VerifiedService> v = VerifyAttestation(attestation, nonce_, expect_);
    return v ? "" : v.error().message();
  }

  static constexpr int64_t kNow = 1767225600;  // 2026-01-01
  std::shared_ptr<FakeRuntime> runtime_;
  Bytes nonce_;
  Expectations expect_;
};

TEST_F(VerifyAttestationTest, AcceptsServiceMeetingExpectations) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedService service, VerifyAttestation(Attestation(), nonce_, expect_));
  EXPECT_TRUE(service.claims().simulated);
  EXPECT_EQ(service.claims().measurement, runtime_->launch().measurement);
  EXPECT_EQ(service.key_config(), runtime_->gateway().key_config());
  EXPECT_EQ(service.runtime_data()["workload"], "tiny");
  EXPECT_EQ(service.ToJson()["runtime_data"]["nonce"], HexEncode(nonce_));
}

TEST_F(VerifyAttestationTest, ReportDataIsSha384OfCanonicalRuntimeDataZeroPadded) {
  // JCS sorts members: {"a":1,"b":"x"} whatever the insertion order.
  CRYPTA_ASSIGN_OR_FAIL(Bytes rd, ServiceReportData(json{{"b", "x"}, {"a", 1}}));
  ASSERT_EQ(rd.size(), 64u);
  EXPECT_EQ(HexEncode(ByteSpan(rd).first(48)), HexEncode(Sha384(AsBytes("{\"a\":1,\"b\":\"x\"}"))));
  EXPECT_EQ(Bytes(rd.begin() + 48, rd.end()), Bytes(16, 0));
}

TEST_F(VerifyAttestationTest, RejectsAnotherNonce) {
  json a = runtime_->Attestation(std::string(64, '0')).value();
  EXPECT_NE(Refusal(a).find("nonce mismatch"), std::string::npos) << Refusal(a);
}

TEST_F(VerifyAttestationTest, RejectsUnexpectedMeasurement) {
  expect_.measurements = {Bytes(48, 0x11)};
  EXPECT_NE(Refusal(Attestation())
                .find("measurement " + HexEncode(runtime_->launch().measurement) +
                      " is not an expected measurement"),
            std::string::npos);
}

TEST_F(VerifyAttestationTest, RejectsWithoutAnyReferenceMeasurementButShowsIt) {
  expect_.measurements.clear();
  std::string why = Refusal(Attestation());
  EXPECT_NE(why.find("no expected measurement"), std::string::npos) << why;
  EXPECT_NE(why.find(HexEncode(runtime_->launch().measurement)), std::string::npos) << why;
}

TEST_F(VerifyAttestationTest, RejectsDebugTee) {
  runtime_->mutable_launch().debug = true;
  EXPECT_NE(Refusal(Attestation()).find("debug: the TEE runs in debug mode"), std::string::npos);
  expect_.allow_debug = true;
  EXPECT_EQ(Refusal(Attestation()), "");
}

TEST_F(VerifyAttestationTest, RejectsSimulatedTeeUnlessAllowed) {
  expect_.allow_simulated = false;
  std::string why = Refusal(Attestation());
  EXPECT_NE(why.find("SIMULATED TEE"), std::string::npos) << why;
  EXPECT_NE(why.find("not allowed"), std::string::npos) << why;
}

TEST_F(VerifyAttestationTest, RejectsSimulatedTeeWithoutThePlatformSimRoot) {
  expect_.sim_root_pem.clear();
  EXPECT_NE(Refusal(Attestation()).find("no platform sim root CA"), std::string::npos);
}

TEST_F(VerifyAttestationTest, RejectsEvidenceFromAnotherSimRoot) {
  CRYPTA_ASSIGN_OR_FAIL(std::shared_ptr<FakeRuntime> other, FakeRuntime::Create(kNow));
  expect_.sim_root_pem = other->sim_root_pem();
  std::string why = Refusal(Attestation());
  EXPECT_NE(why.find("sim evidence does not verify"), std::string::npos) << why;
}

TEST_F(VerifyAttestationTest, RejectsReportDataNotBindingTheKeyConfig) {
  // The TEE attested runtime_data without the key config; the service then shows one.
  runtime_->set_report_data_over([](json rd) {
    rd.erase("ohttp-key-config");
    return rd;
  });
  EXPECT_NE(Refusal(Attestation()).find("report_data does not bind runtime_data"),
            std::string::npos);
}

TEST_F(VerifyAttestationTest, RejectsKeyConfigSwappedAfterSigning) {
  json a = Attestation();
  CRYPTA_ASSIGN_OR_FAIL(std::shared_ptr<FakeRuntime> attacker, FakeRuntime::Create(kNow));
  CRYPTA_ASSIGN_OR_FAIL(Bytes config, attacker->gateway().EncodedKeyConfig());
  a["runtime_data"]["ohttp-key-config"] = Base64UrlEncode(config);
  std::string why = Refusal(a);
  EXPECT_NE(why.find("report_data does not bind runtime_data"), std::string::npos) << why;
  EXPECT_NE(why.find("OHTTP key config"), std::string::npos) << why;
}

TEST_F(VerifyAttestationTest, RejectsTamperedKeyConfigEvenWhenBound) {
  // A key config the TEE did attest but that is not a valid config: refused, not trusted.
  runtime_->set_runtime_data_edit([](json rd) {
    rd["ohttp-key-config"] = Base64UrlEncode(Bytes{0x01, 0x00, 0x20, 0xaa});
    return rd;
  });
  std::string why = Refusal(Attestation());
  EXPECT_NE(why.find("runtime_data.ohttp-key-config"), std::string::npos) << why;
}

TEST_F(VerifyAttestationTest, RejectsUnexpectedHostData) {
  expect_.host_data = {Bytes(32, 0x77)};
  EXPECT_NE(Refusal(Attestation())
                .find("host_data " + HexEncode(runtime_->launch().host_data) +
                      " is not an expected host data value"),
            std::string::npos);
  expect_.host_data = {Bytes(32, 0x77), runtime_->launch().host_data};
  EXPECT_EQ(Refusal(Attestation()), "");
}

TEST_F(VerifyAttestationTest, ListsEveryViolation) {
  runtime_->mutable_launch().debug = true;
  expect_.measurements = {Bytes(48, 0x11)};
  expect_.host_data = {Bytes(32, 0x77)};
  expect_.model_digest = "sha256:" + std::string(64, 'f');
  std::string why = Refusal(Attestation());
  for (const char* part : {"service verification failed: ", "is not an expected measurement",
                           "is not an expected host data value", "debug mode", "model-digest"}) {
    EXPECT_NE(why.find(part), std::string::npos) << part << " in " << why;
  }
}

TEST_F(VerifyAttestationTest, RejectsAnotherWorkload) {
  expect_.workload = "billing";
  EXPECT_NE(Refusal(Attestation()).find("workload \"tiny\" is not \"billing\""), std::string::npos);
}

TEST_F(VerifyAttestationTest, AppliesAnAppraisalPolicy) {
  expect_.measurements.clear();
  CRYPTA_ASSIGN_OR_FAIL(expect_.policy, attest::ParseAppraisalPolicy(
                                            "tee: [sim]\nallow_simulated: true\nmeasurements: [" +
                                            std::string(96, 'a') + "]\n"));
  std::string why = Refusal(Attestation());
  EXPECT_NE(why.find("policy: "), std::string::npos) << why;
  CRYPTA_ASSIGN_OR_FAIL(expect_.policy, attest::ParseAppraisalPolicy(
                                            "tee: [sim]\nallow_simulated: true\nmeasurements: [" +
                                            HexEncode(runtime_->launch().measurement) + "]\n"));
  EXPECT_EQ(Refusal(Attestation()), "");
}

TEST_F(VerifyAttestationTest, NamesMalformedFields) {
  json a = Attestation();
  a["runtime_data"].erase("workload");
  EXPECT_NE(Refusal(a).find("runtime_data.workload missing"), std::string::npos);
  a = Attestation();
  a["simulated"] = false;
  EXPECT_NE(Refusal(a).find("\"simulated\" contradicts \"tee\""), std::string::npos);
  a = Attestation();
  a["tee"] = "quantum";
  EXPECT_NE(Refusal(a).find("\"tee\""), std::string::npos);
  EXPECT_NE(Refusal(json::array()).find("not a JSON object"), std::string::npos);
}

TEST_F(VerifyAttestationTest, AcceptsMeasurementVouchedForByAPlatformEar) {
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey ear_key, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_FAIL(std::string token, runtime_->SignEar(ear_key, "k1", kNow));
  CRYPTA_ASSIGN_OR_FAIL(json jwk, PublicKeyToJwk(ear_key.GetPublicKey(), "k1"));
  expect_.measurements.clear();
  expect_.ear = EarExpectation{token, json{{"keys", {jwk}}}.dump(), "crypta"};
  EXPECT_EQ(Refusal(Attestation()), "");

  // A token signed by a key outside the JWKS vouches for nothing.
  CRYPTA_ASSIGN_OR_FAIL(PrivateKey other, PrivateKey::Generate(KeyType::kEcP256));
  CRYPTA_ASSIGN_OR_FAIL(expect_.ear->token, runtime_->SignEar(other, "k1", kNow));
  std::string why = Refusal(Attestation());
  EXPECT_NE(why.find("EAR token"), std::string::npos) << why;
  EXPECT_NE(why.find("is not an expected measurement"), std::string::npos) << why;
}

// ------------------------------------------------------------ through the fake runtime

class VerifiedServiceTest : public VerifyAttestationTest {
 protected:
  void SetUp() override {
    VerifyAttestationTest::SetUp();
    CRYPTA_ASSIGN_OR_FAIL(service_, VerifyService(runtime_transport(), expect_));
  }
  std::shared_ptr<const HttpTransport> runtime_transport() { return runtime_; }
  static infer::Tensor Input(float a, float b) {
    infer::Tensor t{"input", infer::DataType::kFp32, {1, 2}, Bytes(8)};
    std::memcpy(t.data.data(), &a, 4);
    std::memcpy(t.data.data() + 4, &b, 4);
    return t;
  }
  std::optional<VerifiedService> service_;
};

TEST_F(VerifiedServiceTest, VerifyServiceSendsAFreshNonceEachTime) {
  CRYPTA_ASSIGN_OR_FAIL(VerifiedService again, VerifyService(runtime_transport(), expect_));
  ASSERT_EQ(runtime_->nonces_seen().size(), 2u);
  EXPECT_EQ(runtime_->nonces_seen()[0].size(), 64u);
  EXPECT_NE(runtime_->nonces_seen()[0], runtime_->nonces_seen()[1]);
}

TEST_F(VerifiedServiceTest, RefusesACachedAttestation) {
  runtime_->set_fixed_nonce(std::string(64, 'c'));
  Result<VerifiedService> v = VerifyService(runtime_transport(), expect_);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message().find("nonce mismatch"), std::string::npos);
}

TEST_F(VerifiedServiceTest, InferRoundTripsThroughOhttp) {
  CRYPTA_ASSIGN_OR_FAIL(std::vector<infer::Tensor> out, service_->Infer("tiny", {Input(1.5f, -2)}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "doubled");
  EXPECT_EQ(out[0].data, Input(3, -4).data);
  // The runtime saw only ciphertext on the wire: the fake checks the inner path.
  EXPECT_EQ(runtime_->inner_paths().back(), "/v2/models/tiny/infer");
}

TEST_F(VerifiedServiceTest, InferWorksInBothEncodings) {
  using Encoding = VerifiedService::InferEncoding;
  for (Encoding e : {Encoding::kBinary, Encoding::kJson}) {
    CRYPTA_ASSIGN_OR_FAIL(std::vector<infer::Tensor> out,
                          service_->Infer("tiny", {Input(0.25f, 8)}, e));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].data, Input(0.5f, 16).data);
  }
  // The binary request is a JSON header plus raw bytes: a header that disagrees with the
  // body is a 400 naming the problem.
  infer::InferRequest request;
  request.inputs = {Input(1, 2)};
  infer::OipBody body = infer::EncodeInferRequestBinary(request);
  BhttpRequest inner{"POST",
                     "https",
                     "crypta-runtime",
                     "/v2/models/tiny/infer",
                     {{"inference-header-content-length", std::to_string(*body.json_length + 3)}},
                     ToBytes(body.body),
                     {}};
  CRYPTA_ASSIGN_OR_FAIL(BhttpResponse answer, service_->Send(inner));
  EXPECT_EQ(answer.status, 400);
  EXPECT_NE(ToString(answer.content).find("Inference-Header-Content-Length"), std::string::npos)
      << ToString(answer.content);
  inner.headers[0].value = std::to_string(*body.json_length);
  inner.content.pop_back();
  CRYPTA_ASSIGN_OR_FAIL(BhttpResponse short_body, service_->Send(inner));
  EXPECT_EQ(short_body.status, 400);
  EXPECT_NE(ToString(short_body.content).find("binary_data_size"), std::string::npos);
}

TEST_F(VerifiedServiceTest, ModelServerErrorsCarryTheirMessage) {
  Result<std::vector<infer::Tensor>> out = service_->Infer("absent", {Input(1, 2)});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(out.error().message().find("answered 404: model absent is not served"),
            std::string::npos)
      << out.error().message();
  EXPECT_FALSE(service_->InferJson("../x", "{}"));
}

TEST_F(VerifiedServiceTest, RejectsATamperedResponse) {
  runtime_->set_tamper_response(true);
  Result<std::vector<infer::Tensor>> out = service_->Infer("tiny", {Input(1, 2)});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(out.error().message().find("OHTTP response rejected"), std::string::npos);
}

TEST_F(VerifiedServiceTest, AResponseOpensOnlyWithItsOwnRequestsContext) {
  BhttpRequest request{"GET", "https", "crypta-runtime", "/v2/models/tiny", {}, {}, {}};
  CRYPTA_ASSIGN_OR_FAIL(OhttpEncapsulatedRequest first, service_->Encrypt(request));
  CRYPTA_ASSIGN_OR_FAIL(OhttpEncapsulatedRequest second, service_->Encrypt(request));
  CRYPTA_ASSIGN_OR_FAIL(Bytes answer, runtime_->Answer(first.encapsulated_request));
  EXPECT_FALSE(service_->Decrypt(second.context, answer));
  CRYPTA_ASSIGN_OR_FAIL(BhttpResponse opened, service_->Decrypt(first.context, answer));
  EXPECT_EQ(opened.status, 200);
}

TEST_F(VerifiedServiceTest, ModelMetadataComesThroughOhttp) {
  CRYPTA_ASSIGN_OR_FAIL(json metadata, service_->ModelMetadata("tiny"));
  EXPECT_EQ(metadata["inputs"][0]["name"], "input");
}

}  // namespace
}  // namespace crypta::client
