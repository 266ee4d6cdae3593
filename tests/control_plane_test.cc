// End to end: the real `crypta up --insecure-http` process on a free port, driven over HTTP:
// RCAR with sim evidence signed by the node identity `crypta up` wrote into its data dir
// (release only when the policy matches, and each kind of denial audited with its own
// reason), the admin API's authorization, model fetches by attested workloads, the
// attestation service, and the audit log's checkpoints and proofs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "attest/ear.h"
#include "audit/log.h"
#include "audit/merkle.h"
#include "common/constant_time.h"
#include "control_plane_harness.h"
#include "crypto/hash.h"
#include "crypto/jwe.h"
#include "crypto/jwt.h"
#include "crypto/random.h"
#include "crypto/sealed_blob.h"
#include "crypto/signature.h"
#include "pki/csr.h"
#include "pki/svid_verify.h"

namespace crypta {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::RunRcar;
using testing::ServerProcess;
using testing::SimPolicy;
using testing::SimWorkload;

class ControlPlaneTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<testing::TempDir>();
    server_ = std::make_unique<ServerProcess>(dir_->path() + "/data");
    std::string why;
    ASSERT_TRUE(server_->Start(&why)) << why;
    admin_ = server_->admin_token();
  }
  static void TearDownTestSuite() {
    EXPECT_TRUE(server_->Stop()) << "crypta up did not stop cleanly";
    server_.reset();
    dir_.reset();
  }
  static std::pair<int, json> Call(const std::string& method, const std::string& path,
                                   const std::string& token, const std::string& body = "") {
    return server_->Call(method, path, token, body,
                         method == "PUT" ? "text/plain" : "application/json");
  }
  static Bytes SetUpKey(const std::string& tenant, const std::string& key,
                        const std::string& policy, const std::string& object) {
    return testing::SetUpKey(*server_, tenant, key, policy, object);
  }
  // The newest audit entries with this action.
  static std::vector<json> AuditEntries(const std::string& action) {
    auto [status, audit] = Call("GET", "/v1/audit?tail=10000", admin_);
    EXPECT_EQ(status, 200);
    std::vector<json> out;
    for (const json& e : audit["entries"]) {
      if (e["action"] == action) out.push_back(e);
    }
    return out;
  }
  static bool Audited(const std::string& action, const std::string& outcome,
                      const std::string& reason_part) {
    for (const json& e : AuditEntries(action)) {
      if (e["outcome"] == outcome &&
          e["reason"].get<std::string>().find(reason_part) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  static inline std::unique_ptr<testing::TempDir> dir_;
  static inline std::unique_ptr<ServerProcess> server_;
  static inline std::string admin_;
};

TEST_F(ControlPlaneTest, ReleasesDekToAttestedSimWorkloadAndDeniesMismatch) {
  const SimWorkload good;
  const Bytes dek = SetUpKey("radiology", "models", SimPolicy(good.measurement), "llama");
  auto [get_status, stored] = Call("GET", "/v1/tenants/radiology/keys/models/policy", admin_);
  EXPECT_EQ(get_status, 200);
  EXPECT_EQ(stored["text"], SimPolicy(good.measurement));

  const PrivateKey tee_key = *PrivateKey::Generate(KeyType::kEcP256);
  auto ok = RunRcar(*server_, good, tee_key, "/kbs/v0/resource/radiology/models/llama");
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  auto plain = JweDecrypt(ok.body, tee_key);
  ASSERT_TRUE(plain) << plain.error().ToString();
  EXPECT_TRUE(ConstantTimeEquals(plain->plaintext.Reveal(), dek));
  EXPECT_TRUE(Audited("kbs.release_key", "allow", "policy allowed"));

  // Unknown object: 404.
  EXPECT_EQ(RunRcar(*server_, good, tee_key, "/kbs/v0/resource/radiology/models/nope").status, 404);
}

// Issue 4 "Tests": each wrong thing is denied, and the audit log records why.
TEST_F(ControlPlaneTest, EachDenialHasItsOwnReasonInTheAuditLog) {
  const SimWorkload good;
  SetUpKey("oncology", "scans", SimPolicy(good.measurement), "m1");
  // A key whose policy does not allow simulated TEEs, and one that only allows TDX.
  SetUpKey("oncology", "hw-only", "tee: [sim]\nallow_simulated: false\n", "m1");
  SetUpKey("oncology", "tdx-only", "tee: [tdx]\nallow_simulated: true\n", "m1");
  // Another tenant's key, whose policy names another measurement.
  SetUpKey("billing", "ledger", SimPolicy(Bytes(attest::kSimMeasurementSize, 0x77)), "m1");
  const PrivateKey tee_key = *PrivateKey::Generate(KeyType::kEcP256);
  const std::string resource = "/kbs/v0/resource/oncology/scans/m1";

  struct Case {
    const char* name;
    SimWorkload workload;
    std::string path;
    int want_status;
    std::string audit_action, reason;
  };
  SimWorkload wrong_measurement;
  wrong_measurement.measurement = Bytes(attest::kSimMeasurementSize, 0x43);
  SimWorkload debug;
  debug.debug = true;
  SimWorkload wrong_tee;
  wrong_tee.auth_tee = "tdx";  // sim evidence presented as TDX
  SimWorkload replayed;
  replayed.replay_nonce = true;
  SimWorkload unbound;  // report_data binds one tee-pubkey, the request carries another
  const PrivateKey other_key = *PrivateKey::Generate(KeyType::kEcP256);
  unbound.tamper = [&other_key](json& req) {
    req["runtime-data"]["tee-pubkey"] = *PublicKeyToJwk(other_key.GetPublicKey());
  };
  SimWorkload stale;  // a nonce that is not the session's (as after expiry)
  stale.tamper = [](json& req) { req["runtime-data"]["nonce"] = "c3RhbGUtbm9uY2U"; };

  const std::vector<Case> cases = {
      // No key-release policy on the platform allows these: no EAR token at /attest.
      {"wrong measurement", wrong_measurement, resource, 401, "rcar.attest", "measurement"},
      {"debug", debug, resource, 401, "rcar.attest", "debug"},
      {"simulated not allowed", good, "/kbs/v0/resource/oncology/hw-only/m1", 403,
       "kbs.release_key", "simulated"},
      {"wrong TEE type (policy)", good, "/kbs/v0/resource/oncology/tdx-only/m1", 403,
       "kbs.release_key", "tee"},
      {"wrong TEE type (evidence)", wrong_tee, resource, 401, "rcar.attest", "evidence rejected"},
      {"replayed nonce", replayed, resource, 401, "rcar.attest", "already used"},
      {"stale nonce", stale, resource, 401, "rcar.attest", "not this session's nonce"},
      {"report_data not binding the tee-pubkey", unbound, resource, 401, "rcar.attest",
       "report_data"},
      {"another tenant's key", good, "/kbs/v0/resource/billing/ledger/m1", 403, "kbs.release_key",
       "measurement"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto outcome = RunRcar(*server_, c.workload, tee_key, c.path);
    EXPECT_EQ(outcome.status, c.want_status) << outcome.body.dump();
    EXPECT_EQ(outcome.body["status"], c.want_status);  // RFC 7807 problem
    EXPECT_TRUE(Audited(c.audit_action, "deny", c.reason))
        << "no audited denial naming " << c.reason;
  }

  // An expired EAR token, validly signed by the server's own key (read from its data dir).
  auto ear_key =
      PrivateKey::FromPem(*api::ReadPrivateFile(server_->data_dir() + "/" + api::kEarKeyFileName));
  ASSERT_TRUE(ear_key);
  const int64_t now = UnixNow();
  auto expired = JwtSign(*ear_key, {{"iss", "crypta"}, {"iat", now - 900}, {"exp", now - 600}});
  ASSERT_TRUE(expired);
  auto resp = server_->Client().Get(resource.c_str(), {{"Authorization", "Bearer " + *expired}});
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 401);
  EXPECT_TRUE(Audited("kbs.release_key", "deny", "expired"));
  // An expired or unknown API token on an admin route: 401, audited.
  EXPECT_EQ(Call("GET", "/v1/tenants", "crypta_expired-or-unknown").first, 401);
  EXPECT_FALSE(AuditEntries("manage tenants").empty());

  // The good workload still gets the key: nothing above changed state.
  EXPECT_EQ(RunRcar(*server_, good, tee_key, resource).status, 200);
}

TEST_F(ControlPlaneTest, AdminRoutesNeedAValidTokenOfTheRightTenant) {
  EXPECT_EQ(Call("GET", "/v1/tenants", "").first, 401);
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
  bool cross_denial_logged = false;
  for (const json& e : AuditEntries("manage keys")) {
    if (e["tenant"] == "alpha" && e["outcome"] == "deny") cross_denial_logged = true;
  }
  EXPECT_TRUE(cross_denial_logged);
}

// A sealed model: its blob and metadata go to API tokens that may read the tenant, and to
// attested workloads the key's policy would release to; --tee limits the release.
TEST_F(ControlPlaneTest, AttestedWorkloadsFetchSealedModelsAndTeeListsAreEnforced) {
  const SimWorkload good;
  Call("POST", "/v1/tenants", admin_, R"({"name":"imaging"})");
  ASSERT_EQ(Call("POST", "/v1/tenants/imaging/keys", admin_, R"({"name":"k"})").first, 201);
  ASSERT_EQ(
      Call("PUT", "/v1/tenants/imaging/keys/k/policy", admin_, SimPolicy(good.measurement)).first,
      200);
  // Seal a model the way `crypta model push` does, with `tees`.
  auto push = [&](const std::string& name, const std::string& tees) {
    const SecretBytes dek = *RandomSecret(kDataKeySize);
    const std::string object = name + "@obj";
    auto [status, wrapped] =
        Call("POST", "/v1/tenants/imaging/keys/k/deks", admin_,
             json{{"object_id", object}, {"dek_b64", Base64Encode(dek.Reveal())}}.dump());
    EXPECT_EQ(status, 201);
    const Bytes plaintext = *RandomBytes(5000);
    auto header = NewSealedHeader({"imaging", "k", 1},
                                  *Base64Decode(wrapped["wrapped_b64"].get<std::string>()),
                                  plaintext.size(), 4096);
    const Bytes blob = *SealBuffer(dek, *header, plaintext);
    const std::string digest = HexEncode(Sha256(blob));
    auto [put_status, put] =
        server_->Call("PUT",
                      "/v1/tenants/imaging/models/" + name + "?key=k&object_id=" + object +
                          "&digest=" + digest + (tees.empty() ? "" : "&tees=" + tees),
                      admin_, ToString(blob), "application/octet-stream");
    EXPECT_EQ(put_status, 201) << put.dump();
    return std::make_pair(blob, digest);
  };
  auto [blob, digest] = push("any-tee", "");
  push("tdx-only", "tdx");

  const PrivateKey tee_key = *PrivateKey::Generate(KeyType::kEcP256);
  auto attested = RunRcar(*server_, good, tee_key, "/kbs/v0/resource/imaging/k/any-tee@obj");
  ASSERT_EQ(attested.status, 200) << attested.body.dump();
  auto client = server_->Client();
  auto fetched = client.Get("/v1/tenants/imaging/models/any-tee/blob?digest=" + digest,
                            {{"Authorization", "Bearer " + attested.ear}});
  ASSERT_TRUE(fetched);
  EXPECT_EQ(fetched->status, 200);
  EXPECT_EQ(fetched->body, ToString(blob));
  EXPECT_EQ(fetched->get_header_value("X-Crypta-Digest"), "sha256:" + digest);
  auto meta = client.Get("/v1/tenants/imaging/models/any-tee",
                         {{"Authorization", "Bearer " + attested.ear}});
  ASSERT_TRUE(meta);
  EXPECT_EQ(json::parse(meta->body)["object_id"], "any-tee@obj");

  // A workload another key's policy allows (so it attests) but this key's does not may not
  // even fetch the ciphertext.
  SimWorkload other;
  other.measurement = Bytes(attest::kSimMeasurementSize, 0x55);
  ASSERT_EQ(Call("POST", "/v1/tenants/imaging/keys", admin_, R"({"name":"k-other"})").first, 201);
  ASSERT_EQ(
      Call("PUT", "/v1/tenants/imaging/keys/k-other/policy", admin_, SimPolicy(other.measurement))
          .first,
      200);
  auto other_attested = RunRcar(*server_, other, tee_key, "/kbs/v0/resource/imaging/k/any-tee@obj");
  ASSERT_EQ(other_attested.status, 403);
  auto refused = client.Get("/v1/tenants/imaging/models/any-tee/blob",
                            {{"Authorization", "Bearer " + other_attested.ear}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_TRUE(Audited("model.fetch", "deny", "measurement"));

  // The tdx-only model's key is not released to a sim workload, whatever the policy says.
  auto tee_denied = RunRcar(*server_, good, tee_key, "/kbs/v0/resource/imaging/k/tdx-only@obj");
  EXPECT_EQ(tee_denied.status, 403);
  EXPECT_THAT(tee_denied.body["detail"].get<std::string>(), HasSubstr("only released to TEEs"));
  EXPECT_TRUE(Audited("kbs.release_key", "deny", "only released to TEEs [\"tdx\"]"));
}

TEST_F(ControlPlaneTest, AttestationServiceIssuesEarTokensVerifiableWithTheJwks) {
  auto node_key =
      PrivateKey::FromPem(*api::ReadPrivateFile(server_->data_dir() + "/sim/node.key.pem"));
  auto chain =
      Certificate::ParsePemBundle(*api::ReadPublicFile(server_->data_dir() + "/sim/node.pem"));
  ASSERT_TRUE(node_key && chain);
  attest::SimNodeIdentity node{api::kSimNodeId, *node_key, *chain};
  const json runtime_data = {{"nonce", "abc"}, {"workload", "w"}};
  attest::SimLaunch launch{Bytes(48, 1), Bytes(32, 2), false, 1};
  auto evidence =
      attest::SignSimReport(node, launch, *kbs::RcarReportData(runtime_data), UnixNow());
  ASSERT_TRUE(evidence);
  json req = {{"tee", "sim"}, {"evidence", ToString(*evidence)}, {"runtime_data", runtime_data}};
  auto [status, body] = Call("POST", "/v1/attestation/verify", "", req.dump());
  ASSERT_EQ(status, 200) << body.dump();
  auto [jwks_status, jwks_json] = Call("GET", "/.well-known/jwks.json", "");
  ASSERT_EQ(jwks_status, 200);
  auto jwks = Jwks::Parse(jwks_json);
  ASSERT_TRUE(jwks);
  JwtVerifyOptions options;
  options.jws.allowed_algs = {JwsAlg::kEs256};
  options.now_unix_s = UnixNow();
  auto claims = JwtVerifyWithJwks(body["token"].get<std::string>(), *jwks, options);
  ASSERT_TRUE(claims) << claims.error().ToString();
  EXPECT_EQ((*claims)["eat_profile"], attest::kEarProfile);
  // No policy on the platform allows measurement 01…: the result says so, and is audited.
  EXPECT_EQ(body["status"], "contraindicated");
  EXPECT_EQ((*claims)["submods"]["cpu0"]["ear.status"], "contraindicated");
  EXPECT_TRUE(Audited("attestation.verify", "deny", "contraindicated"));
  // Without runtime_data or report_data there is no freshness: refused, naming it.
  auto [stale_status, stale] = Call("POST", "/v1/attestation/verify", "",
                                    json{{"tee", "sim"}, {"evidence", ToString(*evidence)}}.dump());
  EXPECT_EQ(stale_status, 400);
  EXPECT_THAT(stale["detail"].get<std::string>(), HasSubstr("freshness"));

  // Evidence over other runtime data is refused (report_data binding), and audited.
  req["runtime_data"]["nonce"] = "abd";
  auto [bad_status, problem] = Call("POST", "/v1/attestation/verify", "", req.dump());
  EXPECT_EQ(bad_status, 401);
  EXPECT_THAT(problem["detail"].get<std::string>(), HasSubstr("report_data"));
  EXPECT_TRUE(Audited("attestation.verify", "deny", "report_data"));
  EXPECT_EQ(Call("POST", "/v1/attestation/verify", "", R"({"tee":"quantum"})").first, 400);
}

// RFC 9162 proofs from the API check against the signed checkpoint and the entries.
TEST_F(ControlPlaneTest, AuditCheckpointAndProofsVerify) {
  Call("POST", "/v1/tenants", admin_, R"({"name":"audited"})");
  auto [cp_status, cp] = Call("GET", "/v1/audit/checkpoint", admin_);
  ASSERT_EQ(cp_status, 200) << cp.dump();
  const uint64_t size = cp["tree_size"];
  const Bytes root = *Base64Decode(cp["root_hash"].get<std::string>());
  ASSERT_GE(size, 2u);
  // The checkpoint is signed by the key in the JWKS.
  auto [jwks_status, jwks_json] = Call("GET", "/.well-known/jwks.json", "");
  auto jwk = ParsePublicJwk(jwks_json["keys"][0]);
  ASSERT_TRUE(jwk);
  EXPECT_TRUE(EcdsaVerify(jwk->key, HashAlg::kSha256, AsBytes(cp["text"].get<std::string>()),
                          *Base64Decode(cp["signature"].get<std::string>())));

  auto [tail_status, tail] = Call("GET", "/v1/audit?tail=10000", admin_);
  ASSERT_EQ(tail_status, 200);
  int checked = 0;
  for (const json& e : tail["entries"]) {
    const uint64_t seq = e["seq"];
    if (seq >= size) continue;
    // The leaf hash is what the entry's fields hash to, and it is in the signed tree.
    audit::StoredEntry stored{seq,         e["time"],           e["actor"],
                              e["tenant"], e["action"],         e["outcome"],
                              e["reason"], e["details"].dump(), {}};
    const Bytes leaf = audit::LeafHash(AsBytes(*audit::EntryLeafData(stored)));
    EXPECT_EQ(Base64Encode(leaf), e["leaf_hash"]);
    auto [status, proof] = Call("GET",
                                "/v1/audit/proof/inclusion?seq=" + std::to_string(seq) +
                                    "&tree_size=" + std::to_string(size),
                                admin_);
    ASSERT_EQ(status, 200);
    std::vector<Bytes> path;
    for (const auto& node : proof["path"]) path.push_back(*Base64Decode(node.get<std::string>()));
    EXPECT_TRUE(audit::VerifyInclusion(leaf, seq, size, path, root)) << "entry " << seq;
    if (++checked == 5) break;
  }
  EXPECT_EQ(checked, 5);

  // Consistency from an older checkpoint size to the current one.
  Call("POST", "/v1/tenants", admin_, R"({"name":"audited2"})");
  auto [cp2_status, cp2] = Call("GET", "/v1/audit/checkpoint", admin_);
  const uint64_t size2 = cp2["tree_size"];
  auto [cons_status, cons] = Call("GET",
                                  "/v1/audit/proof/consistency?old_size=" + std::to_string(size) +
                                      "&new_size=" + std::to_string(size2),
                                  admin_);
  ASSERT_EQ(cons_status, 200);
  std::vector<Bytes> path;
  for (const auto& node : cons["path"]) path.push_back(*Base64Decode(node.get<std::string>()));
  EXPECT_TRUE(audit::VerifyConsistency(size, size2, root,
                                       *Base64Decode(cp2["root_hash"].get<std::string>()), path));
  EXPECT_EQ(Call("GET", "/v1/audit/proof/inclusion?seq=x&tree_size=1", admin_).first, 400);
  // An entry past the tree, or a tree past the log: the caller's mistake, named.
  auto [past_status, past] = Call("GET",
                                  "/v1/audit/proof/inclusion?seq=" + std::to_string(size) +
                                      "&tree_size=" + std::to_string(size),
                                  admin_);
  EXPECT_EQ(past_status, 400);
  EXPECT_THAT(past["detail"].get<std::string>(), HasSubstr("inclusion proof for leaf"));
  EXPECT_EQ(Call("GET", "/v1/audit/checkpoint", "").first, 401);
}

// EAR signing-key rotation: new tokens carry the new kid, both keys are in the JWKS during
// the overlap, and a token signed before the rotation keeps working until it expires.
TEST_F(ControlPlaneTest, EarKeyRotationKeepsTheOldKeyDuringTheOverlap) {
  const SimWorkload good;
  SetUpKey("rotation", "k", SimPolicy(good.measurement), "obj");
  const PrivateKey tee_key = *PrivateKey::Generate(KeyType::kEcP256);
  auto before = RunRcar(*server_, good, tee_key, "/kbs/v0/resource/rotation/k/obj");
  ASSERT_EQ(before.status, 200);
  auto [tadmin_status, tadmin] =
      Call("POST", "/v1/tenants/rotation/tokens", admin_, R"({"role":"tenant-admin"})");
  ASSERT_EQ(tadmin_status, 201);
  EXPECT_EQ(Call("POST", "/v1/attestation/keys/rotate", tadmin["token"], "{}").first, 403);
  auto [status, rotated] = Call("POST", "/v1/attestation/keys/rotate", admin_, "{}");
  ASSERT_EQ(status, 200) << rotated.dump();
  EXPECT_NE(rotated["kid"], rotated["previous_kid"]);

  auto [jwks_status, jwks_json] = Call("GET", "/.well-known/jwks.json", "");
  ASSERT_EQ(jwks_status, 200);
  ASSERT_GE(jwks_json["keys"].size(), 2u);
  EXPECT_EQ(jwks_json["keys"][0]["kid"], rotated["kid"]);
  auto jwks = *Jwks::Parse(jwks_json);
  JwtVerifyOptions options;
  options.jws.allowed_algs = {JwsAlg::kEs256};
  options.now_unix_s = UnixNow();
  EXPECT_TRUE(JwtVerifyWithJwks(before.ear, jwks, options)) << "pre-rotation token";
  auto after = RunRcar(*server_, good, tee_key, "/kbs/v0/resource/rotation/k/obj");
  ASSERT_EQ(after.status, 200);
  EXPECT_TRUE(JwtVerifyWithJwks(after.ear, jwks, options));
  EXPECT_NE(after.ear.substr(0, after.ear.find('.')), before.ear.substr(0, before.ear.find('.')));
  // The pre-rotation token still fetches resources while its session and expiry last.
  auto reuse = server_->Client().Get("/kbs/v0/resource/rotation/k/obj",
                                     {{"Authorization", "Bearer " + before.ear}});
  ASSERT_TRUE(reuse);
  EXPECT_EQ(reuse->status, 200);
  EXPECT_TRUE(Audited("attestation.rotate_key", "allow", "rotated"));
}

// Issue 7: an attested workload whose runtime-data binds its CSR's key gets a SPIFFE SVID
// that verifies against the trust bundle; another key, or a revoked workload, gets none.
TEST_F(ControlPlaneTest, AttestedWorkloadsGetSvidsBoundToTheirCsr) {
  SimWorkload good;
  SetUpKey("identity", "k", SimPolicy(good.measurement), "obj");
  const PrivateKey svid_key = *PrivateKey::Generate(KeyType::kEcP256);
  const Bytes csr = *pki::CreateCsr(svid_key, "inference");
  const std::string csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\n" + Base64Encode(csr) +
                              "\n-----END CERTIFICATE REQUEST-----\n";
  good.extra_runtime_data = {{"svid-spki-sha256", HexEncode(*pki::CsrPublicKeyHash(csr))}};
  const PrivateKey tee_key = *PrivateKey::Generate(KeyType::kEcP256);
  auto attested = RunRcar(*server_, good, tee_key, "/kbs/v0/resource/identity/k/obj");
  ASSERT_EQ(attested.status, 200);
  auto request = [&](const std::string& csr_text, const std::string& workload) {
    json body = {{"csr", csr_text},
                 {"tenant", "identity"},
                 {"workload", workload},
                 {"key", "k"},
                 {"runtime_data", attested.runtime_data}};
    auto r = server_->Client().Post("/v1/pki/svid", {{"Authorization", "Bearer " + attested.ear}},
                                    body.dump(), "application/json");
    return std::make_pair(r ? r->status : 0, r ? json::parse(r->body, nullptr, false) : json());
  };
  auto [status, svid] = request(csr_pem, "inference");
  ASSERT_EQ(status, 201) << svid.dump();
  EXPECT_EQ(svid["spiffe_id"], "spiffe://crypta.local/tenant/identity/workload/inference");
  auto bundle = server_->Client().Get("/v1/pki/bundle");
  ASSERT_TRUE(bundle);
  EXPECT_EQ(bundle->body, svid["bundle"]);
  pki::VerifyExpectations expect;
  expect.trust_domain = "crypta.local";
  expect.allowed_ids = {"spiffe://crypta.local/tenant/identity/workload/*"};
  expect.now = UnixNow();
  auto verified =
      pki::VerifySvidEncoded(AsBytes(svid["chain"].get<std::string>()), bundle->body, {}, expect);
  ASSERT_TRUE(verified) << verified.error().ToString();

  // A CSR for another key than the one the evidence bound: refused, audited.
  const Bytes other_csr = *pki::CreateCsr(*PrivateKey::Generate(KeyType::kEcP256), "x");
  const std::string other_pem = "-----BEGIN CERTIFICATE REQUEST-----\n" + Base64Encode(other_csr) +
                                "\n-----END CERTIFICATE REQUEST-----\n";
  auto [other_status, other] = request(other_pem, "inference");
  EXPECT_EQ(other_status, 403) << other.dump();
  EXPECT_TRUE(Audited("pki.issue_svid", "deny", "svid-spki-sha256"));

  // Revoked: no more SVIDs for that workload, and the issued one is on the CRL.
  ASSERT_EQ(Call("POST", "/v1/tenants/identity/workloads/inference/revoke", admin_, "{}").first,
            200);
  auto [revoked_status, revoked] = request(csr_pem, "inference");
  EXPECT_EQ(revoked_status, 403) << revoked.dump();
  auto crl = server_->Client().Get("/v1/pki/crl");
  ASSERT_TRUE(crl);
  const Bytes crl_der(crl->body.begin(), crl->body.end());
  // The CRL was issued after `expect.now` was taken (its thisUpdate may be a second later).
  expect.now = UnixNow();
  auto after = pki::VerifySvidEncoded(AsBytes(svid["chain"].get<std::string>()), bundle->body,
                                      std::vector<Bytes>{crl_der}, expect);
  ASSERT_FALSE(after);
  EXPECT_THAT(after.error().message(), HasSubstr("revoked"));
  // /v1/pki/crls: one CRL per live generation, base64 DER; the current one revokes it too.
  auto [crls_status, crls] = Call("GET", "/v1/pki/crls", "");
  ASSERT_EQ(crls_status, 200);
  ASSERT_GE(crls["crls"].size(), 1u);
  std::vector<Bytes> all;
  for (const auto& c : crls["crls"]) all.push_back(*Base64Decode(c.get<std::string>()));
  auto listed =
      pki::VerifySvidEncoded(AsBytes(svid["chain"].get<std::string>()), bundle->body, all, expect);
  ASSERT_FALSE(listed);
  EXPECT_THAT(listed.error().message(), HasSubstr("revoked"));
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
