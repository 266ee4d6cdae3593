// End to end: starts the real `crypta up --insecure-http` process on a free port, drives the
// admin API and RCAR over HTTP with sim evidence signed by the node identity that
// `crypta up` wrote into its data dir, and stops the process at the end.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "api/data_dir.h"
#include "attest/sim/sim_tee.h"
#include "common/constant_time.h"
#include "common/encoding.h"
#include "common/time_util.h"
#include "crypto/jwe.h"
#include "crypto/jwk.h"
#include "crypto/random.h"
#include "kbs/rcar.h"

namespace crypta {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class ControlPlaneTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* bin = std::getenv("CRYPTA_BIN");
    ASSERT_NE(bin, nullptr) << "CRYPTA_BIN must name the crypta binary";
    std::string tmpl = (std::filesystem::temp_directory_path() / "crypta_up_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl + "/data";
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // no orphan if the test binary dies
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      ::execl(bin, bin, "up", "--listen", "127.0.0.1:0", "--insecure-http", "--data-dir",
              dir_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    // The first line is "crypta: listening on http://127.0.0.1:<port> (data dir …)".
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    out_fd_ = out[0];
    const std::string marker = "http://127.0.0.1:";
    const size_t at = line.find(marker);
    ASSERT_NE(at, std::string::npos) << "unexpected first line: " << line;
    port_ = std::stoi(line.substr(at + marker.size()));
    auto token = api::ReadPrivateFile(dir_ + "/admin.token");
    ASSERT_TRUE(token) << token.error().ToString();
    admin_ = token->substr(0, token->find('\n'));
  }
  static void TearDownTestSuite() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "crypta up did not stop cleanly";
      pid_ = -1;
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(dir_).parent_path(), ec);
  }

  static httplib::Client Client() { return httplib::Client("127.0.0.1", port_); }
  static httplib::Headers Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }
  // Sends a request; returns {status, body as JSON (null when not JSON)}.
  static std::pair<int, json> Call(const std::string& method, const std::string& path,
                                   const std::string& token, const std::string& body = "",
                                   httplib::Headers headers = {}) {
    auto client = Client();
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    httplib::Result r = method == "GET" ? client.Get(path.c_str(), headers)
                        : method == "PUT"
                            ? client.Put(path.c_str(), headers, body, "text/plain")
                            : client.Post(path.c_str(), headers, body, "application/json");
    if (!r) return {0, nullptr};
    return {r->status, json::parse(r->body, nullptr, false)};
  }

  // RCAR over HTTP with evidence for `measurement`; returns the resource response.
  static std::pair<int, json> Rcar(const Bytes& measurement, const PrivateKey& tee_key,
                                   const std::string& path) {
    auto client = Client();
    auto auth = client.Post("/kbs/v0/auth", R"({"version":"0.1.1","tee":"sim","extra-params":{}})",
                            "application/json");
    if (!auth || auth->status != 200) return {auth ? auth->status : 0, nullptr};
    std::string cookie = auth->get_header_value("Set-Cookie");
    cookie = cookie.substr(0, cookie.find(';'));
    const json nonce = json::parse(auth->body)["nonce"];
    json runtime = {{"nonce", nonce}, {"tee-pubkey", *PublicKeyToJwk(tee_key.GetPublicKey())}};

    // Play the local sim node with the identity `crypta up` wrote.
    auto key = PrivateKey::FromPem(*api::ReadPrivateFile(dir_ + "/sim/node.key.pem"));
    auto chain = Certificate::ParsePemBundle(*api::ReadPublicFile(dir_ + "/sim/node.pem"));
    if (!key || !chain) return {-1, nullptr};
    attest::SimNodeIdentity node{api::kSimNodeId, *key, *chain};
    attest::SimLaunch launch{measurement, Bytes(attest::kSimHostDataSize, 1), false, 1};
    auto evidence = attest::SignSimReport(node, launch, *kbs::RcarReportData(runtime), UnixNow());
    if (!evidence) return {-2, nullptr};
    json attest_req = {{"runtime-data", runtime},
                       {"tee-evidence", std::string(evidence->begin(), evidence->end())}};
    auto attested =
        client.Post("/kbs/v0/attest", {{"Cookie", cookie}}, attest_req.dump(), "application/json");
    if (!attested || attested->status != 200) return {attested ? attested->status : 0, nullptr};
    const std::string ear = json::parse(attested->body)["token"];
    auto resource = client.Get(path.c_str(), {{"Authorization", "Bearer " + ear}});
    if (!resource) return {0, nullptr};
    return {resource->status, json::parse(resource->body, nullptr, false)};
  }

  static inline pid_t pid_ = -1;
  static inline int out_fd_ = -1;
  static inline int port_ = 0;
  static inline std::string dir_;
  static inline std::string admin_;
};

TEST_F(ControlPlaneTest, ReleasesDekToAttestedSimWorkloadAndDeniesMismatch) {
  const Bytes measurement(attest::kSimMeasurementSize, 0x42);
  ASSERT_EQ(Call("POST", "/v1/tenants", admin_, R"({"name":"radiology"})").first, 201);
  ASSERT_EQ(Call("POST", "/v1/tenants/radiology/keys", admin_, R"({"name":"models"})").first, 201);
  const std::string policy =
      "tee: [sim]\nallow_simulated: true\nmeasurements: [" + HexEncode(measurement) + "]\n";
  ASSERT_EQ(Call("PUT", "/v1/tenants/radiology/keys/models/policy", admin_, policy).first, 200);
  auto [get_status, stored] = Call("GET", "/v1/tenants/radiology/keys/models/policy", admin_);
  EXPECT_EQ(get_status, 200);
  EXPECT_EQ(stored["text"], policy);

  const Bytes dek = *RandomBytes(32);
  json wrap = {{"object_id", "llama"}, {"dek_b64", Base64Encode(dek)}};
  auto [wrap_status, wrapped] =
      Call("POST", "/v1/tenants/radiology/keys/models/deks", admin_, wrap.dump());
  ASSERT_EQ(wrap_status, 201) << wrapped.dump();
  EXPECT_EQ(wrapped["kek_version"], 1);

  const PrivateKey tee_key = *PrivateKey::Generate(KeyType::kEcP256);
  auto [status, jwe] = Rcar(measurement, tee_key, "/kbs/v0/resource/radiology/models/llama");
  ASSERT_EQ(status, 200) << jwe.dump();
  auto plain = JweDecrypt(jwe, tee_key);
  ASSERT_TRUE(plain) << plain.error().ToString();
  EXPECT_TRUE(ConstantTimeEquals(plain->plaintext.Reveal(), dek));

  // Evidence for another measurement: the policy denies with the violation.
  auto [denied_status, problem] = Rcar(Bytes(attest::kSimMeasurementSize, 0x43), tee_key,
                                       "/kbs/v0/resource/radiology/models/llama");
  EXPECT_EQ(denied_status, 403);
  EXPECT_THAT(problem["detail"].get<std::string>(), HasSubstr("measurement"));
  EXPECT_EQ(problem["status"], 403);
  // Unknown object: 404.
  EXPECT_EQ(Rcar(measurement, tee_key, "/kbs/v0/resource/radiology/models/nope").first, 404);

  auto [audit_status, audit] = Call("GET", "/v1/audit?tail=50", admin_);
  ASSERT_EQ(audit_status, 200);
  int allowed = 0, denied = 0;
  for (const json& e : audit["entries"]) {
    if (e["action"] != "kbs.release_key") continue;
    EXPECT_EQ(e["tenant"], "radiology");
    if (e["outcome"] == "allow") ++allowed;
    if (e["outcome"] == "deny" &&
        e["reason"].get<std::string>().find("measurement") != std::string::npos) {
      ++denied;
    }
  }
  EXPECT_EQ(allowed, 1);
  EXPECT_EQ(denied, 1);
}

TEST_F(ControlPlaneTest, AdminRoutesNeedAValidTokenOfTheRightTenant) {
  EXPECT_EQ(Call("GET", "/v1/tenants", "").first, 401);
  EXPECT_EQ(Call("GET", "/v1/tenants", "crypta_not-a-real-token").first, 401);
  auto [status, problem] = Call("POST", "/v1/tenants", "", R"({"name":"x"})");
  EXPECT_EQ(status, 401);
  EXPECT_EQ(problem["type"], "about:blank");

  ASSERT_EQ(Call("POST", "/v1/tenants", admin_, R"({"name":"alpha"})").first, 201);
  ASSERT_EQ(Call("POST", "/v1/tenants", admin_, R"({"name":"beta"})").first, 201);
  EXPECT_EQ(Call("POST", "/v1/tenants", admin_, R"({"name":"beta"})").first, 409);
  auto [token_status, token] =
      Call("POST", "/v1/tenants/beta/tokens", admin_, R"({"role":"tenant-admin"})");
  ASSERT_EQ(token_status, 201);
  const std::string beta_admin = token["token"];
  EXPECT_EQ(Call("POST", "/v1/tenants/beta/keys", beta_admin, R"({"name":"k"})").first, 201);
  auto [cross, cross_problem] =
      Call("POST", "/v1/tenants/alpha/keys", beta_admin, R"({"name":"k"})");
  EXPECT_EQ(cross, 403);
  EXPECT_THAT(cross_problem["detail"].get<std::string>(), HasSubstr("cross-tenant"));
  EXPECT_EQ(Call("POST", "/v1/tenants", beta_admin, R"({"name":"gamma"})").first, 403);
  EXPECT_EQ(Call("POST", "/v1/tenants", admin_, "{not json").first, 400);
  EXPECT_EQ(Call("POST", "/v1/tenants", admin_, std::string(2 << 20, ' ')).first, 413);

  // A tenant admin sees only its tenant's audit entries; the cross-tenant denial is
  // recorded under the tenant it targeted (alpha), visible to the platform admin.
  auto [audit_status, audit] = Call("GET", "/v1/audit?tail=100", beta_admin);
  ASSERT_EQ(audit_status, 200);
  for (const json& e : audit["entries"]) EXPECT_EQ(e["tenant"], "beta");
  auto [all_status, all] = Call("GET", "/v1/audit?tail=100", admin_);
  bool cross_denial_logged = false;
  for (const json& e : all["entries"]) {
    if (e["tenant"] == "alpha" && e["outcome"] == "deny") cross_denial_logged = true;
  }
  EXPECT_TRUE(cross_denial_logged);
}

TEST_F(ControlPlaneTest, HealthAndJwks) {
  EXPECT_EQ(Call("GET", "/healthz", "").second["status"], "ok");
  auto [status, jwks] = Call("GET", "/.well-known/jwks.json", "");
  ASSERT_EQ(status, 200);
  auto parsed = Jwks::Parse(jwks);
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(jwks["keys"][0]["crv"], "P-256");
}

}  // namespace
}  // namespace crypta
