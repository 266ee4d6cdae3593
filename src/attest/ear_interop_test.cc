// EAR tokens must verify with an independent JWT library using only the JWKS (DESIGN.md
// §4.4): Debian's python3-jwt (PyJWT) checks the signature, the algorithm and exp, and
// reads the status: "warning" for an allowed simulated TEE, "affirming" for real SEV-SNP
// and SGX evidence that meets its policy at the evidence's time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "attest/ear.h"
#include "attest/sim/sim_tee.h"
#include "attest/verifier_factory.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "crypto/jwk.h"
#include "testing/test_util.h"

namespace crypta::attest {
namespace {

namespace fs = std::filesystem;

constexpr char kVerifier[] = R"(
import json, sys, jwt
token = open(sys.argv[1]).read().strip()
jwks = json.load(open(sys.argv[2]))
kid = jwt.get_unverified_header(token)["kid"]
key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == kid)
claims = jwt.decode(token, key.key, algorithms=["ES256"], options={"require": ["exp", "iat"]},
                    leeway=10**10)  # the hardware vectors' EARs are issued at their old times
sub = claims["submods"]["cpu0"]
assert claims["eat_profile"] == "tag:github.com,2023:veraison/ear", claims
assert sub["ear.appraisal-policy-id"].startswith("sha256:"), sub
print(sub["ear.status"], sub["ear.crypta.simulated"], sub["ear.crypta.revocation"])
)";

class EarInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("crypta_ear_interop_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "verify.py") << kVerifier;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Signs the EAR for `ev` under `policy_text` at `now`, and has PyJWT read it back with
  // a JWKS holding `jwks_key`'s public key. Returns PyJWT's output, or "rc=N: output".
  std::string PyJwtReads(const VerifiedEvidence& ev, const std::string& policy_text, int64_t now,
                         const PrivateKey& signer, const PrivateKey& jwks_key) {
    AppraisalPolicy policy = *ParseAppraisalPolicy(policy_text);
    EarContext ctx;
    ctx.now = now;
    auto token =
        SignEar(BuildEarClaims(ev, policy, Appraise(policy, ev.claims()), ctx), signer, "ear-1");
    if (!token) return "sign: " + token.error().ToString();
    nlohmann::json jwk = *PublicKeyToJwk(jwks_key.GetPublicKey(), "ear-1");
    jwk["alg"] = "ES256";
    jwk["use"] = "sig";
    std::ofstream(dir_ / "token") << *token;
    std::ofstream(dir_ / "jwks.json") << nlohmann::json{{"keys", {jwk}}}.dump();
    const std::string cmd = "/usr/bin/python3 " + (dir_ / "verify.py").string() + " " +
                            (dir_ / "token").string() + " " + (dir_ / "jwks.json").string() +
                            " > " + (dir_ / "out").string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream out(dir_ / "out");
    std::string printed((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
    return rc == 0 ? printed : "rc=" + std::to_string(rc) + ": " + printed;
  }

  fs::path dir_;
  PrivateKey key_ = *PrivateKey::Generate(KeyType::kEcP256);
};

TEST_F(EarInteropTest, PyJwtVerifiesEarTokensWithTheJwksAlone) {
  const int64_t now = UnixNow();
  SimCa ca = *CreateSimRootCa(now);
  SimNodeIdentity node = *IssueSimNode(ca, "n1", now);
  Bytes raw = *SignSimReport(node, SimLaunch{Bytes(48, 0xaa), Bytes(32, 0), false, 1}, {}, now);
  VerifyOptions options;
  options.verification_time = now;
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence ev,
                        SimVerifier(ca.cert).Verify({TeeType::kSim, raw, {}}, options));
  const std::string policy =
      "tee: [sim]\nallow_simulated: true\nmeasurements: [" + std::string(96, 'a') + "]\n";
  EXPECT_EQ(PyJwtReads(ev, policy, now, key_, key_), "warning True not-applicable\n")
      << "is python3-jwt installed? scripts/setup.sh installs it";
  // A token signed by another key must not verify against the same JWKS.
  PrivateKey other = *PrivateKey::Generate(KeyType::kEcP256);
  EXPECT_NE(PyJwtReads(ev, policy, now, other, key_).substr(0, 3), "war");
}

// The shared SEV-SNP vector (Milan, VCEK) at its time, under a policy listing its
// measurement and TCB: affirming. No AMD CRL is published in the vectors, so revocation
// is "absent", which for SEV-SNP is reported but not a reservation (attest/policy.cc).
TEST_F(EarInteropTest, RealSevSnpEvidenceThatMeetsItsPolicyIsAffirming) {
  Evidence e{TeeType::kSevSnp, testing::ReadTestdataBytes("snp/trustee-milan-vcek/report.bin"), {}};
  e.collateral.items["vcek"] = testing::ReadTestdataBytes("snp/trustee-milan-vcek/vcek.der");
  VerifyOptions options;
  CRYPTA_ASSIGN_OR_FAIL(options.verification_time, ParseRfc3339("2025-06-01T00:00:00Z"));
  CRYPTA_ASSIGN_OR_FAIL(auto verifier, MakeVerifier(TeeType::kSevSnp, {}));
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence ev, verifier->Verify(e, options));
  const std::string policy = "tee: [sev-snp]\nmeasurements: [" +
                             HexEncode(ev.claims().measurement) +
                             "]\nmin_tcb: {sev-snp: {bootloader: 3, tee: 0, snp: 8, "
                             "microcode: 115}}\n";
  EXPECT_EQ(PyJwtReads(ev, policy, options.verification_time, key_, key_),
            "affirming False absent\n");
}

// The shared SGX vector with its dcap-qvl collateral (both CRLs) at its time: revocation
// checked, not debug, TCB ConfigurationAndSWHardeningNeeded (its MANIFEST): a warning
// naming the TCB. Without the CRLs the default policy refuses it, and
// allow_missing_revocation makes that a second warning.
TEST_F(EarInteropTest, RealSgxEvidenceIsAWarningForItsTcbAndRefusedWithoutCrls) {
  const std::string dir = "dcap/sgx/dcap-qvl-00a067110000/";
  const Bytes quote = testing::ReadTestdataBytes(dir + "sgx_quote.dat");
  const Bytes collateral = testing::ReadTestdataBytes(dir + "collateral.json");
  VerifyOptions options;
  CRYPTA_ASSIGN_OR_FAIL(options.verification_time, ParseRfc3339("2025-07-01T00:00:00Z"));
  CRYPTA_ASSIGN_OR_FAIL(auto verifier, MakeVerifier(TeeType::kSgx, {}));
  Evidence e{TeeType::kSgx, quote, {}};
  e.collateral.items["collateral_json"] = collateral;
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence ev, verifier->Verify(e, options));
  EXPECT_EQ(ev.claims().revocation, Revocation::kChecked);
  EXPECT_EQ(ev.claims().tcb_status, TcbStatus::kConfigurationAndSwHardeningNeeded);
  const std::string policy =
      "tee: [sgx]\nmeasurements: [" + HexEncode(ev.claims().measurement) + "]\n";
  EXPECT_EQ(PyJwtReads(ev, policy, options.verification_time, key_, key_),
            "warning False checked\n");

  nlohmann::json without = nlohmann::json::parse(ToString(collateral));
  without.erase("pck_crl");
  without.erase("root_ca_crl");
  const std::string text = without.dump();
  e.collateral.items["collateral_json"] = Bytes(text.begin(), text.end());
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence unchecked, verifier->Verify(e, options));
  EXPECT_EQ(unchecked.claims().revocation, Revocation::kAbsent);
  Verdict strict = Appraise(*ParseAppraisalPolicy(policy), unchecked.claims());
  EXPECT_FALSE(strict.allowed);
  EXPECT_EQ(EarStatus(strict), "contraindicated");
  Verdict lenient = Appraise(*ParseAppraisalPolicy(policy + "allow_missing_revocation: true\n"),
                             unchecked.claims());
  EXPECT_EQ(EarStatus(lenient), "warning");
  EXPECT_EQ(lenient.warnings.size(), 2u);  // the TCB and the revocation
}

}  // namespace
}  // namespace crypta::attest
