// Issue 15: several `crypta up` replicas on one PostgreSQL store (the ctest fixture's server;
// CRYPTA_TEST_PG_STATE). Replica B starts from a copy of replica A's data dir, as docs/ha.md
// says. Covered: state made through one replica is used through the other, RCAR sessions
// cross replicas (and nonces stay single-use across them), scheduled work moves to another
// replica when the leader dies and a scheduled rotation happens once, kill -9 of a replica
// under load loses no acknowledged release and leaves an audit log that verifies, a replica
// that loses its store answers 503, and a replica with another root key is refused.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "audit/log.h"
#include "control_plane_harness.h"
#include "crypto/hash.h"
#include "crypto/jwk.h"
#include "crypto/random.h"
#include "crypto/sealed_blob.h"

namespace crypta {
namespace {

using nlohmann::json;
using testing::RunRcar;
using testing::ServerProcess;
using testing::SimWorkload;
namespace fs = std::filesystem;

constexpr char kTenant[] = "cardiology";
constexpr char kKey[] = "models";

// A copy of a replica's data dir for another replica: everything but the lock, the url and
// the local blob cache.
void CopyDataDir(const std::string& from, const std::string& to) {
  fs::copy(from, to, fs::copy_options::recursive);
  for (const char* name : {"lock", "url"}) fs::remove(to + "/" + name);
  fs::remove_all(to + "/blobs");
}

int RunCli(const std::vector<std::string>& args, std::string* out) {
  std::string cmd = std::getenv("CRYPTA_BIN");
  for (const std::string& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  out->clear();
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

json AuditTail(const ServerProcess& server, int n = 1000) {
  return server.Call("GET", "/v1/audit?tail=" + std::to_string(n), server.admin_token())
      .second["entries"];
}

// Entries of `action` that allowed it (by `actor`, when given).
int CountAudit(const json& entries, const std::string& action, const std::string& actor = "") {
  int count = 0;
  for (const auto& e : entries) {
    count +=
        e["action"] == action && e["outcome"] == "allow" && (actor.empty() || e["actor"] == actor);
  }
  return count;
}

class HaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(std::getenv("CRYPTA_TEST_PG_STATE"), nullptr)
        << "run through ctest: the PostgreSQL fixture sets CRYPTA_TEST_PG_STATE";
    a_ = std::make_unique<ServerProcess>(dir_.path() + "/a", false, Args());
    std::string why;
    ASSERT_TRUE(a_->Start(&why)) << why;
    ASSERT_TRUE(fs::exists(dir_.path() + "/a/store.url")) << "replica A is not on PostgreSQL";
    CopyDataDir(dir_.path() + "/a", dir_.path() + "/b");
    b_ = std::make_unique<ServerProcess>(dir_.path() + "/b", false, Args());
    ASSERT_TRUE(b_->Start(&why)) << why;
  }
  static std::vector<std::string> Args() { return {"--maintenance-interval", "1"}; }
  // Waits until `server`'s /readyz says it leads the scheduled work.
  static bool WaitLeader(const ServerProcess& server, int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      auto [status, body] = server.Call("GET", "/readyz", "");
      if (status == 200 && body["leader"] == true) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  testing::TempDir dir_;
  std::unique_ptr<ServerProcess> a_, b_;
};

TEST_F(HaTest, TwoReplicasServeOneStateAndRcarSessionsCrossThem) {
  const SimWorkload good;
  // Tenant, key, policy and a wrapped DEK made through A…
  const Bytes dek =
      testing::SetUpKey(*a_, kTenant, kKey, testing::SimPolicy(good.measurement), "scan");
  // …are B's too (B's admin token is the same one: the data dir was copied).
  auto [tenants_status, tenants] = b_->Call("GET", "/v1/tenants", b_->admin_token());
  ASSERT_EQ(tenants_status, 200);
  EXPECT_NE(tenants.dump().find(kTenant), std::string::npos) << tenants.dump();

  // RCAR: /auth on A, /attest and /resource on B; the other way round too.
  const PrivateKey tee_key = *PrivateKey::Generate(KeyType::kEcP256);
  const std::string resource = std::string("/kbs/v0/resource/") + kTenant + "/" + kKey + "/scan";
  auto ab = RunRcar(*a_, good, tee_key, resource, b_.get());
  ASSERT_EQ(ab.status, 200) << ab.body.dump();
  auto ba = RunRcar(*b_, good, tee_key, resource, a_.get());
  ASSERT_EQ(ba.status, 200) << ba.body.dump();
  // The EAR token B issued opens the resource on A as well (the session is in the store).
  auto client = a_->Client();
  auto again = client.Get(resource.c_str(), {{"Authorization", "Bearer " + ab.ear}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;

  // Someone with write access to the database re-aims a stored attested session at their own
  // key: the replica that loads the session checks the evidence against what it binds and
  // releases nothing.
  {
    auto fresh = RunRcar(*a_, good, tee_key, resource);  // attested on A only
    ASSERT_EQ(fresh.status, 200);
    auto store = a_->OpenStore();
    ASSERT_TRUE(store) << store.error().ToString();
    const PrivateKey thief = *PrivateKey::Generate(KeyType::kEcP256);
    auto read = (*store)->Prepare("SELECT id, binding FROM rcar_sessions WHERE token_sha256 = ?");
    ASSERT_TRUE(read && read->Bind(1, HexEncode(Sha256(AsBytes(fresh.ear)))) && *read->Step());
    json binding = json::parse(read->ColumnText(1));
    binding["tee-pubkey"] = *PublicKeyToJwk(thief.GetPublicKey());
    auto write = (*store)->Prepare("UPDATE rcar_sessions SET binding = ? WHERE id = ?");
    ASSERT_TRUE(write && write->Bind(1, binding.dump()) && write->Bind(2, read->ColumnText(0)) &&
                write->Run());
    auto stolen = b_->Client().Get(resource.c_str(), {{"Authorization", "Bearer " + fresh.ear}});
    ASSERT_TRUE(stolen);
    EXPECT_EQ(stolen->status, 401) << stolen->body;
    EXPECT_EQ(stolen->body.find("ciphertext"), std::string::npos);
  }

  // A nonce consumed on one replica is consumed on all: replaying the attest on the other
  // one (which also saw the session) is refused.
  SimWorkload replay = good;
  replay.replay_nonce = true;
  auto replayed = RunRcar(*a_, replay, tee_key, resource, b_.get());
  EXPECT_EQ(replayed.status, 401) << replayed.body.dump();

  // A model pushed through A is listed and downloaded through B (the blob lives in the store).
  const std::string blob_text(3000000, 'm');  // several 1 MiB chunks in the store
  auto wrapped = a_->Call("POST", std::string("/v1/tenants/") + kTenant + "/keys/" + kKey + "/deks",
                          a_->admin_token(),
                          json{{"object_id", "m@1"}, {"dek_b64", Base64Encode(dek)}}.dump());
  ASSERT_EQ(wrapped.first, 201);
  // The server checks the sealed header (it names this tenant's key), so seal for real.
  auto header = NewSealedHeader({kTenant, kKey, wrapped.second["kek_version"].get<uint32_t>()},
                                *Base64Decode(wrapped.second["wrapped_b64"].get<std::string>()),
                                blob_text.size(), 64 * 1024);
  ASSERT_TRUE(header);
  const Bytes sealed = *SealBuffer(SecretBytes(dek), *header, AsBytes(blob_text));
  const std::string sealed_digest = HexEncode(Sha256(sealed));
  const std::string base = std::string("/v1/tenants/") + kTenant + "/models/scanner?key=" + kKey +
                           "&object_id=m@1&digest=" + sealed_digest;
  constexpr size_t kPiece = 512 * 1024;  // below the server's 1 MiB body cap
  for (size_t offset = 0; offset < sealed.size(); offset += kPiece) {
    const size_t n = std::min(kPiece, sealed.size() - offset);
    const bool last = offset + n == sealed.size();
    auto [status, reply] = a_->Call(
        "PUT", base + "&offset=" + std::to_string(offset) + (last ? "&final=1" : ""),
        a_->admin_token(), std::string(sealed.begin() + offset, sealed.begin() + offset + n),
        "application/octet-stream");
    ASSERT_EQ(status, last ? 201 : 202) << reply.dump();
  }
  auto blob =
      b_->Client().Get((std::string("/v1/tenants/") + kTenant + "/models/scanner/blob").c_str(),
                       {{"Authorization", "Bearer " + b_->admin_token()}});
  ASSERT_TRUE(blob);
  ASSERT_EQ(blob->status, 200) << blob->body;
  EXPECT_EQ(HexEncode(Sha256(AsBytes(blob->body))), sealed_digest);
  EXPECT_TRUE(fs::exists(dir_.path() + "/b/blobs/sha256/" + sealed_digest.substr(0, 2) + "/" +
                         sealed_digest))
      << "B serves the blob from its cache, fetched from the store";

  // One audit log: both replicas' entries in one order, verified offline against the store.
  const json entries = AuditTail(*b_);
  EXPECT_EQ(CountAudit(entries, "kbs.release_key"), 4)
      << "A→B, B→A, the token on A and the session attested on A (not the re-aimed one)";
  std::string out;
  EXPECT_EQ(RunCli({"audit", "verify", "--data-dir", dir_.path() + "/b"}, &out), 0) << out;
  EXPECT_NE(out.find("audit log verified"), std::string::npos) << out;
  EXPECT_EQ(RunCli({"store", "check", "--data-dir", dir_.path() + "/a"}, &out), 0) << out;
}

// The EAR signing key lives in the store: rotated through A, A's new tokens open resources
// on B at once, and B signs with the new key and publishes it too.
TEST_F(HaTest, AnEarKeyRotatedThroughOneReplicaIsUsedByAll) {
  const SimWorkload good;
  testing::SetUpKey(*a_, kTenant, kKey, testing::SimPolicy(good.measurement), "scan");
  auto [status, rotated] = a_->Call("POST", "/v1/attestation/keys/rotate", a_->admin_token(), "{}");
  ASSERT_EQ(status, 200) << rotated.dump();
  const PrivateKey tee_key = *PrivateKey::Generate(KeyType::kEcP256);
  const std::string resource = std::string("/kbs/v0/resource/") + kTenant + "/" + kKey + "/scan";
  auto on_a = RunRcar(*a_, good, tee_key, resource);
  ASSERT_EQ(on_a.status, 200) << on_a.body.dump();
  auto client = b_->Client();
  auto on_b = client.Get(resource.c_str(), {{"Authorization", "Bearer " + on_a.ear}});
  ASSERT_TRUE(on_b);
  EXPECT_EQ(on_b->status, 200) << "B does not accept A's token signed with the new key: "
                               << on_b->body;
  auto [jwks_status, jwks] = b_->Call("GET", "/.well-known/jwks.json", "");
  ASSERT_EQ(jwks_status, 200);
  EXPECT_EQ(jwks["keys"][0]["kid"], rotated["kid"]) << jwks.dump();
  // A second rotation through B retires A's new key everywhere.
  auto [status2, rotated2] =
      b_->Call("POST", "/v1/attestation/keys/rotate", b_->admin_token(), "{}");
  ASSERT_EQ(status2, 200) << rotated2.dump();
  EXPECT_EQ(rotated2["previous_kid"], rotated["kid"]);
  std::string out;
  EXPECT_EQ(RunCli({"audit", "verify", "--data-dir", dir_.path() + "/a"}, &out), 0) << out;
}

TEST_F(HaTest, ScheduledWorkMovesToAnotherReplicaWhenTheLeaderDiesAndRunsOnce) {
  ASSERT_TRUE(WaitLeader(*a_, 10) || WaitLeader(*b_, 10)) << "no replica leads";
  ServerProcess* leader = WaitLeader(*a_, 1) ? a_.get() : b_.get();
  ServerProcess* other = leader == a_.get() ? b_.get() : a_.get();
  EXPECT_FALSE(WaitLeader(*other, 2)) << "two leaders";

  // A key with a 1-day rotation, made due by moving its last rotation back (as time would).
  a_->Call("POST", "/v1/tenants", a_->admin_token(), json{{"name", kTenant}}.dump());
  ASSERT_EQ(a_->Call("POST", std::string("/v1/tenants/") + kTenant + "/keys", a_->admin_token(),
                     json{{"name", kKey}, {"rotate_days", 1}}.dump())
                .first,
            201);
  auto store = a_->OpenStore();
  ASSERT_TRUE(store) << store.error().ToString();
  auto make_due = [&] {
    auto stmt = (*store)->Prepare("UPDATE keks SET last_rotated = last_rotated - 2 * 86400");
    ASSERT_TRUE(stmt && stmt->Run());
  };
  auto version = [&] {
    auto stmt = (*store)->Prepare("SELECT current_version FROM keks");
    EXPECT_TRUE(stmt && *stmt->Step());
    return stmt ? stmt->ColumnInt(0) : -1;
  };
  auto wait_version = [&](int64_t want) {
    for (int i = 0; i < 100 && version() < want; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return version();
  };
  make_due();
  EXPECT_EQ(wait_version(2), 2);
  std::this_thread::sleep_for(std::chrono::seconds(3));  // both replicas' schedulers ran since
  EXPECT_EQ(version(), 2) << "rotated more than once";

  // The leader dies; the other replica takes the scheduled work over within seconds.
  leader->Kill(SIGKILL);
  ASSERT_TRUE(WaitLeader(*other, 15)) << "no takeover";
  make_due();
  EXPECT_EQ(wait_version(3), 3);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(version(), 3);
  EXPECT_EQ(CountAudit(AuditTail(*other), "key.rotate", "scheduler"), 2);
}

// 2 replicas behind a client that retries the other replica on a connection error; one is
// killed with SIGKILL during the run. Every acknowledged release is audited, releases are
// never audited more often than attempted, and the log verifies.
TEST_F(HaTest, KillNineOfAReplicaUnderLoadLosesNothingAcknowledged) {
  const SimWorkload good;
  testing::SetUpKey(*a_, kTenant, kKey, testing::SimPolicy(good.measurement), "scan");
  const std::string resource = std::string("/kbs/v0/resource/") + kTenant + "/" + kKey + "/scan";
  const char* seconds_env = std::getenv("CRYPTA_HA_LOAD_SECONDS");
  const int seconds = seconds_env ? std::atoi(seconds_env) : 60;
  std::atomic<bool> a_alive{true}, stop{false};
  std::atomic<int> acknowledged{0}, attempted{0}, failed{0};
  auto worker = [&](int id) {
    const PrivateKey tee_key = *PrivateKey::Generate(KeyType::kEcP256);
    for (int i = 0; !stop.load(); ++i) {
      // Alternate replicas; fall back to B when A is gone (a connection error).
      const bool use_a = a_alive.load() && (i + id) % 2 == 0;
      const ServerProcess& first = use_a ? *a_ : *b_;
      ++attempted;
      auto out = RunRcar(first, good, tee_key, resource);
      if (out.status == 0 && use_a) {
        ++attempted;
        out = RunRcar(*b_, good, tee_key, resource);
      }
      if (out.status == 200 && out.body.contains("ciphertext")) {
        ++acknowledged;
      } else if (out.status != 0) {
        ++failed;
        ADD_FAILURE() << "status " << out.status << ": " << out.body.dump();
      }
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i) workers.emplace_back(worker, i);
  std::this_thread::sleep_for(std::chrono::seconds(seconds / 2));
  a_alive = false;
  a_->Kill(SIGKILL);
  std::this_thread::sleep_for(std::chrono::seconds(seconds - seconds / 2));
  stop = true;
  for (auto& w : workers) w.join();
  EXPECT_GT(acknowledged.load(), 10);
  EXPECT_EQ(failed.load(), 0);

  auto store = b_->OpenStore();
  ASSERT_TRUE(store) << store.error().ToString();
  auto count = (*store)->Prepare(
      "SELECT COUNT(*) FROM audit_entries WHERE action = 'kbs.release_key' AND "
      "outcome = 'allow'");
  ASSERT_TRUE(count && *count->Step());
  const int audited = static_cast<int>(count->ColumnInt(0));
  EXPECT_GE(audited, acknowledged.load()) << "an acknowledged release is not in the audit log";
  EXPECT_LE(audited, attempted.load()) << "a release audited twice";
  std::string out;
  EXPECT_EQ(RunCli({"audit", "verify", "--data-dir", dir_.path() + "/b"}, &out), 0) << out;
  std::printf("releases: %d acknowledged, %d audited, %d attempted\n", acknowledged.load(), audited,
              attempted.load());
}

TEST_F(HaTest, AReplicaStartedWithAnotherRootKeyIsRefused) {
  testing::TempDir other;
  const std::string dir = other.path() + "/c";
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
  fs::copy_file(dir_.path() + "/a/store.url", dir + "/store.url");
  std::string out;
  EXPECT_EQ(RunCli({"up", "--listen", "127.0.0.1:0", "--insecure-http", "--data-dir", dir}, &out),
            1);
  EXPECT_NE(out.find("was created with another root key"), std::string::npos) << out;
}

// A replica whose store goes away answers 503 (readiness and key release) instead of
// deciding from stale state, and serves again when the store is back.
TEST(HaStoreOutage, AReplicaThatLosesItsStoreAnswers503) {
  const char* script = std::getenv("CRYPTA_PG_SERVER");
  ASSERT_NE(script, nullptr) << "CRYPTA_PG_SERVER must name tests/pg/pg_server.sh";
  testing::TempDir dir;
  const std::string state = dir.path() + "/pg";
  const std::string pg = std::string(script) + " ";
  ASSERT_EQ(std::system((pg + "start " + state + " >/dev/null").c_str()), 0);
  struct StopServer {  // also when an assertion ends the test early
    std::string command;
    ~StopServer() { (void)std::system(command.c_str()); }
  } stop_server{pg + "stop " + state + " >/dev/null"};
  std::string admin;
  {
    auto url = api::ReadPublicFile(state + "/admin_url");
    ASSERT_TRUE(url);
    admin = url->substr(0, url->find('\n'));
  }
  ServerProcess server(dir.path() + "/data", false, {"--store", admin});
  std::string why;
  ASSERT_TRUE(server.Start(&why)) << why;
  const SimWorkload good;
  testing::SetUpKey(server, kTenant, kKey, testing::SimPolicy(good.measurement), "scan");
  EXPECT_EQ(server.Call("GET", "/readyz", "").first, 200);

  ASSERT_EQ(std::system((pg + "pause " + state).c_str()), 0);
  auto [ready, body] = server.Call("GET", "/readyz", "");
  EXPECT_EQ(ready, 503) << body.dump();
  const PrivateKey tee_key = *PrivateKey::Generate(KeyType::kEcP256);
  const std::string resource = std::string("/kbs/v0/resource/") + kTenant + "/" + kKey + "/scan";
  auto denied = RunRcar(server, good, tee_key, resource);
  EXPECT_EQ(denied.status, 503) << denied.body.dump();
  EXPECT_FALSE(denied.body.contains("ciphertext"));

  ASSERT_EQ(std::system((pg + "resume " + state).c_str()), 0);
  bool back = false;
  for (int i = 0; i < 50 && !back; ++i) {
    back = server.Call("GET", "/readyz", "").first == 200;
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(back) << "the replica did not reconnect";
  auto released = RunRcar(server, good, tee_key, resource);
  EXPECT_EQ(released.status, 200) << released.body.dump();
  server.Kill(SIGKILL);
}

}  // namespace
}  // namespace crypta
