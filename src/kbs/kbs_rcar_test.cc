#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/constant_time.h"
#include "crypto/jwe.h"
#include "crypto/jwk.h"
#include "kbs/kbs_test_util.h"
#include "kbs/rcar.h"
#include "testing/test_util.h"

namespace crypta::kbs {
namespace {

using ::crypta::kbs::testing::kTestNow;
using ::crypta::kbs::testing::SimWorld;
using ::testing::HasSubstr;

const Bytes kDek(kDataKeySize, 0x5a);

class RcarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::shared_ptr<store::Database>(*store::Database::Open(":memory:"));
    broker_ = *KeyBroker::Open(db_, SecretBytes(Bytes(32, 3)));
    ASSERT_TRUE(broker_->CreateTenant("radiology"));
    ASSERT_TRUE(broker_->CreateKek("radiology", "models"));
    ASSERT_TRUE(broker_->WrapDek("radiology", "models", SecretBytes(kDek), "llama"));
    ASSERT_TRUE(broker_->SetPolicy("radiology", "models", sim_.AllowPolicy()));
    registry_.Register(
        std::make_shared<attest::SimVerifier>(*Certificate::FromDer(sim_.ca.cert.der())));
    server_ = std::make_unique<RcarServer>(broker_.get(), &registry_,
                                           *PrivateKey::Generate(KeyType::kEcP256), RcarOptions{});
  }

  std::string AuthRequest() const { return R"({"version":"0.1.1","tee":"sim","extra-params":{}})"; }

  // A full attest request whose evidence binds `runtime_data` (or `bound_to` when given).
  std::string AttestRequest(const nlohmann::json& runtime_data,
                            const nlohmann::json* bound_to = nullptr) {
    Bytes rd = *RcarReportData(bound_to ? *bound_to : runtime_data);
    Bytes evidence = *attest::SignSimReport(sim_.node, sim_.launch, rd, kTestNow);
    nlohmann::json req = {{"runtime-data", runtime_data},
                          {"tee-evidence", std::string(evidence.begin(), evidence.end())}};
    return req.dump();
  }
  nlohmann::json RuntimeData(const std::string& nonce) {
    return {{"nonce", nonce}, {"tee-pubkey", *PublicKeyToJwk(tee_key_.GetPublicKey())}};
  }
  // Auth + Attest; returns {session_id, token}.
  std::pair<std::string, std::string> Attested(int64_t now = kTestNow) {
    auto auth = *server_->Auth(AuthRequest(), now);
    auto r = server_->Attest(
        auth.session_id, AttestRequest(RuntimeData(auth.body["nonce"].get<std::string>())), now);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return {auth.session_id, r ? (*r)["token"].get<std::string>() : ""};
  }

  SimWorld sim_ = SimWorld::Create();
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<KeyBroker> broker_;
  attest::VerifierRegistry registry_;
  std::unique_ptr<RcarServer> server_;
  PrivateKey tee_key_ = *PrivateKey::Generate(KeyType::kEcP256);
};

TEST_F(RcarTest, FullFlowReleasesTheDekAsJweToTheTeeKey) {
  auto [session, token] = Attested();
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json ear, server_->VerifyEar(token, kTestNow + 1));
  EXPECT_EQ(ear["iss"], "crypta");
  EXPECT_TRUE(ear["submods"].contains("cpu0"));

  for (const std::string& credential : {session, token}) {
    CRYPTA_ASSIGN_OR_FAIL(nlohmann::json jwe,
                          server_->Resource(credential, "radiology/models/llama", kTestNow + 2));
    CRYPTA_ASSIGN_OR_FAIL(DecryptedJwe plain, JweDecrypt(jwe, tee_key_));
    EXPECT_EQ(plain.protected_header["alg"], "ECDH-ES+A256KW");
    EXPECT_EQ(plain.protected_header["enc"], "A256GCM");
    EXPECT_TRUE(ConstantTimeEquals(plain.plaintext.Reveal(), kDek));
  }
}

TEST_F(RcarTest, RsaTeeKeyGetsRsaOaep) {
  tee_key_ = *PrivateKey::GenerateRsa(2048);
  auto [session, token] = Attested();
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json jwe,
                        server_->Resource(session, "radiology/models/llama", kTestNow));
  CRYPTA_ASSIGN_OR_FAIL(DecryptedJwe plain, JweDecrypt(jwe, tee_key_));
  EXPECT_EQ(plain.protected_header["alg"], "RSA-OAEP-256");
  EXPECT_TRUE(ConstantTimeEquals(plain.plaintext.Reveal(), kDek));
}

TEST_F(RcarTest, NonceIsSingleUseAndMustMatch) {
  CRYPTA_ASSIGN_OR_FAIL(AuthResult auth, server_->Auth(AuthRequest(), kTestNow));
  const std::string nonce = auth.body["nonce"];
  auto wrong = server_->Attest(auth.session_id, AttestRequest(RuntimeData(nonce + "x")), kTestNow);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(wrong.error().message(), HasSubstr("not this session's nonce"));

  const std::string request = AttestRequest(RuntimeData(nonce));
  ASSERT_TRUE(server_->Attest(auth.session_id, request, kTestNow));
  auto replay = server_->Attest(auth.session_id, request, kTestNow);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(replay.error().message(), HasSubstr("already used"));

  // Evidence from one session cannot be used in another: its report_data binds the nonce.
  CRYPTA_ASSIGN_OR_FAIL(AuthResult other, server_->Auth(AuthRequest(), kTestNow));
  nlohmann::json rd = RuntimeData(other.body["nonce"]);
  nlohmann::json old_rd = RuntimeData(nonce);
  auto moved = server_->Attest(other.session_id, AttestRequest(rd, &old_rd), kTestNow);
  ASSERT_FALSE(moved);
  EXPECT_THAT(moved.error().message(), HasSubstr("evidence rejected"));
}

TEST_F(RcarTest, ReportDataMustBindTheTeePubkey) {
  CRYPTA_ASSIGN_OR_FAIL(AuthResult auth, server_->Auth(AuthRequest(), kTestNow));
  nlohmann::json rd = RuntimeData(auth.body["nonce"]);
  nlohmann::json attacker = rd;
  attacker["tee-pubkey"] = *PublicKeyToJwk(PrivateKey::Generate(KeyType::kEcP256)->GetPublicKey());
  // The evidence was produced for `rd`; the request swaps in another pubkey.
  auto r = server_->Attest(auth.session_id, AttestRequest(attacker, &rd), kTestNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(r.error().message(), HasSubstr("report_data"));
}

TEST_F(RcarTest, SessionsExpireAfterFiveMinutes) {
  CRYPTA_ASSIGN_OR_FAIL(AuthResult auth, server_->Auth(AuthRequest(), kTestNow));
  auto late = server_->Attest(auth.session_id, AttestRequest(RuntimeData(auth.body["nonce"])),
                              kTestNow + 300);
  ASSERT_FALSE(late);
  EXPECT_THAT(late.error().message(), HasSubstr("expired"));
  EXPECT_EQ(server_->SessionCountForTesting(), 0u);

  auto [session, token] = Attested(kTestNow);
  EXPECT_TRUE(server_->Resource(session, "radiology/models/llama", kTestNow + 299));
  EXPECT_EQ(server_->Resource(session, "radiology/models/llama", kTestNow + 300).error().code(),
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(server_->Resource(token, "radiology/models/llama", kTestNow + 300).error().code(),
            ErrorCode::kUnauthenticated);
}

TEST_F(RcarTest, ResourceDeniedOrRefused) {
  CRYPTA_ASSIGN_OR_FAIL(AuthResult fresh, server_->Auth(AuthRequest(), kTestNow));
  EXPECT_THAT(
      server_->Resource(fresh.session_id, "radiology/models/llama", kTestNow).error().message(),
      HasSubstr("not attested"));
  auto [session, token] = Attested();
  EXPECT_EQ(server_->Resource(session, "radiology/models", kTestNow).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(server_->Resource(session, "radiology/models/a/b", kTestNow).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(server_->Resource(session, "radiology/models/other", kTestNow).error().code(),
            ErrorCode::kNotFound);
  std::string forged = token;
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(server_->Resource(forged, "radiology/models/llama", kTestNow).error().code(),
            ErrorCode::kUnauthenticated);

  ASSERT_TRUE(broker_->SetPolicy("radiology", "models",
                                 "tee: [sim]\nmeasurements: [" + std::string(96, 'c') + "]\n"));
  auto denied = server_->Resource(session, "radiology/models/llama", kTestNow);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_THAT(denied.error().message(), HasSubstr("simulated"));
  EXPECT_THAT(denied.error().message(), HasSubstr("measurement"));
}

TEST_F(RcarTest, MalformedRequestsNameTheField) {
  auto error_of = [&](const std::string& req) {
    auto r = server_->Auth(req, kTestNow);
    return r ? std::string("ok") : r.error().message();
  };
  EXPECT_THAT(error_of(R"({"version":"1.0","tee":"sim"})"), HasSubstr("version"));
  EXPECT_THAT(error_of(R"({"version":"0.1.1","tee":"nope"})"), HasSubstr("tee"));
  EXPECT_THAT(error_of(R"({"version":"0.1.1","tee":"tdx"})"), HasSubstr("no verifier"));
  EXPECT_THAT(error_of("[1]"), HasSubstr("object"));
  EXPECT_THAT(error_of("{"), HasSubstr("auth request"));
  EXPECT_EQ(server_->Auth(std::string(300000, ' '), kTestNow).error().code(),
            ErrorCode::kResourceExhausted);

  CRYPTA_ASSIGN_OR_FAIL(AuthResult auth, server_->Auth(AuthRequest(), kTestNow));
  auto attest_error = [&](const std::string& req) {
    auto r = server_->Attest(auth.session_id, req, kTestNow);
    return r ? std::string("ok") : r.error().message();
  };
  EXPECT_THAT(attest_error(R"({"tee-evidence":"{}"})"), HasSubstr("runtime-data"));
  EXPECT_THAT(attest_error(R"({"runtime-data":{"tee-pubkey":{}},"tee-evidence":"{}"})"),
              HasSubstr("runtime-data.nonce"));
  EXPECT_THAT(attest_error(R"({"runtime-data":{"nonce":"n","tee-pubkey":{"kty":"EC"}},)"
                           R"("tee-evidence":"{}"})"),
              HasSubstr("tee-pubkey"));
  nlohmann::json no_evidence = {{"runtime-data", RuntimeData(auth.body["nonce"])}};
  EXPECT_THAT(attest_error(no_evidence.dump()), HasSubstr("tee-evidence"));
  EXPECT_EQ(
      server_->Attest("no-such-session", AttestRequest(RuntimeData("n")), kTestNow).error().code(),
      ErrorCode::kUnauthenticated);
}

}  // namespace
}  // namespace crypta::kbs
