#include "runtime/attestation_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "attest/sim/sim_socket.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "kbs/rcar.h"
#include "testing/test_util.h"

namespace crypta::runtime {
namespace {

using nlohmann::json;

// Records the report_data it is asked for; fails when told to.
class FakeAttester : public attest::Attester {
 public:
  std::string name() const override { return "fake"; }
  Result<attest::Evidence> Collect(ByteSpan report_data) override {
    ++calls;
    if (fail) return MakeError(ErrorCode::kUnavailable, "device gone");
    last_report_data.assign(report_data.begin(), report_data.end());
    attest::Evidence e{attest::TeeType::kSevSnp, Bytes{1, 2, 3}, {}};
    e.collateral.items["vcek"] = Bytes{4, 5};
    return e;
  }
  int calls = 0;
  bool fail = false;
  Bytes last_report_data;
};

class AttestationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ring = OhttpKeyRing::Create(8);
    ASSERT_TRUE(ring.has_value());
    ring_ = std::move(*ring);
    AttestationOptions options{"radiology-cnn", "sha256:" + std::string(64, 'a'), 1.0, 2.0};
    service_ = std::make_unique<AttestationService>(
        &attester_, ring_.get(), &metrics_, options, [] { return int64_t{1700000000}; },
        [this] { return mono_; });
  }
  FakeAttester attester_;
  Metrics metrics_;
  double mono_ = 100;
  std::unique_ptr<OhttpKeyRing> ring_;
  std::unique_ptr<AttestationService> service_;
};

TEST_F(AttestationServiceTest, BindsTheKeyConfigWorkloadAndDigestIntoReportData) {
  HttpReply reply = service_->Handle(std::nullopt);
  ASSERT_EQ(reply.status, 200) << reply.body;
  json body = json::parse(reply.body);
  EXPECT_EQ(body["tee"], "sev-snp");
  EXPECT_EQ(body["simulated"], false);
  EXPECT_EQ(body["evidence"], Base64Encode(Bytes{1, 2, 3}));
  EXPECT_EQ(body["collateral"]["vcek"], Base64Encode(Bytes{4, 5}));
  EXPECT_EQ(body["key_epoch"], 1);
  EXPECT_EQ(body["issued_at"], 1700000000);
  const json& rd = body["runtime_data"];
  EXPECT_EQ(rd["nonce"], "");
  EXPECT_EQ(rd["ohttp-key-config"], Base64UrlEncode(ring_->Current()->encoded_config));
  EXPECT_EQ(rd["tls-spki-sha256"], "");
  EXPECT_EQ(rd["workload"], "radiology-cnn");
  EXPECT_EQ(rd["model-digest"], "sha256:" + std::string(64, 'a'));
  // The same binding the key broker checks (and clients recompute).
  CRYPTA_ASSIGN_OR_FAIL(Bytes want, kbs::RcarReportData(rd));
  EXPECT_EQ(attester_.last_report_data, want);
  CRYPTA_ASSIGN_OR_FAIL(Bytes mine, ReportDataFor(rd));
  EXPECT_EQ(mine, want);
}

// With TLS on, the served certificate's key is bound too, and a new key (SVID renewal)
// makes the cached evidence stale.
TEST_F(AttestationServiceTest, BindsTheTlsKeyAndRefreshesWhenItChanges) {
  std::string spki = std::string(64, 'b');
  AttestationOptions options{"radiology-cnn", "sha256:" + std::string(64, 'a'), 1.0, 2.0};
  options.tls_spki_sha256 = [&spki] { return spki; };
  AttestationService tls_service(
      &attester_, ring_.get(), &metrics_, options, [] { return int64_t{1700000000}; },
      [this] { return mono_; });
  HttpReply first = tls_service.Handle(std::nullopt);
  ASSERT_EQ(first.status, 200) << first.body;
  const json rd = json::parse(first.body)["runtime_data"];
  EXPECT_EQ(rd["tls-spki-sha256"], spki);
  CRYPTA_ASSIGN_OR_FAIL(Bytes want, ReportDataFor(rd));
  EXPECT_EQ(attester_.last_report_data, want);
  const int calls = attester_.calls;
  ASSERT_EQ(tls_service.Handle(std::nullopt).status, 200);
  EXPECT_EQ(attester_.calls, calls);  // cached
  spki = std::string(64, 'c');
  HttpReply renewed = tls_service.Handle(std::nullopt);
  ASSERT_EQ(renewed.status, 200);
  EXPECT_EQ(attester_.calls, calls + 1);
  EXPECT_EQ(json::parse(renewed.body)["runtime_data"]["tls-spki-sha256"], spki);
}

TEST_F(AttestationServiceTest, CachesPerKeyEpochWithoutANonce) {
  ASSERT_EQ(service_->Handle(std::nullopt).status, 200);
  ASSERT_EQ(service_->Handle(std::nullopt).status, 200);
  EXPECT_EQ(attester_.calls, 1);
  CRYPTA_ASSERT_OK(ring_->Rotate());
  HttpReply after = service_->Handle(std::nullopt);
  EXPECT_EQ(attester_.calls, 2);
  EXPECT_EQ(json::parse(after.body)["key_epoch"], 2);
  EXPECT_NE(metrics_.Render({}).find(R"(refreshes_total{kind="cached"} 2)"), std::string::npos);
}

TEST_F(AttestationServiceTest, AnswersANonceFreshAndEchoesItNormalized) {
  HttpReply reply = service_->Handle(std::string("00AB"));
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(json::parse(reply.body)["runtime_data"]["nonce"], "00ab");
  service_->Handle(std::string("01"));
  EXPECT_EQ(attester_.calls, 2);
}

TEST_F(AttestationServiceTest, RefusesBadNonces) {
  for (const std::string& nonce :
       {std::string(""), std::string("abc"), std::string("zz"), std::string(130, 'a')}) {
    EXPECT_EQ(service_->Handle(nonce).status, 400) << nonce;
  }
  EXPECT_EQ(service_->Handle(std::string(128, 'a')).status, 200);
  EXPECT_EQ(attester_.calls, 1);
}

TEST_F(AttestationServiceTest, RateLimitsFreshEvidenceWith429) {
  EXPECT_EQ(service_->Handle(std::string("01")).status, 200);
  EXPECT_EQ(service_->Handle(std::string("02")).status, 200);  // burst of 2
  EXPECT_EQ(service_->Handle(std::string("03")).status, 429);
  EXPECT_EQ(service_->Handle(std::nullopt).status, 200);  // the cached path is not limited
  mono_ += 1.0;                                           // one token per second
  EXPECT_EQ(service_->Handle(std::string("04")).status, 200);
  EXPECT_EQ(service_->Handle(std::string("05")).status, 429);
}

TEST_F(AttestationServiceTest, ReportsAFailedCollectionAs503AndCountsIt) {
  attester_.fail = true;
  HttpReply reply = service_->Handle(std::nullopt);
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.body.find("device gone"), std::string::npos);  // detail stays in the log
  EXPECT_NE(metrics_.Render({}).find(R"(failures_total{kind="cached"} 1)"), std::string::npos);
  attester_.fail = false;
  EXPECT_EQ(service_->Handle(std::nullopt).status, 200);  // failures are not cached
}

// The real sim TEE end to end: evidence from a SimReportServer verifies against the sim root
// with report_data equal to the binding of the returned runtime_data.
TEST(AttestationServiceSimTest, SimEvidenceVerifiesAndBindsRuntimeData) {
  const int64_t now = UnixNow();
  CRYPTA_ASSIGN_OR_FAIL(attest::SimCa ca, attest::CreateSimRootCa(now - 60));
  CRYPTA_ASSIGN_OR_FAIL(attest::SimNodeIdentity node, attest::IssueSimNode(ca, "n1", now - 60));
  const std::string dir = ::testing::TempDir() + "/rt-attest-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  attest::SimLaunch launch{Bytes(48, 0x11), Bytes(32, 0x22), false, 1};
  CRYPTA_ASSIGN_OR_FAIL(auto server, attest::SimReportServer::Start(dir + "/s.sock", node, launch,
                                                                    [now] { return now; }));
  attest::SimAttester attester(dir + "/s.sock");
  CRYPTA_ASSIGN_OR_FAIL(auto ring, OhttpKeyRing::Create(8));
  AttestationService service(
      &attester, ring.get(), nullptr, {"w", "sha256:00"}, [now] { return now; },
      [] { return 0.0; });
  HttpReply reply = service.Handle(std::string("c0ffee"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  json body = json::parse(reply.body);
  EXPECT_EQ(body["tee"], "sim");
  EXPECT_EQ(body["simulated"], true);
  CRYPTA_ASSIGN_OR_FAIL(Bytes binding, kbs::RcarReportData(body["runtime_data"]));
  attest::SimVerifier verifier(ca.cert);
  attest::VerifyOptions options;
  options.verification_time = now;
  options.expected_report_data = binding;
  attest::Evidence evidence{
      attest::TeeType::kSim, ToBytes(body["evidence"].get<std::string>()), {}};
  CRYPTA_ASSIGN_OR_FAIL(attest::VerifiedEvidence verified, verifier.Verify(evidence, options));
  EXPECT_TRUE(verified.claims().simulated);
  EXPECT_EQ(verified.claims().measurement, Bytes(48, 0x11));
  server->Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace crypta::runtime
