#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "attest/cca/cca_test_builder.h"
#include "attest/cca/verifier.h"
#include "common/constant_time.h"
#include "common/encoding.h"
#include "crypto/hash.h"
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
  EXPECT_THAT(error_of(R"({"version":"0.1.1","tee":"nope"})"), HasSubstr("TEE"));
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
  EXPECT_THAT(attest_error(R"({"tee-evidence":"{}"})"), HasSubstr("tee-pubkey"));
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

// Issue 14: a request whose `now` was read a second before another request created its
// session must not purge that session (the cause of "unknown or expired RCAR session" and
// "EAR token is not bound to a live session" under concurrent load).
TEST_F(RcarTest, RequestsWithAnOlderClockDoNotLoseNewerSessions) {
  CRYPTA_ASSIGN_OR_FAIL(AuthResult later, server_->Auth(AuthRequest(), kTestNow + 1));
  CRYPTA_ASSIGN_OR_FAIL(AuthResult earlier, server_->Auth(AuthRequest(), kTestNow));
  (void)earlier;
  CRYPTA_ASSIGN_OR_FAIL(
      nlohmann::json token,
      server_->Attest(later.session_id, AttestRequest(RuntimeData(later.body["nonce"])),
                      kTestNow + 1));
  EXPECT_TRUE(
      server_->Resource(token["token"].get<std::string>(), "radiology/models/llama", kTestNow));
  EXPECT_TRUE(server_->Resource(later.session_id, "radiology/models/llama", kTestNow));
}

// The same, with real threads: 16 workloads boot at once, each with its own clock reading,
// many times; every one gets the key.
TEST_F(RcarTest, ConcurrentWorkloadsAllBoot) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        const int64_t now = kTestNow + (round + t) % 3;  // clocks a second or two apart
        auto auth = server_->Auth(AuthRequest(), now, "10.0.0." + std::to_string(t));
        if (!auth) {
          ++failures;
          continue;
        }
        auto attest =
            server_->Attest(auth->session_id, AttestRequest(RuntimeData(auth->body["nonce"])), now);
        if (!attest) {
          ++failures;
          continue;
        }
        if (!server_->Resource((*attest)["token"].get<std::string>(), "radiology/models/llama",
                               now - 1)) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// An anonymous /auth flood from one address evicts only that address's unattested sessions:
// a workload elsewhere still attests, and attested sessions are never evicted.
TEST_F(RcarTest, AnAuthFloodCannotPushOutOtherClientsOrAttestedSessions) {
  RcarOptions options;
  options.max_sessions = 100;
  options.max_unattested_per_source = 10;
  server_ = std::make_unique<RcarServer>(broker_.get(), &registry_,
                                         *PrivateKey::Generate(KeyType::kEcP256), options);
  auto [attested_session, token] = Attested();
  CRYPTA_ASSIGN_OR_FAIL(AuthResult workload, server_->Auth(AuthRequest(), kTestNow, "10.1.1.1"));
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(server_->Auth(AuthRequest(), kTestNow, "203.0.113.7")) << i;
  }
  EXPECT_LE(server_->SessionCountForTesting(), 100u);
  EXPECT_TRUE(server_->Attest(workload.session_id,
                              AttestRequest(RuntimeData(workload.body["nonce"])), kTestNow));
  EXPECT_TRUE(server_->Resource(attested_session, "radiology/models/llama", kTestNow));
  // Many sources: the global cap evicts the oldest unattested sessions, never attested ones.
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(server_->Auth(AuthRequest(), kTestNow, "198.51.100." + std::to_string(i)));
  }
  EXPECT_LE(server_->SessionCountForTesting(), 100u);
  EXPECT_TRUE(server_->Resource(attested_session, "radiology/models/llama", kTestNow));
  EXPECT_TRUE(server_->Resource(workload.session_id, "radiology/models/llama", kTestNow));
  // Sessions that never attest expire after a minute; attested ones after five.
  CRYPTA_ASSIGN_OR_FAIL(AuthResult stale, server_->Auth(AuthRequest(), kTestNow));
  EXPECT_THAT(
      server_
          ->Attest(stale.session_id, AttestRequest(RuntimeData(stale.body["nonce"])), kTestNow + 60)
          .error()
          .message(),
      HasSubstr("expired"));
  EXPECT_TRUE(server_->Resource(attested_session, "radiology/models/llama", kTestNow + 299));
}

// Issue 13: the KBS protocol as Trustee's clients speak it.

TEST_F(RcarTest, AcceptsProtocolVersionsZeroOneThroughZeroFourAndNamesOthers) {
  for (const char* v : {"0.1.0", "0.1.1", "0.2.0", "0.3.0", "0.4.0", "0.4.12"}) {
    nlohmann::json req = {{"version", v}, {"tee", "sim"}, {"extra-params", ""}};
    EXPECT_TRUE(server_->Auth(req.dump(), kTestNow)) << v;
  }
  for (const char* v : {"0.5.0", "1.0.0", "0.0.9", "0.4", "v0.4.0", "0.4.0-rc1", ""}) {
    nlohmann::json req = {{"version", v}, {"tee", "sim"}, {"extra-params", {}}};
    auto r = server_->Auth(req.dump(), kTestNow);
    ASSERT_FALSE(r) << v;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message(), HasSubstr(std::string("\"") + v + "\""));
    EXPECT_THAT(r.error().message(), HasSubstr("0.1.0 through 0.4.x"));
  }
}

TEST_F(RcarTest, KnownTrusteeTeesWithoutAVerifierAreNamedAsUnsupported) {
  for (const char* tee : {"azsnpvtpm", "aztdxvtpm", "se", "csv", "sample", "cca", "nitro"}) {
    nlohmann::json req = {{"version", "0.4.0"}, {"tee", tee}, {"extra-params", {}}};
    auto r = server_->Auth(req.dump(), kTestNow);
    ASSERT_FALSE(r) << tee;
    EXPECT_EQ(r.error().code(), ErrorCode::kUnimplemented) << tee;
    EXPECT_THAT(r.error().message(), HasSubstr(std::string("\"") + tee + "\""));
    EXPECT_THAT(r.error().message(), HasSubstr("not supported"));
  }
}

// Evidence as text whose report_data binds `binding` (SHA-384 of its JCS form).
std::string EvidenceOver(const SimWorld& sim, const nlohmann::json& binding) {
  Bytes evidence = *attest::SignSimReport(sim.node, sim.launch, *RcarReportData(binding), kTestNow);
  return std::string(evidence.begin(), evidence.end());
}

TEST_F(RcarTest, ClassicBodyBindsTheSessionNonceAndThePubkey) {
  CRYPTA_ASSIGN_OR_FAIL(AuthResult auth, server_->Auth(AuthRequest(), kTestNow));
  const nlohmann::json pub = *PublicKeyToJwk(tee_key_.GetPublicKey());
  // Evidence over another nonce is refused; the attempt consumes the session's nonce.
  const nlohmann::json stale = {{"nonce", "c3RhbGU"}, {"tee-pubkey", pub}};
  nlohmann::json req = {{"tee-pubkey", pub}, {"tee-evidence", EvidenceOver(sim_, stale)}};
  EXPECT_THAT(server_->Attest(auth.session_id, req.dump(), kTestNow).error().message(),
              HasSubstr("report_data"));

  CRYPTA_ASSIGN_OR_FAIL(AuthResult fresh, server_->Auth(AuthRequest(), kTestNow));
  req["tee-evidence"] =
      EvidenceOver(sim_, nlohmann::json{{"nonce", fresh.body["nonce"]}, {"tee-pubkey", pub}});
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json token,
                        server_->Attest(fresh.session_id, req.dump(), kTestNow));
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json jwe,
                        server_->Resource(fresh.session_id, "radiology/models/llama", kTestNow));
  CRYPTA_ASSIGN_OR_FAIL(DecryptedJwe plain, JweDecrypt(jwe, tee_key_));
  EXPECT_TRUE(ConstantTimeEquals(plain.plaintext.Reveal(), kDek));
}

TEST_F(RcarTest, CompositeEvidenceBindsItsAdditionalEvidence) {
  CRYPTA_ASSIGN_OR_FAIL(AuthResult auth, server_->Auth(AuthRequest(), kTestNow));
  const nlohmann::json rd = RuntimeData(auth.body["nonce"]);
  // Trustee 0.4.0: each additional evidence binds {tee-pubkey, nonce}; the primary binds
  // those and the additional_evidence member as sent.
  const std::string additional =
      nlohmann::json{{"sim", EvidenceOver(sim_, nlohmann::json{{"tee-pubkey", rd["tee-pubkey"]},
                                                               {"nonce", rd["nonce"]}})}}
          .dump();
  const nlohmann::json primary_binding = {{"tee-pubkey", rd["tee-pubkey"]},
                                          {"nonce", rd["nonce"]},
                                          {"additional-evidence", additional}};
  nlohmann::json req = {{"runtime-data", rd},
                        {"tee-evidence",
                         {{"primary_evidence", EvidenceOver(sim_, primary_binding)},
                          {"additional_evidence", additional}}}};
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json r, server_->Attest(auth.session_id, req.dump(), kTestNow));
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json ear,
                        server_->VerifyEar(r["token"].get<std::string>(), kTestNow));
  EXPECT_TRUE(ear["submods"].contains("cpu0"));
  EXPECT_TRUE(ear["submods"].contains("sim"));
  EXPECT_TRUE(server_->Resource(auth.session_id, "radiology/models/llama", kTestNow));

  // A host pairing the primary evidence with other additional evidence is refused: the
  // primary's report_data binds the additional evidence.
  auto attempt = [&](nlohmann::json body) {
    auto a = *server_->Auth(AuthRequest(), kTestNow);
    body["runtime-data"]["nonce"] = a.body["nonce"];
    return server_->Attest(a.session_id, body.dump(), kTestNow);
  };
  {
    auto a = *server_->Auth(AuthRequest(), kTestNow);
    nlohmann::json rd2 = RuntimeData(a.body["nonce"]);
    const nlohmann::json pb = {
        {"tee-pubkey", rd2["tee-pubkey"]}, {"nonce", rd2["nonce"]}, {"additional-evidence", ""}};
    nlohmann::json body = {
        {"runtime-data", rd2},
        {"tee-evidence",
         {{"primary_evidence", EvidenceOver(sim_, pb)}, {"additional_evidence", additional}}}};
    auto swapped = server_->Attest(a.session_id, body.dump(), kTestNow);
    ASSERT_FALSE(swapped);
    EXPECT_THAT(swapped.error().message(), HasSubstr("report_data"));
    // Without additional evidence the same primary evidence is fine.
    auto b = *server_->Auth(AuthRequest(), kTestNow);
    nlohmann::json rd3 = RuntimeData(b.body["nonce"]);
    nlohmann::json pb3 = {
        {"tee-pubkey", rd3["tee-pubkey"]}, {"nonce", rd3["nonce"]}, {"additional-evidence", ""}};
    nlohmann::json plain = {
        {"runtime-data", rd3},
        {"tee-evidence",
         {{"primary_evidence", EvidenceOver(sim_, pb3)}, {"additional_evidence", ""}}}};
    EXPECT_TRUE(server_->Attest(b.session_id, plain.dump(), kTestNow));
  }
  // GPU evidence crypta does not verify: refused, naming the TEE.
  nlohmann::json gpu = req;
  gpu["tee-evidence"]["additional_evidence"] = R"({"nvidia":"e30"})";
  auto refused = attempt(gpu);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message(), HasSubstr("\"nvidia\""));
}

TEST_F(RcarTest, JweAlgorithmFollowsTheTeePubkeyAndRsa15IsRefused) {
  auto attest_with = [&](const PrivateKey& key, const std::string& alg) {
    auto auth = *server_->Auth(AuthRequest(), kTestNow);
    nlohmann::json rd = {{"nonce", auth.body["nonce"]},
                         {"tee-pubkey", *PublicKeyToJwk(key.GetPublicKey())}};
    rd["tee-pubkey"]["alg"] = alg;
    auto r = server_->Attest(auth.session_id, AttestRequest(rd), kTestNow);
    return std::make_pair(auth.session_id, r ? std::string() : r.error().message());
  };
  const PrivateKey rsa = *PrivateKey::GenerateRsa(2048);
  EXPECT_THAT(attest_with(rsa, "RSA1_5").second, HasSubstr("RSA1_5"));
  EXPECT_THAT(attest_with(rsa, "RSA1_5").second, HasSubstr("RSA-OAEP-256"));
  EXPECT_THAT(attest_with(tee_key_, "RSA-OAEP-256").second, HasSubstr("not supported"));
  EXPECT_THAT(attest_with(rsa, "RSA-OAEP").second, HasSubstr("not supported"));

  auto [session, error] = attest_with(rsa, "RSA-OAEP-256");
  ASSERT_EQ(error, "");
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json jwe,
                        server_->Resource(session, "radiology/models/llama", kTestNow));
  CRYPTA_ASSIGN_OR_FAIL(DecryptedJwe plain, JweDecrypt(jwe, rsa));
  EXPECT_EQ(plain.protected_header["alg"], "RSA-OAEP-256");
  auto [ec_session, ec_error] = attest_with(tee_key_, "ECDH-ES+A256KW");
  ASSERT_EQ(ec_error, "");
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json ec_jwe,
                        server_->Resource(ec_session, "radiology/models/llama", kTestNow));
  EXPECT_EQ(JweDecrypt(ec_jwe, tee_key_)->protected_header["alg"], "ECDH-ES+A256KW");
}

TEST_F(RcarTest, InitDataMustMatchTheEvidencesHostData) {
  const std::string body = "algorithm = \"sha256\"\nversion = \"0.1.0\"\n";
  sim_.launch.host_data = Sha256(AsBytes(body));
  auto attest_init = [&](const std::string& init_body) {
    auto auth = *server_->Auth(AuthRequest(), kTestNow);
    nlohmann::json req = nlohmann::json::parse(AttestRequest(RuntimeData(auth.body["nonce"])));
    req["init-data"] = {{"format", "toml"}, {"body", init_body}};
    return server_->Attest(auth.session_id, req.dump(), kTestNow);
  };
  EXPECT_TRUE(attest_init(body));
  auto other = attest_init(body + "# edited\n");
  ASSERT_FALSE(other);
  EXPECT_THAT(other.error().message(), HasSubstr("init-data"));
  EXPECT_THAT(other.error().message(), HasSubstr(HexEncode(sim_.launch.host_data)));
}

TEST_F(RcarTest, EarSaysWarningForAnAllowedSimWorkloadAndRefusedOnesGetNoToken) {
  auto auth = *server_->Auth(AuthRequest(), kTestNow);
  const std::string nonce = auth.body["nonce"];
  CRYPTA_ASSIGN_OR_FAIL(
      nlohmann::json r,
      server_->Attest(auth.session_id, AttestRequest(RuntimeData(nonce)), kTestNow));
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json ear,
                        server_->VerifyEar(r["token"].get<std::string>(), kTestNow));
  const nlohmann::json& cpu0 = ear["submods"]["cpu0"];
  EXPECT_EQ(cpu0["ear.status"], "warning");
  EXPECT_EQ(cpu0["ear.appraisal-policy-id"], attest::ParseAppraisalPolicy(sim_.AllowPolicy())->id);
  EXPECT_EQ(ear["eat_nonce"], nonce);
  EXPECT_THAT(cpu0["ear.crypta.warnings"][0].get<std::string>(), HasSubstr("simulated"));

  // A workload no key-release policy allows: 401 and no token.
  sim_.launch.measurement = Bytes(attest::kSimMeasurementSize, 0x42);
  auto other = *server_->Auth(AuthRequest(), kTestNow);
  auto refused =
      server_->Attest(other.session_id, AttestRequest(RuntimeData(other.body["nonce"])), kTestNow);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(refused.error().message(), HasSubstr("measurement"));

  // An explicit platform attestation policy replaces the release policies for the EAR.
  ASSERT_TRUE(broker_->SetAttestationPolicy("tee: [sim]\nallow_simulated: true\nmeasurements: [" +
                                            HexEncode(sim_.launch.measurement) + "]\n"));
  auto allowed = *server_->Auth(AuthRequest(), kTestNow);
  CRYPTA_ASSIGN_OR_FAIL(
      nlohmann::json t,
      server_->Attest(allowed.session_id, AttestRequest(RuntimeData(allowed.body["nonce"])),
                      kTestNow));
  // ... but the key's own policy still decides the release.
  EXPECT_EQ(
      server_->Resource(allowed.session_id, "radiology/models/llama", kTestNow).error().code(),
      ErrorCode::kPermissionDenied);
}

TEST_F(RcarTest, AttestationServiceRequiresFreshnessAndSpendsItsNonces) {
  const std::string evidence_for_nothing = EvidenceOver(sim_, nlohmann::json::object());
  nlohmann::json req = {{"tee", "sim"}, {"evidence", evidence_for_nothing}};
  auto stale = server_->VerifyEvidence(req.dump(), kTestNow);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(stale.error().message(), HasSubstr("freshness"));

  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json challenge, server_->Challenge(kTestNow));
  const nlohmann::json rd = {{"nonce", challenge["nonce"]}, {"purpose", "audit"}};
  req = {{"tee", "sim"}, {"evidence", EvidenceOver(sim_, rd)}, {"runtime_data", rd}};
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json r, server_->VerifyEvidence(req.dump(), kTestNow));
  EXPECT_EQ(r["status"], "warning");
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json ear,
                        server_->VerifyEar(r["token"].get<std::string>(), kTestNow));
  EXPECT_EQ(ear["eat_nonce"], challenge["nonce"]);
  auto again = server_->VerifyEvidence(req.dump(), kTestNow);
  ASSERT_FALSE(again);
  EXPECT_THAT(again.error().message(), HasSubstr("already used"));

  // Evidence no policy allows gets a token that says so.
  sim_.launch.measurement = Bytes(attest::kSimMeasurementSize, 0x42);
  nlohmann::json hex_req = {{"tee", "sim"},
                            {"evidence", EvidenceOver(sim_, nlohmann::json{{"x", 1}})},
                            {"report_data", HexEncode(*RcarReportData(nlohmann::json{{"x", 1}}))}};
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json refused, server_->VerifyEvidence(hex_req.dump(), kTestNow));
  EXPECT_EQ(refused["status"], "contraindicated");
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json bad_ear,
                        server_->VerifyEar(refused["token"].get<std::string>(), kTestNow));
  EXPECT_EQ(bad_ear["submods"]["cpu0"]["ear.status"], "contraindicated");
  EXPECT_EQ(bad_ear["submods"]["cpu0"]["ear.trustworthiness-vector"]["executables"], 96);
}

// Arm CCA through RCAR (issue 16): the realm challenge carries the binding; the platform is
// trusted by its CPAK (no vendor root), as the control plane configures it from
// cca/trust-anchors.json.
TEST(RcarCcaTest, ReleasesToARealmWhoseChallengeBindsTheSession) {
  attest::cca::testing::TokenSpec spec;
  attest::cca::CcaVerifierOptions options;
  options.trust_anchors =
      *attest::cca::CcaTrustAnchors::FromCpakPem(*spec.cpak.GetPublicKey().ToPem());
  attest::VerifierRegistry registry;
  registry.Register(std::make_shared<attest::cca::CcaVerifier>(std::move(options)));
  auto db = std::shared_ptr<store::Database>(*store::Database::Open(":memory:"));
  auto broker = *KeyBroker::Open(db, SecretBytes(Bytes(32, 3)));
  ASSERT_TRUE(broker->CreateTenant("radiology"));
  ASSERT_TRUE(broker->CreateKek("radiology", "models"));
  ASSERT_TRUE(broker->WrapDek("radiology", "models", SecretBytes(kDek), "llama"));
  ASSERT_TRUE(broker->SetPolicy("radiology", "models",
                                "tee: [cca]\nmeasurements: [" + HexEncode(spec.rim) + "]\n"));
  RcarServer server(broker.get(), &registry, *PrivateKey::Generate(KeyType::kEcP256), {});
  const PrivateKey tee_key = *PrivateKey::Generate(KeyType::kEcP256);

  auto attest = [&](bool bind) {
    auto auth = *server.Auth(R"({"version":"0.4.0","tee":"cca","extra-params":{}})", kTestNow);
    const nlohmann::json rd = {{"nonce", auth.body["nonce"]},
                               {"tee-pubkey", *PublicKeyToJwk(tee_key.GetPublicKey())}};
    spec.realm_challenge = bind ? *RcarReportData(rd) : Bytes(64, 0x11);
    const Bytes token = attest::cca::testing::BuildToken(spec);
    nlohmann::json req = {{"runtime-data", rd}, {"tee-evidence", Base64Encode(token)}};
    return std::make_pair(auth.session_id, server.Attest(auth.session_id, req.dump(), kTestNow));
  };
  auto [session, bound] = attest(true);
  ASSERT_TRUE(bound) << bound.error().ToString();
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json jwe,
                        server.Resource(session, "radiology/models/llama", kTestNow));
  CRYPTA_ASSIGN_OR_FAIL(DecryptedJwe plain, JweDecrypt(jwe, tee_key));
  EXPECT_TRUE(ConstantTimeEquals(plain.plaintext.Reveal(), kDek));

  auto [other, unbound] = attest(false);
  ASSERT_FALSE(unbound);
  EXPECT_THAT(unbound.error().message(), HasSubstr("report_data"));
}

}  // namespace
}  // namespace crypta::kbs
