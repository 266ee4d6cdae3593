// The simulated TEE: signing, verification against the pinned sim root, the report socket.
#include "attest/sim/sim_tee.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "attest/sim/sim_socket.h"
#include "common/encoding.h"
#include "testing/test_util.h"

namespace crypta::attest {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1764000000;  // 2025-11-24

class SimTeeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = std::make_unique<SimCa>(*CreateSimRootCa(kNow));
    node_ = std::make_unique<SimNodeIdentity>(*IssueSimNode(*ca_, "node-1", kNow));
    launch_.measurement =
        ComputeSimMeasurement(AsBytes("runtime"), {"--port", "0"}, "store://t/m@sha256:00");
    launch_.host_data = Bytes(32, 0xab);
  }

  Result<VerifiedEvidence> VerifyAt(const Bytes& raw, int64_t at,
                                    std::optional<Bytes> rd = std::nullopt) {
    SimVerifier verifier(ca_->cert);
    VerifyOptions options;
    options.verification_time = at;
    options.expected_report_data = std::move(rd);
    return verifier.Verify(Evidence{TeeType::kSim, raw, {}}, options);
  }

  std::unique_ptr<SimCa> ca_;
  std::unique_ptr<SimNodeIdentity> node_;
  SimLaunch launch_;
};

TEST_F(SimTeeTest, SignedReportVerifiesAndIsAlwaysMarkedSimulated) {
  Bytes rd(64, 0x5c);
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw, SignSimReport(*node_, launch_, rd, kNow));
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, VerifyAt(raw, kNow + 60, rd));
  const Claims& c = v.claims();
  EXPECT_TRUE(c.simulated);
  EXPECT_EQ(c.tee, TeeType::kSim);
  EXPECT_EQ(c.measurement, launch_.measurement);
  EXPECT_EQ(c.host_data, launch_.host_data);
  EXPECT_EQ(c.report_data, rd);
  EXPECT_FALSE(c.debug);
  EXPECT_EQ(c.signer, "sim-node:node-1");
  nlohmann::json j = c.ToJson();
  EXPECT_EQ(j["simulated"], true);
  EXPECT_THAT(j["claims"]["warning"].get<std::string>(), HasSubstr("simulated"));
}

TEST_F(SimTeeTest, ShortReportDataIsZeroPadded) {
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw, SignSimReport(*node_, launch_, Bytes{1, 2, 3}, kNow));
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, VerifyAt(raw, kNow, Bytes{1, 2, 3}));
  EXPECT_EQ(v.claims().report_data.size(), 64u);
}

TEST_F(SimTeeTest, RejectsReportDataThatIsNotTheExpectedBinding) {
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw, SignSimReport(*node_, launch_, Bytes(64, 1), kNow));
  Result<VerifiedEvidence> r = VerifyAt(raw, kNow, Bytes(64, 2));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_THAT(r.error().message(), HasSubstr("report_data"));
}

TEST_F(SimTeeTest, RejectsEvidenceFromAnotherSimRoot) {
  SimCa other = *CreateSimRootCa(kNow);
  SimNodeIdentity rogue = *IssueSimNode(other, "node-1", kNow);
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw, SignSimReport(rogue, launch_, {}, kNow));
  Result<VerifiedEvidence> r = VerifyAt(raw, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("sim node certificate"));
}

TEST_F(SimTeeTest, RejectsExpiredNodeCertificate) {
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw, SignSimReport(*node_, launch_, {}, kNow));
  Result<VerifiedEvidence> r = VerifyAt(raw, kNow + 2 * 365 * 86400);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("expired"));
}

TEST_F(SimTeeTest, RejectsAChangedMeasurementInTheSignedPayload) {
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw, SignSimReport(*node_, launch_, {}, kNow));
  nlohmann::json doc = nlohmann::json::parse(ToString(raw));
  std::string jws = doc["jws"];
  size_t a = jws.find('.'), b = jws.rfind('.');
  std::string payload = ToString(*Base64UrlDecode(jws.substr(a + 1, b - a - 1)));
  std::string hex = HexEncode(launch_.measurement);
  payload.replace(payload.find(hex), 2, hex[0] == '0' ? "11" : "00");
  doc["jws"] = jws.substr(0, a + 1) + Base64UrlEncode(AsBytes(payload)) + jws.substr(b);
  Result<VerifiedEvidence> r = VerifyAt(ToBytes(doc.dump()), kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("signature"));
}

TEST_F(SimTeeTest, RejectsMalformedEvidenceWithAClearReason) {
  EXPECT_FALSE(VerifyAt(ToBytes("not json"), kNow).has_value());
  EXPECT_THAT(VerifyAt(ToBytes(R"({"format":"x","jws":"a","chain":[]})"), kNow).error().message(),
              HasSubstr("format"));
  EXPECT_THAT(
      VerifyAt(ToBytes(R"({"format":"crypta-sim-evidence-v1","jws":"a"})"), kNow).error().message(),
      HasSubstr("chain"));
  EXPECT_FALSE(VerifyAt(Bytes(kMaxSimEvidenceBytes + 1, '{'), kNow).has_value());
}

TEST_F(SimTeeTest, MeasurementCoversBinaryArgumentsAndModel) {
  Bytes base = ComputeSimMeasurement(AsBytes("bin"), {"a", "b"}, "m");
  EXPECT_EQ(base.size(), 48u);
  EXPECT_EQ(base, ComputeSimMeasurement(AsBytes("bin"), {"a", "b"}, "m"));
  EXPECT_NE(base, ComputeSimMeasurement(AsBytes("bin2"), {"a", "b"}, "m"));
  EXPECT_NE(base, ComputeSimMeasurement(AsBytes("bin"), {"ab"}, "m"));
  EXPECT_NE(base, ComputeSimMeasurement(AsBytes("bin"), {"a", "b"}, "n"));
}

TEST_F(SimTeeTest, RegistryDispatchesByTeeAndFailsClosedForUnknownTypes) {
  VerifierRegistry registry;
  registry.Register(std::make_shared<SimVerifier>(ca_->cert));
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw, SignSimReport(*node_, launch_, {}, kNow));
  VerifyOptions options;
  options.verification_time = kNow;
  CRYPTA_EXPECT_OK(registry.Verify(Evidence{TeeType::kSim, raw, {}}, options));
  Result<VerifiedEvidence> r = registry.Verify(Evidence{TeeType::kTdx, raw, {}}, options);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnimplemented);
  options.verification_time = 0;
  EXPECT_FALSE(registry.Verify(Evidence{TeeType::kSim, raw, {}}, options).has_value());
}

TEST_F(SimTeeTest, WorkloadGetsReportsOverTheSocketWithTheNodesLaunchValues) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("crypta-sim-" + std::to_string(::getpid()) + ".sock"))
                         .string();
  CRYPTA_ASSIGN_OR_FAIL(auto server,
                        SimReportServer::Start(path, *node_, launch_, [] { return kNow; }));
  // Only the owner (the node agent's user) may connect.
  EXPECT_EQ(std::filesystem::status(path).permissions() &
                (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  Bytes rd(64, 0x77);
  CRYPTA_ASSIGN_OR_FAIL(Bytes raw, RequestSimEvidence(path, rd));
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence v, VerifyAt(raw, kNow, rd));
  EXPECT_EQ(v.claims().measurement, launch_.measurement);
  EXPECT_FALSE(RequestSimEvidence(path, Bytes(65, 0)).has_value());
  server->Stop();
  EXPECT_FALSE(std::filesystem::exists(path));
  Result<Bytes> gone = RequestSimEvidence(path, rd);
  ASSERT_FALSE(gone.has_value());
  EXPECT_THAT(gone.error().message(), HasSubstr("no sim TEE"));
}

}  // namespace
}  // namespace crypta::attest
