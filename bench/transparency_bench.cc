// The client-side release check at 1,000,000 log entries (issue 17: "client inclusion-proof
// check <= 0.2 ms at 1 M log entries").
//
// The log is built in memory (audit::MerkleTree over 1M leaf hashes: pseudo-random leaves, and
// at 64 random indices the leaf hash of a real ReleaseEntry), never through SQLite: only the
// client's work is timed, which does not depend on how the server stores the log.
//
//   BM_InclusionProofCheck          CheckRelease on first contact: the signed checkpoint note
//                                   (parse + Ed25519 verify), the entry's canonical JSON leaf
//                                   and the RFC 9162 inclusion proof (20 hashes at 1M)
//   BM_InclusionProofCheckRemembered  the same with a remembered state at N/2 and its
//                                   consistency proof (the steady-state client)
//   BM_CheckpointNoteVerify         baseline: VerifyCheckpointNote alone
//   BM_VerifyInclusionOnly          baseline: the leaf hash and audit::VerifyInclusion alone
//
// N comes from CRYPTA_TLOG_BENCH_ENTRIES (default 1000000).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "audit/merkle.h"
#include "crypto/hash.h"
#include "transparency/checkpoint.h"
#include "transparency/client_check.h"
#include "transparency/release_entry.h"

namespace crypta::transparency {
namespace {

constexpr char kOrigin[] = "crypta.bench/releases";
constexpr int kProbes = 64;

struct Probe {
  ReleaseEntry entry;
  uint64_t index = 0;
  std::vector<Bytes> proof;
};

struct Fixture {
  uint64_t size = 0;
  std::string note;
  std::optional<NoteVerifier> verifier;
  std::vector<Probe> probes;
  TransparencyState remembered;
  std::vector<Bytes> consistency;
};

template <typename T>
T OrDie(Result<T> r) {
  if (!r) {
    std::fprintf(stderr, "transparency_bench setup: %s\n", r.error().ToString().c_str());
    std::abort();
  }
  return std::move(*r);
}

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    auto* f = new Fixture;
    const char* env = std::getenv("CRYPTA_TLOG_BENCH_ENTRIES");
    f->size = env ? std::strtoull(env, nullptr, 10) : 1000000;
    if (f->size < 2) f->size = 2;
    std::mt19937_64 rng(17);
    std::vector<Bytes> leaves;
    leaves.reserve(f->size);
    for (uint64_t i = 0; i < f->size; ++i) {
      uint64_t x = rng();
      leaves.push_back(Sha256(ByteSpan(reinterpret_cast<const uint8_t*>(&x), sizeof(x))));
    }
    for (int p = 0; p < kProbes; ++p) {
      Probe probe;
      probe.index = rng() % f->size;
      probe.entry.tenant = "acme";
      probe.entry.workload = "scan-" + std::to_string(p);
      probe.entry.measurement = std::string(96, "0123456789abcdef"[p % 16]);
      probe.entry.model_digest = "sha256:" + std::string(64, "0123456789abcdef"[p / 16 % 16]);
      probe.entry.host_data = std::string(64, 'a');
      probe.entry.note = "release " + std::to_string(p);
      probe.entry.time = 1750000000 + p;
      leaves[probe.index] = OrDie(ReleaseLeafHash(probe.entry, probe.index));
      f->probes.push_back(std::move(probe));
    }
    audit::MerkleTree tree;
    for (const Bytes& leaf : leaves) {
      if (!tree.Append(leaf)) std::abort();
    }
    for (Probe& probe : f->probes) probe.proof = OrDie(tree.InclusionProof(probe.index, f->size));
    const Bytes root = OrDie(tree.Root(f->size));
    const uint64_t old_size = f->size / 2;
    f->remembered = TransparencyState{kOrigin, old_size, OrDie(tree.Root(old_size))};
    f->consistency = OrDie(tree.ConsistencyProof(old_size, f->size));
    PrivateKey key = OrDie(PrivateKey::Generate(KeyType::kEd25519));
    f->note = OrDie(SignNote(CheckpointBody(Checkpoint{kOrigin, f->size, root, {}}), kOrigin, key));
    f->verifier.emplace(
        OrDie(ParseVerifierKey(OrDie(VerifierKeyString(kOrigin, key.GetPublicKey())))));
    return f;
  }();
  return *fixture;
}

void BM_InclusionProofCheck(benchmark::State& state) {
  const Fixture& f = GetFixture();
  size_t i = 0;
  for (auto _ : state) {
    const Probe& p = f.probes[i++ % kProbes];
    auto verdict =
        CheckRelease(f.note, *f.verifier, kOrigin, p.entry, p.index, p.proof, std::nullopt, {});
    if (!verdict) state.SkipWithError(verdict.error().ToString().c_str());
    benchmark::DoNotOptimize(verdict);
  }
  state.counters["entries"] = static_cast<double>(f.size);
  state.counters["proof_hashes"] = static_cast<double>(f.probes[0].proof.size());
}
BENCHMARK(BM_InclusionProofCheck)->Unit(benchmark::kMicrosecond);

void BM_InclusionProofCheckRemembered(benchmark::State& state) {
  const Fixture& f = GetFixture();
  size_t i = 0;
  for (auto _ : state) {
    const Probe& p = f.probes[i++ % kProbes];
    auto verdict = CheckRelease(f.note, *f.verifier, kOrigin, p.entry, p.index, p.proof,
                                f.remembered, f.consistency);
    if (!verdict) state.SkipWithError(verdict.error().ToString().c_str());
    benchmark::DoNotOptimize(verdict);
  }
  state.counters["consistency_hashes"] = static_cast<double>(f.consistency.size());
}
BENCHMARK(BM_InclusionProofCheckRemembered)->Unit(benchmark::kMicrosecond);

void BM_CheckpointNoteVerify(benchmark::State& state) {
  const Fixture& f = GetFixture();
  for (auto _ : state) {
    auto cp = VerifyCheckpointNote(f.note, *f.verifier, kOrigin);
    if (!cp) state.SkipWithError(cp.error().ToString().c_str());
    benchmark::DoNotOptimize(cp);
  }
}
BENCHMARK(BM_CheckpointNoteVerify)->Unit(benchmark::kMicrosecond);

void BM_VerifyInclusionOnly(benchmark::State& state) {
  const Fixture& f = GetFixture();
  const Checkpoint cp = OrDie(VerifyCheckpointNote(f.note, *f.verifier, kOrigin));
  size_t i = 0;
  for (auto _ : state) {
    const Probe& p = f.probes[i++ % kProbes];
    Bytes leaf = OrDie(ReleaseLeafHash(p.entry, p.index));
    auto ok = audit::VerifyInclusion(leaf, p.index, cp.size, p.proof, cp.root);
    if (!ok) state.SkipWithError(ok.error().ToString().c_str());
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_VerifyInclusionOnly)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace crypta::transparency

BENCHMARK_MAIN();
