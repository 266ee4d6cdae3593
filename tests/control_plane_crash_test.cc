// Issue 4 "Bad input and faults": `crypta up` is killed with SIGKILL at random moments while
// clients push models (in several upload pieces), rotate the KEK and have DEKs released
// through RCAR. Afterwards, on a restarted server, everything a client saw committed is
// intact: every pushed model's DEK is released through RCAR and opens its sealed blob,
// every listed model has its blob, the KEK has at least every acknowledged rotation, every
// acknowledged push is in the audit log, and `crypta audit verify` passes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/constant_time.h"
#include "control_plane_harness.h"
#include "crypto/hash.h"
#include "crypto/jwe.h"
#include "crypto/random.h"
#include "crypto/sealed_blob.h"

namespace crypta {
namespace {

using nlohmann::json;
using testing::RunRcar;
using testing::ServerProcess;
using testing::SimWorkload;

constexpr char kTenant[] = "radiology";
constexpr char kKey[] = "models";
constexpr size_t kPiece = 512 * 1024;  // below the server's 1 MiB body cap

struct Pushed {
  std::string name, object_id, digest;
  SecretBytes dek;
  Bytes plaintext;
};

// Pushes one model as `crypta model push` does (DEK wrapped by the broker, sealed here, PUT
// in ordered pieces). Returns false when any step fails (e.g. the server was killed).
bool PushModel(const ServerProcess& server, const std::string& name, std::mt19937& rng,
               Pushed* out) {
  out->name = name;
  out->object_id = name + "@obj";
  out->dek = *RandomSecret(kDataKeySize);
  auto [wrap_status, wrapped] = server.Call(
      "POST", std::string("/v1/tenants/") + kTenant + "/keys/" + kKey + "/deks",
      server.admin_token(),
      json{{"object_id", out->object_id}, {"dek_b64", Base64Encode(out->dek.Reveal())}}.dump());
  if (wrap_status != 201) return false;
  out->plaintext = *RandomBytes(1000000 + rng() % 600000);
  auto header = NewSealedHeader({kTenant, kKey, wrapped["kek_version"].get<uint32_t>()},
                                *Base64Decode(wrapped["wrapped_b64"].get<std::string>()),
                                out->plaintext.size(), 256 * 1024);
  if (!header) return false;
  const Bytes blob = *SealBuffer(out->dek, *header, out->plaintext);
  out->digest = HexEncode(Sha256(blob));
  const std::string base = std::string("/v1/tenants/") + kTenant + "/models/" + name +
                           "?key=" + kKey + "&object_id=" + out->object_id +
                           "&digest=" + out->digest;
  for (size_t offset = 0; offset < blob.size(); offset += kPiece) {
    const size_t n = std::min(kPiece, blob.size() - offset);
    const bool last = offset + n == blob.size();
    auto [status, reply] = server.Call(
        "PUT", base + "&offset=" + std::to_string(offset) + (last ? "&final=1" : ""),
        server.admin_token(), std::string(blob.begin() + offset, blob.begin() + offset + n),
        "application/octet-stream");
    if (status != (last ? 201 : 202)) return false;
  }
  return true;
}

TEST(ControlPlaneCrashTest, KillNineDuringPushesRotationsAndReleasesLosesNothingCommitted) {
  testing::TempDir dir;
  const std::string data = dir.path() + "/data";
  const SimWorkload workload;
  const unsigned seed =
      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));

  {
    ServerProcess server(data);
    std::string why;
    ASSERT_TRUE(server.Start(&why)) << why;
    const std::string& admin = server.admin_token();
    ASSERT_EQ(server.Call("POST", "/v1/tenants", admin, R"({"name":"radiology"})").first, 201);
    ASSERT_EQ(
        server.Call("POST", "/v1/tenants/radiology/keys", admin, R"({"name":"models"})").first,
        201);
    const std::string policy = "tee: [sim]\nallow_simulated: true\nmeasurements: [" +
                               HexEncode(workload.measurement) + "]\n";
    ASSERT_EQ(
        server.Call("PUT", "/v1/tenants/radiology/keys/models/policy", admin, policy, "text/plain")
            .first,
        200);
    ASSERT_TRUE(server.Stop());
  }

  std::mutex mu;
  std::vector<Pushed> committed;  // pushes the server acknowledged (201)
  int acknowledged_rotations = 0;
  int wrong_releases = 0;  // a 200 release whose DEK was not the pushed one
  constexpr int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    ServerProcess server(data);
    std::string why;
    ASSERT_TRUE(server.Start(&why)) << "round " << round << ": " << why;
    std::atomic<bool> stop{false};
    std::thread pusher([&, round] {
      std::mt19937 local(seed + round);
      for (int i = 0; !stop; ++i) {
        Pushed p;
        if (!PushModel(server, "m" + std::to_string(round) + "-" + std::to_string(i), local, &p)) {
          return;
        }
        std::lock_guard<std::mutex> lock(mu);
        committed.push_back(std::move(p));
      }
    });
    std::thread rotator([&] {
      const PrivateKey tee_key = *PrivateKey::Generate(KeyType::kEcP256);
      for (int i = 0; !stop; ++i) {
        auto [status, body] =
            server.Call("POST", "/v1/tenants/radiology/keys/models/rotate", server.admin_token());
        if (status != 200) return;
        Pushed target;
        {
          std::lock_guard<std::mutex> lock(mu);
          ++acknowledged_rotations;
          if (committed.empty()) continue;
          const Pushed& p = committed[static_cast<size_t>(i) % committed.size()];
          target.object_id = p.object_id;
          target.dek = SecretBytes(p.dek.Reveal());
        }
        auto released =
            RunRcar(server, workload, tee_key,
                    std::string("/kbs/v0/resource/radiology/models/") + target.object_id);
        if (released.status == 0) return;  // killed
        auto dek = JweDecrypt(released.body, tee_key);
        if (released.status == 200 &&
            (!dek || !ConstantTimeEquals(dek->plaintext.Reveal(), target.dek.Reveal()))) {
          std::lock_guard<std::mutex> lock(mu);
          ++wrong_releases;
        }
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 500));
    server.Kill(SIGKILL);
    stop = true;
    pusher.join();
    rotator.join();
  }
  EXPECT_EQ(wrong_releases, 0);
  ASSERT_FALSE(committed.empty()) << "no push completed before the kills; nothing was tested";

  // A clean start on what the kills left behind.
  ServerProcess server(data);
  std::string why;
  ASSERT_TRUE(server.Start(&why)) << why;
  const PrivateKey tee_key = *PrivateKey::Generate(KeyType::kEcP256);
  for (const Pushed& p : committed) {
    SCOPED_TRACE(p.name);
    auto released =
        RunRcar(server, workload, tee_key, "/kbs/v0/resource/radiology/models/" + p.object_id);
    ASSERT_EQ(released.status, 200) << released.body.dump();
    auto dek = JweDecrypt(released.body, tee_key);
    ASSERT_TRUE(dek);
    EXPECT_TRUE(ConstantTimeEquals(dek->plaintext.Reveal(), p.dek.Reveal()));
    auto blob =
        server.Client().Get("/v1/tenants/radiology/models/" + p.name + "/blob?digest=" + p.digest,
                            {{"Authorization", "Bearer " + server.admin_token()}});
    ASSERT_TRUE(blob);
    ASSERT_EQ(blob->status, 200);
    auto opened = OpenBuffer(dek->plaintext, AsBytes(blob->body));
    ASSERT_TRUE(opened) << opened.error().ToString();
    EXPECT_EQ(*opened, p.plaintext);
  }
  // No row without its blob: every listed model downloads and hashes to its digest.
  auto [list_status, list] =
      server.Call("GET", "/v1/tenants/radiology/models", server.admin_token());
  ASSERT_EQ(list_status, 200);
  EXPECT_GE(list["models"].size(), committed.size());
  for (const json& m : list["models"]) {
    const std::string digest = m["digest"].get<std::string>().substr(7);
    auto blob = server.Client().Get(
        "/v1/tenants/radiology/models/" + m["name"].get<std::string>() + "/blob?digest=" + digest,
        {{"Authorization", "Bearer " + server.admin_token()}});
    ASSERT_TRUE(blob);
    EXPECT_EQ(blob->status, 200) << m.dump();
    EXPECT_EQ(HexEncode(Sha256(AsBytes(blob->body))), digest);
  }
  auto [key_status, keys] = server.Call("GET", "/v1/tenants/radiology/keys", server.admin_token());
  ASSERT_EQ(key_status, 200);
  EXPECT_GE(keys["keys"][0]["current_version"].get<int>(), 1 + acknowledged_rotations);
  // Every acknowledged push was audited before it was acknowledged.
  auto [audit_status, audit] = server.Call("GET", "/v1/audit?tail=10000", server.admin_token());
  ASSERT_EQ(audit_status, 200);
  size_t pushes_audited = 0;
  for (const json& e : audit["entries"]) {
    if (e["action"] == "model.push" && e["outcome"] == "allow") ++pushes_audited;
  }
  EXPECT_GE(pushes_audited, committed.size());
  ASSERT_TRUE(server.Stop());

  const std::string verify =
      std::string(std::getenv("CRYPTA_BIN")) + " audit verify --data-dir " + data + " >/dev/null";
  EXPECT_EQ(std::system(verify.c_str()), 0) << "crypta audit verify failed after the kills";
  std::printf("%zu pushes and %d rotations acknowledged across %d kills\n", committed.size(),
              acknowledged_rotations, kRounds);
}

}  // namespace
}  // namespace crypta
