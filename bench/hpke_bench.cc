// HPKE single-shot open cost against the X25519 derivation it is built on.
//
// Target (docs/benchmarks.md): HPKE single-shot open of 1 KiB (DHKEM(X25519, HKDF-SHA256),
// HKDF-SHA256, AES-128-GCM, base mode) <= 1.3 x BM_X25519Derive, which is exactly the
// one X25519 derivation HPKE's Decap performs: import the peer's raw public key and derive.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "crypto/hpke.h"
#include "crypto/keys.h"

namespace crypta {
namespace {

constexpr HpkeSuite kSuite{HpkeKem::kX25519HkdfSha256, HpkeKdf::kHkdfSha256, HpkeAead::kAes128Gcm};

template <typename T>
T Must(Result<T> r) {
  if (!r) {
    std::fprintf(stderr, "hpke_bench: %s\n", r.error().ToString().c_str());
    std::abort();
  }
  return std::move(*r);
}

void BM_X25519Derive(benchmark::State& state) {
  PrivateKey own = Must(PrivateKey::Generate(KeyType::kX25519));
  PrivateKey peer = Must(PrivateKey::Generate(KeyType::kX25519));
  const Bytes peer_raw = Must(peer.GetPublicKey().Raw());
  for (auto _ : state) {
    PublicKey pub = Must(PublicKey::FromRaw(KeyType::kX25519, peer_raw));
    SecretBytes secret = Must(DeriveSharedSecret(own, pub));
    benchmark::DoNotOptimize(secret.Reveal().data());
  }
}
BENCHMARK(BM_X25519Derive);

void BM_HpkeOpen1KiB(benchmark::State& state) {
  PrivateKey recipient = Must(GenerateHpkeKeyPair(kSuite.kem));
  const Bytes info = ToBytes("crypta hpke bench");
  const Bytes aad = ToBytes("aad");
  const Bytes plaintext(1024, 0x5a);
  HpkeSealed sealed = Must(HpkeSeal(kSuite, recipient.GetPublicKey(), info, aad, plaintext));
  for (auto _ : state) {
    Bytes pt = Must(HpkeOpen(kSuite, sealed.enc, recipient, info, aad, sealed.ciphertext));
    benchmark::DoNotOptimize(pt.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 1024);
}
BENCHMARK(BM_HpkeOpen1KiB);

}  // namespace
}  // namespace crypta

BENCHMARK_MAIN();
