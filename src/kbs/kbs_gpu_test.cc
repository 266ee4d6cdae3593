// RCAR with composite evidence: the sim TEE's CPU evidence plus simulated GPUs (issue 16).
// The GPUs' SPDM nonce derives from the session (the additional-evidence binding), the CPU
// evidence binds the GPU evidence as sent, and a key whose policy has a `gpu:` section is
// released only when the attested GPUs satisfy it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "attest/nvidia/report.h"
#include "attest/nvidia/sim_gpu.h"
#include "attest/nvidia/verifier.h"
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

class RcarGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::shared_ptr<store::Database>(*store::Database::Open(":memory:"));
    broker_ = *KeyBroker::Open(db_, SecretBytes(Bytes(32, 3)));
    ASSERT_TRUE(broker_->CreateTenant("radiology"));
    ASSERT_TRUE(broker_->CreateKek("radiology", "models"));
    ASSERT_TRUE(broker_->WrapDek("radiology", "models", SecretBytes(kDek), "llama"));
    ASSERT_TRUE(broker_->SetPolicy("radiology", "models", GpuPolicy()));
    const Certificate root = *Certificate::FromDer(sim_.ca.cert.der());
    registry_.Register(std::make_shared<attest::SimVerifier>(root));
    registry_.Register(*attest::nvidia::NvidiaGpuVerifier::CreatePinned(root));
    server_ = std::make_unique<RcarServer>(broker_.get(), &registry_,
                                           *PrivateKey::Generate(KeyType::kEcP256), RcarOptions{});
  }

  std::string GpuPolicy(const std::string& extra = "") const {
    return sim_.AllowPolicy() + "gpu:\n  count: 1\n  driver_versions: [550.90.07]\n" + extra;
  }

  // The "nvidia" additional evidence: one report per GPU over `nonce`.
  std::string GpuEvidence(const Bytes& nonce, int gpus = 1, bool devtools = false) const {
    std::vector<attest::nvidia::GpuDeviceEvidence> devices;
    for (int i = 0; i < gpus; ++i) {
      attest::nvidia::SimGpuReport r;
      r.nonce = nonce;
      r.devtools = devtools;
      attest::nvidia::GpuDeviceEvidence d;
      d.report = *attest::nvidia::SignSimGpuReport(gpu_, r);
      d.certificate_chain_pem = CertificatesToPem(gpu_.chain);
      d.arch = "HOPPER";
      devices.push_back(std::move(d));
    }
    Bytes env = attest::nvidia::EncodeGpuEvidence(devices);
    return std::string(env.begin(), env.end());
  }

  // Auth, then an attest body whose primary evidence binds the additional evidence the
  // caller makes from the GPU nonce this session calls for.
  struct Attempt {
    std::string session;
    Result<nlohmann::json> attest;
  };
  Attempt AttestWith(const std::function<std::string(const Bytes& gpu_nonce)>& gpu_evidence,
                     const std::function<void(nlohmann::json&)>& tamper = nullptr) {
    auto auth = *server_->Auth(R"({"version":"0.4.0","tee":"sim","extra-params":{}})", kTestNow);
    const nlohmann::json pub = *PublicKeyToJwk(tee_key_.GetPublicKey());
    const std::string nonce = auth.body["nonce"];
    Bytes additional_rd = *RcarReportData({{"tee-pubkey", pub}, {"nonce", nonce}});
    const Bytes gpu_nonce(additional_rd.begin(), additional_rd.begin() + 32);
    const std::string additional = nlohmann::json{{"nvidia", gpu_evidence(gpu_nonce)}}.dump();
    const nlohmann::json binding = {
        {"tee-pubkey", pub}, {"nonce", nonce}, {"additional-evidence", additional}};
    Bytes cpu = *attest::SignSimReport(sim_.node, sim_.launch, *RcarReportData(binding), kTestNow);
    nlohmann::json req = {{"runtime-data", {{"nonce", nonce}, {"tee-pubkey", pub}}},
                          {"tee-evidence",
                           {{"primary_evidence", std::string(cpu.begin(), cpu.end())},
                            {"additional_evidence", additional}}}};
    if (tamper) tamper(req);
    return {auth.session_id, server_->Attest(auth.session_id, req.dump(), kTestNow)};
  }

  SimWorld sim_ = SimWorld::Create();
  attest::nvidia::SimGpu gpu_ = *attest::nvidia::IssueSimGpu(sim_.ca, "GPU-0", kTestNow - 100);
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<KeyBroker> broker_;
  attest::VerifierRegistry registry_;
  std::unique_ptr<RcarServer> server_;
  PrivateKey tee_key_ = *PrivateKey::Generate(KeyType::kEcP256);
};

TEST_F(RcarGpuTest, SimCpuAndSimGpuGetTheKeyUnderAGpuPolicy) {
  Attempt a = AttestWith([&](const Bytes& n) { return GpuEvidence(n); });
  ASSERT_TRUE(a.attest) << a.attest.error().ToString();
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json ear,
                        server_->VerifyEar((*a.attest)["token"].get<std::string>(), kTestNow));
  ASSERT_TRUE(ear["submods"].contains("cpu0"));
  ASSERT_TRUE(ear["submods"].contains("gpu0"));
  // Both are simulated: allowed by allow_simulated, with that reservation.
  EXPECT_EQ(ear["submods"]["gpu0"]["ear.status"], "warning");
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json jwe,
                        server_->Resource(a.session, "radiology/models/llama", kTestNow));
  CRYPTA_ASSIGN_OR_FAIL(DecryptedJwe plain, JweDecrypt(jwe, tee_key_));
  EXPECT_TRUE(ConstantTimeEquals(plain.plaintext.Reveal(), kDek));

  // Eight GPUs: gpu0 … gpu7. The token stays small enough for an HTTP header (the
  // runtime sends it as a bearer token; servers cap headers at 16 KiB).
  Attempt two = AttestWith([&](const Bytes& n) { return GpuEvidence(n, 8); });
  ASSERT_TRUE(two.attest) << two.attest.error().ToString();
  EXPECT_LT((*two.attest)["token"].get<std::string>().size(), 14000u);
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json ear2,
                        server_->VerifyEar((*two.attest)["token"].get<std::string>(), kTestNow));
  EXPECT_TRUE(ear2["submods"].contains("gpu7"));
}

TEST_F(RcarGpuTest, AGpuReportNotBoundToThisSessionIsRefused) {
  // Over another nonce (e.g. replayed from another VM's session).
  Attempt stale = AttestWith([&](const Bytes&) { return GpuEvidence(Bytes(32, 0x42)); });
  ASSERT_FALSE(stale.attest);
  EXPECT_THAT(stale.attest.error().message(), HasSubstr("gpu0"));
  EXPECT_THAT(stale.attest.error().message(), HasSubstr("nonce"));

  // A good GPU report for this session, but the host swaps the additional evidence after
  // the CPU evidence bound the original: the CPU report_data no longer matches.
  std::string other;
  Attempt swapped = AttestWith(
      [&](const Bytes& n) {
        other = nlohmann::json{{"nvidia", GpuEvidence(n, 2)}}.dump();
        return GpuEvidence(n);
      },
      [&](nlohmann::json& req) { req["tee-evidence"]["additional_evidence"] = other; });
  ASSERT_FALSE(swapped.attest);
  EXPECT_THAT(swapped.attest.error().message(), HasSubstr("report_data"));
}

TEST_F(RcarGpuTest, TheGpuPolicyDecides) {
  // No GPU at all: the key's policy requires one.
  auto attest_cpu_only = [&]() {
    auto auth = *server_->Auth(R"({"version":"0.4.0","tee":"sim","extra-params":{}})", kTestNow);
    const nlohmann::json rd = {{"nonce", auth.body["nonce"]},
                               {"tee-pubkey", *PublicKeyToJwk(tee_key_.GetPublicKey())}};
    Bytes cpu = *attest::SignSimReport(sim_.node, sim_.launch, *RcarReportData(rd), kTestNow);
    nlohmann::json req = {{"runtime-data", rd},
                          {"tee-evidence", std::string(cpu.begin(), cpu.end())}};
    return server_->Attest(auth.session_id, req.dump(), kTestNow);
  };
  auto cpu_only = attest_cpu_only();
  ASSERT_FALSE(cpu_only);
  EXPECT_THAT(cpu_only.error().message(), HasSubstr("gpu.count"));

  // A GPU in devtools (debug) mode is refused unless gpu.allow_debug.
  Attempt debug = AttestWith([&](const Bytes& n) { return GpuEvidence(n, 1, true); });
  ASSERT_FALSE(debug.attest);
  EXPECT_THAT(debug.attest.error().message(), HasSubstr("gpu0: debug"));

  // A driver version the policy does not list.
  ASSERT_TRUE(broker_->SetPolicy("radiology", "models",
                                 sim_.AllowPolicy() + "gpu:\n  driver_versions: [560.35.03]\n"));
  Attempt old = AttestWith([&](const Bytes& n) { return GpuEvidence(n); });
  ASSERT_FALSE(old.attest);
  EXPECT_THAT(old.attest.error().message(), HasSubstr("driver_versions: 550.90.07"));

  // Simulated GPUs need allow_simulated like the sim CPU: a policy for hardware refuses.
  ASSERT_TRUE(broker_->SetPolicy("radiology", "models",
                                 "tee: [sim]\nallow_simulated: false\nmeasurements: [" +
                                     sim_.MeasurementHex() + "]\ngpu: {count: 1}\n"));
  Attempt hw = AttestWith([&](const Bytes& n) { return GpuEvidence(n); });
  ASSERT_FALSE(hw.attest);
  EXPECT_THAT(hw.attest.error().message(), HasSubstr("gpu0: simulated"));
}

TEST_F(RcarGpuTest, TheKeyReleaseAppliesTheGpuSectionOfTheRequestedKey) {
  // Attested with a GPU under a policy allowing it; then the key's policy demands two.
  Attempt a = AttestWith([&](const Bytes& n) { return GpuEvidence(n); });
  ASSERT_TRUE(a.attest) << a.attest.error().ToString();
  ASSERT_TRUE(broker_->CreateKek("radiology", "big"));
  ASSERT_TRUE(broker_->WrapDek("radiology", "big", SecretBytes(kDek), "llama"));
  ASSERT_TRUE(broker_->SetPolicy("radiology", "big", sim_.AllowPolicy() + "gpu:\n  count: 2\n"));
  auto refused = server_->Resource(a.session, "radiology/big/llama", kTestNow);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message(), HasSubstr("gpu.count"));
  EXPECT_TRUE(server_->Resource(a.session, "radiology/models/llama", kTestNow));
}

}  // namespace
}  // namespace crypta::kbs
