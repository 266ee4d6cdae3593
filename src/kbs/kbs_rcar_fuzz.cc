// Fuzz target: the RCAR server's handling of untrusted request bodies and resource paths.
// Byte 0 picks the entry point: 0 Auth(body), 1 Attest(fresh session, body) with every
// "$NONCE" replaced by the session's nonce so the fuzzer gets past the nonce check,
// 2 Resource(fresh session, path), 3 VerifyEvidence(body) (the attestation service).
// Invariants: nothing crashes, and an unattested session never gets a resource.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "attest/sim/sim_tee.h"
#include "kbs/rcar.h"

namespace {

constexpr int64_t kNow = 1764000000;

struct World {
  std::shared_ptr<crypta::store::Database> db;
  std::unique_ptr<crypta::kbs::KeyBroker> broker;
  crypta::attest::VerifierRegistry registry;
  std::unique_ptr<crypta::kbs::RcarServer> server;
};

World& GetWorld() {
  static World* world = [] {
    using namespace crypta;
    auto* w = new World;
    w->db = std::shared_ptr<store::Database>(*store::Database::Open(":memory:"));
    w->broker = *kbs::KeyBroker::Open(w->db, SecretBytes(Bytes(32, 1)));
    (void)w->broker->CreateTenant("t");
    (void)w->broker->CreateKek("t", "k");
    (void)w->broker->WrapDek("t", "k", SecretBytes(Bytes(32, 2)), "o");
    (void)w->broker->SetPolicy(
        "t", "",
        "tee: [sim]\nallow_simulated: true\nmeasurements: [" + std::string(96, 'a') + "]\n");
    attest::SimCa ca = *attest::CreateSimRootCa(kNow - 10);
    w->registry.Register(std::make_shared<attest::SimVerifier>(std::move(ca.cert)));
    w->server = std::make_unique<kbs::RcarServer>(w->broker.get(), &w->registry,
                                                  *PrivateKey::Generate(KeyType::kEcP256));
    return w;
  }();
  return *world;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  World& w = GetWorld();
  if (w.server->SessionCountForTesting() > 5000) {  // time is fixed, so nothing expires
    w.server = std::make_unique<crypta::kbs::RcarServer>(
        w.broker.get(), &w.registry, *crypta::PrivateKey::Generate(crypta::KeyType::kEcP256));
  }
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      (void)w.server->Auth(body, kNow);
      break;
    case 1: {
      auto auth = w.server->Auth(R"({"version":"0.1.1","tee":"sim"})", kNow);
      if (!auth) __builtin_trap();
      const std::string nonce = auth->body["nonce"];
      for (size_t pos; (pos = body.find("$NONCE")) != std::string::npos;) {
        body.replace(pos, 6, nonce);
      }
      (void)w.server->Attest(auth->session_id, body, kNow);
      break;
    }
    case 3:
      (void)w.server->VerifyEvidence(body, kNow);
      break;
    default: {
      auto auth = w.server->Auth(R"({"version":"0.1.1","tee":"sim"})", kNow);
      if (!auth) __builtin_trap();
      if (w.server->Resource(auth->session_id, body, kNow)) __builtin_trap();
      if (w.server->Resource(body, "t/k/o", kNow)) __builtin_trap();
      break;
    }
  }
  return 0;
}
