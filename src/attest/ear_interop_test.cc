// EAR tokens must verify with an independent JWT library using only the JWKS (DESIGN.md
// §4.4): Debian's python3-jwt (PyJWT) checks the signature, the algorithm and exp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "attest/ear.h"
#include "attest/sim/sim_tee.h"
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
claims = jwt.decode(token, key.key, algorithms=["ES256"], options={"require": ["exp", "iat"]})
sub = claims["submods"]["cpu0"]
assert claims["eat_profile"] == "tag:github.com,2023:veraison/ear", claims
print(sub["ear.status"], sub["ear.crypta.simulated"])
)";

TEST(EarInteropTest, PyJwtVerifiesEarTokensWithTheJwksAlone) {
  const int64_t now = UnixNow();
  SimCa ca = *CreateSimRootCa(now);
  SimNodeIdentity node = *IssueSimNode(ca, "n1", now);
  Bytes raw = *SignSimReport(node, SimLaunch{Bytes(48, 0xaa), Bytes(32, 0), false, 1}, {}, now);
  VerifyOptions options;
  options.verification_time = now;
  CRYPTA_ASSIGN_OR_FAIL(VerifiedEvidence ev,
                        SimVerifier(ca.cert).Verify({TeeType::kSim, raw, {}}, options));
  AppraisalPolicy policy = *ParseAppraisalPolicy(
      "tee: [sim]\nallow_simulated: true\nmeasurements: [" + std::string(96, 'a') + "]\n");
  Verdict verdict = Appraise(policy, ev.claims());
  EarContext ctx;
  ctx.now = now;
  PrivateKey key = *PrivateKey::Generate(KeyType::kEcP256);
  CRYPTA_ASSIGN_OR_FAIL(std::string token,
                        SignEar(BuildEarClaims(ev, policy, verdict, ctx), key, "ear-1"));
  CRYPTA_ASSIGN_OR_FAIL(nlohmann::json jwk, PublicKeyToJwk(key.GetPublicKey(), "ear-1"));
  jwk["alg"] = "ES256";
  jwk["use"] = "sig";

  fs::path dir = fs::temp_directory_path() / ("crypta_ear_interop_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "token") << token;
  std::ofstream(dir / "jwks.json") << nlohmann::json{{"keys", {jwk}}}.dump();
  std::ofstream(dir / "verify.py") << kVerifier;
  std::string cmd = "/usr/bin/python3 " + (dir / "verify.py").string() + " " +
                    (dir / "token").string() + " " + (dir / "jwks.json").string() + " > " +
                    (dir / "out").string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream out(dir / "out");
  std::string printed((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0)
      << "PyJWT rejected the EAR token (is python3-jwt installed? scripts/setup.sh installs it):\n"
      << printed;
  EXPECT_EQ(printed, "warning True\n");

  // A token signed by another key must not verify against the same JWKS.
  PrivateKey other = *PrivateKey::Generate(KeyType::kEcP256);
  std::ofstream(dir / "token") << *SignEar(BuildEarClaims(ev, policy, verdict, ctx), other,
                                           "ear-1");
  EXPECT_NE(std::system(cmd.c_str()), 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace crypta::attest
