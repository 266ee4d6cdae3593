// Appraisal policy: parsing (strict, default deny) and evaluation listing every violation;
// EAR claims built from a verdict.
#include "attest/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "attest/ear.h"
#include "attest/sim/sim_tee.h"
#include "common/encoding.h"
#include "crypto/jwt.h"
#include "testing/test_util.h"

namespace crypta::attest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const std::string kMeasurement(96, 'a');  // 48 bytes of 0xaa in hex

Claims SnpClaims() {
  Claims c;
  c.tee = TeeType::kSevSnp;
  c.measurement = Bytes(48, 0xaa);
  c.host_data = Bytes(32, 0x01);
  c.tcb = {{"reported", {{"bl_spl", 3}, {"tee_spl", 0}, {"snp_spl", 8}, {"ucode_spl", 115}}}};
  c.extra = {{"vmpl", 0},
             {"guest_svn", 4},
             {"policy", {{"migrate_ma", false}, {"smt", true}, {"debug", false}}},
             {"family_id", "01000000000000000000000000000000"}};
  return c;
}

Claims TdxClaims() {
  Claims c;
  c.tee = TeeType::kTdx;
  c.measurement = Bytes(48, 0xbb);
  c.tcb_status = TcbStatus::kUpToDate;
  return c;
}

AppraisalPolicy Parse(const std::string& yaml) {
  Result<AppraisalPolicy> p = ParseAppraisalPolicy(yaml);
  EXPECT_TRUE(p.has_value()) << p.error().ToString();
  return p ? *p : AppraisalPolicy{};
}

TEST(PolicyTest, AcceptsClaimsThatMeetEveryRule) {
  AppraisalPolicy p = Parse(R"(
tee: [sev-snp, tdx]
allow_debug: false
measurements: [)" + kMeasurement +
                            R"(]
host_data: ["0101010101010101010101010101010101010101010101010101010101010101"]
min_tcb: {sev-snp: {bootloader: 3, tee: 0, snp: 8, microcode: 115}, tdx: UpToDate}
min_svn: 4
sev-snp: {allow_migration_agent: false, max_vmpl: 0, family_id: "01000000000000000000000000000000"}
)");
  Verdict v = Appraise(p, SnpClaims());
  EXPECT_TRUE(v.allowed);
  EXPECT_THAT(v.violations, IsEmpty());
  EXPECT_THAT(p.id, HasSubstr("sha256:"));
}

TEST(PolicyTest, ListsEveryViolationNotJustTheFirst) {
  AppraisalPolicy p =
      Parse(R"({"tee": ["tdx"], "measurements": ["bb"], "min_tcb": {"sev-snp": {"microcode": 200}},
                                "host_data": ["02"], "sev-snp": {"allow_smt": false}})");
  Claims c = SnpClaims();
  c.debug = true;
  Verdict v = Appraise(p, c);
  EXPECT_FALSE(v.allowed);
  EXPECT_THAT(v.violations, SizeIs(6));
  std::string all;
  for (const auto& s : v.violations) all += s + "\n";
  for (const char* want : {"tee: sev-snp", "debug", "measurement", "host_data",
                           "microcode: reported 115 < minimum 200", "allow_smt"}) {
    EXPECT_THAT(all, HasSubstr(want));
  }
}

TEST(PolicyTest, DefaultDenyWithoutReferenceMeasurements) {
  AppraisalPolicy p = Parse("tee: [sev-snp]\n");
  Verdict v = Appraise(p, SnpClaims());
  EXPECT_FALSE(v.allowed);
  EXPECT_THAT(v.violations, ElementsAre(HasSubstr("measurement")));
}

TEST(PolicyTest, RequirePublishedAsksTheReleaseLogAndFailsClosedWithoutOne) {
  AppraisalPolicy p = Parse("tee: [sev-snp]\nrequire_published: true\n");
  EXPECT_TRUE(p.require_published);
  EXPECT_EQ(p.ToJson()["require_published"], true);
  // No log here: refused, whatever the claims.
  EXPECT_THAT(Appraise(p, SnpClaims()).violations,
              ElementsAre(HasSubstr("require_published: no release log")));
  // The log is the reference list when the policy lists no measurement.
  int asked = 0;
  PublishedCheck published = [&](const Claims& c) -> Status {
    ++asked;
    if (HexEncode(c.measurement) == kMeasurement) return OkStatus();
    return MakeError(ErrorCode::kPermissionDenied, "not in the log");
  };
  EXPECT_TRUE(Appraise(p, SnpClaims(), published).allowed);
  Claims other = SnpClaims();
  other.measurement = Bytes(48, 0xcc);
  EXPECT_THAT(Appraise(p, other, published).violations,
              ElementsAre("require_published: not in the log"));
  EXPECT_EQ(asked, 2);
  // With a reference list both must hold.
  AppraisalPolicy both = Parse("tee: [sev-snp]\nrequire_published: true\nmeasurements: [" +
                               std::string(96, 'c') + "]\n");
  EXPECT_THAT(Appraise(both, SnpClaims(), published).violations,
              ElementsAre(HasSubstr("not a reference value")));
  EXPECT_TRUE(Appraise(both, other, [](const Claims&) { return OkStatus(); }).allowed);
  // The policy id changes with the rule; a policy without it keeps its id.
  EXPECT_NE(p.id, Parse("tee: [sev-snp]\n").id);
  EXPECT_THAT(ParseAppraisalPolicy("tee: [sev-snp]\nrequire_published: maybe\n").error().message(),
              HasSubstr("require_published"));
}

TEST(PolicyTest, SimulatedEvidenceNeedsAllowSimulated) {
  Claims c = SnpClaims();
  c.tee = TeeType::kSim;
  c.simulated = true;
  AppraisalPolicy strict = Parse("tee: [sim]\nmeasurements: {sim: [" + kMeasurement + "]}\n");
  EXPECT_THAT(Appraise(strict, c).violations, ElementsAre(HasSubstr("allow_simulated")));
  AppraisalPolicy lax =
      Parse("tee: sim\nallow_simulated: true\nmeasurements: {sim: [" + kMeasurement + "]}\n");
  EXPECT_TRUE(Appraise(lax, c).allowed);
  // A per-TEE reference list does not admit other TEEs' measurements.
  AppraisalPolicy other =
      Parse("tee: [sim]\nallow_simulated: true\nmeasurements: {tdx: [" + kMeasurement + "]}\n");
  EXPECT_FALSE(Appraise(other, c).allowed);
}

TEST(PolicyTest, IntelTcbStatusMustBeNoWorseThanTheMinimum) {
  Claims c;
  c.tee = TeeType::kTdx;
  c.measurement = Bytes(48, 0xaa);
  c.revocation = Revocation::kChecked;
  AppraisalPolicy p = Parse("tee: [tdx]\nmeasurements: [" + kMeasurement +
                            "]\nmin_tcb: {tdx: SWHardeningNeeded}\n");
  for (auto [status, ok] : {std::pair{TcbStatus::kUpToDate, true},
                            {TcbStatus::kSwHardeningNeeded, true},
                            {TcbStatus::kOutOfDate, false},
                            {TcbStatus::kRevoked, false},
                            {TcbStatus::kUnknown, false}}) {
    c.tcb_status = status;
    EXPECT_EQ(Appraise(p, c).allowed, ok) << TcbStatusName(status);
  }
}

TEST(PolicyTest, MissingClaimsThatThePolicyConstrainsAreViolations) {
  Claims c = SnpClaims();
  c.tcb = nlohmann::json::object();
  c.extra = nlohmann::json::object();
  AppraisalPolicy p = Parse("tee: [sev-snp]\nmeasurements: [" + kMeasurement +
                            "]\nmin_tcb: {sev-snp: {snp: 1}}\nmin_svn: 1\nsev-snp: {max_vmpl: 0, "
                            "allow_migration_agent: false}\n");
  EXPECT_THAT(Appraise(p, c).violations, SizeIs(4));
}

TEST(PolicyTest, RejectsMalformedPoliciesNamingTheKey) {
  auto error_of = [](const std::string& text) {
    Result<AppraisalPolicy> p = ParseAppraisalPolicy(text);
    return p ? std::string("accepted") : p.error().message();
  };
  EXPECT_THAT(error_of("allow_debgu: true\ntee: [sim]"), HasSubstr("allow_debgu: unknown key"));
  EXPECT_THAT(error_of("measurements: [aa]"), HasSubstr("tee: required"));
  EXPECT_THAT(error_of("tee: [sgx2]"), HasSubstr("unknown TEE type"));
  EXPECT_THAT(error_of("tee: [sim]\nallow_debug: maybe"), HasSubstr("expected true or false"));
  EXPECT_THAT(error_of("tee: [sim]\nmeasurements: [xyz]"), HasSubstr("not hex"));
  EXPECT_THAT(error_of("tee: [sim]\nmin_tcb: {tdx: Great}"), HasSubstr("min_tcb.tdx"));
  EXPECT_THAT(error_of("tee: [sim]\nmin_tcb: {sev-snp: {kernel: 1}}"),
              HasSubstr("unknown TCB component"));
  EXPECT_THAT(error_of("tee: [sim\n"), HasSubstr("line"));
  EXPECT_THAT(error_of(std::string(70000, ' ')), HasSubstr("64 KiB"));
}

TEST(PolicyTest, PolicyIdDependsOnContentNotFormatting) {
  AppraisalPolicy a = Parse("tee: [sim, tdx]\nallow_simulated: true\n");
  AppraisalPolicy b = Parse(R"({"allow_simulated": true, "tee": ["tdx", "sim"]})");
  AppraisalPolicy c = Parse("tee: [sim, tdx]\n");
  EXPECT_EQ(a.id, b.id);
  EXPECT_NE(a.id, c.id);
}

TEST(EarTest, BuildsSignedAttestationResultsFromSimEvidence) {
  constexpr int64_t kNow = 1764000000;
  SimCa ca = *CreateSimRootCa(kNow);
  SimNodeIdentity node = *IssueSimNode(ca, "n1", kNow);
  SimLaunch launch{Bytes(48, 0xaa), Bytes(32, 0), false, 1};
  Bytes raw = *SignSimReport(node, launch, {}, kNow);
  VerifyOptions options;
  options.verification_time = kNow;
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence ev,
                        SimVerifier(ca.cert).Verify({TeeType::kSim, raw, {}}, options));

  AppraisalPolicy p =
      Parse("tee: [sim]\nallow_simulated: true\nmeasurements: [" + kMeasurement + "]\n");
  Verdict verdict = Appraise(p, ev.claims());
  ASSERT_TRUE(verdict.allowed);
  EarContext ctx;
  ctx.now = kNow;
  ctx.tenant = "radiology";
  nlohmann::json ear = BuildEarClaims(ev, p, verdict, ctx);
  const nlohmann::json& sub = ear["submods"]["cpu0"];
  EXPECT_EQ(ear["eat_profile"], kEarProfile);
  EXPECT_EQ(sub["ear.status"], "warning") << "simulated hardware is never affirming";
  EXPECT_EQ(sub["ear.trustworthiness-vector"]["hardware"], 32);
  EXPECT_EQ(sub["ear.crypta.simulated"], true);
  EXPECT_EQ(sub["ear.crypta.tenant"], "radiology");
  EXPECT_EQ(sub["ear.appraisal-policy-id"], p.id);
  EXPECT_EQ(sub["ear.crypta.annotated-evidence"]["measurement"], kMeasurement);
  EXPECT_EQ(sub["ear.crypta.revocation"], "not-applicable");
  EXPECT_FALSE(sub.contains("ear.veraison.annotated-evidence")) << "crypta's claims are its own";
  EXPECT_FALSE(ear.contains("eat_nonce")) << "no nonce was given";
  ctx.nonce = "bm9uY2Utbm9uY2Utbm9uY2U";
  EXPECT_EQ(BuildEarClaims(ev, p, verdict, ctx)["eat_nonce"], ctx.nonce);

  PrivateKey key = *PrivateKey::Generate(KeyType::kEcP256);
  CRYPTA_ASSIGN_OR_FAIL(std::string token, SignEar(ear, key, "k1"));
  JwtVerifyOptions jo;
  jo.jws.allowed_algs = {JwsAlg::kEs256};
  jo.now_unix_s = kNow + 10;
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json back, JwtVerify(token, key.GetPublicKey(), jo));
  EXPECT_EQ(back["submods"]["cpu0"]["ear.status"], "warning");
  EXPECT_FALSE(SignEar(ear, *PrivateKey::Generate(KeyType::kEcP384), "").has_value());

  Verdict denied = Appraise(Parse("tee: [sim]\nmeasurements: [bb]\n"), ev.claims());
  EXPECT_EQ(EarStatus(denied), "contraindicated");
  const nlohmann::json vector = TrustworthinessVector(denied);
  EXPECT_EQ(vector["executables"], 96) << vector.dump();  // measurement: not a reference value
  EXPECT_EQ(vector["hardware"], 96) << vector.dump();     // simulated: not allowed
}

// A hardware claim set that passes every rule: affirming; each reservation the policy
// allows turns it into warning with the matching component in the warning tier.
TEST(EarTest, StatusFollowsTheVerdictItsWarningsAndViolations) {
  Claims c = TdxClaims();
  c.revocation = Revocation::kChecked;
  const std::string base = "tee: [tdx]\nmeasurements: [" + HexEncode(c.measurement) + "]\n";
  Verdict clean = Appraise(Parse(base), c);
  ASSERT_TRUE(clean.allowed);
  EXPECT_TRUE(clean.warnings.empty());
  EXPECT_EQ(EarStatus(clean), "affirming");
  EXPECT_EQ(
      TrustworthinessVector(clean),
      (nlohmann::json{
          {"instance-identity", 2}, {"configuration", 2}, {"executables", 2}, {"hardware", 2}}));

  c.tcb_status = TcbStatus::kOutOfDate;
  c.advisory_ids = {"INTEL-SA-00837"};
  Verdict stale = Appraise(Parse(base), c);
  ASSERT_TRUE(stale.allowed);
  EXPECT_EQ(EarStatus(stale), "warning");
  EXPECT_EQ(TrustworthinessVector(stale)["hardware"], 32);
  EXPECT_THAT(stale.warnings, ElementsAre(HasSubstr("INTEL-SA-00837")));
  // The same TCB refused by min_tcb: contraindicated, the hardware component too.
  Verdict refused = Appraise(Parse(base + "min_tcb: {tdx: UpToDate}\n"), c);
  EXPECT_EQ(EarStatus(refused), "contraindicated");
  EXPECT_EQ(TrustworthinessVector(refused)["hardware"], 96);
}

// DCAP evidence without both CRLs: refused by default, a warning when the policy allows it.
TEST(PolicyTest, MissingRevocationIsRefusedUnlessThePolicyAllowsIt) {
  Claims c = TdxClaims();
  c.revocation = Revocation::kAbsent;
  const std::string base = "tee: [tdx]\nmeasurements: [" + HexEncode(c.measurement) + "]\n";
  Verdict strict = Appraise(Parse(base), c);
  EXPECT_FALSE(strict.allowed);
  EXPECT_THAT(strict.violations, ElementsAre(HasSubstr("revocation")));
  EXPECT_EQ(TrustworthinessVector(strict)["instance-identity"], 96);

  AppraisalPolicy lenient = Parse(base + "allow_missing_revocation: true\n");
  EXPECT_NE(lenient.id, Parse(base).id);
  Verdict allowed = Appraise(lenient, c);
  EXPECT_TRUE(allowed.allowed);
  EXPECT_THAT(allowed.warnings, ElementsAre(HasSubstr("revocation")));
  EXPECT_EQ(EarStatus(allowed), "warning");
  EXPECT_EQ(TrustworthinessVector(allowed)["instance-identity"], 32);

  c.revocation = Revocation::kChecked;
  EXPECT_EQ(EarStatus(Appraise(Parse(base), c)), "affirming");
  // SEV-SNP: an absent AMD CRL is reported in the claims but not refused (policy.cc).
  Claims snp = c;
  snp.tee = TeeType::kSevSnp;
  snp.revocation = Revocation::kAbsent;
  Verdict snp_verdict =
      Appraise(Parse("tee: [sev-snp]\nmeasurements: [" + HexEncode(c.measurement) + "]\n"), snp);
  EXPECT_TRUE(snp_verdict.allowed);
  EXPECT_TRUE(snp_verdict.warnings.empty());
}

// A hardware GPU as the NVIDIA verifier reports it (attest/nvidia/verifier.h).
Claims GpuClaims() {
  Claims g;
  g.tee = TeeType::kNvidiaGpu;
  g.tcb_status = TcbStatus::kUpToDate;  // measurements matched NVIDIA's RIMs
  g.revocation = Revocation::kChecked;
  g.extra = {
      {"driver_version", "550.90.07"}, {"vbios_version", "96.00.9F.00.01"}, {"cc_mode", "on"}};
  return g;
}

TEST(PolicyTest, GpuSectionAppraisesTheGpusBoundToTheCpuEvidence) {
  Claims c = TdxClaims();
  c.revocation = Revocation::kChecked;
  const std::string base = "tee: [tdx]\nmeasurements: [" + HexEncode(c.measurement) + "]\n";
  // Without a gpu section GPUs are not looked at; with one, they are required.
  EXPECT_TRUE(Appraise(Parse(base), c).allowed);
  const std::string gpu =
      base +
      "gpu:\n  count: 2\n  driver_versions: [550.90.07]\n  vbios_versions: [96.00.9f.00.01]\n";
  Verdict none = Appraise(Parse(gpu), c);
  EXPECT_THAT(none.violations, ElementsAre(HasSubstr("gpu.count: 2 GPU(s) required, 0")));

  c.devices = {GpuClaims(), GpuClaims()};
  Verdict good = Appraise(Parse(gpu), c);
  EXPECT_TRUE(good.allowed) << good.violations[0];
  EXPECT_EQ(EarStatus(good), "affirming");

  Claims& g1 = c.devices[1];
  g1.extra["cc_mode"] = "unknown";
  g1.extra["driver_version"] = "535.1";
  g1.tcb_status = TcbStatus::kUnknown;
  g1.revocation = Revocation::kAbsent;
  Verdict bad = Appraise(Parse(gpu), c);
  EXPECT_THAT(bad.violations,
              ElementsAre(HasSubstr("gpu1: cc_mode: the report says CC mode is unknown"),
                          HasSubstr("gpu1: driver_versions: 535.1 is not allowed"),
                          HasSubstr("gpu1: rim:"), HasSubstr("gpu1: revocation:")));
  // Each can be relaxed into a warning, except the allow lists.
  Verdict relaxed = Appraise(Parse(gpu + "  require_cc_mode: false\n  require_rim: false\n"
                                         "allow_missing_revocation: true\n"),
                             c);
  EXPECT_THAT(relaxed.violations, ElementsAre(HasSubstr("driver_versions")));
  EXPECT_EQ(relaxed.warnings.size(), 3u);

  g1 = GpuClaims();
  g1.extra["cc_mode"] = "devtools";
  g1.debug = true;
  EXPECT_THAT(Appraise(Parse(gpu), c).violations, ElementsAre(HasSubstr("gpu1: debug")));
  EXPECT_THAT(Appraise(Parse(gpu + "  allow_debug: true\n"), c).warnings,
              ElementsAre(HasSubstr("gpu1: debug")));

  g1 = GpuClaims();
  g1.simulated = true;
  EXPECT_THAT(Appraise(Parse(gpu), c).violations, ElementsAre(HasSubstr("gpu1: simulated")));
}

TEST(PolicyTest, GpuSectionRejectsMalformedRules) {
  for (const char* bad : {"gpu: {count: 0}", "gpu: {count: 9}", "gpu: {cc: true}",
                          "gpu: {driver_versions: 550}", "gpu: [1]", "gpu: {allow_debug: yes}"}) {
    auto p = ParseAppraisalPolicy(std::string("tee: [tdx]\n") + bad + "\n");
    ASSERT_FALSE(p) << bad;
    EXPECT_THAT(p.error().message(), HasSubstr("policy: gpu")) << bad;
  }
  EXPECT_NE(Parse("tee: [tdx]\ngpu: {}\n").id, Parse("tee: [tdx]\n").id);
}

}  // namespace
}  // namespace crypta::attest
