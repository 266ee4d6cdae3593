// Audit log costs at scale (issue 4: "audit append rate and proof time at 1 M entries"),
// each next to a baseline measured in the same run on the same file system:
//
//   BM_AuditAppend            one AuditLog::Append into the big log (redaction, RFC 8785
//                             JSON, leaf hash, frontier rewrite, one IMMEDIATE transaction
//                             with synchronous=FULL, so one WAL fsync per entry)
//   BM_SqliteInsertBaseline   the floor under it: one row of the same size inserted in its
//                             own IMMEDIATE transaction, same pragmas, same directory
//   BM_AuditFirstProof        the first proof of a freshly opened AuditLog: it loads every
//                             leaf hash into its in-memory MerkleTree (once per process)
//   BM_AuditInclusionProof    ProveInclusion(seq, N) at N entries, tree loaded: O(log N)
//   BM_AuditConsistencyProof  ProveConsistency(N/2, N), tree loaded
//   BM_SqliteScanLeafHashes   baseline: reading the N stored leaf hashes in seq order
//   BM_MerkleRootInMemory     baseline: the RFC 9162 MTH over the same N hashes in memory
//                             (what every proof cost before the tree was cached)
// The first proof should cost about the sum of the two baselines; later ones microseconds.
//
// N comes from CRYPTA_AUDIT_BENCH_ENTRIES (default 1000000). The log is filled once per
// run through AuditLog::Append with synchronous=OFF (only the fill; measured appends run
// with FULL), which takes about a minute per million entries on the reference machine.
// The database is a temporary file under TMPDIR, removed at exit.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "audit/log.h"
#include "audit/merkle.h"
#include "store/database.h"

namespace crypta::audit {
namespace {

template <typename T>
T Must(Result<T> r) {
  if (!r) {
    std::fprintf(stderr, "audit_bench: %s\n", r.error().ToString().c_str());
    std::abort();
  }
  return std::move(*r);
}

void MustOk(Status s) {
  if (!s) {
    std::fprintf(stderr, "audit_bench: %s\n", s.error().ToString().c_str());
    std::abort();
  }
}

uint64_t EntriesFromEnv() {
  const char* env = std::getenv("CRYPTA_AUDIT_BENCH_ENTRIES");
  if (env == nullptr || *env == '\0') return 1000000;
  long long n = std::atoll(env);
  return n >= 2 ? static_cast<uint64_t>(n) : 2;
}

std::filesystem::path TempPath(const std::string& tag) {
  return std::filesystem::temp_directory_path() /
         ("audit_bench_" + tag + "_" + std::to_string(::getpid()) + ".db");
}

void RemoveDb(const std::filesystem::path& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(path.string() + suffix, ec);
  }
}

AuditEntry Entry(int64_t i) {
  AuditEntry e;
  e.actor = "svc-kbs";
  e.tenant = "tenant-" + std::to_string(i % 17);
  e.action = "kbs.release_key";
  e.outcome = (i % 5) ? "allow" : "deny";
  e.reason = "policy matched for request " + std::to_string(i);
  e.details = {{"key_id", "k" + std::to_string(i % 101)}, {"request", i}};
  return e;
}

// The N-entry log, built once and shared by every benchmark of the run.
struct BigLog {
  BigLog() : entries(EntriesFromEnv()), path(TempPath("log")) {
    RemoveDb(path);
    db = Must(store::Database::Open(path.string()));
    log = Must(AuditLog::Open(*db, AuditLogOptions{}));
    MustOk(db->Exec("PRAGMA synchronous=OFF"));
    auto start = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < entries; ++i) (void)Must(log->Append(Entry(i)));
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    MustOk(db->Exec("PRAGMA synchronous=FULL"));
    std::fprintf(stderr, "audit_bench: filled %llu entries in %.1f s (synchronous=OFF)\n",
                 static_cast<unsigned long long>(entries), secs);
  }
  ~BigLog() {
    log.reset();
    db.reset();
    RemoveDb(path);
  }
  // The first `entries` leaf hashes, read straight from the table (baselines only).
  std::vector<Bytes> ReadLeafHashes() {
    std::vector<Bytes> out;
    out.reserve(entries);
    auto stmt = Must(db->Prepare("SELECT leaf_hash FROM audit_entries WHERE seq < ? ORDER BY seq"));
    MustOk(stmt.Bind(1, static_cast<int64_t>(entries)));
    while (Must(stmt.Step())) out.push_back(stmt.ColumnBlob(0));
    return out;
  }

  const uint64_t entries;
  const std::filesystem::path path;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<AuditLog> log;
};

BigLog* g_big = nullptr;  // made by the first benchmark that needs it, deleted in main

BigLog& Big() {
  if (g_big == nullptr) g_big = new BigLog();
  return *g_big;
}

void BM_AuditFirstProof(benchmark::State& state) {
  BigLog& big = Big();
  for (auto _ : state) {
    auto fresh = Must(AuditLog::Open(*big.db, AuditLogOptions{}));
    benchmark::DoNotOptimize(Must(fresh->ProveInclusion(0, big.entries)));
  }
  state.counters["entries"] = static_cast<double>(big.entries);
}
BENCHMARK(BM_AuditFirstProof)->Iterations(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AuditInclusionProof(benchmark::State& state) {
  BigLog& big = Big();
  (void)Must(big.log->ProveInclusion(0, big.entries));  // loads the tree (BM_AuditFirstProof)
  uint64_t seq = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Must(big.log->ProveInclusion(seq, big.entries)));
    seq = (seq + 7919) % big.entries;
  }
  state.counters["entries"] = static_cast<double>(big.entries);
}
BENCHMARK(BM_AuditInclusionProof)->Iterations(2000)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_AuditConsistencyProof(benchmark::State& state) {
  BigLog& big = Big();
  (void)Must(big.log->ProveInclusion(0, big.entries));
  for (auto _ : state) {
    benchmark::DoNotOptimize(Must(big.log->ProveConsistency(big.entries / 2, big.entries)));
  }
  state.counters["entries"] = static_cast<double>(big.entries);
}
BENCHMARK(BM_AuditConsistencyProof)->Iterations(2000)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Baseline: the SQL scan a proof starts with.
void BM_SqliteScanLeafHashes(benchmark::State& state) {
  BigLog& big = Big();
  for (auto _ : state) {
    auto leaves = big.ReadLeafHashes();
    if (leaves.size() != big.entries) state.SkipWithError("short scan");
    benchmark::DoNotOptimize(leaves.data());
  }
  state.counters["entries"] = static_cast<double>(big.entries);
}
BENCHMARK(BM_SqliteScanLeafHashes)->Iterations(5)->Unit(benchmark::kMillisecond)->UseRealTime();

// Baseline: the hashing a proof cannot avoid without stored subtree hashes.
void BM_MerkleRootInMemory(benchmark::State& state) {
  BigLog& big = Big();
  const std::vector<Bytes> leaves = big.ReadLeafHashes();
  for (auto _ : state) benchmark::DoNotOptimize(Must(MerkleRoot(leaves)));
  state.counters["entries"] = static_cast<double>(big.entries);
}
BENCHMARK(BM_MerkleRootInMemory)->Iterations(5)->Unit(benchmark::kMillisecond)->UseRealTime();

// Appends run after the proofs (registration order), so the proofs see exactly N entries.
void BM_AuditAppend(benchmark::State& state) {
  BigLog& big = Big();
  int64_t i = static_cast<int64_t>(big.entries);
  for (auto _ : state) benchmark::DoNotOptimize(Must(big.log->Append(Entry(i++))));
  state.SetItemsProcessed(state.iterations());
  state.counters["entries"] = static_cast<double>(big.entries);
}
BENCHMARK(BM_AuditAppend)->Iterations(2000)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Baseline: one durable SQLite insert of a row the size of an audit entry (same pragmas,
// same directory), in its own IMMEDIATE transaction.
void BM_SqliteInsertBaseline(benchmark::State& state) {
  const std::filesystem::path path = TempPath("baseline");
  RemoveDb(path);
  {
    auto db = Must(store::Database::Open(path.string()));
    MustOk(db->Exec(
        "CREATE TABLE rows(seq INTEGER PRIMARY KEY, body TEXT NOT NULL, hash BLOB NOT NULL)"));
    const std::string body(200, 'x');  // about the stored size of Entry(i)'s fields
    const Bytes hash(32, 7);
    int64_t seq = 0;
    for (auto _ : state) {
      auto tx = Must(store::Transaction::Begin(*db));
      auto insert = Must(db->Prepare("INSERT INTO rows(seq, body, hash) VALUES(?, ?, ?)"));
      MustOk(insert.Bind(1, seq++));
      MustOk(insert.Bind(2, std::string_view(body)));
      MustOk(insert.BindBlob(3, hash));
      MustOk(insert.Run());
      MustOk(tx.Commit());
    }
    state.SetItemsProcessed(state.iterations());
  }
  RemoveDb(path);
}
BENCHMARK(BM_SqliteInsertBaseline)->Iterations(2000)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace crypta::audit

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  delete crypta::audit::g_big;  // removes the temporary database
  return 0;
}
