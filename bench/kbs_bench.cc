// Key-broker DEK unwrap against a raw OpenSSL AES-256-GCM unwrap measured in the same run.
//
// Target (issue 4, docs/benchmarks.md): DEK unwrap <= 1.2 x a raw AES-GCM unwrap.
//
// What each benchmark includes (all unwrap a 32-byte DEK, AES-256-GCM, nonce(12)|ct(32)|
// tag(16), with an AAD of the size the broker binds for tenant "radiology", key "models",
// object "llama-70b": 49 bytes):
//   BM_RawEvpUnwrapDek         baseline: one reused EVP_CIPHER_CTX, per call DecryptInit with
//                              the KEK bytes and the nonce (AES key schedule + GHASH key),
//                              AAD, 32-byte update, tag, final. The least a raw unwrap under
//                              a key given as bytes costs.
//   BM_RawEvpUnwrapDekPreKeyed reference floor: the context keyed once, only the nonce set
//                              per call (what a cached, keyed Aead would cost).
//   BM_KbsUnwrapDekUnderKek    kbs::UnwrapDekUnderKek: the broker's DEK crypto step (AAD
//                              built from the names, Aead::Create, OpenInPlace, SecretBytes).
//   BM_SealedBlobUnwrapDataKey crypta::UnwrapDataKey (sealed_blob.h), the same step for a
//                              sealed blob's header, for comparison.
//   BM_KbsReleaseCrypto        what one release does cryptographically: UnwrapKek under the
//                              root key (the KEK is not cached; LoadKek unwraps it on every
//                              release) then UnwrapDekUnderKek. Compare with 2 x baseline.
//   BM_KbsUnwrapDekForRelease  the full KeyBroker::UnwrapDekForRelease with evidence verified
//                              once before timing: BEGIN IMMEDIATE, policy lookup, policy
//                              parse + appraisal, wrapped-DEK and KEK-row lookups (SQLite, a
//                              WAL file under TMPDIR), both unwraps, ROLLBACK.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "attest/sim/sim_tee.h"
#include "common/encoding.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "crypto/sealed_blob.h"
#include "kbs/broker.h"
#include "store/database.h"

namespace crypta::kbs {
namespace {

constexpr int64_t kNow = 1764000000;
const std::string kTenant = "radiology";
const std::string kKey = "models";
const std::string kObject = "llama-70b";
// "crypta kbs dek v1" | u8 len, tenant | u8 len, key | u32 version | u16 len, object id
constexpr size_t kDekAadSize = 17 + 1 + 9 + 1 + 6 + 4 + 2 + 9;

template <typename T>
T Must(Result<T> r) {
  if (!r) {
    std::fprintf(stderr, "kbs_bench: %s\n", r.error().ToString().c_str());
    std::abort();
  }
  return std::move(*r);
}

const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

// A KEK, a DEK wrapped under it the raw way (for the baselines) and the broker's way.
struct Fixture {
  Fixture() {
    kek = Must(RandomBytes(32));
    dek = Must(RandomSecret(32));
    aad = Must(RandomBytes(kDekAadSize));
    nonce = Must(RandomBytes(12));
    raw_ct.resize(32);
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    int len = 0;
    EVP_EncryptInit_ex(ctx, Aes256Gcm(), nullptr, kek.data(), nonce.data());
    EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()));
    EVP_EncryptUpdate(ctx, raw_ct.data(), &len, dek.Reveal().data(), 32);
    EVP_EncryptFinal_ex(ctx, nullptr, &len);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, raw_tag);
    EVP_CIPHER_CTX_free(ctx);
    ref = {kTenant, kKey, 1};
    wrapped = Must(WrapDekUnderKek(kek, ref, kObject, dek));
    if (wrapped.size() != 60) std::abort();
    root = Must(RandomBytes(32));
    wrapped_kek = Must(WrapKek(root, ref, SecretBytes(kek)));
    blob_wrapped = Must(WrapDataKey(kek, ref, dek));
  }
  Bytes kek, aad, nonce, raw_ct, root, wrapped, wrapped_kek, blob_wrapped;
  uint8_t raw_tag[16];
  SecretBytes dek;
  KeyReference ref;
};

const Fixture& F() {
  static const Fixture* f = new Fixture();
  return *f;
}

bool RawOpen(EVP_CIPHER_CTX* ctx, const Fixture& f, const uint8_t* key, uint8_t out[32]) {
  int len = 0;
  return EVP_DecryptInit_ex(ctx, key != nullptr ? Aes256Gcm() : nullptr, nullptr, key,
                            f.nonce.data()) == 1 &&
         EVP_DecryptUpdate(ctx, nullptr, &len, f.aad.data(), static_cast<int>(f.aad.size())) == 1 &&
         EVP_DecryptUpdate(ctx, out, &len, f.raw_ct.data(), 32) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, const_cast<uint8_t*>(f.raw_tag)) == 1 &&
         EVP_DecryptFinal_ex(ctx, out + 32, &len) == 1;
}

void BM_RawEvpUnwrapDek(benchmark::State& state) {
  const Fixture& f = F();
  uint8_t out[48];
  for (auto _ : state) {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    if (!RawOpen(ctx, f, f.kek.data(), out)) state.SkipWithError("baseline tag mismatch");
    EVP_CIPHER_CTX_free(ctx);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_RawEvpUnwrapDek)->MinTime(1);

void BM_RawEvpUnwrapDekReusedCtx(benchmark::State& state) {
  const Fixture& f = F();
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  uint8_t out[48];
  for (auto _ : state) {
    if (!RawOpen(ctx, f, f.kek.data(), out)) state.SkipWithError("baseline tag mismatch");
    benchmark::DoNotOptimize(out);
  }
  EVP_CIPHER_CTX_free(ctx);
}
BENCHMARK(BM_RawEvpUnwrapDekReusedCtx)->MinTime(1);

void BM_RawEvpUnwrapDekPreKeyed(benchmark::State& state) {
  const Fixture& f = F();
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_DecryptInit_ex(ctx, Aes256Gcm(), nullptr, f.kek.data(), nullptr);
  uint8_t out[48];
  for (auto _ : state) {
    if (!RawOpen(ctx, f, nullptr, out)) state.SkipWithError("baseline tag mismatch");
    benchmark::DoNotOptimize(out);
  }
  EVP_CIPHER_CTX_free(ctx);
}
BENCHMARK(BM_RawEvpUnwrapDekPreKeyed)->MinTime(1);

// Diagnostic: Aead::Create alone (two contexts, both keyed), which every unwrap pays.
void BM_AeadCreateAes256Gcm(benchmark::State& state) {
  const Fixture& f = F();
  for (auto _ : state) benchmark::DoNotOptimize(Must(Aead::Create(AeadAlg::kAes256Gcm, f.kek)));
}
BENCHMARK(BM_AeadCreateAes256Gcm)->MinTime(1);

void BM_KbsUnwrapDekUnderKek(benchmark::State& state) {
  const Fixture& f = F();
  for (auto _ : state)
    benchmark::DoNotOptimize(Must(UnwrapDekUnderKek(f.kek, f.ref, kObject, f.wrapped)));
}
BENCHMARK(BM_KbsUnwrapDekUnderKek)->MinTime(1);

void BM_SealedBlobUnwrapDataKey(benchmark::State& state) {
  const Fixture& f = F();
  for (auto _ : state) benchmark::DoNotOptimize(Must(UnwrapDataKey(f.kek, f.ref, f.blob_wrapped)));
}
BENCHMARK(BM_SealedBlobUnwrapDataKey)->MinTime(1);

void BM_KbsReleaseCrypto(benchmark::State& state) {
  const Fixture& f = F();
  for (auto _ : state) {
    SecretBytes kek = Must(UnwrapKek(f.root, f.ref, f.wrapped_kek));
    benchmark::DoNotOptimize(Must(UnwrapDekUnderKek(kek.Reveal(), f.ref, kObject, f.wrapped)));
  }
}
BENCHMARK(BM_KbsReleaseCrypto)->MinTime(1);

// A broker over a temporary WAL database with one tenant, key, DEK and allowing policy,
// and sim evidence that policy allows (verified once, as the RCAR attest step does).
struct BrokerWorld {
  BrokerWorld() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kbs_bench_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir = tmpl;
    auto db = std::shared_ptr<store::Database>(Must(store::Database::Open(dir + "/kbs.db")));
    broker = Must(KeyBroker::Open(db, Must(RandomSecret(32))));
    if (!broker->CreateTenant(kTenant)) std::abort();
    (void)Must(broker->CreateKek(kTenant, kKey));
    (void)Must(broker->WrapDek(kTenant, kKey, F().dek, kObject));
    attest::SimCa ca = Must(attest::CreateSimRootCa(kNow - 100));
    attest::SimNodeIdentity node = Must(attest::IssueSimNode(ca, "node-1", kNow - 100));
    attest::SimLaunch launch{Bytes(attest::kSimMeasurementSize, 0xaa),
                             Bytes(attest::kSimHostDataSize, 1), false, 1};
    (void)Must(broker->SetPolicy(kTenant, kKey,
                                 "tee: [sim]\nallow_simulated: true\nmeasurements: [" +
                                     HexEncode(launch.measurement) + "]\n"));
    Bytes raw = Must(attest::SignSimReport(node, launch, Bytes(64, 0), kNow));
    attest::VerifyOptions options;
    options.verification_time = kNow;
    evidence.emplace(
        Must(attest::SimVerifier(ca.cert).Verify({attest::TeeType::kSim, raw, {}}, options)));
  }
  ~BrokerWorld() {
    broker.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string dir;
  std::unique_ptr<KeyBroker> broker;
  std::optional<attest::VerifiedEvidence> evidence;
};

void BM_KbsUnwrapDekForRelease(benchmark::State& state) {
  BrokerWorld world;
  for (auto _ : state) {
    auto release = world.broker->UnwrapDekForRelease(kTenant, kKey, kObject, *world.evidence);
    if (!release) {
      state.SkipWithError(release.error().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(release->dek.Reveal().data());
  }
}
BENCHMARK(BM_KbsUnwrapDekForRelease)->MinTime(1)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace crypta::kbs

BENCHMARK_MAIN();
